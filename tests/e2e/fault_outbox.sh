#!/usr/bin/env bash
# fault_outbox.sh - fault 4: a worker dies after the side effects and before
# their events are published. The events wait in the Redis outbox and still
# arrive, once each.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/faults"
sed -i 's#/slow#/ok#' "$E2E_DIR/workflows/slow.yaml"
start_redis
start_kafka
start_dispatcher
# w1 runs the steps but never relays: every event stays in the outbox.
start_worker w1 --set worker.relay=0
for i in 1 2 3; do
  echo "{\"source\":\"t\",\"summary\":\"alert $i\",\"labels\":{\"fault\":\"slow\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
"$BIN/muster" wait --incidents 3 --timeout 60s >/dev/null || fail "runs did not finish"
signal KILL w1; reap w1
expect_eq "sink got every side effect" "$(wc -l <"$SINK_LOG")" 6
expect_eq "events in the outbox" "$(redis-cli -p "$REDIS_PORT" xlen muster:outbox)" 21
events_until 1 2 && fail "events were published before any relay ran"
pass "nothing was published yet"
start_worker w2
events_until 21 60 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of 21 events arrived"
expect_eq "events" "$(wc -l <"$E2E_DIR/events.jsonl")" 21
expect_eq "copies published (each once)" "$(wc -l <"$E2E_DIR/events.all.jsonl")" 21
drained() { [ "$(redis-cli -p "$REDIS_PORT" xlen muster:outbox)" -eq 0 ]; }
wait_for 20 drained || fail "the outbox was not emptied"
check_invariants 3
echo "1 passed, 0 failed"
