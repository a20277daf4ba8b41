-- operator.lua - an operator's action goes on the record: operator.action on
-- the outbox (so on muster.events) and in the bounded audit stream P:audit;
-- for a note, first incident.note on the outbox and the incident's timeline.
-- The action itself (ack.lua, resolve.lua, replay.lua) ran just before, in
-- its own call: this script records what it did, it changes no state.
-- An action on a schedule (an override) has no incident: its event's
-- subject and Kafka key are "oncall/SCHEDULE", its data names the schedule.
-- ARGV: 1 prefix, 2 action, 3 incident ("" for a schedule's), 4 task ("" for
--       none), 5 by, 6 via, 7 remote address ("" for none), 8 outcome, 9 now
--       ms, 10 now RFC 3339, 11 event id base, 12 audit entries kept
--       (MAXLEN ~), 13 note text, 14 schedule ("" for none), 15 override id
-- Returns {"recorded"|"missing", id of the operator.action event}
local action, incident, task, by, via, remote, outcome =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local now, now_str, evbase, kept = tonumber(ARGV[9]), ARGV[10], ARGV[11], tonumber(ARGV[12])
if action == "note" then
  if redis.call("EXISTS", inc_key(incident)) == 0 then return {"missing", ""} end
  emit(evbase, now, now_str, incident, "incident.note", {by = by, via = via, text = ARGV[13]})
end
local schedule, override = ARGV[14] or "", ARGV[15] or ""
local data = {action = action, by = by, via = via, outcome = outcome}
if task ~= "" then data.task = task end
if remote ~= "" then data.remote = remote end
if override ~= "" then data.override = override end
local id
if incident == "" then
  data.schedule = schedule
  id = emit_raw(evbase, now_str, "oncall/" .. schedule, "operator.action", cjson.encode(data), true)
else
  id = emit(evbase, now, now_str, incident, "operator.action", data, true)
end
data.id = id
data.time = now_str
redis.call("XADD", P .. ":audit", "MAXLEN", "~", kept, "*", "entry", cjson.encode(data))
return {"recorded", id}
