-- expand.lua - records an alert: opens an incident and queues its first
-- steps, joins an open incident, or resolves one. All or nothing.
-- ARGV: 1 prefix, 2 "topic/partition", 3 offset, 4 new incident id,
--       5 fingerprint, 6 status, 7 alert JSON, 8 workflow name,
--       9 steps JSON [{id,pool,needs:n,needs_ids:"[..]",dependents:"[..]",
--         def:"{..}",coe:"0|1",max_attempts:n}] (JSON text is stored as it is),
--       10 now ms, 11 now RFC 3339, 12 event id base
local tp, offset = ARGV[2], tonumber(ARGV[3])
local new_id, fp, status = ARGV[4], ARGV[5], ARGV[6]
local alert_json, wf, steps_json = ARGV[7], ARGV[8], ARGV[9]
local now, now_str, evbase = ARGV[10], ARGV[11], ARGV[12]

-- A redelivered message (crash before the offset commit) changes nothing.
if tp ~= "" then
  local last = redis.call("HGET", P .. ":offsets", tp)
  if last and tonumber(last) >= offset then return {"duplicate", ""} end
  redis.call("HSET", P .. ":offsets", tp, offset)
end

local open = redis.call("HGET", P .. ":fp", fp)
local alert = cjson.decode(alert_json)

if status == "resolved" then
  if not open then return {"ignored", ""} end
  redis.call("HSET", inc_key(open), "status", "resolved", "resolved_at", now)
  redis.call("HDEL", P .. ":fp", fp)
  emit(evbase, now, now_str, open, "incident.resolved",
       {fingerprint = fp, summary = alert.summary})
  return {"resolved", open}
end

if status == "acknowledged" then
  -- A person acknowledged it at the sender (PagerDuty): the first one counts.
  if not open then return {"ignored", ""} end
  if redis.call("HSETNX", inc_key(open), "acknowledged_at", now) == 1 then
    redis.call("HSET", inc_key(open), "acknowledged_by", alert.source)
    emit(evbase, now, now_str, open, "incident.acknowledged",
         {fingerprint = fp, by = alert.source, via = alert.format})
  end
  return {"joined", open}
end

if open then
  redis.call("HINCRBY", inc_key(open), "alerts", 1)
  emit(evbase, now, now_str, open, "incident.alert_joined",
       {fingerprint = fp, summary = alert.summary})
  return {"joined", open}
end

local steps = cjson.decode(steps_json)
local id = new_id
redis.call("HSET", inc_key(id), "id", id, "workflow", wf, "fingerprint", fp,
           "status", "open", "run", "running", "opened_at", now, "alert", alert_json,
           "alerts", 1, "steps_total", #steps, "steps_left", #steps)
redis.call("ZADD", P .. ":incidents", now, id)
redis.call("HSET", P .. ":fp", fp, id)
local names = {}
for i, s in ipairs(steps) do names[i] = s.id end
redis.call("HSET", inc_key(id), "steps", cjson.encode(names))

emit(evbase, now, now_str, id, "incident.opened",
     {workflow = wf, fingerprint = fp, severity = alert.severity,
      summary = alert.summary, source = alert.source})
emit(evbase, now, now_str, id, "workflow.started", {workflow = wf, steps = #steps})
for _, s in ipairs(steps) do
  redis.call("HSET", task_key(id, s.id), "incident", id, "step", s.id, "pool", s.pool,
             "state", "waiting", "unmet", s.needs, "needs", s.needs_ids,
             "dependents", s.dependents, "def", s.def, "attempts", 0, "coe", s.coe,
             "max_attempts", s.max_attempts, "replays", 0)
  if s.needs == 0 then queue_task(id, s.id, s.pool) end
end
return {"opened", id}
