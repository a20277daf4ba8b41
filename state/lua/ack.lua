-- ack.lua - a person acknowledges an incident (muster ack, the HTTP
-- endpoint). The first acknowledgement counts for MTTA.
-- ARGV: 1 prefix, 2 incident, 3 by, 4 via, 5 now ms, 6 now RFC 3339, 7 event id base
-- Returns {"acknowledged"|"already"|"missing", by-of-the-first}
local incident, by, via, now, now_str, evbase = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ik = inc_key(incident)
if redis.call("EXISTS", ik) == 0 then return {"missing", ""} end
if acknowledge(evbase, now, now_str, incident, by, via, redis.call("HGET", ik, "fingerprint")) then
  return {"acknowledged", by}
end
return {"already", redis.call("HGET", ik, "acknowledged_by") or ""}
