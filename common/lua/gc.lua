-- gc.lua - retention: finished incidents leave Redis after
-- retention.incidents (retention.dead while one of their tasks is dead),
-- with every key they own and their entries in the shared indexes. One
-- bounded slice per call, under a lease so one leader works at a time.
-- ARGV: 1 prefix, 2 mode "run" | "preview" | "release", 3 now ms,
--       4 retention.incidents ms, 5 retention.dead ms, 6 most incidents,
--       7 holder, 8 lease ms, 9 retention.workers ms,
--       10 preview: rank in P:finished to start from
-- Returns, run: {"done", expired, bytes, held, more (0|1)} or {"busy", holder};
--   preview: {next rank (-1: no more due), then per due incident:
--             id, finished ms, "expire"|"keep"|"skip", until ms, bytes};
--   release: {"released"}.
--
-- Keys: P:finished (sorted set: incidents whose retention clock runs, by
-- when it started: finish time, later while a dead task holds it),
-- P:expired (tombstones: id by expiry time, as long as retention.incidents
-- and at most TOMBSTONES_MAX), P:gc:leader (the lease), P:gc:stats (hash:
-- expired, bytes), P:gc:workers_cursor (HSCAN cursor of P:workers),
-- P:gc:backfill (hash: how far P:incidents was looked through for incidents
-- that finished before P:finished existed).
local mode, now = ARGV[2], tonumber(ARGV[3])
local keep, keep_dead, max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holder, lease_ms, keep_workers = ARGV[7], ARGV[8], tonumber(ARGV[9])
local F = P .. ":finished"
local LEASE = P .. ":gc:leader"
local TOMBS = P .. ":expired"
local TOMBSTONES_MAX = 100000
local WORKERS_PAGE = 100

if mode == "release" then
  if redis.call("GET", LEASE) == holder then redis.call("DEL", LEASE) end
  return {"released"}
end
if mode == "run" then
  local cur = redis.call("GET", LEASE)
  if cur and cur ~= holder then return {"busy", cur} end
  redis.call("SET", LEASE, holder, "PX", lease_ms)
end

local function decode_list(text)
  local ok, l = pcall(cjson.decode, text or "[]")
  return (ok and type(l) == "table") and l or {}
end

-- The step names of an incident: its run's and its on_resolve steps.
local function steps_of(ik)
  local names = {}
  for _, list in ipairs({"steps", "resolve_steps"}) do
    for _, n in ipairs(decode_list(redis.call("HGET", ik, list))) do names[#names + 1] = n end
  end
  return names
end

-- Every key the incident owns, found from its own hash.
local function keys_of(id, names)
  local ks = {inc_key(id), timeline_key(id), P .. ":{" .. id .. "}:memo",
              P .. ":{" .. id .. "}:firing"}
  for _, n in ipairs(names) do ks[#ks + 1] = task_key(id, n) end
  return ks
end

-- Whether the incident may go: "skip" (gone, or running again: it leaves
-- P:finished), else the time it is kept until, and its step names.
local function verdict(id, since)
  local ik = inc_key(id)
  local h = redis.call("HMGET", ik, "status", "run")
  if not h[1] or h[1] ~= "resolved" or h[2] == "running" then return "skip" end
  local names = steps_of(ik)
  local kept_until = since + keep
  for _, n in ipairs(names) do
    local t = redis.call("HMGET", task_key(id, n), "state", "finished_at")
    if t[1] == "dead" then
      kept_until = math.max(kept_until, (tonumber(t[2]) or since) + keep_dead)
    end
  end
  return kept_until, names
end

-- An estimate of what the keys take (MEMORY USAGE samples 5 elements of
-- each collection).
local function bytes_of(ks)
  local b = 0
  for _, k in ipairs(ks) do b = b + (redis.call("MEMORY", "USAGE", k) or 0) end
  return b
end

if mode == "preview" then
  local from = tonumber(ARGV[10] or "0")
  local page = redis.call("ZRANGE", F, from, from + max - 1, "WITHSCORES")
  local out = {from + #page / 2}
  for i = 1, #page, 2 do
    local id, since = page[i], tonumber(page[i + 1])
    if since > now - keep then
      out[1] = -1
      return out
    end
    local kept_until, names = verdict(id, since)
    if kept_until == "skip" then
      for _, v in ipairs({id, since, "skip", 0, 0}) do out[#out + 1] = v end
    else
      local what = kept_until <= now and "expire" or "keep"
      for _, v in ipairs({id, since, what, kept_until, bytes_of(keys_of(id, names))}) do
        out[#out + 1] = v
      end
    end
  end
  if #page < 2 * max then out[1] = -1 end
  return out
end

-- mode "run": at most `max` due incidents.
local due = redis.call("ZRANGEBYSCORE", F, "-inf", now - keep, "WITHSCORES", "LIMIT", 0, max)
local expired, bytes, held = 0, 0, 0
for i = 1, #due, 2 do
  local id, since = due[i], tonumber(due[i + 1])
  local kept_until, names = verdict(id, since)
  if kept_until == "skip" then
    redis.call("ZREM", F, id)
  elseif kept_until > now then
    -- A dead task keeps it: due again when retention.dead has passed.
    redis.call("ZADD", F, kept_until - keep, id)
    held = held + 1
  else
    local ik = inc_key(id)
    local inc = redis.call("HMGET", ik, "group", "fingerprint")
    if inc[1] then
      for _, index in ipairs({P .. ":group", P .. ":lastgroup"}) do
        if redis.call("HGET", index, inc[1]) == id then redis.call("HDEL", index, inc[1]) end
      end
    end
    local fps = redis.call("SMEMBERS", P .. ":{" .. id .. "}:firing")
    if inc[2] then fps[#fps + 1] = inc[2] end
    for _, fp in ipairs(fps) do redis.call("SREM", P .. ":fp:" .. fp, id) end
    for _, n in ipairs(names) do
      local ref = id .. "/" .. n
      redis.call("ZREM", P .. ":dead", ref)
      redis.call("ZREM", P .. ":delayed", ref)
      redis.call("SREM", P .. ":manual", ref)
    end
    redis.call("ZREM", P .. ":incidents", id)
    local ks = keys_of(id, names)
    bytes = bytes + bytes_of(ks)
    redis.call("UNLINK", unpack(ks))
    redis.call("ZREM", F, id)
    redis.call("ZADD", TOMBS, now, id)
    expired = expired + 1
  end
end

-- Incidents that finished before retention existed are not in P:finished:
-- one ZSCAN page of P:incidents per call adds those finished, until the scan
-- is complete once (ZSCAN returns every member that stays in the set for the
-- whole scan, whatever is deleted meanwhile).
local bf = P .. ":gc:backfill"
local cursor = redis.call("HMGET", bf, "cursor", "done")
if not cursor[2] then
  local page = redis.call("ZSCAN", P .. ":incidents", cursor[1] or "0", "COUNT", max)
  for i = 1, #page[2], 2 do
    local id = page[2][i]
    local h = redis.call("HMGET", inc_key(id), "status", "run", "resolved_at", "run_finished_at")
    if h[1] == "resolved" and h[2] ~= "running" and not redis.call("ZSCORE", F, id) then
      redis.call("ZADD", F, math.max(tonumber(h[3]) or 0, tonumber(h[4]) or 0), id)
    end
  end
  if page[1] == "0" then
    redis.call("HSET", bf, "done", now)
  else
    redis.call("HSET", bf, "cursor", page[1])
  end
end

-- Tombstones last as long as the incidents did, and are capped.
redis.call("ZREMRANGEBYSCORE", TOMBS, "-inf", "(" .. (now - keep))
local over = redis.call("ZCARD", TOMBS) - TOMBSTONES_MAX
if over > 0 then redis.call("ZPOPMIN", TOMBS, over) end
if expired > 0 then
  redis.call("HINCRBY", P .. ":gc:stats", "expired", expired)
  redis.call("HINCRBY", P .. ":gc:stats", "bytes", bytes)
end

-- Workers that have not beaten for retention.workers are forgotten, one
-- page of the hash per call.
local wc = P .. ":gc:workers_cursor"
local page = redis.call("HSCAN", P .. ":workers", redis.call("GET", wc) or "0",
                        "COUNT", WORKERS_PAGE)
for i = 1, #page[2], 2 do
  if (tonumber(page[2][i + 1]) or 0) < now - keep_workers then
    redis.call("HDEL", P .. ":workers", page[2][i])
  end
end
if page[1] == "0" then redis.call("DEL", wc) else redis.call("SET", wc, page[1]) end

local more = redis.call("ZCOUNT", F, "-inf", now - keep) > 0 and 1 or 0
return {"done", expired, bytes, held, more}
