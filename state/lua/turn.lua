-- turn.lua - one turn of a worker, in one call: start the entries the
-- worker brings (a blocking read or a takeover found them), lease and start
-- up to `max` new ones, then complete every attempt that finished since
-- the last turn. Each completion and each start keeps the contract of its
-- own transition (docs/architecture.md, "The task state machine"); doing
-- them together only saves round trips: the queue entries of the turn are
-- acknowledged and deleted with one XACK and one XDEL per pool.
-- ARGV: 1 prefix, 2 consumer, 3 now ms, 4 now RFC 3339, 5 event id base,
--       6 most to lease, 7 number of pools, then the pools,
--       then the number of completions, then 11 fields each:
--         incident, step, pool, message id, "succeeded"|"failed"|"skipped",
--         output JSON, error, duration ms, the event's data JSON (made by
--         the worker), retryable "1"|"0", delay before the next attempt ms,
--       then the number of entries to start, then 4 fields each:
--         pool, message id, incident, step.
-- Returns, flat: for each completion {outcome, detail} where outcome is
-- "done" | "retrying" | "dead" | "fenced"; then for each start
--   {"run", pool, msgid, incident, step, attempt, defsha, def, workflow,
--    alert, fingerprint, opened_at, n, then n x (name, state, output, error)}
-- or {"skip"|"dead", pool, msgid, incident, step, why}, or
-- {"error", pool, "", "", "", why} when a pool could not be read.
-- User JSON is passed through as text, never re-encoded.
local consumer, now, now_str, evbase = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max = tonumber(ARGV[6])
local npools = tonumber(ARGV[7])
local pools = {}
for i = 1, npools do pools[i] = ARGV[7 + i] end
local at = 8 + npools

-- Entries to acknowledge and delete at the end, by pool.
local acks, ack_pools = {}, {}
local function ack(pool, msgid)
  if not acks[pool] then
    acks[pool] = {}
    table.insert(ack_pools, pool)
  end
  table.insert(acks[pool], msgid)
end

local out = {}
-- Runs that end in this turn are settled once, at its end.
FINISHED = {}

-- ---- completions (the worker's results, fenced by its lease) ----
local function complete(incident, step, pool, msgid, result, output, err, duration,
                        event_data, retryable, delay)
  local tk = task_key(incident, step)
  local t = redis.call("HMGET", tk, "state", "lease", "attempts", "max_attempts", "workflow",
                       "release", "page_of")
  -- Fencing: only the holder of the current lease may complete the task.
  if t[1] ~= "running" or t[2] ~= consumer .. "|" .. msgid then
    return "fenced", t[1] or "missing"
  end
  ack(pool, msgid)
  local wf = t[5] or redis.call("HGET", inc_key(incident), "workflow")
  if result == "skipped" then
    -- Nothing ran; like GitHub Actions, what needs it is skipped too.
    redis.call("HSET", tk, "state", "skipped", "finished_at", now, "lease", "")
    emit(evbase, now, now_str, incident, "task.skipped", {workflow = wf, step = step, reason = err})
    local n = 1 + skip_downstream(evbase, now, now_str, incident, wf, step)
    return "done", tostring(steps_finished(evbase, now, now_str, incident, n))
  end
  if output ~= "" then
    redis.call("HSET", tk, "state", result, "finished_at", now, "duration_ms", duration,
               "lease", "", "error", err, "output", output)
  else
    redis.call("HSET", tk, "state", result, "finished_at", now, "duration_ms", duration,
               "lease", "", "error", err)
  end
  -- A success goes to the outbox only: the timeline derives it from the
  -- task hash (incident_show()); a failure is kept there too.
  emit_raw(evbase, now_str, incident, "task." .. result, event_data, result == "succeeded")
  -- paging: a notification task reports its page
  if t[7] then paging_sent(evbase, now, now_str, incident, step, result) end

  if result == "succeeded" then
    release_dependents(incident, step, t[6])
    return "done", tostring(steps_finished(evbase, now, now_str, incident, 1))
  end
  local attempts, most = tonumber(t[3]), tonumber(t[4] or "3")
  if retryable == "1" and attempts < most then
    local due = tonumber(now) + tonumber(delay)
    redis.call("HSET", tk, "state", "delayed", "due", due)
    redis.call("ZADD", P .. ":delayed", due, incident .. "/" .. step)
    emit(evbase, now, now_str, incident, "task.retrying",
         {workflow = wf, step = step, attempt = attempts, next_attempt = attempts + 1,
          delay_ms = tonumber(delay), error = err})
    return "retrying", delay
  end
  bury(evbase, now, now_str, incident, wf, step,
       retryable == "1" and "attempts exhausted" or "permanent error", err)
  return "dead", ""
end

-- The completions' arguments are read first (they come first); they run
-- after the starts and the lease, so that the steps they release are left
-- in the queue for whichever worker is free, not taken by this turn.
local nc = tonumber(ARGV[at])
local completions = {}
at = at + 1
for _ = 1, nc do
  local a = {}
  for k = 1, 11 do a[k] = ARGV[at + k - 1] end
  at = at + 11
  table.insert(completions, a)
end
-- ---- starts ----
-- The steps whose state and output a task's templates read, by its ctx
-- field: "" nothing, "i" the incident and its alert, "i:a,b" and steps a
-- and b, "i:*" and every step. A task without the field (one made before
-- it existed, or a page's notification) reads everything.
local function context_steps(ctx, steps, resolve_steps)
  if ctx == "i" then return {} end
  local names = {}
  if ctx and string.sub(ctx, 1, 2) == "i:" and ctx ~= "i:*" then
    for name in string.gmatch(string.sub(ctx, 3), "[^,]+") do names[#names + 1] = name end
    return names
  end
  for _, list in ipairs({steps or "[]", resolve_steps or "[]"}) do
    for _, name in ipairs(cjson.decode(list)) do names[#names + 1] = name end
  end
  return names
end

-- Appends the values to the reply.
local function put(...)
  local n = #out
  for i = 1, select("#", ...) do out[n + i] = select(i, ...) end
end

local function start(pool, msgid, incident, step)
  local tk = task_key(incident, step)
  local t = redis.call("HMGET", tk, "state", "msg", "max_attempts", "lease", "attempts", "defsha",
                       "workflow", "ctx", "action")
  local state, current = t[1], t[2]
  -- Only the task's current queue entry may start it: an older entry (a
  -- duplicate) is dropped. A running task whose entry comes back was
  -- reclaimed from a worker whose lease lapsed: the new holder takes over
  -- and the old one is fenced off.
  if not state or msgid ~= current or (state ~= "queued" and state ~= "running") then
    ack(pool, msgid)
    put("skip", pool, msgid, incident, step,
        (state or "missing") .. (msgid ~= current and " (stale entry)" or ""))
    return
  end
  local attempt = tonumber(t[5] or "0") + 1
  local wf, ctx, action = t[7], t[8], t[9]
  local def = ""
  if not t[6] then def = redis.call("HGET", tk, "def") or "{}" end
  if not wf then wf = redis.call("HGET", inc_key(incident), "workflow") end
  -- A task delivered again and again without ever completing (its worker
  -- dies each time) is poison: it is buried instead of run once more.
  if attempt > tonumber(t[3] or "3") then
    redis.call("HSET", tk, "attempts", attempt)
    ack(pool, msgid)
    bury(evbase, now, now_str, incident, wf, step, "poison",
         "delivered " .. attempt .. " times without completing")
    put("dead", pool, msgid, incident, step, "poison")
    return
  end
  redis.call("HSET", tk, "state", "running", "lease", consumer .. "|" .. msgid, "started_at", now,
             "attempts", attempt)
  if not action then action = cjson.decode(def ~= "" and def or "{}").action end
  local data = {workflow = wf, step = step, action = action, attempt = attempt}
  if state == "running" then data.reclaimed_from = string.match(t[4] or "", "^[^|]*") end
  emit(evbase, now, now_str, incident, "task.started", data, true) -- timeline: derived

  put("run", pool, msgid, incident, step, tostring(attempt), t[6] or "", def, wf)
  if ctx == "" then
    put("", "", "", "0")
    return
  end
  local inc = redis.call("HMGET", inc_key(incident), "alert", "fingerprint", "opened_at", "steps",
                         "resolve_steps")
  local names = context_steps(ctx, inc[4], inc[5])
  put(inc[1] or "", inc[2] or "", inc[3] or "", tostring(#names))
  for _, name in ipairs(names) do
    local st = redis.call("HMGET", task_key(incident, name), "state", "output", "error")
    put(name, st[1] or "", st[2] or "", st[3] or "")
  end
end

local ns = tonumber(ARGV[at])
at = at + 1
for _ = 1, ns do
  start(ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3])
  at = at + 4
end

-- ---- lease: new entries of the worker's pools, started at once ----
-- One pool after the other, each asked for what is still free: COUNT is
-- per stream, and an entry read here and not started would stay leased
-- to this worker until a takeover.
local leased = 0
for _, pool in ipairs(pools) do
  if leased >= max then break end
  local got = redis.pcall("XREADGROUP", "GROUP", "workers", consumer, "COUNT", max - leased,
                          "STREAMS", queue_key(pool), ">")
  if type(got) == "table" and got.err then
    -- The queue or its group is gone (Redis lost its data): the worker
    -- makes them again; the completions above stand.
    for _, v in ipairs({"error", pool, "", "", "", got.err}) do table.insert(out, v) end
    got = nil
  end
  for _, st in ipairs(got or {}) do
    for _, e in ipairs(st[2]) do
      local ref
      local kv = e[2] or {}
      for k = 1, #kv - 1, 2 do
        if kv[k] == "task" then ref = kv[k + 1] end
      end
      local incident, step
      if ref then incident, step = string.match(ref, "^(.*)/([^/]*)$") end
      if incident then
        leased = leased + 1
        start(pool, e[1], incident, step)
      else
        -- Not a task we wrote: acknowledge so it cannot clog.
        ack(pool, e[1])
      end
    end
  end
end

-- ---- the completions ----
local results = {}
for _, a in ipairs(completions) do
  local what, detail = complete(a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
  table.insert(results, what)
  table.insert(results, detail)
end

finish_deferred(evbase, now, now_str)

for _, pool in ipairs(ack_pools) do
  local ids = acks[pool]
  redis.call("XACK", queue_key(pool), "workers", unpack(ids))
  redis.call("XDEL", queue_key(pool), unpack(ids))
end
for _, v in ipairs(out) do table.insert(results, v) end
return results
