-- promote.lua - moves retries whose time has come from the delayed set
-- back to their queues. Any worker may run it; each task moves once.
-- ARGV: 1 prefix, 2 now ms, 3 most to move
local now, limit = ARGV[2], tonumber(ARGV[3])
local due = redis.call("ZRANGEBYSCORE", P .. ":delayed", "-inf", now, "LIMIT", 0, limit)
for _, ref in ipairs(due) do
  redis.call("ZREM", P .. ":delayed", ref)
  local incident, step = string.match(ref, "^(.*)/([^/]*)$")
  local tk = task_key(incident, step)
  if redis.call("HGET", tk, "state") == "delayed" then
    queue_task(incident, step, redis.call("HGET", tk, "pool"))
  end
end
return #due
