#!/usr/bin/env bash
# fault_poison_replay.sh - fault 9: a step that always fails ends dead after
# max_attempts; after the receiver is fixed, replay makes it succeed and
# the run carries on.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
start_worker w1
echo '{"source":"t","summary":"poison","labels":{"fault":"poison"}}' | "$BIN/muster" send-alert - >/dev/null
rc=0; "$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || rc=$?
expect_eq "run failed (exit code)" "$rc" 1
task=$("$BIN/muster" dead list --json | jq -r '.[0].task')
[[ "$task" == inc-*/call ]] || fail "dead list: $("$BIN/muster" dead list)"
"$BIN/muster" dead show "$task" --json | jq -e '.attempts == 3 and .reason == "attempts exhausted" and (.error | test("500")) and .input.action == "webhook"' >/dev/null \
  || fail "dead show: $("$BIN/muster" dead show "$task")"
pass "dead after 3 attempts with its error and input"
"$BIN/muster" replay --all --dry-run | grep -q "would replay $task" || fail "dry run did not list it"
expect_eq "dry run changed nothing" "$("$BIN/muster" dead list --json | jq length)" 1
"$BIN/muster" replay "$task" | grep -q "replayed $task" || fail "replay failed"
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the replayed run did not succeed"
events_until 19 30 || fail "events missing"
expect_eq "replayed" "$(count_events '.type == "task.replayed" and .data.step == "call"')" 1
expect_eq "call succeeded after replay" "$(count_events '.type == "task.succeeded" and .data.step == "call"')" 1
expect_eq "the step after it ran" "$(count_events '.type == "task.succeeded" and .data.step == "after"')" 1
expect_eq "run completed twice: failed, then succeeded" \
  "$(jq -r 'select(.ev.type == "workflow.completed") | .ev.data.status' "$E2E_DIR/events.jsonl" | tr '\n' ' ')" "failed succeeded "
expect_eq "no dead tasks left" "$("$BIN/muster" dead list --json | jq length)" 0
"$BIN/muster" replay "${task%/call}/after" 2>/dev/null && fail "a succeeded step was replayed without --force"
pass "a succeeded step is not replayed without --force"
expect_eq "one idempotency key for all 4 attempts" \
  "$(jq -r 'select(.path == "/poison") | .headers["idempotency-key"]' "$SINK_LOG" | sort | uniq -c | awk '{print $1}')" 4
check_invariants 1
echo "1 passed, 0 failed"
