-- replay.lua - an operator runs a dead task again, with fresh attempts.
-- A step that succeeded is replayed only with force. Steps skipped because
-- of it wait again, so a replay that succeeds carries the run on.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 force "1"|"0", 5 dry run "1"|"0",
--       6 now ms, 7 now RFC 3339, 8 event id base, 9 replay id, 10 by
-- Returns {"replayed"|"would replay"|"refused"|"missing", state}
local incident, step, force, dry = ARGV[2], ARGV[3], ARGV[4] == "1", ARGV[5] == "1"
local now, now_str, evbase, replay_id, by = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local tk = task_key(incident, step)
local state = redis.call("HGET", tk, "state")
if not state then return {"missing", ""} end
if not (state == "dead" or (force and (state == "succeeded" or state == "failed"))) then
  return {"refused", state}
end
if dry then return {"would replay", state} end

local ik = inc_key(incident)
local wf = redis.call("HGET", ik, "workflow")
redis.call("ZREM", P .. ":dead", incident .. "/" .. step)
-- Running again: not finished, so not expired, until it ends once more.
redis.call("ZREM", P .. ":finished", incident)
redis.call("HSET", tk, "attempts", 0, "error", "", "lease", "", "dead_reason", "",
           "replay_id", replay_id)
redis.call("HINCRBY", tk, "replays", 1)
-- A dead step that failed its run does not any more (steps_finished).
if state == "dead" and redis.call("HGET", tk, "coe") ~= "1" and
   redis.call("HEXISTS", ik, "blocking") == 1 then
  redis.call("HINCRBY", ik, "blocking", -1)
end
local reopened = {step}

-- Skipped steps downstream wait again for what they still need.
local todo = cjson.decode(redis.call("HGET", tk, "dependents"))
while #todo > 0 do
  local dep = table.remove(todo)
  local dk = task_key(incident, dep)
  if redis.call("HGET", dk, "state") == "skipped" then
    local unmet = 0
    for _, need in ipairs(cjson.decode(redis.call("HGET", dk, "needs") or "[]")) do
      local ns = redis.call("HMGET", task_key(incident, need), "state", "coe")
      if not (ns[1] == "succeeded" or (ns[1] == "dead" and ns[2] == "1")) then unmet = unmet + 1 end
    end
    redis.call("HSET", dk, "state", "waiting", "unmet", unmet)
    table.insert(reopened, dep)
    for _, d in ipairs(cjson.decode(redis.call("HGET", dk, "dependents"))) do table.insert(todo, d) end
  end
end
redis.call("HINCRBY", ik, "steps_left", #reopened)
redis.call("HSET", ik, "run", "running", "run_started_at", now)
emit(evbase, now, now_str, incident, "task.replayed",
     {workflow = wf, step = step, previous_state = state, replay_id = replay_id, by = by,
      reopened = reopened})
queue_task(incident, step, redis.call("HGET", tk, "pool"))
return {"replayed", state}
