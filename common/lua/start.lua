-- start.lua - a worker begins a leased task: marks it running under its
-- lease and returns what the action needs to render its templates.
-- ARGV: 1 prefix, 2 incident, 3 step, 4 lease (consumer|message id),
--       5 now ms, 6 now RFC 3339, 7 event id base
-- Returns {"run", def, alert, workflow, fingerprint, opened_at, attempt,
--          then name, state, output, error for every step of the run}
-- or {"skip", state}. User JSON is passed through as text, never re-encoded.
local incident, step, lease = ARGV[2], ARGV[3], ARGV[4]
local now, now_str, evbase = ARGV[5], ARGV[6], ARGV[7]
local tk = task_key(incident, step)

local state = redis.call("HGET", tk, "state")
-- A task that is already running, done or gone was queued twice; the
-- caller acknowledges the message and moves on.
if state ~= "queued" then return {"skip", state or "missing"} end
local attempt = redis.call("HINCRBY", tk, "attempts", 1)
redis.call("HSET", tk, "state", "running", "lease", lease, "started_at", now)

local inc = redis.call("HMGET", inc_key(incident), "workflow", "alert", "steps", "opened_at",
                       "fingerprint")
local def = redis.call("HGET", tk, "def")
emit(evbase, now, now_str, incident, "task.started",
     {workflow = inc[1], step = step, action = cjson.decode(def).action, attempt = attempt})

local out = {"run", def, inc[2], inc[1], inc[5], inc[4], tostring(attempt)}
for _, name in ipairs(cjson.decode(inc[3])) do
  local t = redis.call("HMGET", task_key(incident, name), "state", "output", "error")
  table.insert(out, name)
  table.insert(out, t[1] or "")
  table.insert(out, t[2] or "")
  table.insert(out, t[3] or "")
end
return out
