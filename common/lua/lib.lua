-- lib.lua - helpers every muster script starts with (prepended at build time).
-- Keys: P..":{"..incident.."}:..." keep one incident's keys in one hash slot.
local P = ARGV[1]
local function inc_key(id) return P .. ":{" .. id .. "}:inc" end
local function task_key(id, step) return P .. ":{" .. id .. "}:task:" .. step end
local function timeline_key(id) return P .. ":{" .. id .. "}:timeline" end
local function queue_key(pool) return P .. ":q:" .. pool end

-- Every event gets a unique id: the caller's random base plus a counter.
local event_seq = 0
local function event_id(base)
  event_seq = event_seq + 1
  return base .. "-" .. event_seq
end

-- Appends a CloudEvents 1.0 event to the outbox and the incident timeline,
-- in the same atomic call as the state change it reports. data_json is
-- spliced in as it is: cjson would turn the caller's empty arrays into {}.
local function emit_raw(base, time_str, incident, etype, data_json)
  local ev = {
    specversion = "1.0",
    id = event_id(base),
    source = "muster",
    type = etype,
    time = time_str,
    subject = incident,
    datacontenttype = "application/json",
  }
  local text = string.sub(cjson.encode(ev), 1, -2) .. ',"data":' .. data_json .. "}"
  redis.call("XADD", P .. ":outbox", "*", "key", incident, "event", text)
  redis.call("RPUSH", timeline_key(incident), text)
  return ev.id
end

local function emit(base, now_ms, time_str, incident, etype, data)
  data.incident = incident
  return emit_raw(base, time_str, incident, etype, cjson.encode(data))
end

local function queue_task(incident, step, pool)
  redis.call("XADD", queue_key(pool), "*", "task", incident .. "/" .. step)
end
