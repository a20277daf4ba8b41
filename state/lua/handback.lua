-- handback.lua - a stopping worker gives a task back at once instead of
-- letting its lease lapse: it is queued again, and the interrupted attempt
-- does not count against max_attempts.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease, 5 pool, 6 message id
local incident, step, lease, pool, msgid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local tk = task_key(incident, step)
local t = redis.call("HMGET", tk, "state", "lease")
if t[1] ~= "running" or t[2] ~= lease then return 0 end
unqueue(pool, msgid)
redis.call("HINCRBY", tk, "attempts", -1)
redis.call("HSET", tk, "lease", "")
queue_task(incident, step, pool)
return 1
