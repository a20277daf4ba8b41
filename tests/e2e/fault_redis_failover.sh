#!/usr/bin/env bash
# fault_redis_failover.sh - fault 11: a Redis primary, its replica and three
# sentinels; muster finds Redis through them (redis.sentinels). Alerts
# stream in, the primary is killed -9 mid-run and Sentinel promotes the
# replica. muster follows: every alert sent after the failover is processed
# and the pipeline ends healthy. What the failover cost (alerts lost, steps
# run twice) is measured and reported, not asserted: asynchronous
# replication may drop the primary's last writes (docs/guarantees.md).
# FAILOVER_WAIT_REPLICAS=1 runs it with redis.wait_replicas=1.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/sentinel.sh"
# On failure, show what each part of muster said last.
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in dispatcher w1 w2; do echo "---- $f.log" >&2; tail -n 12 "$E2E_DIR/$f.log" >&2 || true; done
  [ -z "${FAILOVER_KEEP:-}" ] || cp -r "$E2E_DIR" "$FAILOVER_KEEP"
  exit 1
}
command -v redis-sentinel >/dev/null || skip_test "redis-sentinel is not installed (scripts/deps.sh)"
BEFORE=${FAILOVER_BEFORE:-40} DURING=${FAILOVER_DURING:-20} AFTER=${FAILOVER_AFTER:-30}
export MUSTER_REDIS_WAIT_REPLICAS=${FAILOVER_WAIT_REPLICAS:-0}

start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/failover"
start_replicated_redis
start_sentinels muster-primary
start_kafka
start_dispatcher
W1_STATUS=$(free_port) W2_STATUS=$(free_port)
start_worker w1 --set status.port="$W1_STATUS"
start_worker w2 --set status.port="$W2_STATUS"

# send FROM TO: one alert per message, a little apart, as a stream.
send() {
  local i
  for i in $(seq "$1" "$2"); do
    echo "{\"source\":\"t\",\"summary\":\"stream $i\",\"labels\":{\"fault\":\"stream\",\"n\":\"$i\"}}" \
      >"$E2E_DIR/alert.json"
    "$BIN/muster" send-alert "$E2E_DIR/alert.json" >/dev/null
    sleep 0.05
  done
}
# sink_counts: "N STEP COUNT" per alert and step the sink received, into
# $E2E_DIR/counts.
sink_counts() {
  jq -r '.body | fromjson | "\(.n) \(.step)"' "$SINK_LOG" 2>/dev/null | sort | uniq -c |
    awk '{ print $2, $3, $1 }' >"$E2E_DIR/counts"
}
# ran FROM TO STEP: how many of alerts FROM..TO reached the sink for STEP.
ran() { awk -v a="$1" -v b="$2" -v s="$3" '$2 == s && $1 >= a && $1 <= b' "$E2E_DIR/counts" | wc -l; }
some_done() { [ "$(wc -l <"$SINK_LOG" 2>/dev/null || echo 0)" -ge 10 ]; }

# The stream goes on while the primary dies: the kill lands mid-run, with
# alerts being recorded and steps completing.
send 1 $((BEFORE + DURING)) &
SENDER=$!
E2E_PIDS+=("$SENDER")
wait_for 30 some_done || fail "no step finished before the failover"
at_kill() { [ "$(wc -l <"$SINK_LOG")" -ge $((BEFORE * 2 * 3 / 4)) ]; }
wait_for 60 at_kill || fail "the stream did not get going"
kill_redis
KILLED_AT=$SECONDS
pass "primary killed -9 with $(wc -l <"$SINK_LOG") requests at the sink"
wait "$SENDER" || fail "sending alerts failed"
wait_for 60 failed_over || fail "Sentinel did not promote the replica: $(sentinel_primary_port)"
pass "Sentinel promoted the replica on $REPLICA_PORT ($((SECONDS - KILLED_AT)) s after the kill)"
REDIS_PORT=$REPLICA_PORT
FIRST_AFTER=$((BEFORE + DURING + 1)) TOTAL=$((BEFORE + DURING + AFTER))
send "$FIRST_AFTER" "$TOTAL"

# Every alert sent after the failover is processed, both steps.
after_done() { sink_counts; [ "$(ran "$FIRST_AFTER" "$TOTAL" two)" -eq "$AFTER" ]; }
wait_for 120 after_done || fail "alerts sent after the failover not all processed"
pass "all $AFTER alerts sent after the failover ran both steps"
# The rest settle too: whatever Redis still holds finishes.
settled() {
  [ "$(redis-cli -p "$REDIS_PORT" xlen muster:outbox)" -eq 0 ] &&
    "$BIN/muster" wait --incidents "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" --timeout 1s
}
wait_for 90 settled || fail "the pipeline did not settle after the failover"
for port in "$W1_STATUS" "$W2_STATUS"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] ||
    fail "worker on $port not ready after the failover"
done
pass "every incident Redis holds finished; outbox empty; workers ready"
for name in dispatcher w1 w2; do
  kill -0 "${PIDS[$name]}" 2>/dev/null || fail "$name exited during the failover"
  grep -q "moved from 127.0.0.1:$PRIMARY_PORT to 127.0.0.1:$REPLICA_PORT" "$E2E_DIR/$name.log" ||
    fail "$name did not log the switch to the new primary"
done
pass "dispatcher and both workers followed the primary to $REPLICA_PORT"

# The cost of the failover, over alerts 1..BEFORE+DURING: alerts with no
# incident (their record was lost), and steps the sink saw more than once
# (a completion was lost, so the step ran again).
sink_counts
missing=$(for i in $(seq 1 "$TOTAL"); do grep -q "^$i one " "$E2E_DIR/counts" || echo "$i"; done | xargs)
lost=$(wc -w <<<"$missing")
repeated=$(awk '$3 > 1 { n += $3 - 1 } END { print n + 0 }' "$E2E_DIR/counts")
incidents=$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)
echo "failover cost (redis.wait_replicas=$MUSTER_REDIS_WAIT_REPLICAS): $TOTAL alerts, $incidents incidents," \
  "$lost alert(s) lost${missing:+ (n = $missing)}, $repeated step run(s) repeated"
echo "1 passed, 0 failed"
