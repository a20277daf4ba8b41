#!/usr/bin/env bash
# fault_kafka_restart.sh - fault 6: stop the real Kafka broker mid-run and
# start it again. Every event arrives, and none twice.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
if [ "${MUSTER_E2E_KAFKA:-}" = mock ]; then skip_test "real-Kafka run (MUSTER_E2E_KAFKA=mock)"; fi
start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/faults"
start_redis
start_kafka real
start_dispatcher
start_worker w1
start_worker w2
for i in 1 2 3 4; do
  echo "{\"source\":\"t\",\"summary\":\"chain $i\",\"labels\":{\"fault\":\"chain\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
some_done() { [ "$(wc -l <"$SINK_LOG" 2>/dev/null || echo 0)" -ge 2 ]; }
wait_for 30 some_done || fail "no step finished before the broker stopped"
bash "$SRC/scripts/kafka.sh" stop "$E2E_KAFKA_DIR" >/dev/null
pass "broker stopped mid-run"
sleep 3
bash "$SRC/scripts/kafka.sh" restart "$E2E_KAFKA_DIR" >/dev/null || fail "broker did not restart"
pass "broker restarted"
"$BIN/muster" wait --incidents 4 --timeout 90s >/dev/null || fail "runs did not finish"
events_until 36 90 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of 36 events arrived"
expect_eq "distinct events" "$(wc -l <"$E2E_DIR/events.jsonl")" 36
expect_eq "copies published (none twice)" "$(wc -l <"$E2E_DIR/events.all.jsonl")" 36
check_invariants 4
echo "1 passed, 0 failed"
