#!/usr/bin/env bash
# fault_stop_during_record.sh - SIGTERM reaches the dispatcher while its
# first attempt to record an alert is under way, and that attempt fails
# (Redis dies). The offset must not be stored: once Redis is back, the
# restarted dispatcher reads the alert again and opens its incident.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_intake_stack
start_dispatcher --set kafka.commit_interval=100ms
noop_alert 1 0
wait_for 30 incidents_at_least 1 || fail "the dispatcher did not record the first alert"
# Scripts that write now wait: the dispatcher's next attempt hangs in Redis.
redis-cli -p "$REDIS_PORT" client pause 60000 write >/dev/null
noop_alert 2 0
sleep 2
signal TERM dispatcher
sleep 0.5
kill_redis
reap dispatcher
pass "dispatcher stopped while its attempt failed"
grep -q 'alert .* not recorded' "$E2E_DIR/dispatcher.log" || fail "the attempt did not fail: $(tail -3 "$E2E_DIR/dispatcher.log")"
start_redis
expect_eq "incidents before the restart" "$(incidents)" 1
start_dispatcher --set kafka.commit_interval=100ms
wait_for 40 incidents_at_least 2 || fail "the alert whose attempt failed at the stop was lost"
pass "the alert was read again and opened its incident"
echo "1 passed, 0 failed"
