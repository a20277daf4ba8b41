#!/usr/bin/env bash
# fault_retry_after.sh - fault 8: 429 with Retry-After: 2. The next attempt
# waits at least that long, though the step's own backoff is 100 ms.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
start_worker w1
echo '{"source":"t","summary":"limited","labels":{"fault":"limited"}}' | "$BIN/muster" send-alert - >/dev/null
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the run did not succeed"
events_until 7 30 || fail "events missing"
delay=$(jq -r 'select(.ev.type == "task.retrying") | .ev.data.delay_ms' "$E2E_DIR/events.jsonl")
[ "$delay" -ge 2000 ] || fail "retry delay $delay ms ignores Retry-After: 2"
pass "retry scheduled after $delay ms"
gap=$(jq -s -r '[.[] | select(.path == "/limited") | .time] | sort | (.[1] - .[0])' "$SINK_LOG")
awk -v g="$gap" 'BEGIN { exit !(g >= 1.9) }' || fail "second request came $gap s after the 429"
pass "second request came $gap s after the 429"
check_invariants 1
echo "1 passed, 0 failed"
