-- page.lua - a worker has resolved one level of a page step: fenced by its
-- lease, the level's notifications and the escalation become timers and
-- the step waits in state "paging", holding no lease. An incident already
-- acknowledged or resolved pages nobody: the step succeeds at once.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease, 5 pool, 6 message id,
--       7 plan JSON {pass, level, round, last, delay_ms, targets: [text],
--         notes: [{member, after_ms, person, channel, task, def (JSON text)}]},
--       8 now ms, 9 now RFC 3339, 10 event id base
-- Returns {"paging", notes armed} | {"done", why} | {"fenced", state} |
--         {"stale", pass}
local incident, step, lease, pool, msgid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local plan = cjson.decode(ARGV[7])
local now, now_str, evbase = ARGV[8], ARGV[9], ARGV[10]
local tk = task_key(incident, step)
local ik = inc_key(incident)
local timers, defs, paging = paging_keys(incident)

local t = redis.call("HMGET", tk, "state", "lease", "page_pass")
if t[1] ~= "running" or t[2] ~= lease then return {"fenced", t[1] or "missing"} end
unqueue(pool, msgid)
redis.call("HSETNX", tk, "page_started_at", now)

local inc = redis.call("HMGET", ik, "status", "acknowledged_at", "acknowledged_by")
if inc[1] == "resolved" or inc[2] then
  local started = tonumber(redis.call("HGET", tk, "page_started_at"))
  local out = {level = tonumber(redis.call("HGET", tk, "page_level") or "0"),
               ack_ms = math.max(0, tonumber(inc[2] or now) - started)}
  if inc[2] then out.acknowledged_by = inc[3] else out.resolved = true end
  redis.call("SADD", paging, step)
  paging_done(evbase, now, now_str, incident, step, out)
  return {"done", inc[2] and "acknowledged" or "resolved"}
end
-- A level is armed once: a worker that ran it again (its lease lapsed
-- after the call) finds the pass already taken.
if tonumber(t[3] or "0") + 1 ~= tonumber(plan.pass) then
  redis.call("HSET", tk, "state", "paging", "lease", "")
  return {"stale", tostring(t[3])}
end

for _, n in ipairs(plan.notes) do
  local member = incident .. "/" .. step .. "/" .. plan.pass .. "/" .. n.person .. "/" .. n.channel
  redis.call("ZADD", P .. ":timers", tonumber(now) + tonumber(n.after_ms), member)
  redis.call("SADD", timers, member)
  redis.call("HSET", defs, member, n.def)
end
local esc = incident .. "/" .. step .. "/" .. plan.pass .. "/-/escalate"
redis.call("ZADD", P .. ":timers", tonumber(now) + tonumber(plan.delay_ms), esc)
redis.call("SADD", timers, esc)
redis.call("SADD", paging, step)
redis.call("HSET", tk, "state", "paging", "lease", "", "page_pass", plan.pass,
           "page_level", plan.level, "page_last", plan.last and "1" or "0",
           "page_due", tonumber(now) + tonumber(plan.delay_ms))
if tonumber(plan.pass) > 1 then
  emit_raw(evbase, now_str, incident, "incident.escalated",
           cjson.encode({incident = incident, workflow = redis.call("HGET", ik, "workflow"),
                         step = step, level = plan.level, round = plan.round}):sub(1, -2) ..
             ',"targets":' .. cjson.encode(plan.targets) .. "}")
end
return {"paging", tostring(#plan.notes)}
