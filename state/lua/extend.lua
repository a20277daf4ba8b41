-- extend.lua - a worker still working on a task renews its lease: the queue
-- entry's idle time starts again, so nobody reclaims it. Refused when the
-- lease is no longer this worker's.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease, 5 pool, 6 message id, 7 consumer
local incident, step, lease, pool, msgid, consumer = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call("HGET", task_key(incident, step), "lease") ~= lease then return 0 end
redis.call("XCLAIM", queue_key(pool), "workers", consumer, 0, msgid, "JUSTID")
return 1
