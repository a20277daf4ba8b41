#!/usr/bin/env bash
# fault_stop_worker.sh - fault 2: SIGSTOP a worker past its lease; another
# finishes the task; after SIGCONT the late completion is refused.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
start_worker w1
echo '{"source":"t","summary":"slow","labels":{"fault":"slow"}}' | "$BIN/muster" send-alert - >/dev/null
wait_for 30 in_flight_at_least 1 || fail "the slow request never reached the receiver"
signal STOP w1
pass "w1 stopped holding the task"
start_worker w2
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "w2 did not finish the run"
signal CONT w1
wait_for 20 grep -q "result discarded: lease lost" "$E2E_DIR/w1.log" \
  || fail "w1's late completion was not refused: $(tail -5 "$E2E_DIR/w1.log")"
pass "w1's late completion was refused"
events_until 8 30 || fail "events missing"
expect_eq "call succeeded once" "$(count_events '.type == "task.succeeded" and .data.step == "call"')" 1
expect_eq "w2 took it over" "$(count_events '.type == "task.started" and .data.reclaimed_from == "w1"')" 1
check_invariants 1
echo "1 passed, 0 failed"
