#!/usr/bin/env bash
# fault_sink_503.sh - fault 7: the receiver answers 503 for a while (its
# first 9 requests), then recovers. Retries are spread out by jitter, and
# every step succeeds.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
cat >"$E2E_DIR/routes.json" <<JSON
[{"path": "/flaky", "status": 200, "body": {"ok": true},
  "fail_first": 9, "fail_status": 503, "fail_body": {"error": "unavailable"}}]
JSON
start_stack "$E2E_DIR/routes.json" "$SRC/tests/e2e/faults"
start_worker w1
for i in 1 2 3 4 5 6; do
  echo "{\"source\":\"t\",\"summary\":\"flaky $i\",\"labels\":{\"fault\":\"flaky\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
"$BIN/muster" wait --incidents 6 --timeout 90s >/dev/null || fail "not every run succeeded"
settle_events
expect_eq "steps succeeded" "$(count_events '.type == "task.succeeded"')" 6
retries=$(count_events '.type == "task.retrying"')
[ "$retries" -ge 6 ] || fail "expected every step to retry, got $retries retries"
pass "$retries retries"
spread=$(jq -r 'select(.ev.type == "task.retrying" and .ev.data.attempt == 1) | .ev.data.delay_ms' \
  "$E2E_DIR/events.jsonl" | sort -u | wc -l)
[ "$spread" -ge 3 ] || fail "first retries are not spread by jitter: $spread distinct delays"
pass "first retries spread over $spread distinct delays"
expect_eq "503s answered" "$(jq -c 'select(.status == 503)' "$SINK_LOG" | wc -l)" "$retries"
check_invariants 6
echo "1 passed, 0 failed"
