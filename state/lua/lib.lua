-- lib.lua - helpers every muster script starts with (prepended at build time).
-- Keys: P..":{"..incident.."}:..." keep one incident's keys in one hash slot.
local P = ARGV[1]
local function inc_key(id) return P .. ":{" .. id .. "}:inc" end
local function task_key(id, step) return P .. ":{" .. id .. "}:task:" .. step end
local function timeline_key(id) return P .. ":{" .. id .. "}:timeline" end
local function queue_key(pool) return P .. ":q:" .. pool end
-- Joined and resolved alerts kept in full in an incident's timeline; the
-- rest are only counted (incident fields alerts_joined, alerts_resolved),
-- so an incident's memory does not grow with the alerts it absorbs.
local TIMELINE_ALERTS_KEPT = 10

-- Every event gets a unique id: the caller's random base plus a counter.
local event_seq = 0
local function event_id(base)
  event_seq = event_seq + 1
  return base .. "-" .. event_seq
end

-- Appends a CloudEvents 1.0 event to the outbox and the incident timeline
-- (not the timeline when outbox_only), in the same atomic call as the state
-- change it reports. data_json is spliced in as it is: cjson would turn the
-- caller's empty arrays into {}.
-- The envelope is formatted, not encoded: every part of it is muster's own
-- (an event id, a type, a time the C side formats, an incident id), none
-- needs escaping, and this is the hottest line of every script.
local function emit_raw(base, time_str, incident, etype, data_json, outbox_only)
  local id = event_id(base)
  local subject = incident
  if string.find(subject, '[%c"\\]') then
    -- Not an id muster made (an operator's typo that named a key): encoded.
    subject = string.sub(cjson.encode({subject}), 3, -3)
  end
  local text = string.format('{"specversion":"1.0","id":"%s","source":"muster","type":"%s",' ..
                             '"time":"%s","subject":"%s","datacontenttype":"application/json",' ..
                             '"data":%s}', id, etype, time_str, subject, data_json)
  redis.call("XADD", P .. ":outbox", "*", "key", incident, "event", text)
  if not outbox_only then redis.call("RPUSH", timeline_key(incident), text) end
  return id
end

local function emit(base, now_ms, time_str, incident, etype, data, outbox_only)
  data.incident = incident
  return emit_raw(base, time_str, incident, etype, cjson.encode(data), outbox_only)
end

-- A resolved incident whose run has ended is finished: its retention clock
-- starts now (P:finished, by time; gc.lua expires it). A replay that runs it
-- again takes it out (replay.lua).
local function mark_finished(incident, now)
  local h = redis.call("HMGET", inc_key(incident), "status", "run")
  if h[1] == "resolved" and h[2] ~= "running" then
    redis.call("ZADD", P .. ":finished", now, incident)
  end
end

-- What kind of task a step is ("manual" waits for a person): its own
-- field, written when it was created; tasks made before the field existed
-- say it in their definition.
local function task_kind(tk)
  local kind = redis.call("HGET", tk, "kind")
  if kind then return kind end
  local def = cjson.decode(redis.call("HGET", tk, "def") or "{}")
  return def.action == "manual" and "manual" or "task"
end

-- Queues a task; the entry's id is remembered so that only the current
-- entry can start it (an older, duplicate entry is recognised and dropped).
-- A manual step is not queued: it waits for a person (muster done).
-- kind: the task's kind when the caller read it already.
local function queue_task(incident, step, pool, kind)
  local tk = task_key(incident, step)
  if (kind or task_kind(tk)) == "manual" then
    local now = redis.call("TIME")
    local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    redis.call("HSET", tk, "state", "manual", "started_at", ms)
    redis.call("SADD", P .. ":manual", incident .. "/" .. step)
    return ""
  end
  local id = redis.call("XADD", queue_key(pool), "*", "task", incident .. "/" .. step)
  redis.call("HSET", tk, "msg", id, "state", "queued")
  return id
end

local function unqueue(pool, msgid)
  redis.call("XACK", queue_key(pool), "workers", msgid)
  redis.call("XDEL", queue_key(pool), msgid)
end

-- Marks everything downstream of `step` skipped; returns how many.
local function skip_downstream(evbase, now, now_str, incident, wf, step)
  local n = 0
  local todo = cjson.decode(redis.call("HGET", task_key(incident, step), "dependents") or "[]")
  while #todo > 0 do
    local dep = table.remove(todo)
    local dk = task_key(incident, dep)
    if redis.call("HGET", dk, "state") == "waiting" then
      redis.call("HSET", dk, "state", "skipped", "finished_at", now)
      emit(evbase, now, now_str, incident, "task.skipped",
           {workflow = wf, step = dep, reason = "step " .. step .. " did not succeed"})
      n = n + 1
      for _, d in ipairs(cjson.decode(redis.call("HGET", dk, "dependents"))) do
        table.insert(todo, d)
      end
    end
  end
  return n
end

-- Counts down the unmet needs of `step`'s dependents and queues the ready.
-- `release` is the task's field "name|pool|kind,..." (its dependents with
-- what queueing them needs), when the caller read it already; tasks made
-- before the field existed name their dependents in "dependents" (JSON).
-- A dependent is ready when its count reaches exactly 0: only the steps
-- it needs release it, once each, so a count that passes 0 (a step run
-- again with replay --force) queues nothing a second time.
local function release_dependents(incident, step, release)
  if not release then
    local t = redis.call("HMGET", task_key(incident, step), "release", "dependents")
    release = t[1]
    if not release then
      for _, dep in ipairs(cjson.decode(t[2] or "[]")) do
        local dk = task_key(incident, dep)
        if redis.call("HINCRBY", dk, "unmet", -1) <= 0 then
          local d = redis.call("HMGET", dk, "state", "pool", "kind")
          if d[1] == "waiting" then queue_task(incident, dep, d[2], d[3]) end
        end
      end
      return
    end
  end
  for dep, pool, kind in string.gmatch(release, "([^|,]+)|([^|,]+)|([^|,]+)") do
    if redis.call("HINCRBY", task_key(incident, dep), "unmet", -1) == 0 then
      queue_task(incident, dep, pool, kind)
    end
  end
end

-- n more steps reached an end; the last one completes the run. A run fails
-- when a step is dead and does not continue on error: bury() counts those
-- in the incident's `blocking` field (replay.lua takes one back); an
-- incident made before the field existed looks at every step instead.
-- While FINISHED is a table (turn.lua sets it), the count is gathered per
-- incident and settled once, in finish_deferred(), at the end of the call.
local FINISHED = nil
local FINISHED_ORDER = {}

local function steps_finished_now(evbase, now, now_str, incident, n)
  local ik = inc_key(incident)
  local left = redis.call("HINCRBY", ik, "steps_left", -n)
  if left > 0 then return left end
  local h = redis.call("HMGET", ik, "workflow", "blocking", "run_started_at", "opened_at", "status")
  local wf = h[1]
  local run = "succeeded"
  if h[2] then
    if tonumber(h[2]) > 0 then run = "failed" end
  else
    for _, list in ipairs({"steps", "resolve_steps"}) do
      for _, name in ipairs(cjson.decode(redis.call("HGET", ik, list) or "[]")) do
        local t = redis.call("HMGET", task_key(incident, name), "state", "coe")
        if t[1] == "dead" and t[2] ~= "1" then run = "failed" end
      end
    end
  end
  redis.call("HSET", ik, "run", run, "run_finished_at", now)
  -- From this run's own start: the opening, the resolution (on_resolve
  -- steps) or the replay; incidents recorded before run_started_at existed
  -- count from their opening.
  local started = tonumber(h[3] or h[4])
  emit(evbase, now, now_str, incident, "workflow.completed",
       {workflow = wf, status = run, duration_ms = tonumber(now) - started})
  -- A resolved incident whose run has ended is finished (mark_finished).
  if h[5] == "resolved" then redis.call("ZADD", P .. ":finished", now, incident) end
  return 0
end

local function steps_finished(evbase, now, now_str, incident, n)
  if not FINISHED then return steps_finished_now(evbase, now, now_str, incident, n) end
  if not FINISHED[incident] then
    FINISHED[incident] = 0
    table.insert(FINISHED_ORDER, incident)
  end
  FINISHED[incident] = FINISHED[incident] + n
  return -1 -- not known yet
end

local function finish_deferred(evbase, now, now_str)
  local f = FINISHED
  FINISHED = nil
  for _, incident in ipairs(FINISHED_ORDER) do
    steps_finished_now(evbase, now, now_str, incident, f[incident])
  end
  FINISHED_ORDER = {}
end

-- ---- paging: the page step's timers (page.lua arms, timers.lua fires) ----
-- P:timers is the one due-time set: score = due ms, member
-- "incident/step/pass/person/channel" (channel "escalate": the next level).
-- P:{incident}:timers indexes an incident's members so that they can all be
-- dropped at once; P:{incident}:timer holds the task a notification member
-- becomes; P:{incident}:paging lists the page steps waiting for a person,
-- P:{incident}:notify the notification tasks not finished yet and
-- P:{incident}:pages every notification task made (for retention).
local function paging_keys(incident)
  local b = P .. ":{" .. incident .. "}:"
  return b .. "timers", b .. "timer", b .. "paging", b .. "notify", b .. "pages"
end

-- The policy level the incident's page step has reached, or nil.
local function paging_level(incident)
  local _, _, pk = paging_keys(incident)
  for _, step in ipairs(redis.call("SMEMBERS", pk)) do
    local l = redis.call("HGET", task_key(incident, step), "page_level")
    if l then return tonumber(l) end
  end
  return nil
end

-- A page step ends: it succeeds with `output` and its dependents go on.
local function paging_done(evbase, now, now_str, incident, step, output)
  local tk = task_key(incident, step)
  local _, _, pk = paging_keys(incident)
  local t = redis.call("HMGET", tk, "attempts", "page_started_at", "started_at")
  local dur = tonumber(now) - tonumber(t[2] or t[3] or now)
  redis.call("HSET", tk, "state", "succeeded", "finished_at", now, "lease", "", "error", "",
             "duration_ms", dur, "output", cjson.encode(output))
  redis.call("SREM", pk, step)
  emit(evbase, now, now_str, incident, "task.succeeded",
       {workflow = redis.call("HGET", inc_key(incident), "workflow"), step = step, action = "page",
        attempt = tonumber(t[1] or "1"), duration_ms = dur, output = output})
  release_dependents(incident, step)
  return steps_finished(evbase, now, now_str, incident, 1)
end

-- Stops all paging of an incident at once: every pending timer and every
-- notification not sent yet is dropped, and each page step still paging
-- succeeds with `why` (plus its level and ack_ms) as its output. A page
-- step a worker is running now sees the incident acknowledged or resolved
-- when it arms its level (page.lua) and ends there.
local function paging_stop(evbase, now, now_str, incident, why)
  local tk_set, defs, pk, nk = paging_keys(incident)
  for _, m in ipairs(redis.call("SMEMBERS", tk_set)) do redis.call("ZREM", P .. ":timers", m) end
  redis.call("DEL", tk_set, defs)
  local cancelled = 0
  for _, ns in ipairs(redis.call("SMEMBERS", nk)) do
    local k = task_key(incident, ns)
    local t = redis.call("HMGET", k, "state", "pool", "msg")
    if t[1] == "queued" or t[1] == "delayed" then
      if t[1] == "queued" then unqueue(t[2], t[3]) end
      redis.call("ZREM", P .. ":delayed", incident .. "/" .. ns)
      redis.call("HSET", k, "state", "cancelled", "finished_at", now)
      redis.call("SREM", nk, ns)
      cancelled = cancelled + 1
    end
  end
  if cancelled > 0 then steps_finished(evbase, now, now_str, incident, cancelled) end
  for _, step in ipairs(redis.call("SMEMBERS", pk)) do
    local tk = task_key(incident, step)
    local t = redis.call("HMGET", tk, "state", "page_level", "page_started_at", "pool", "msg")
    if t[1] == "paging" or t[1] == "queued" or t[1] == "delayed" then
      if t[1] == "queued" then unqueue(t[4], t[5]) end
      redis.call("ZREM", P .. ":delayed", incident .. "/" .. step)
      local out = {level = tonumber(t[2] or "0"), ack_ms = tonumber(now) - tonumber(t[3] or now)}
      for k, v in pairs(why) do out[k] = v end
      paging_done(evbase, now, now_str, incident, step, out)
    end
  end
end

-- A notification task finished: it leaves the incident's unsent list, and
-- one that succeeded reports its page.
local function paging_sent(evbase, now, now_str, incident, step, result)
  local p = redis.call("HMGET", task_key(incident, step), "page_of", "page_person", "page_channel",
                       "page_level")
  if not p[1] then return end
  local _, _, _, nk = paging_keys(incident)
  redis.call("SREM", nk, step)
  if result ~= "succeeded" then return end
  emit(evbase, now, now_str, incident, "page.sent",
       {workflow = redis.call("HGET", inc_key(incident), "workflow"), step = p[1], task = step,
        person = p[2], channel = p[3], level = tonumber(p[4])})
end
-- ---- end of paging ----

-- A person acknowledged the incident; the first acknowledgement counts.
-- Returns true when this one was the first.
local function acknowledge(evbase, now, now_str, incident, by, via, fp)
  local ik = inc_key(incident)
  if redis.call("HSETNX", ik, "acknowledged_at", now) == 0 then return false end
  redis.call("HSET", ik, "acknowledged_by", by, "acknowledged_via", via)
  local opened = tonumber(redis.call("HGET", ik, "opened_at") or now)
  emit(evbase, now, now_str, incident, "incident.acknowledged",
       {workflow = redis.call("HGET", ik, "workflow"), by = by, via = via, fingerprint = fp,
        ack_ms = tonumber(now) - opened,
        person = by, channel = via, level = paging_level(incident)})
  -- paging: an acknowledgement stops every page of the incident
  paging_stop(evbase, now, now_str, incident, {acknowledged_by = by})
  return true
end

-- A task that will not be tried again by itself: dead, listed for operators.
local function bury(evbase, now, now_str, incident, wf, step, reason, err)
  local tk = task_key(incident, step)
  redis.call("HSET", tk, "state", "dead", "finished_at", now, "lease", "", "dead_reason", reason)
  redis.call("ZADD", P .. ":dead", now, incident .. "/" .. step)
  local attempts = tonumber(redis.call("HGET", tk, "attempts"))
  emit(evbase, now, now_str, incident, "task.dead",
       {workflow = wf, step = step, attempt = attempts, reason = reason, error = err})
  local n = 1
  if redis.call("HGET", tk, "coe") == "1" then
    release_dependents(incident, step)
  else
    if redis.call("HEXISTS", inc_key(incident), "blocking") == 1 then
      redis.call("HINCRBY", inc_key(incident), "blocking", 1)
    end
    n = n + skip_downstream(evbase, now, now_str, incident, wf, step)
  end
  return steps_finished(evbase, now, now_str, incident, n)
end

-- Creates the tasks of a step list and queues those that need nothing.
-- A step's definition is stored once per workflow version, under its
-- SHA-256 in P:defs (the dispatcher sends the text only while it does not
-- know Redis has it); the task names it by defsha. Besides, the task keeps
-- what the hot path reads without decoding JSON: its workflow, action,
-- kind ("manual" or "task") and ctx, the context its templates read
-- (docs/architecture.md, "What a task reads").
local function create_tasks(id, steps, workflow)
  local names = {}
  for i, s in ipairs(steps) do
    names[i] = s.id
    if s.def and s.defsha then redis.call("HSETNX", P .. ":defs", s.defsha, s.def) end
    redis.call("HSET", task_key(id, s.id), "incident", id, "step", s.id, "pool", s.pool,
               "state", "waiting", "unmet", s.needs, "needs", s.needs_ids,
               "dependents", s.dependents, "attempts", 0, "coe", s.coe,
               "max_attempts", s.max_attempts, "replays", 0, "workflow", workflow,
               "action", s.action, "kind", s.kind, "ctx", s.ctx,
               "release", s.release,
               s.defsha and "defsha" or "def", s.defsha or s.def)
  end
  for _, s in ipairs(steps) do
    if s.needs == 0 then queue_task(id, s.id, s.pool, s.kind) end
  end
  return names
end

-- Resolves an open incident: status resolved, its group free for a new
-- incident, the event (data gets the workflow), and its on_resolve steps
-- queued. Every resolution goes through here: all alerts resolved
-- (expand.lua) or a person resolving it (resolve.lua).
local function close_incident(evbase, now, now_str, id, outcome_event, data)
  local ik = inc_key(id)
  local group = redis.call("HGET", ik, "group")
  redis.call("HSET", ik, "status", "resolved", "resolved_at", now)
  if group and redis.call("HGET", P .. ":group", group) == id then
    redis.call("HDEL", P .. ":group", group)
  end
  data.workflow = redis.call("HGET", ik, "workflow")
  emit(evbase, now, now_str, id, outcome_event, data)
  -- paging: a resolved incident pages nobody any more
  paging_stop(evbase, now, now_str, id, {resolved = true})
  local resolve = cjson.decode(redis.call("HGET", ik, "resolve") or "[]")
  if #resolve > 0 then
    local names = create_tasks(id, resolve, data.workflow)
    redis.call("HSET", ik, "resolve_steps", cjson.encode(names), "run", "running", "run_started_at", now)
    redis.call("HINCRBY", ik, "steps_left", #resolve)
    emit(evbase, now, now_str, id, "workflow.started",
         {workflow = redis.call("HGET", ik, "workflow"), steps = #resolve, phase = "on_resolve"})
  end
  mark_finished(id, now)
end
