-- done.lua - a person marks a manual step done (muster done): it succeeds
-- and the steps that needed it go on.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 by, 5 note, 6 now ms, 7 now RFC 3339,
--       8 event id base
-- Returns {"done"|"not manual"|"missing", state}
local incident, step, by, note = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, now_str, evbase = ARGV[6], ARGV[7], ARGV[8]
local tk = task_key(incident, step)
local t = redis.call("HMGET", tk, "state", "started_at")
if not t[1] then return {"missing", ""} end
if t[1] ~= "manual" then return {"not manual", t[1]} end
local output = cjson.encode({done_by = by, note = note})
redis.call("HSET", tk, "state", "succeeded", "finished_at", now, "output", output,
           "duration_ms", tonumber(now) - tonumber(t[2] or now))
redis.call("SREM", P .. ":manual", incident .. "/" .. step)
emit(evbase, now, now_str, incident, "task.succeeded",
     {workflow = redis.call("HGET", inc_key(incident), "workflow"), step = step, action = "manual",
      attempt = 1, duration_ms = tonumber(now) - tonumber(t[2] or now), by = by,
      output = {done_by = by, note = note}})
release_dependents(incident, step)
steps_finished(evbase, now, now_str, incident, 1)
return {"done", "manual"}
