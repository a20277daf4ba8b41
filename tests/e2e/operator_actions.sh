#!/usr/bin/env bash
# operator_actions.sh - what people do: acknowledge an incident (once counts),
# mark a manual step done so the run goes on, and see a resolved incident
# reopen as a new one.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
D_STATUS=$(free_port)
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/operator" --set status.port="$D_STATUS"
start_worker w1
echo '{"source":"t","summary":"db","labels":{"case":"handoff"}}' | "$BIN/muster" send-alert - >/dev/null
waiting() { [ "$("$BIN/muster" status --json | jq .manual_waiting)" -eq 1 ]; }
wait_for 30 waiting || fail "the manual step is not waiting: $("$BIN/muster" status)"
inc=$("$BIN/muster" incident list --json | jq -r '.[0].id')
expect_eq "run waits for the person" "$("$BIN/muster" incident list --json | jq -r '.[0].run')" running
"$BIN/muster" ack "$inc" --by alice | grep -q "acknowledged $inc as alice" || fail "ack"
"$BIN/muster" ack "$inc" --by bob | grep -q "already acknowledged by alice" || fail "second ack"
"$BIN/muster" ack inc-nope 2>/dev/null && fail "ack of an unknown incident succeeded"
"$BIN/muster" done "$inc" prepare 2>/dev/null && fail "done on a step that is not manual succeeded"
"$BIN/muster" done "$inc" confirm_failover --by carol --note "failed over to db-2" | grep -q done || fail "done"
"$BIN/muster" wait --incidents 1 --timeout 30s >/dev/null || fail "the run did not finish after done"
"$BIN/muster" incident show "$inc" | grep -q "acknowledged by alice (cli)" || fail "incident show lacks the ack"
"$BIN/muster" audit --json | jq -e --arg t "$inc/confirm_failover" '
  any(.[]; .action == "done" and .by == "carol" and .via == "cli" and .task == $t) and
  any(.[]; .action == "ack" and .by == "alice" and .outcome == "acknowledged") and
  any(.[]; .action == "ack" and .by == "bob" and .outcome == "already")' >/dev/null ||
  fail "the audit log: $("$BIN/muster" audit)"
pass "muster audit lists the acknowledgements and the step done, by whom"
# Resolve, then fire again: a new incident that reopens the old one.
echo '{"source":"t","summary":"db","status":"resolved","labels":{"case":"handoff"}}' | "$BIN/muster" send-alert - >/dev/null
resolved() { "$BIN/muster" incident list --json | jq -e '.[0].status == "resolved"' >/dev/null; }
wait_for 30 resolved || fail "not resolved"
echo '{"source":"t","summary":"db","labels":{"case":"handoff"}}' | "$BIN/muster" send-alert - >/dev/null
two() { [ "$("$BIN/muster" incident list --json | jq length)" -eq 2 ]; }
wait_for 30 two || fail "no second incident"
settle_events
expect_eq "acknowledged once" "$(count_events ".type == \"incident.acknowledged\" and .data.by == \"alice\" and .data.via == \"cli\" and .data.ack_ms >= 0")" 1
expect_eq "manual step done by carol" \
  "$(count_events '.type == "task.succeeded" and .data.step == "confirm_failover" and .data.action == "manual" and .data.by == "carol"')" 1
expect_eq "the next step saw who did it" \
  "$(count_events '.type == "task.succeeded" and .data.step == "announce" and .data.output.echo == "carol"')" 1
expect_eq "reopened" "$(count_events ".type == \"incident.reopened\" and .data.previous == \"$inc\"")" 1
# The dispatcher's /metrics: valid text, alerts by outcome, consumer lag.
curl -s "http://127.0.0.1:$D_STATUS/metrics" | "$BIN/muster-promcheck" >"$E2E_DIR/d.txt" || fail "dispatcher /metrics invalid"
grep -q '^muster_dispatcher_alerts_total{outcome="opened"} 2' "$E2E_DIR/d.txt" || fail "no opened count: $(cat "$E2E_DIR/d.txt")"
lagged() {
  curl -s "http://127.0.0.1:$D_STATUS/metrics" | "$BIN/muster-promcheck" | grep -q '^muster_dispatcher_consumer_lag{topic="muster.alerts",partition="[0-9]*"} 0$'
}
wait_for 15 lagged || fail "no consumer lag gauge"
pass "dispatcher /metrics counts alerts and reports consumer lag"
caught_up() { "$BIN/muster" status --json | jq -e '.consumer_lag.total == 0' >/dev/null; }
wait_for 20 caught_up || fail "muster status lag: $("$BIN/muster" status --json | jq -c .consumer_lag)"
"$BIN/muster" status >"$E2E_DIR/status.txt"
grep -qE "^alerts not yet read by muster-dispatcher +0 +0$" "$E2E_DIR/status.txt" || fail "status text lacks the lag: $(cat "$E2E_DIR/status.txt")"
pass "muster status shows the dispatchers' consumer lag"
echo "1 passed, 0 failed"
