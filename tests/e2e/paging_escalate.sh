#!/usr/bin/env bash
# paging_escalate.sh - the page step on the real pipeline, the sink playing
# Slack and Twilio, levels of 2-3 s: (1) nobody acknowledges: every level
# is paged once per person and channel, then the step is dead; muster ack
# during level 2 stops level 3 and the pending SMS, and the step's output
# says who, at which level, after how long; (6) a resolve during the wait
# stops paging; a dead page step replays from level 1.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/paging.sh"
start_paging

# The resolve: during level 1, after alice's Slack page and before her SMS.
resolved=$(page resolved)
wait_for 10 eval '[ "$(pages resolved U0ALICE01 slack)" = 1 ]' || fail "resolved: alice not paged"
echo '{"source":"t","summary":"resolved","status":"resolved","labels":{"page":"resolved"}}' |
  "$BIN/muster" send-alert - >/dev/null
wait_for 10 step_is "$resolved" page succeeded || fail "resolved: page step is $(task_field "$resolved" page state)"
expect_eq "resolved: output" "$(task_field "$resolved" page output | jq -c '{resolved, level}')" \
  '{"resolved":true,"level":1}'

exhaust=$(page exhaust)
acked=$(page acked)

# muster ack as soon as level 2 has paged bob on Slack (his SMS is 2 s later).
wait_for 20 level_is "$acked" 2 || fail "acked: level 2 never came: $(task_field "$acked" page state)"
expect_eq "muster status counts the paging timers" \
  "$("$BIN/muster" status --json | jq '.paging_timers > 0')" true
wait_for 10 eval '[ "$(pages acked U0BOB0002 slack)" = 1 ]' || fail "acked: bob was not paged on Slack"
"$BIN/muster" ack "$acked" --by bob | grep -q "acknowledged" || fail "muster ack"
wait_for 10 step_is "$acked" page succeeded || fail "acked: page step is $(task_field "$acked" page state)"
out=$(task_field "$acked" page output)
expect_eq "acked: acknowledged_by" "$(jq -r .acknowledged_by <<<"$out")" bob
expect_eq "acked: level" "$(jq -r .level <<<"$out")" 2
jq -e '.ack_ms >= 3000 and .ack_ms < 20000' <<<"$out" >/dev/null || fail "acked: ack_ms $(jq .ack_ms <<<"$out")"
pass "acked: ack_ms $(jq .ack_ms <<<"$out")"
wait_for 10 step_is "$acked" announce succeeded || fail "acked: the next step did not run"
expect_eq "acked: the next step names who and the on-call" \
  "$(task_field "$acked" announce output | jq -r .echo)" "bob is on it; primary is Alice Adams"

# The unanswered page: level 3's delay runs out, the step is dead.
wait_for 30 step_is "$exhaust" page dead || fail "exhaust: page step is $(task_field "$exhaust" page state)"
expect_eq "exhaust: dead reason" "$(task_field "$exhaust" page dead_reason)" "escalation exhausted"
expect_eq "exhaust: announce skipped" "$(task_field "$exhaust" announce state)" skipped
sleep 3 # anything still to come would arrive now
for want in "exhaust U0ALICE01 slack 1" "exhaust $A sms 1" "exhaust U0BOB0002 slack 1" \
            "exhaust $B sms 1" "exhaust U0CAROL03 slack 1" \
            "acked U0ALICE01 slack 1" "acked $A sms 1" "acked U0BOB0002 slack 1" \
            "acked $B sms 0" "acked U0CAROL03 slack 0" \
            "resolved U0ALICE01 slack 1" "resolved $A sms 0" "resolved U0BOB0002 slack 0"; do
  set -- $want
  expect_eq "pages of $1 to $2 on $3" "$(pages "$1" "$2" "$3")" "$4"
done
expect_eq "no timer left" "$("$BIN/muster" status --json | jq .paging_timers)" 0

settle_events
events_until 30 30 || true
expect_eq "page.sent for the unanswered page" \
  "$(count_events ".subject == \"$exhaust\" and .type == \"page.sent\"")" 5
expect_eq "page.sent to bob by sms at level 2" \
  "$(count_events ".subject == \"$exhaust\" and .type == \"page.sent\" and .data.person == \"bob\" and .data.channel == \"sms\" and .data.level == 2")" 1
expect_eq "escalations of the unanswered page" \
  "$(count_events ".subject == \"$exhaust\" and .type == \"incident.escalated\"")" 2
expect_eq "escalated to level 3, carol" \
  "$(count_events ".subject == \"$exhaust\" and .type == \"incident.escalated\" and .data.level == 3 and .data.targets[0].person == \"carol\"")" 1
expect_eq "acknowledged by bob at level 2" \
  "$(count_events ".subject == \"$acked\" and .type == \"incident.acknowledged\" and .data.person == \"bob\" and .data.channel == \"cli\" and .data.level == 2")" 1
expect_eq "the unanswered page died once" \
  "$(count_events ".subject == \"$exhaust\" and .type == \"task.dead\" and .data.step == \"page\"")" 1
# Dead and replayable: a replay pages from level 1 again, under new task
# ids, and an acknowledgement then ends it.
"$BIN/muster" replay "$exhaust/page" | grep -q replayed || fail "exhaust: replay refused"
wait_for 10 level_is "$exhaust" 1 || fail "exhaust: the replay did not page: $(task_field "$exhaust" page state)"
wait_for 10 eval '[ "$(pages exhaust U0ALICE01 slack)" = 2 ]' || fail "exhaust: the replay did not reach alice"
[ -n "$(task_field "$exhaust" 'page#r1-1.alice.slack' state)" ] || fail "exhaust: no task page#r1-1.alice.slack"
"$BIN/muster" ack "$exhaust" --by alice >/dev/null || fail "exhaust: muster ack"
wait_for 10 step_is "$exhaust" page succeeded || fail "exhaust: replayed page is $(task_field "$exhaust" page state)"
wait_for 10 step_is "$exhaust" announce succeeded || fail "exhaust: announce did not run after the replay"
expect_eq "exhaust: replayed page acknowledged at level 1" \
  "$(task_field "$exhaust" page output | jq -c '{acknowledged_by, level}')" '{"acknowledged_by":"alice","level":1}'
stop_all_clean
echo "1 passed, 0 failed"
