-- complete.lua - a worker finishes an attempt: fenced by its lease, stores
-- the result, and then releases the dependents (success), schedules the
-- next attempt (retryable failure) or buries the task (out of attempts, or
-- a permanent error). Every outcome is reported in the same call.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease, 5 pool, 6 message id,
--       7 "succeeded" | "failed" | "skipped" (its if: did not hold),
--       8 output JSON, 9 error, 10 duration ms,
--       11 now ms, 12 now RFC 3339, 13 event id base,
--       14 the event's data JSON (made by the worker),
--       15 retryable "1" | "0", 16 delay before the next attempt (ms)
local incident, step, lease, pool, msgid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local result, output, err, duration = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local now, now_str, evbase = ARGV[11], ARGV[12], ARGV[13]
local event_data, retryable, delay = ARGV[14], ARGV[15] == "1", tonumber(ARGV[16])
local tk = task_key(incident, step)
local ik = inc_key(incident)

local t = redis.call("HMGET", tk, "state", "lease", "attempts", "max_attempts")
-- Fencing: only the holder of the current lease may complete the task.
if t[1] ~= "running" or t[2] ~= lease then return {"fenced", t[1] or "missing"} end
unqueue(pool, msgid)

local wf = redis.call("HGET", ik, "workflow")
if result == "skipped" then
  -- Nothing ran; like GitHub Actions, what needs it is skipped too.
  redis.call("HSET", tk, "state", "skipped", "finished_at", now, "lease", "")
  emit(evbase, now, now_str, incident, "task.skipped", {workflow = wf, step = step, reason = err})
  local n = 1 + skip_downstream(evbase, now, now_str, incident, wf, step)
  return {"done", tostring(steps_finished(evbase, now, now_str, incident, n))}
end
local fields = {"state", result, "finished_at", now, "duration_ms", duration, "lease", "",
                "error", err}
if output ~= "" then table.insert(fields, "output"); table.insert(fields, output) end
redis.call("HSET", tk, unpack(fields))
emit_raw(evbase, now_str, incident, "task." .. result, event_data)
-- paging: a notification task reports its page
paging_sent(evbase, now, now_str, incident, step, result)

if result == "succeeded" then
  release_dependents(incident, step)
  return {"done", tostring(steps_finished(evbase, now, now_str, incident, 1))}
end

local attempts, max = tonumber(t[3]), tonumber(t[4] or "3")
if retryable and attempts < max then
  local due = tonumber(now) + delay
  redis.call("HSET", tk, "state", "delayed", "due", due)
  redis.call("ZADD", P .. ":delayed", due, incident .. "/" .. step)
  emit(evbase, now, now_str, incident, "task.retrying",
       {workflow = wf, step = step, attempt = attempts, next_attempt = attempts + 1,
        delay_ms = delay, error = err})
  return {"retrying", tostring(delay)}
end
bury(evbase, now, now_str, incident, wf, step,
     retryable and "attempts exhausted" or "permanent error", err)
return {"dead", ""}
