-- gc.lua - retention: finished incidents leave Redis after
-- retention.incidents (retention.dead while one of their tasks is dead),
-- with every key they own and their entries in the shared indexes. Each
-- call touches the shared indexes and at most one incident; all but
-- "page" and "inspect" need the gc lease, so one leader works at a time.
-- ARGV: 1 prefix, 2 mode, 3 now ms, 4 retention.incidents ms,
--       5 retention.dead ms, 6 most entries, 7 holder, 8 lease ms,
--       9 retention.workers ms, 10 incident id (expire, inspect) or rank
--       (page), 11 "1": the id came from the backfill (expire)
-- Modes and what they return:
--   slice    takes or renews the lease; trims the tombstones, forgets one
--            page of silent workers, reads one page of the backfill:
--            {"slice", more (0|1), ndue, nbackfill, due ids..., backfill ids...}
--            or {"busy", holder}
--   expire   one incident, if it is due: {"expired", bytes} | {"held", until}
--            | {"skip"} (gone, reopened, not finished) | {"notdue"} | {"busy", holder}
--   release  gives the lease up if the holder has it: {"released"}
--   page     due entries of P:finished from a rank, changing nothing:
--            {next rank (-1: no more due), id, since, id, since, ...}
--   inspect  what expire would do, changing nothing:
--            {"expire"|"keep"|"skip", until ms, bytes}
--
-- Keys: P:finished (sorted set: incidents whose retention clock runs, by
-- when it started: finish time, later while a dead task holds it),
-- P:expired (tombstones: id by expiry time, as long as retention.incidents
-- and at most TOMBSTONES_MAX), P:gc:leader (the lease), P:gc:stats (hash:
-- expired, bytes), P:gc:workers_cursor (HSCAN cursor of P:workers),
-- P:gc:backfill (hash: the ZSCAN cursor of P:incidents looking for
-- incidents that finished before P:finished existed; done once complete).
local mode, now = ARGV[2], tonumber(ARGV[3])
local keep, keep_dead, max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holder, lease_ms, keep_workers = ARGV[7], ARGV[8], tonumber(ARGV[9])
local arg = ARGV[10] or ""
local F = P .. ":finished"
local LEASE = P .. ":gc:leader"
local TOMBS = P .. ":expired"
local TOMBSTONES_MAX = 100000

if mode == "release" then
  if redis.call("GET", LEASE) == holder then redis.call("DEL", LEASE) end
  return {"released"}
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
  -- paging: the page steps' timers and lists
  for _, k in ipairs({paging_keys(id)}) do ks[#ks + 1] = k end
  return ks
end

-- Whether the incident is finished: resolved, and its run ended.
local function finished(ik)
  local h = redis.call("HMGET", ik, "status", "run")
  return h[1] == "resolved" and h[2] ~= "running"
end

-- "skip" when it is not retention's (gone, or running again), else the time
-- it is kept until (retention.dead after its last dead task died, if
-- later) and its step names.
local function verdict(id, since)
  local ik = inc_key(id)
  if not finished(ik) then return "skip" end
  local names = steps_of(ik)
  -- paging: the notification tasks are the incident's tasks too
  local _, _, _, _, made = paging_keys(id)
  for _, n in ipairs(redis.call("SMEMBERS", made)) do names[#names + 1] = n end
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

if mode == "page" then
  local from = tonumber(arg) or 0
  local page = redis.call("ZRANGE", F, from, from + max - 1, "WITHSCORES")
  local out = {from + #page / 2}
  for i = 1, #page, 2 do
    if tonumber(page[i + 1]) > now - keep then
      out[1] = -1
      return out
    end
    out[#out + 1] = page[i]
    out[#out + 1] = page[i + 1]
  end
  if #page < 2 * max then out[1] = -1 end
  return out
end

if mode == "inspect" then
  local since = tonumber(redis.call("ZSCORE", F, arg))
  if not since then return {"skip", 0, 0} end
  local kept_until, names = verdict(arg, since)
  if kept_until == "skip" then return {"skip", 0, 0} end
  return {kept_until <= now and "expire" or "keep", kept_until, bytes_of(keys_of(arg, names))}
end

-- What follows changes Redis: only under the lease.
local cur = redis.call("GET", LEASE)
if cur and cur ~= holder then return {"busy", cur} end

if mode == "expire" then
  local id = arg
  local ik = inc_key(id)
  if not cur then redis.call("SET", LEASE, holder, "PX", lease_ms) end
  local since = tonumber(redis.call("ZSCORE", F, id))
  if not since and ARGV[11] == "1" then
    -- From the backfill: an incident that finished before P:finished.
    if not finished(ik) then return {"skip"} end
    local h = redis.call("HMGET", ik, "resolved_at", "run_finished_at")
    since = math.max(tonumber(h[1]) or 0, tonumber(h[2]) or 0)
    redis.call("ZADD", F, since, id)
  end
  if not since then return {"skip"} end
  if since > now - keep then return {"notdue"} end
  local kept_until, names = verdict(id, since)
  if kept_until == "skip" then
    redis.call("ZREM", F, id)
    return {"skip"}
  end
  if kept_until > now then
    -- A dead task keeps it: due again when retention.dead has passed.
    redis.call("ZADD", F, kept_until - keep, id)
    return {"held", kept_until}
  end
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
  local bytes = bytes_of(ks)
  redis.call("UNLINK", unpack(ks))
  redis.call("ZREM", F, id)
  redis.call("ZADD", TOMBS, now, id)
  redis.call("HINCRBY", P .. ":gc:stats", "expired", 1)
  redis.call("HINCRBY", P .. ":gc:stats", "bytes", bytes)
  return {"expired", bytes}
end

-- mode "slice"
redis.call("SET", LEASE, holder, "PX", lease_ms)

-- Tombstones last as long as the incidents did, and are capped.
redis.call("ZREMRANGEBYSCORE", TOMBS, "-inf", "(" .. (now - keep))
local over = redis.call("ZCARD", TOMBS) - TOMBSTONES_MAX
if over > 0 then redis.call("ZPOPMIN", TOMBS, over) end

-- Workers that have not beaten for retention.workers are forgotten, one
-- page of the hash per call.
local wc = P .. ":gc:workers_cursor"
local wpage = redis.call("HSCAN", P .. ":workers", redis.call("GET", wc) or "0", "COUNT", max)
for i = 1, #wpage[2], 2 do
  if (tonumber(wpage[2][i + 1]) or 0) < now - keep_workers then
    redis.call("HDEL", P .. ":workers", wpage[2][i])
  end
end
if wpage[1] == "0" then redis.call("DEL", wc) else redis.call("SET", wc, wpage[1]) end

local due = redis.call("ZRANGEBYSCORE", F, "-inf", now - keep, "LIMIT", 0, max)
local more = redis.call("ZCOUNT", F, "-inf", now - keep) > #due and 1 or 0

-- One ZSCAN page of P:incidents: ids not in P:finished, for "expire" to
-- adopt if they finished before P:finished existed. ZSCAN returns every
-- member that stays in the set for the whole scan, whatever is deleted
-- meanwhile.
local back = {}
local bf = P .. ":gc:backfill"
local b = redis.call("HMGET", bf, "cursor", "done")
if not b[2] then
  local page = redis.call("ZSCAN", P .. ":incidents", b[1] or "0", "COUNT", max)
  for i = 1, #page[2], 2 do
    if not redis.call("ZSCORE", F, page[2][i]) then back[#back + 1] = page[2][i] end
  end
  if page[1] == "0" then
    redis.call("HSET", bf, "done", now)
  else
    redis.call("HSET", bf, "cursor", page[1])
    more = 1
  end
end

local out = {"slice", more, #due, #back}
for _, id in ipairs(due) do out[#out + 1] = id end
for _, id in ipairs(back) do out[#out + 1] = id end
return out
