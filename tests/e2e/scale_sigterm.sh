#!/usr/bin/env bash
# scale_sigterm.sh - scaling down loses nothing. Under a steady load of HTTP
# steps, two of three workers get SIGTERM, as Kubernetes sends it when an
# autoscaler removes pods or a rollout replaces them:
#   - w1 has the default grace (10 s), longer than its steps: it finishes
#     what it runs, hands nothing back, and exits;
#   - w2 has no grace (worker.grace=0): it hands its running steps back at
#     once and exits;
# and a new worker, w4, joins, as a rollout's replacement would. Every task
# then ends exactly once, succeeded on its first counted attempt, and no
# queue, retry set or outbox keeps anything.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"

INCIDENTS=150 # two steps each
cat >"$E2E_DIR/routes.json" <<'EOF'
[{"method": "POST", "path": "/work", "status": 200, "delay_ms": 400, "body": {"ok": true}}]
EOF
start_sink "$E2E_DIR/routes.json"
mkdir -p "$E2E_DIR/workflows"
cat >"$E2E_DIR/workflows/drain.yaml" <<EOF
name: drain
triggers:
  - matchers: ['drain="1"']
steps:
  - {id: a, action: webhook, with: {url: "http://127.0.0.1:$SINK_PORT/work", body: {i: "{{ incident.id }}"}}}
  - {id: b, action: webhook, with: {url: "http://127.0.0.1:$SINK_PORT/work", body: {i: "{{ incident.id }}"}}}
EOF
start_redis
start_kafka
start_dispatcher
start_worker w1 --set worker.concurrency=8
start_worker w2 --set worker.concurrency=8 --set worker.grace=0
start_worker w3 --set worker.concurrency=8

jq -n --argjson n "$INCIDENTS" '{version: "4", groupKey: "drain", status: "firing", receiver: "muster",
  alerts: [range($n) | {status: "firing", fingerprint: "d\(.)", labels: {drain: "1", n: (. | tostring)},
                        annotations: {summary: "drain test"}}]}' |
  "$BIN/muster" send-alert - >/dev/null || fail "send-alert"

# Stop in the middle of the load: a fifth of the steps answered, and all
# three workers busy (8 requests each held by the receiver).
answered() { curl -fsS --max-time 5 "http://127.0.0.1:$SINK_PORT/_sink/stats" | jq -r .requests; }
mid_load() { [ "$(answered)" -ge $((INCIDENTS * 2 / 5)) ] && in_flight_at_least 24; }
wait_for 60 mid_load || fail "no steady load: $(answered) answered, $(sink_in_flight) in flight"
pass "$(sink_in_flight) requests in flight, $(answered) answered: stopping w1 and w2"
t0=$SECONDS
signal TERM w1
signal TERM w2
start_worker w4 --set worker.concurrency=8
wait "${PIDS[w2]}"; rc2=$?
t2=$((SECONDS - t0))
wait "${PIDS[w1]}"; rc1=$?
t1=$((SECONDS - t0))
expect_eq "w1 exit code" "$rc1" 0
expect_eq "w2 exit code" "$rc2" 0
[ "$t2" -le 3 ] || fail "w2 (no grace) took $t2 s to stop"
[ "$t1" -le 12 ] || fail "w1 (grace 10 s) took $t1 s to stop"
pass "w2 stopped in ${t2} s, w1 in ${t1} s"
in_flight_at_stop() { sed -n 's/.*"msg":"stopping: \([0-9]*\) task(s) in flight.*/\1/p' "$E2E_DIR/$1.log"; }
handed_back() { grep -c "handed back unfinished at shutdown" "$E2E_DIR/$1.log" || true; }
f1=$(in_flight_at_stop w1) f2=$(in_flight_at_stop w2)
[ "${f1:-0}" -ge 1 ] && [ "${f2:-0}" -ge 1 ] || fail "in flight at SIGTERM: w1 '${f1}', w2 '${f2}'"
expect_eq "w1 (steps shorter than its grace) handed back" "$(handed_back w1)" 0
expect_eq "w2 (no grace) handed back all it ran" "$(handed_back w2)" "$f2"

"$BIN/muster" wait --incidents "$INCIDENTS" --timeout 90s >/dev/null || fail "the runs did not finish"
settle_events
tasks=$((INCIDENTS * 2))
expect_eq "tasks succeeded" "$(count_events '.type == "task.succeeded"')" "$tasks"
expect_eq "succeeded on the first counted attempt" \
  "$(count_events '.type == "task.succeeded" and .data.attempt == 1')" "$tasks"
expect_eq "dead tasks" "$(redis-cli -p "$REDIS_PORT" zcard muster:dead)" 0
expect_eq "retries waiting" "$(redis-cli -p "$REDIS_PORT" zcard muster:delayed)" 0
expect_eq "queued" "$(redis-cli -p "$REDIS_PORT" xlen muster:q:default)" 0
expect_eq "leased" "$(redis-cli -p "$REDIS_PORT" xpending muster:q:default workers | head -1)" 0
expect_eq "workflows completed" "$(count_events '.type == "workflow.completed"')" "$INCIDENTS"
check_invariants "$INCIDENTS"
# No sanitizer report from any process this test ran.
if grep -l "Sanitizer" "$E2E_DIR"/*.log >/dev/null 2>&1; then
  grep -h -A5 "Sanitizer" "$E2E_DIR"/*.log | head -20 >&2; fail "sanitizer report"
fi
echo "1 passed, 0 failed"
