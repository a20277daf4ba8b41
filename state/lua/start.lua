-- start.lua - a worker begins a leased task: marks it running under its
-- lease and returns what the action needs to render its templates.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease (consumer|message id),
--       5 now ms, 6 now RFC 3339, 7 event id base, 8 message id, 9 pool
-- Returns {"run", def, alert, workflow, fingerprint, opened_at, attempt,
--          then name, state, output, error for every step of the run},
-- {"skip", why} (the entry was acknowledged), or {"dead", why}.
-- User JSON is passed through as text, never re-encoded.
local incident, step, lease = ARGV[2], ARGV[3], ARGV[4]
local now, now_str, evbase, msgid, pool = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local tk = task_key(incident, step)

local t = redis.call("HMGET", tk, "state", "msg", "max_attempts", "lease")
local state, current = t[1], t[2]
-- Only the task's current queue entry may start it: an older entry (a
-- duplicate) is dropped. A running task whose entry comes back was
-- reclaimed from a worker whose lease lapsed: the new holder takes over
-- and the old one is fenced off.
if not state or msgid ~= current or (state ~= "queued" and state ~= "running") then
  unqueue(pool, msgid)
  return {"skip", (state or "missing") .. (msgid ~= current and " (stale entry)" or "")}
end
local reclaimed = state == "running"
local attempt = redis.call("HINCRBY", tk, "attempts", 1)
local inc = redis.call("HMGET", inc_key(incident), "workflow", "alert", "steps", "opened_at",
                       "fingerprint", "resolve_steps")
-- A task delivered again and again without ever completing (its worker
-- dies each time) is poison: it is buried instead of run once more.
if attempt > tonumber(t[3] or "3") then
  unqueue(pool, msgid)
  bury(evbase, now, now_str, incident, inc[1], step, "poison",
       "delivered " .. attempt .. " times without completing")
  return {"dead", "poison"}
end
redis.call("HSET", tk, "state", "running", "lease", lease, "started_at", now)

local def = redis.call("HGET", tk, "def")
local data = {workflow = inc[1], step = step, action = cjson.decode(def).action, attempt = attempt}
if reclaimed then data.reclaimed_from = string.match(t[4] or "", "^[^|]*") end
emit(evbase, now, now_str, incident, "task.started", data)

local out = {"run", def, inc[2], inc[1], inc[5], inc[4], tostring(attempt)}
for _, list in ipairs({inc[3], inc[6] or "[]"}) do
  for _, name in ipairs(cjson.decode(list)) do
    local s = redis.call("HMGET", task_key(incident, name), "state", "output", "error")
    table.insert(out, name)
    table.insert(out, s[1] or "")
    table.insert(out, s[2] or "")
    table.insert(out, s[3] or "")
  end
end
return out
