-- kpi.lua - files an incident's figures under the UTC day it opened, so
-- that muster report can answer for any period (docs/metrics.md "Figures by
-- period"). It runs after aggregate.lua for every event and reads what that
-- script keeps in the incident's record; every figure is filed once, by a
-- flag in the same record, so a second run (a repeat, or a run after a
-- crash between the two scripts) files what is missing and nothing twice.
-- ARGV: 1 prefix, 2 event id, 3 type, 4 incident, 5 data.step,
--       6 samples kept per day and label set, 7 how long a day is kept
--       after it ends (ms), 8 label sets per day, 9 data.outcome
-- Returns {"filed"|"pending"|"none"}.
--
-- Keys (A is P:agg, D a day: whole days since 1970-01-01 UTC):
--   A:{ID}     the incident's record (aggregate.lua); this script adds
--              k_day, k_g, k_ta, k_tr, k_a:STEP, k_m:STEP, k_op:EVENT,
--              k_ops and k_pend (figures waiting for the opening)
--   A:kpi:D    hash: the day's figures, field = workflow TAB severity TAB
--              service TAB figure: n (incidents opened), ta_n / ta_sum
--              (acknowledgements by a person: count, ms), tr_n / tr_sum
--              (resolutions), auto, manual, op (operator actions), ta_s /
--              tr_s (comma-separated ms: every time while fewer than the
--              sample size, then a uniform sample of that size)
--   A:kpi:D:g  set: the day's label sets (bounded by ARGV[8])
--   Both expire ARGV[7] after the day ends.
local id, etype, incident, step = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local K, keep_ms, max_sets = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local DAY = 86400000
local MAX_OPS = 1000 -- operator actions counted per incident
-- Operator actions that changed nothing are no work done.
local NO_WORK = {already = true, missing = true, refused = true, ["would replay"] = true}
local A = P .. ":agg"
local R = A .. ":{" .. incident .. "}"

if redis.call("EXISTS", R) == 0 then return {"none"} end

local function hincr(key, field, n)
  redis.call("HINCRBY", key, field, n)
end

-- Figures of this event that belong to the incident: counted once, filed
-- under its day when known, else kept in k_pend until the opening is.
local new_auto, new_manual, new_op = 0, 0, 0
if etype == "task.succeeded" and step ~= "" then
  if redis.call("HEXISTS", R, "a:" .. step) == 1 and
     redis.call("HSETNX", R, "k_a:" .. step, 1) == 1 then new_auto = 1 end
  if redis.call("HEXISTS", R, "m:" .. step) == 1 and
     redis.call("HSETNX", R, "k_m:" .. step, 1) == 1 then new_manual = 1 end
elseif etype == "operator.action" and not NO_WORK[ARGV[9]] then
  if tonumber(redis.call("HGET", R, "k_ops") or "0") < MAX_OPS and
     redis.call("HSETNX", R, "k_op:" .. id, 1) == 1 then
    hincr(R, "k_ops", 1)
    new_op = 1
  end
end

local rec = redis.call("HMGET", R, "wf", "sev", "svc", "opened_at", "person_acked_at",
                       "resolved_at", "k_day", "k_g")
local opened = rec[4] or redis.call("HGET", inc_key(incident), "opened_at")
local day, G = rec[7], rec[8]

if not day then
  if not rec[1] or not opened then
    -- Labels or opening unknown yet (an event before incident.opened).
    if new_auto + new_manual + new_op > 0 then
      hincr(R, "k_pend_auto", new_auto)
      hincr(R, "k_pend_manual", new_manual)
      hincr(R, "k_pend_op", new_op)
    end
    return {"pending"}
  end
  day = tostring(math.floor(tonumber(opened) / DAY))
  if redis.call("HSETNX", R, "k_day", day) == 0 then day = redis.call("HGET", R, "k_day") end
  G = rec[1] .. "\t" .. rec[2] .. "\t" .. rec[3]
  local sets = A .. ":kpi:" .. day .. ":g"
  if redis.call("SISMEMBER", sets, G) == 0 then
    if redis.call("SCARD", sets) >= max_sets then G = "_other\t_other\t_other" end
    redis.call("SADD", sets, G)
  end
  redis.call("HSET", R, "k_g", G)
  local p = redis.call("HMGET", R, "k_pend_auto", "k_pend_manual", "k_pend_op")
  new_auto = new_auto + tonumber(p[1] or "0")
  new_manual = new_manual + tonumber(p[2] or "0")
  new_op = new_op + tonumber(p[3] or "0")
  redis.call("HDEL", R, "k_pend_auto", "k_pend_manual", "k_pend_op")
  hincr(A .. ":kpi:" .. day, G .. "\tn", 1)
end

local K_DAY = A .. ":kpi:" .. day
local ends = (tonumber(day) + 1) * DAY + keep_ms

-- One time (ms) into the day's count, sum and sample of figure f.
local function observe(f, ms)
  local n = redis.call("HINCRBY", K_DAY, G .. "\t" .. f .. "_n", 1)
  hincr(K_DAY, G .. "\t" .. f .. "_sum", ms)
  local sf = G .. "\t" .. f .. "_s"
  local s = redis.call("HGET", K_DAY, sf)
  if n <= K or not s then
    redis.call("HSET", K_DAY, sf, s and (s .. "," .. ms) or tostring(ms))
    return
  end
  -- Reservoir sampling: the n-th time replaces a kept one with probability
  -- K/n. The draw is a hash of the incident, so a repeat draws the same.
  local j = tonumber(string.sub(redis.sha1hex(incident .. f), 1, 8), 16) % n + 1
  if j > K then return end
  local kept = {}
  for v in string.gmatch(s, "[^,]+") do kept[#kept + 1] = v end
  if j > #kept then return end
  kept[j] = tostring(ms)
  redis.call("HSET", K_DAY, sf, table.concat(kept, ","))
end

if rec[5] and redis.call("HSETNX", R, "k_ta", 1) == 1 then
  observe("ta", math.max(0, tonumber(rec[5]) - tonumber(opened)))
end
if rec[6] and redis.call("HSETNX", R, "k_tr", 1) == 1 then
  observe("tr", math.max(0, tonumber(rec[6]) - tonumber(opened)))
end
if new_auto > 0 then hincr(K_DAY, G .. "\tauto", new_auto) end
if new_manual > 0 then hincr(K_DAY, G .. "\tmanual", new_manual) end
if new_op > 0 then hincr(K_DAY, G .. "\top", new_op) end
-- A day older than the retention is dropped at once.
redis.call("PEXPIREAT", K_DAY, ends)
redis.call("PEXPIREAT", K_DAY .. ":g", ends)
return {"filed"}
