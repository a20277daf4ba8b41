#!/usr/bin/env bash
# fault_kill_redis.sh - fault 5: kill -9 redis-server (appendonly, fsync
# always) mid-run and start it again. No task is lost; each ends once.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults"
W1_STATUS=$(free_port)
start_worker w1 --set status.port="$W1_STATUS"
start_worker w2
for i in 1 2 3 4; do
  echo "{\"source\":\"t\",\"summary\":\"chain $i\",\"labels\":{\"fault\":\"chain\",\"n\":\"$i\"}}" >"$E2E_DIR/a$i.json"
done
"$BIN/muster" send-alert "$E2E_DIR"/a*.json >/dev/null
some_done() { [ "$(wc -l <"$SINK_LOG" 2>/dev/null || echo 0)" -ge 3 ]; }
wait_for 30 some_done || fail "no step finished before the crash"
ready() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W1_STATUS/readyz"; }
not_ready() { [ "$(ready)" = 503 ]; }
is_ready() { [ "$(ready)" = 200 ]; }
wait_for 10 is_ready || fail "w1 not ready before the crash: $(ready)"
kill_redis
pass "redis-server killed with $(wc -l <"$SINK_LOG") of 12 requests done"
wait_for 10 not_ready || fail "w1 still reports ready with Redis down"
curl -s "http://127.0.0.1:$W1_STATUS/readyz" | grep -q redis || fail "/readyz does not say why"
pass "w1 reports not ready while Redis is down"
sleep 1
start_redis
wait_for 20 is_ready || fail "w1 not ready again after Redis came back"
pass "w1 ready again"
pass "redis-server restarted on the same port and data"
"$BIN/muster" wait --incidents 4 --timeout 90s >/dev/null || fail "runs did not all succeed after the restart"
events_until 36 60 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of 36+ events arrived"
# A task reclaimed or retried across the crash adds task.started events, so
# 36 can arrive before the last task.succeeded: wait for what is counted.
all_succeeded() {
  events_until 36 5 || return 1
  [ "$(count_events '.type == "task.succeeded"')" -ge 12 ]
}
wait_for 60 all_succeeded || true
expect_eq "steps succeeded" "$(count_events '.type == "task.succeeded"')" 12
check_invariants 4
curl -s "http://127.0.0.1:$W1_STATUS/metrics" >"$E2E_DIR/metrics.txt"
"$BIN/muster-promcheck" <"$E2E_DIR/metrics.txt" >"$E2E_DIR/samples.txt" || fail "/metrics is not valid Prometheus text"
grep -q '^muster_worker_tasks_total{action="webhook",outcome="succeeded"}' "$E2E_DIR/samples.txt" \
  || fail "no task counter in /metrics: $(head -20 "$E2E_DIR/samples.txt")"
grep -q '^muster_worker_http_responses_total{action="webhook",code="200"}' "$E2E_DIR/samples.txt" \
  || fail "no HTTP status counter in /metrics"
pass "/metrics parses as Prometheus text and counts tasks and HTTP statuses"
echo "1 passed, 0 failed"
