#!/usr/bin/env bash
# fault_kill_worker.sh - fault 1: kill -9 a worker in the middle of an HTTP
# step. Another worker reclaims the task after the lease and completes it
# once; the receiver sees one idempotency key for the step.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
start_worker w1
start_worker w2
echo '{"source":"t","summary":"slow","labels":{"fault":"slow"}}' | "$BIN/muster" send-alert - >/dev/null
wait_for 30 in_flight_at_least 1 || fail "the slow request never reached the receiver"
victim=$(holder call)
[ -n "$victim" ] || fail "no worker holds the task"
signal KILL "$victim"; reap "$victim"
pass "killed $victim mid-request"
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the run did not finish"
events_until 8 30 || fail "events missing"
expect_eq "task.started for call" "$(count_events '.type == "task.started" and .data.step == "call"')" 2
expect_eq "reclaimed from the dead worker" \
  "$(count_events ".type == \"task.started\" and .data.reclaimed_from == \"$victim\"")" 1
expect_eq "call succeeded once" "$(count_events '.type == "task.succeeded" and .data.step == "call"')" 1
expect_eq "requests to /slow share one idempotency key" \
  "$(jq -r 'select(.path == "/slow") | .headers["idempotency-key"]' "$SINK_LOG" | sort -u | wc -l)" 1
check_invariants 1
echo "1 passed, 0 failed"
