-- aggregate.lua - the metrics aggregator counts one event of muster.events,
-- once, into aggregates that every aggregator replica (and a restarted one)
-- reads back (docs/metrics.md).
-- ARGV: 1 prefix, 2 event id, 3 type, 4 incident, 5 event time (ms),
--       6 now (ms), 7 how long event ids are remembered (ms),
--       8 data.workflow, 9 data.step, 10 data.action, 11 data.severity,
--       12 data.duration_ms ("" when absent), 13 data.reason,
--       14 action latency bucket bounds (ms, comma-separated),
--       15 incident duration bucket bounds (ms, comma-separated),
--       16 data.via, 17 data.level (as text), 18 data.channel
-- Returns {"counted"|"duplicate", workflow, severity, service}.
--
-- Keys (A is P:agg):
--   A          hash: every aggregate, field = family TAB label values [TAB
--              component] (histogram components: b<i> bucket i, not
--              cumulative, the last one above every bound; sum; count)
--   A:seen     sorted set: event ids counted, by when (trimmed to ARGV[7])
--   A:{ID}     hash: one incident's record (labels, times, what was counted)
--   A:sets:K   set: label sets of kind K (g incident, a action, e event type)
--   A:pools    set: task pools seen, for the queue depth gauges
--   A:version  counter: bumped by every call that changed A
--   A:since    when the aggregates began (ms), for the first rollup window
local id, etype, incident = ARGV[2], ARGV[3], ARGV[4]
local t, now, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local d_wf, d_step, d_action, d_sev = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local d_dur, d_reason = tonumber(ARGV[12]), ARGV[13]
local d_via, d_level, d_channel = ARGV[16], ARGV[17], ARGV[18]
local A = P .. ":agg"
local R = A .. ":{" .. incident .. "}"
-- Bounds on what outside input can grow: label sets per kind, event ids
-- remembered, and how long an incident's record outlives its last event.
local MAX_SETS = {g = 2000, a = 200, e = 100, c = 50}
local MAX_SEEN = 2000000
local MAX_POOLS = 100
local KEEP_MS = 30 * 86400000
local DEATH_REASONS = {["attempts exhausted"] = true, ["permanent error"] = true, poison = true}
-- Acknowledgements a person made; pagerduty and other integrations are not.
local PERSON_VIA = {slack = true, sms = true, phone = true, link = true, cli = true, http = true,
                    api = true} -- api: a token names its holder (muster-api)

local function bounds(text)
  local b = {}
  for n in string.gmatch(text, "[^,]+") do b[#b + 1] = tonumber(n) end
  return b
end

-- A label value: no control characters (TAB separates a field's parts),
-- at most 128 bytes, "unknown" when there is none.
local function clean(v)
  if type(v) ~= "string" or v == "" then return "unknown" end
  v = string.gsub(v, "%c", "_")
  if #v > 128 then v = string.sub(v, 1, 128) end
  return v
end

-- A new label set of kind `kind` is admitted while there is room; past the
-- bound everything new is counted under `other`.
local function labelset(kind, key, other)
  local set = A .. ":sets:" .. kind
  if redis.call("SISMEMBER", set, key) == 1 then return key end
  if redis.call("SCARD", set) >= MAX_SETS[kind] then key = other end
  redis.call("SADD", set, key)
  return key
end

local function add(field, n)
  redis.call("HINCRBY", A, field, n or 1)
end

-- One observation (ms) into histogram `prefix`: bucket, sum, count.
local function observe(prefix, bnds, ms)
  local i = #bnds
  for k, b in ipairs(bnds) do
    if ms <= b then
      i = k - 1
      break
    end
  end
  add(prefix .. "\tb" .. i)
  add(prefix .. "\tsum", ms)
  add(prefix .. "\tcount")
end

redis.call("INCR", A .. ":version")
redis.call("SET", A .. ":since", now, "NX")

-- Each event once: a relay failover or a consumer restart delivers again.
local seen = A .. ":seen"
redis.call("ZREMRANGEBYSCORE", seen, "-inf", "(" .. (now - window))
local etype_l = labelset("e", clean(etype), "_other")
if redis.call("ZADD", seen, "NX", now, id) == 0 then
  add("events\t" .. etype_l .. "\tduplicate")
  return {"duplicate", "", "", ""}
end
if redis.call("ZCARD", seen) > MAX_SEEN then redis.call("ZPOPMIN", seen) end
add("events\t" .. etype_l .. "\tcounted")

-- The incident's labels: fixed by the first event that can know them. The
-- incident hash (written in the same call that emitted incident.opened)
-- has the alert; without it, incident.opened's own data.
local function alert_service(alert)
  if type(alert) ~= "table" or type(alert.labels) ~= "table" then return nil end
  local l = alert.labels
  for _, name in ipairs({"service", "app", "job"}) do
    if type(l[name]) == "string" and l[name] ~= "" then return l[name] end
  end
  return nil
end

local function labels()
  local l = redis.call("HMGET", R, "wf", "sev", "svc")
  if l[1] then return l[1], l[2], l[3] end
  local inc = redis.call("HMGET", inc_key(incident), "workflow", "alert")
  local wf, sev, svc, keep = d_wf, nil, nil, false
  if inc[1] then
    wf, keep = inc[1], true
    local ok, alert = pcall(cjson.decode, inc[2] or "{}")
    if ok and type(alert) == "table" then
      sev, svc = alert.severity, alert_service(alert)
    end
  elseif etype == "incident.opened" then
    sev, keep = d_sev, true
  end
  local key = labelset("g", clean(wf) .. "\t" .. clean(sev) .. "\t" .. clean(svc),
                       "_other\t_other\t_other")
  local a, b, c = string.match(key, "^([^\t]*)\t([^\t]*)\t([^\t]*)$")
  -- Neither the incident nor its opening seen yet: these labels are a
  -- guess for this event only.
  if keep then redis.call("HSET", R, "wf", a, "sev", b, "svc", c) end
  return a, b, c
end

-- An escalation level: a small number, else "unknown".
local function level_label(v)
  if string.match(v or "", "^%d%d?%d?$") then return v end
  return "unknown"
end

-- A channel (slack, sms, phone, email, teams, link...), bounded as a label set.
local function channel_label(v)
  return labelset("c", clean(v), "_other")
end

local wf, sev, svc = labels()
local G = wf .. "\t" .. sev .. "\t" .. svc
redis.call("PEXPIRE", R, KEEP_MS)

-- When the incident opened: its own event, else the dispatcher's record of
-- it (the same clock and the same millisecond).
local function opened_at()
  local v = redis.call("HGET", R, "opened_at") or redis.call("HGET", inc_key(incident), "opened_at")
  return v and tonumber(v)
end

-- MTTA and MTTR: once per incident, by whichever of its two events comes last.
local function settle(kind, at_field)
  local at = redis.call("HGET", R, at_field)
  local op = opened_at()
  if not at or not op then return end
  if redis.call("HSETNX", R, kind .. "_done", 1) == 0 then return end
  observe(kind .. "\t" .. G, bounds(ARGV[15]), math.max(0, tonumber(at) - op))
end

-- The action of a step: remembered from its events, else its definition.
local function action_of(step)
  local a = redis.call("HGET", R, "act:" .. step)
  if a then return a end
  local t = redis.call("HMGET", task_key(incident, step), "action", "def")
  if t[1] then return clean(t[1]) end
  local def = t[2]
  local ok, d = pcall(cjson.decode, def or "{}")
  if ok and type(d) == "table" then return clean(d.action) end
  return "unknown"
end

if etype == "incident.opened" then
  if redis.call("HSETNX", R, "opened", 1) == 1 then add("opened\t" .. G) end
  redis.call("HSETNX", R, "opened_at", t)
  settle("mtta", "acked_at")
  settle("pmtta", "person_acked_at")
  settle("mttr", "resolved_at")
elseif etype == "incident.acknowledged" then
  redis.call("HSETNX", R, "acked_at", t)
  settle("mtta", "acked_at")
  if PERSON_VIA[d_via] then
    redis.call("HSETNX", R, "person_acked_at", t)
    settle("pmtta", "person_acked_at")
  end
  -- The incident's first acknowledgement, by its level and channel (where
  -- the person acknowledged: data.channel, else data.via).
  if redis.call("HSETNX", R, "ack_counted", 1) == 1 then
    add("acks\t" .. level_label(d_level) .. "\t" .. channel_label(d_channel ~= "" and d_channel or d_via))
  end
elseif etype == "incident.escalated" then
  add("escalations\t" .. G)
elseif etype == "page.sent" then
  add("pages\t" .. G)
  add("pages_by_channel\t" .. channel_label(d_channel))
elseif etype == "incident.resolved" then
  redis.call("HSETNX", R, "resolved_at", t)
  settle("mttr", "resolved_at")
elseif etype == "task.started" then
  redis.call("HSET", R, "act:" .. d_step, clean(d_action))
  local pool = redis.call("HGET", task_key(incident, d_step), "pool")
  if pool and (redis.call("SISMEMBER", A .. ":pools", pool) == 1 or
               redis.call("SCARD", A .. ":pools") < MAX_POOLS) then
    redis.call("SADD", A .. ":pools", pool)
  end
elseif etype == "task.succeeded" or etype == "task.failed" then
  local action = clean(d_action)
  redis.call("HSET", R, "act:" .. d_step, action)
  local outcome = etype == "task.succeeded" and "succeeded" or "failed"
  local al = labelset("a", action, "_other")
  add("attempts\t" .. al .. "\t" .. outcome)
  if d_dur then
    observe("duration\t" .. al .. "\t" .. outcome, bounds(ARGV[14]), math.max(0, d_dur))
  end
  add("g_attempts\t" .. G)
  if outcome == "failed" then add("g_failed\t" .. G) end
  -- Automated actions and manual tasks count once per task, whatever is
  -- replayed or delivered again.
  if outcome == "succeeded" then
    if action == "manual" then
      if redis.call("HSETNX", R, "m:" .. d_step, 1) == 1 then add("manual\t" .. G) end
    elseif redis.call("HSETNX", R, "a:" .. d_step, 1) == 1 then
      add("automated\t" .. G)
    end
  end
elseif etype == "task.retrying" then
  add("retries\t" .. labelset("a", action_of(d_step), "_other"))
  add("g_retries\t" .. G)
elseif etype == "task.dead" then
  local reason = DEATH_REASONS[d_reason] and d_reason or "other"
  add("deaths\t" .. labelset("a", action_of(d_step), "_other") .. "\t" .. reason)
  add("g_dead\t" .. G)
end
return {"counted", wf, sev, svc}
