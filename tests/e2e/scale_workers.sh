#!/usr/bin/env bash
# scale_workers.sh - workers scale out: 1, 2 and 4 worker processes against
# one Redis, each round draining the same backlog, and the task throughput
# grows with them.
#
# The work is what a worker mostly does in production: wait on HTTP. Each
# task is a webhook to the local receiver, which answers after SCALE_DELAY_MS,
# and each worker runs SCALE_CONCURRENCY at a time, so one worker is bound
# by latency (at most CONCURRENCY / DELAY tasks a second), not by this
# machine's two cores, and every added worker adds that much again. What
# bounds it past that (Redis, the relay, the CPU) is docs/operations.md's
# "Sizing" section.
#
# Each round starts its workers, waits until they are all registered, then
# sends the round's alerts at once; the dispatcher queues them far faster
# than the workers drain them. Throughput is measured between 10% and 90% of
# the round's tasks answered by the receiver, so the ramp and the tail do not
# count.
. "$(dirname "$0")/../harness/e2e.sh"
skip_under_asan "throughput under ASan measures the sanitizer"
. "$SRC/tests/harness/faults.sh"

DELAY_MS=${SCALE_DELAY_MS:-100}
CONCURRENCY=${SCALE_CONCURRENCY:-4}
INCIDENTS=${SCALE_INCIDENTS:-120}   # two tasks each

cat >"$E2E_DIR/routes.json" <<EOF
[{"method": "POST", "path": "/work", "status": 200, "delay_ms": $DELAY_MS, "body": {"ok": true}}]
EOF
start_sink "$E2E_DIR/routes.json"
mkdir -p "$E2E_DIR/workflows"
cat >"$E2E_DIR/workflows/scale.yaml" <<EOF
name: scale
triggers:
  - matchers: ['scale="1"']
steps:
  - {id: a, action: webhook, with: {url: "http://127.0.0.1:$SINK_PORT/work", body: {i: "{{ incident.id }}"}}}
  - {id: b, action: webhook, with: {url: "http://127.0.0.1:$SINK_PORT/work", body: {i: "{{ incident.id }}"}}}
EOF
start_redis
start_kafka
start_dispatcher

# alerts ROUND: one Alertmanager message with $INCIDENTS alerts, each its
# own fingerprint, so each opens an incident.
alerts() {
  jq -n --argjson n "$INCIDENTS" --arg r "$1" '{
    version: "4", groupKey: ("scale-" + $r), status: "firing", receiver: "muster",
    alerts: [range($n) | {status: "firing", fingerprint: ("r\($r)-\(.)"),
                          labels: {scale: "1", round: $r, n: (. | tostring)},
                          annotations: {summary: "scale test"}}]}'
}
# Work done: the receiver's count of replies sent (each task's one request).
answered() { curl -fsS --max-time 5 "http://127.0.0.1:$SINK_PORT/_sink/stats" | jq -r .requests; }
registered() { [ "$(redis-cli -p "$REDIS_PORT" hexists muster:workers "$1")" = 1 ]; }
now() { date +%s.%N; }

total=0 round=0
# measure K: one round with K workers; sets RATE to its tasks/s. (Not run in
# a subshell: it starts processes and counts rounds.)
measure() {
  local k=$1 tasks=$((INCIDENTS * 2)) i
  round=$((round + 1))
  for i in $(seq "$k"); do
    start_worker "r$round-w$i" --set worker.concurrency="$CONCURRENCY"
  done
  for i in $(seq "$k"); do
    wait_for 30 registered "r$round-w$i" || fail "round $round: worker r$round-w$i did not start"
  done
  local base lo=$((tasks / 10)) hi=$((tasks * 9 / 10)) t_lo="" t_hi="" got end=$((SECONDS + 120))
  base=$(answered)
  alerts "$round" | "$BIN/muster" send-alert - >/dev/null || fail "round $round: send-alert"
  total=$((total + INCIDENTS))
  while [ $SECONDS -lt $end ]; do
    got=$(($(answered) - base))
    [ -z "$t_lo" ] && [ "$got" -ge "$lo" ] && t_lo=$(now)
    if [ "$got" -ge "$hi" ]; then t_hi=$(now); break; fi
    sleep 0.02
  done
  [ -n "$t_hi" ] || fail "round $round: only $(($(answered) - base)) of $tasks tasks done in 120 s"
  "$BIN/muster" wait --incidents "$total" --timeout 60s >/dev/null || fail "round $round: runs did not finish"
  for i in $(seq "$k"); do signal TERM "r$round-w$i"; done
  for i in $(seq "$k"); do reap "r$round-w$i"; done
  RATE=$(awk -v n=$((hi - lo)) -v a="$t_lo" -v b="$t_hi" 'BEGIN { printf "%.0f", n / (b - a) }')
  echo "scale: $k worker(s): $RATE tasks/s (latency bound $((k * CONCURRENCY * 1000 / DELAY_MS)) tasks/s)"
}
# at_least A FACTOR B: A >= FACTOR x B
at_least() { awk -v a="$1" -v f="$2" -v b="$3" 'BEGIN { exit !(a >= f * b) }'; }

# Loose bounds, as this is a 2-core machine that also runs Redis, the
# receiver and the relay (and, in CI, whatever else runs at the time): the
# ideal ratios are 2. A round that falls short is measured once more, so one
# burst of noise does not fail the test; a real limit fails both times.
measure 1; r1=$RATE
measure 2; r2=$RATE
at_least "$r2" 1.2 "$r1" || { echo "scale: 2 workers short of 1.2x; measuring again"; measure 2; r2=$RATE; }
measure 4; r4=$RATE
at_least "$r4" 1.2 "$r2" || { echo "scale: 4 workers short of 1.2x; measuring again"; measure 4; r4=$RATE; }
echo "scale: 2 workers / 1 = $(awk -v a="$r2" -v b="$r1" 'BEGIN { printf "%.2f", a / b }')," \
     "4 workers / 2 = $(awk -v a="$r4" -v b="$r2" 'BEGIN { printf "%.2f", a / b }')"
at_least "$r2" 1.2 "$r1" || fail "2 workers ($r2/s) are not 1.2x 1 worker ($r1/s)"
pass "2 workers: ${r2}/s >= 1.2 x ${r1}/s"
at_least "$r4" 1.2 "$r2" || fail "4 workers ($r4/s) are not 1.2x 2 workers ($r2/s)"
pass "4 workers: ${r4}/s >= 1.2 x ${r2}/s"

# Nothing was lost or done twice on the way. One worker stays to relay the
# events the rounds left in the outbox.
start_worker drain
settle_events
expect_eq "tasks succeeded" "$(count_events '.type == "task.succeeded"')" "$((total * 2))"
check_invariants "$total"
echo "1 passed, 0 failed"
