-- resolve.lua - a person resolves an open incident (a Slack button, an SMS
-- reply, PagerDuty): as if every alert of it had resolved. Its alerts'
-- fingerprints leave it, so a later resolved alert finds nothing to close.
-- ARGV: 1 prefix, 2 incident, 3 by, 4 via, 5 now ms, 6 now RFC 3339, 7 event id base
-- Returns {"resolved"|"already"|"missing", by}
local incident, by, via, now, now_str, evbase = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ik = inc_key(incident)
if redis.call("EXISTS", ik) == 0 then return {"missing", ""} end
if redis.call("HGET", ik, "status") ~= "open" then
  return {"already", redis.call("HGET", ik, "resolved_by") or ""}
end
local firing = P .. ":{" .. incident .. "}:firing"
for _, fp in ipairs(redis.call("SMEMBERS", firing)) do
  redis.call("SREM", P .. ":fp:" .. fp, incident)
end
redis.call("DEL", firing)
redis.call("HSET", ik, "resolved_by", by, "resolved_via", via)
close_incident(evbase, now, now_str, incident, "incident.resolved",
               {fingerprint = redis.call("HGET", ik, "fingerprint"), by = by, via = via})
return {"resolved", by}
