-- timers.lua - fires the paging timers whose time has come, a bounded
-- slice per call. Any worker may run it; each timer fires once. A due
-- notification becomes an ordinary action task (created once: its step id
-- is its idempotency key); a due escalation queues the page step's next
-- level, or, after the last, buries the step with every timer it has left.
-- ARGV: 1 prefix, 2 now ms, 3 most to fire, 4 now RFC 3339, 5 event id base
-- Returns how many fired.
local now, limit, now_str, evbase = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local due = redis.call("ZRANGEBYSCORE", P .. ":timers", "-inf", now, "LIMIT", 0, limit)
for _, m in ipairs(due) do
  redis.call("ZREM", P .. ":timers", m)
  local incident, step, pass, who, channel = string.match(m, "^(.*)/([^/]*)/([^/]*)/([^/]*)/([^/]*)$")
  if incident then
    local timers, defs, paging, notify, made = paging_keys(incident)
    redis.call("SREM", timers, m)
    local tk = task_key(incident, step)
    local t = redis.call("HMGET", tk, "state", "page_pass", "page_last", "pool", "page_level")
    if channel == "escalate" then
      if t[1] == "paging" and t[2] == pass then
        if t[3] == "1" then
          -- the rules still pending for people already paged go with it
          local prefix = incident .. "/" .. step .. "/"
          for _, other in ipairs(redis.call("SMEMBERS", timers)) do
            if string.sub(other, 1, #prefix) == prefix then
              redis.call("ZREM", P .. ":timers", other)
              redis.call("SREM", timers, other)
              redis.call("HDEL", defs, other)
            end
          end
          redis.call("SREM", paging, step)
          redis.call("HSET", tk, "page_pass", 0, "page_level", 0)
          bury(evbase, now, now_str, incident, redis.call("HGET", inc_key(incident), "workflow"),
               step, "escalation exhausted",
               "nobody acknowledged after " .. pass .. " level(s)")
        else
          redis.call("HSET", tk, "attempts", 0)
          queue_task(incident, step, t[4])
        end
      end
    else
      local def = redis.call("HGET", defs, m)
      redis.call("HDEL", defs, m)
      local live = t[1] == "paging" or t[1] == "queued" or t[1] == "running" or t[1] == "delayed"
      if live and def then
        local d = cjson.decode(def)
        local nk = task_key(incident, d.id)
        if redis.call("EXISTS", nk) == 0 then
          redis.call("HSET", nk, "incident", incident, "step", d.id, "pool", t[4], "state", "waiting",
                     "unmet", 0, "needs", "[]", "dependents", "[]", "def", def, "attempts", 0,
                     "coe", "1", "max_attempts", d.max_attempts or 3, "replays", 0,
                     "page_of", step, "page_person", who, "page_channel", channel,
                     "page_level", d.level or t[5] or 1)
          redis.call("HINCRBY", inc_key(incident), "steps_left", 1)
          redis.call("SADD", notify, d.id)
          redis.call("SADD", made, d.id)
          queue_task(incident, d.id, t[4])
        end
      end
    end
  end
end
return #due
