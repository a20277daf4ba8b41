#!/usr/bin/env bash
# intake_stall.sh - Redis refuses the dispatcher's writes, so intake cannot
# get past one message: past dispatcher.stall /readyz says not ready and
# muster_dispatcher_blocked_seconds shows how long, per partition; once
# Redis takes writes again the alert is recorded and /readyz is ready.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_intake_stack
SP=$(free_port)
start_dispatcher --set status.port="$SP" --set dispatcher.stall=2s
readyz() { curl -s -o "$E2E_DIR/readyz" -w '%{http_code}' "http://127.0.0.1:$SP/readyz"; }
is_ready() { [ "$(readyz)" = 200 ]; }
wait_for 30 is_ready || fail "the dispatcher did not get ready: $(cat "$E2E_DIR/readyz")"
redis-cli -p "$REDIS_PORT" acl setuser default -evalsha -eval >/dev/null
noop_alert 1 3
not_ready() { [ "$(readyz)" = 503 ]; }
wait_for 30 not_ready || fail "/readyz still says $(cat "$E2E_DIR/readyz")"
grep -q '^intake blocked for ' "$E2E_DIR/readyz" || fail "/readyz: $(cat "$E2E_DIR/readyz")"
pass "/readyz 503: $(cat "$E2E_DIR/readyz")"
blocked=$(curl -s "http://127.0.0.1:$SP/metrics" |
  awk '/^muster_dispatcher_blocked_seconds\{topic="muster.alerts",partition="3"\}/ {print $2}')
awk -v b="${blocked:-0}" 'BEGIN { exit !(b >= 1) }' || fail "muster_dispatcher_blocked_seconds = '$blocked'"
pass "muster_dispatcher_blocked_seconds{partition=\"3\"} = $blocked"
redis-cli -p "$REDIS_PORT" acl setuser default +evalsha +eval >/dev/null
wait_for 30 incidents_at_least 1 || fail "the alert was not recorded once Redis took writes again"
wait_for 10 is_ready || fail "/readyz after recovery: $(cat "$E2E_DIR/readyz")"
pass "recorded, and ready again"
echo "1 passed, 0 failed"
