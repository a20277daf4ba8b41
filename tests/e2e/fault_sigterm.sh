#!/usr/bin/env bash
# fault_sigterm.sh - fault 10: SIGTERM a worker whose grace period is
# shorter than its step. It hands the step back at once and exits; another
# worker finishes it.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
start_worker w1 --set worker.grace=1s
echo '{"source":"t","summary":"long","labels":{"fault":"long"}}' | "$BIN/muster" send-alert - >/dev/null
wait_for 30 in_flight_at_least 1 || fail "the long request never reached the receiver"
start_worker w2
start=$SECONDS
signal TERM w1
wait "${PIDS[w1]}"; rc=$?
expect_eq "w1 exit code" "$rc" 0
[ $((SECONDS - start)) -le 5 ] || fail "w1 took $((SECONDS - start)) s to stop"
grep -q "handed back unfinished at shutdown" "$E2E_DIR/w1.log" || fail "w1 did not hand the step back"
pass "w1 handed the step back and stopped"
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "w2 did not finish the step"
events_until 6 30 || fail "events missing"
expect_eq "call succeeded once" "$(count_events '.type == "task.succeeded" and .data.step == "call"')" 1
expect_eq "no attempt was counted for the hand-back" \
  "$(jq -r 'select(.ev.type == "task.succeeded") | .ev.data.attempt' "$E2E_DIR/events.jsonl")" 1
check_invariants 1
echo "1 passed, 0 failed"
