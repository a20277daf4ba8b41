-- expand.lua - records an alert, all or nothing:
--   firing: for each workflow it starts, joins the open incident that holds
--     this fingerprint or the alert's group (within the group window), or
--     opens an incident and queues the steps that need nothing;
--   resolved: takes the fingerprint out of its incidents; an incident whose
--     alerts have all resolved is resolved and queues its on_resolve steps;
--   acknowledged: records the first acknowledgement of its incidents.
-- ARGV: 1 prefix, 2 "topic/partition", 3 alert sequence in the partition,
--       4 fingerprint, 5 status, 6 alert JSON,
--       7 runs JSON [{workflow, id (new incident id), group, window_ms,
--         steps: [S], resolve: [S]}] where S is {id, pool, needs (count),
--         needs_ids, dependents, defsha, def (JSON text, stored as it is;
--         left out when Redis has it already), action, kind, ctx, coe,
--         max_attempts},
--       8 now ms, 9 now RFC 3339, 10 event id base,
--       11 (optional) the sequence of the alert before it in the batch
-- Returns {outcome, incident, outcome, incident, ...}.
local tp, seq = ARGV[2], tonumber(ARGV[3])
local fp, status, alert_json = ARGV[4], ARGV[5], ARGV[6]
local runs = cjson.decode(ARGV[7])
local now, now_str, evbase = ARGV[8], ARGV[9], ARGV[10]

-- Steps sent without their definitions' text name definitions Redis must
-- hold already (P:defs); when it does not (its data was lost), nothing is
-- written and the dispatcher sends them again with the text.
for _, run in ipairs(runs) do
  for _, list in ipairs({run.steps, run.resolve}) do
    local s = list[1]
    if s and not s.def and redis.call("HEXISTS", P .. ":defs", s.defsha) == 0 then
      return {"nodefs", ""}
    end
  end
end

-- A redelivered message (crash before the offset commit) changes nothing.
-- In a pipelined batch, ARGV[11] is the sequence of the alert before this
-- one on the same partition: if that one was not recorded (its call
-- failed), neither is this one, so the dispatcher retries both in order.
if tp ~= "" then
  local last = redis.call("HGET", P .. ":offsets", tp)
  if last and tonumber(last) >= seq then return {"duplicate", ""} end
  local before = ARGV[11]
  if before and before ~= "" and (not last or tonumber(last) < tonumber(before)) then
    return {"gap", ""}
  end
  redis.call("HSET", P .. ":offsets", tp, seq)
end

local alert = cjson.decode(alert_json)
local fp_key = P .. ":fp:" .. fp
local members = redis.call("SMEMBERS", fp_key)

local out = {}

if status == "resolved" or status == "acknowledged" then
  if #members == 0 then return {"ignored", ""} end
  for _, id in ipairs(members) do
    local ik = inc_key(id)
    if status == "acknowledged" then
      -- A person acknowledged it at the sender (PagerDuty).
      acknowledge(evbase, now, now_str, id, alert.source, alert.format, fp)
      table.insert(out, "joined")
    else
      redis.call("SREM", P .. ":{" .. id .. "}:firing", fp)
      if redis.call("SCARD", P .. ":{" .. id .. "}:firing") == 0 then
        close_incident(evbase, now, now_str, id, "incident.resolved",
                       {fingerprint = fp, summary = alert.summary})
        table.insert(out, "resolved")
      else
        local n = redis.call("HINCRBY", ik, "alerts_resolved", 1)
        emit(evbase, now, now_str, id, "incident.alert_resolved",
             {fingerprint = fp, summary = alert.summary}, n > TIMELINE_ALERTS_KEPT)
        table.insert(out, "joined")
      end
    end
    table.insert(out, id)
  end
  if status == "resolved" then redis.call("DEL", fp_key) end
  return out
end

local function join(id, why)
  redis.call("HINCRBY", inc_key(id), "alerts", 1)
  local n = redis.call("HINCRBY", inc_key(id), "alerts_joined", 1)
  redis.call("SADD", P .. ":{" .. id .. "}:firing", fp)
  redis.call("SADD", fp_key, id)
  -- Every join goes out on the outbox; the timeline keeps the first few.
  emit(evbase, now, now_str, id, "incident.alert_joined",
       {workflow = redis.call("HGET", inc_key(id), "workflow"), fingerprint = fp,
        summary = alert.summary, by = why}, n > TIMELINE_ALERTS_KEPT)
  table.insert(out, "joined")
  table.insert(out, id)
end

for _, run in ipairs(runs) do
  local done = false
  -- Already in an open incident of this workflow: the same alert again.
  for _, id in ipairs(members) do
    if not done and redis.call("HGET", inc_key(id), "workflow") == run.workflow then
      join(id, "fingerprint")
      done = true
    end
  end
  -- A related alert: same group, inside the group's window.
  if not done then
    local g = redis.call("HGET", P .. ":group", run.group)
    if g then
      local opened = tonumber(redis.call("HGET", inc_key(g), "opened_at"))
      if run.window_ms <= 0 or tonumber(now) - opened <= run.window_ms then
        join(g, "group")
        done = true
      end
    end
  end
  if not done then
    local id = run.id
    local ik = inc_key(id)
    redis.call("HSET", ik, "id", id, "workflow", run.workflow, "fingerprint", fp,
               "group", run.group, "status", "open", "run", "running", "opened_at", now, "run_started_at", now,
               "alert", alert_json, "alerts", 1, "steps_total", #run.steps, "blocking", 0,
               "steps_left", #run.steps, "resolve", cjson.encode(run.resolve))
    redis.call("ZADD", P .. ":incidents", now, id)
    redis.call("HSET", P .. ":group", run.group, id)
    -- The same group had an incident that resolved: this one reopens it.
    local previous = redis.call("HGET", P .. ":lastgroup", run.group)
    redis.call("HSET", P .. ":lastgroup", run.group, id)
    redis.call("SADD", fp_key, id)
    redis.call("SADD", P .. ":{" .. id .. "}:firing", fp)
    emit(evbase, now, now_str, id, "incident.opened",
         {workflow = run.workflow, fingerprint = fp, severity = alert.severity,
          summary = alert.summary, source = alert.source, group = run.group})
    if previous and redis.call("HGET", inc_key(previous), "status") == "resolved" then
      redis.call("HSET", ik, "reopens", previous)
      emit(evbase, now, now_str, id, "incident.reopened",
           {workflow = run.workflow, fingerprint = fp, previous = previous})
    end
    emit(evbase, now, now_str, id, "workflow.started", {workflow = run.workflow, steps = #run.steps})
    local names = create_tasks(id, run.steps, run.workflow)
    redis.call("HSET", ik, "steps", cjson.encode(names))
    table.insert(out, "opened")
    table.insert(out, id)
  end
end
if #out == 0 then return {"ignored", ""} end
return out
