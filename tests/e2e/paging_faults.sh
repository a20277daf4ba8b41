#!/usr/bin/env bash
# paging_faults.sh - (5) during a page step's wait, a kill -9 of a worker
# and, in a second page, a restart of redis-server (AOF, fsync always):
# both still escalate once, at the right level; every person is paged once
# per level and channel at the sink, never twice.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/paging.sh"
start_paging

# kill -9: w1 dies while level 1 waits; w2 escalates alone.
killed=$(page killed)
wait_for 10 level_is "$killed" 1 || fail "killed: level 1 never armed"
signal KILL w1; reap w1
pass "w1 killed during level 1"
wait_for 10 level_is "$killed" 2 || fail "killed: no level 2 after the kill: $(task_field "$killed" page state)"
expect_eq "killed: level 2 came after level 1's delay" \
  "$(( $(task_field "$killed" page page_due) - $(task_field "$killed" page page_started_at) >= 6000 ))" 1
start_worker w1

# Redis restart: between level 1's arming and its escalation.
restarted=$(page restarted)
wait_for 10 level_is "$restarted" 1 || fail "restarted: level 1 never armed"
wait_for 10 eval '[ "$(pages restarted U0ALICE01 slack)" = 1 ]' || fail "restarted: alice not paged"
kill_redis
pass "redis-server killed during level 1"
sleep 1
start_redis
pass "redis-server back on the same port and data"
wait_for 20 step_is "$restarted" page dead || fail "restarted: page step is $(task_field "$restarted" page state)"
wait_for 20 step_is "$killed" page dead || fail "killed: page step is $(task_field "$killed" page state)"
sleep 3 # anything still to come would arrive now
for id in killed restarted; do
  for want in "U0ALICE01 slack" "$A sms" "U0BOB0002 slack" "$B sms" "U0CAROL03 slack"; do
    set -- $want
    expect_eq "$id: pages to $1 on $2" "$(pages "$id" "$1" "$2")" 1
  done
done
settle_events
events_until 40 30 || true
for inc in "$killed" "$restarted"; do
  expect_eq "$inc: escalated once to each of levels 2 and 3" \
    "$(count_events ".subject == \"$inc\" and .type == \"incident.escalated\"" ) $(count_events ".subject == \"$inc\" and .type == \"incident.escalated\" and .data.level == 3")" "2 1"
  expect_eq "$inc: died once" "$(count_events ".subject == \"$inc\" and .type == \"task.dead\"")" 1
done
stop_all_clean
echo "1 passed, 0 failed"
