#!/usr/bin/env bash
# storm_100k.sh - 100,000 small alerts into `muster up` as fast as Kafka
# takes them, onto 200 incidents: every alert is held by its incident. The
# embedded Kafka keeps ~5 MB per partition, so with too few partitions the
# oldest alerts were deleted before the dispatcher read them.
. "$(dirname "$0")/../harness/e2e.sh"
skip_under_asan "100,000 alerts take too long under the sanitizers"
N=${STORM_ALERTS:-100000} K=200
mkdir -p "$E2E_DIR/workflows"
cp "$SRC/tests/e2e/noop/noop.yaml" "$E2E_DIR/workflows/"
MUSTER_LOG_LEVEL=warn start_pipeline
t0=$SECONDS
"$BIN/bench/bench-loadgen" --brokers "$MUSTER_KAFKA_BROKERS" --topic muster.alerts --count "$N" \
  --workflow noop --run s --distinct "$K" >"$E2E_DIR/loadgen.json" ||
  fail "load generator: $(cat "$E2E_DIR/loadgen.json")"
expect_eq "alerts delivered to kafka" "$(jq -r .delivered "$E2E_DIR/loadgen.json")" "$N"
# Alerts held: the sum of every incident's `alerts` count, in one call.
held() {
  redis-cli -p "$MUSTER_REDIS_PORT" eval "local s = 0
    for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
      s = s + tonumber(redis.call('HGET', k, 'alerts') or 0) end
    return s" 0 'muster:{*}:inc'
}
incidents() { redis-cli -p "$MUSTER_REDIS_PORT" zcard muster:incidents; }
all_held() { [ "$(held)" -ge "$N" ]; }
wait_for 80 all_held || true
expect_eq "incidents" "$(incidents)" "$K"
expect_eq "alerts held by their incidents" "$(held)" "$N"
echo "storm of $N alerts held in $((SECONDS - t0)) s"
skipped=$(grep -c 'deleted .* before they were read' "$E2E_DIR/up.log" || true)
expect_eq "gaps reported" "$skipped" 0
echo "1 passed, 0 failed"
