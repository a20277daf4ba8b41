#!/usr/bin/env bash
# fault_kill_dispatcher.sh - fault 3: kill -9 the dispatcher after the Redis
# writes and before the offset commit. The alerts are read again and
# recognised: no duplicate incidents or tasks.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/faults"
sed -i 's#/slow#/ok#' "$E2E_DIR/workflows/slow.yaml"
start_redis
start_kafka
# Commits only once a minute: the kill lands before any commit.
start_dispatcher --set kafka.commit_interval=60s
for i in 1 2 3 4 5; do
  echo "{\"source\":\"t\",\"summary\":\"alert $i\",\"labels\":{\"fault\":\"slow\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
opened() { [ "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" -ge 5 ]; }
wait_for 30 opened || fail "the dispatcher did not record the alerts"
signal KILL dispatcher; reap dispatcher
pass "dispatcher killed before committing"
start_dispatcher --set kafka.commit_interval=60s
redelivered() { [ "$(grep -c 'was recorded before' "$E2E_DIR/dispatcher.log")" -ge 5 ]; }
wait_for 60 redelivered || fail "the alerts were not read again: $(tail -5 "$E2E_DIR/dispatcher.log")"
pass "all 5 alerts were delivered again and recognised"
start_worker w1
"$BIN/muster" wait --incidents 5 --timeout 60s >/dev/null || fail "runs did not finish"
events_until 35 30 || fail "events missing"
expect_eq "tasks created" "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'muster:{*}:task:*' | wc -l)" 10
check_invariants 5
echo "1 passed, 0 failed"
