#!/usr/bin/env bash
# fault_kill_redis.sh - fault 5: kill -9 redis-server (appendonly, fsync
# always) mid-run and start it again. No task is lost; each ends once.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_sink "$SRC/tests/e2e/faults/routes.json"
workflows_from "$SRC/tests/e2e/faults"
start_redis
start_kafka
start_dispatcher
start_worker w1
start_worker w2
for i in 1 2 3 4; do
  echo "{\"source\":\"t\",\"summary\":\"chain $i\",\"labels\":{\"fault\":\"chain\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
some_done() { [ "$(wc -l <"$SINK_LOG" 2>/dev/null || echo 0)" -ge 3 ]; }
wait_for 30 some_done || fail "no step finished before the crash"
kill_redis
pass "redis-server killed with $(wc -l <"$SINK_LOG") of 12 requests done"
sleep 2
start_redis
pass "redis-server restarted on the same port and data"
"$BIN/muster" wait --incidents 4 --timeout 90s >/dev/null || fail "runs did not all succeed after the restart"
events_until 36 60 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of 36+ events arrived"
expect_eq "steps succeeded" "$(count_events '.type == "task.succeeded"')" 12
check_invariants 4
echo "1 passed, 0 failed"
