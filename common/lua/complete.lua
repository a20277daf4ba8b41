-- complete.lua - a worker finishes a task: fenced by its lease, stores the
-- result, releases the steps whose needs are now met, and reports it.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease, 5 pool, 6 message id,
--       7 "succeeded" | "failed", 8 output JSON, 9 error, 10 duration ms,
--       11 now ms, 12 now RFC 3339, 13 event id base,
--       14 the event's data JSON (made by the worker), 15 continue_on_error
--       ("1" or "0")
local incident, step, lease, pool, msgid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local result, output, err, duration = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local now, now_str, evbase = ARGV[11], ARGV[12], ARGV[13]
local event_data, continue_on_error = ARGV[14], ARGV[15] == "1"
local tk = task_key(incident, step)
local ik = inc_key(incident)

local t = redis.call("HMGET", tk, "state", "lease", "dependents")
-- Fencing: only the holder of the current lease may complete the task.
if t[1] ~= "running" or t[2] ~= lease then return {"fenced", t[1] or "missing"} end
redis.call("XACK", queue_key(pool), "workers", msgid)
redis.call("XDEL", queue_key(pool), msgid)

local wf = redis.call("HGET", ik, "workflow")
local fields = {"state", result, "finished_at", now, "duration_ms", duration, "lease", ""}
if output ~= "" then table.insert(fields, "output"); table.insert(fields, output) end
if err ~= "" then table.insert(fields, "error"); table.insert(fields, err) end
redis.call("HSET", tk, unpack(fields))

emit_raw(evbase, now_str, incident, "task." .. result, event_data)

local finished = 1
if result == "succeeded" or continue_on_error then
  for _, dep in ipairs(cjson.decode(t[3])) do
    local dk = task_key(incident, dep)
    local left = redis.call("HINCRBY", dk, "unmet", -1)
    if left == 0 and redis.call("HGET", dk, "state") == "waiting" then
      redis.call("HSET", dk, "state", "queued")
      queue_task(incident, dep, redis.call("HGET", dk, "pool"))
    end
  end
else
  redis.call("HINCRBY", ik, "failed", 1)
  -- Everything downstream of a failed step is skipped, once.
  local todo = cjson.decode(t[3])
  while #todo > 0 do
    local dep = table.remove(todo)
    local dk = task_key(incident, dep)
    if redis.call("HGET", dk, "state") == "waiting" then
      redis.call("HSET", dk, "state", "skipped", "finished_at", now)
      emit(evbase, now, now_str, incident, "task.skipped",
           {workflow = wf, step = dep, reason = "step " .. step .. " failed"})
      finished = finished + 1
      for _, d in ipairs(cjson.decode(redis.call("HGET", dk, "dependents"))) do
        table.insert(todo, d)
      end
    end
  end
end

local left = redis.call("HINCRBY", ik, "steps_left", -finished)
if left <= 0 then
  local failed = tonumber(redis.call("HGET", ik, "failed"))
  local run = (failed > 0) and "failed" or "succeeded"
  redis.call("HSET", ik, "run", run, "run_finished_at", now)
  local opened = tonumber(redis.call("HGET", ik, "opened_at"))
  emit(evbase, now, now_str, incident, "workflow.completed",
       {workflow = wf, status = run, duration_ms = tonumber(now) - opened})
end
return {"done", tostring(left)}
