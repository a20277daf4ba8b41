# faults.sh - sourced after e2e.sh by tests/e2e/fault_*.sh: starts each part
# on its own (Redis with AOF, Kafka, dispatcher, named workers) so a test can
# kill, stop or restart any one of them, and checks what every fault test
# must hold afterwards.

# free_port: a loopback port nothing listens on now.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# start_redis: durable like production should be (AOF, fsync always).
start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  mkdir -p "$E2E_DIR/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$E2E_DIR/redis" --save "" \
    --appendonly yes --appendfsync always --logfile "$E2E_DIR/redis.log" &
  REDIS_PID=$!
  E2E_PIDS+=("$REDIS_PID")
  wait_for 20 redis-cli -p "$REDIS_PORT" ping || fail "redis-server did not start"
  export MUSTER_REDIS_HOST=127.0.0.1 MUSTER_REDIS_PORT=$REDIS_PORT
}
kill_redis() { kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }

# start_kafka: embedded (muster up --only kafka) or, with MODE=real, a broker.
start_kafka() {
  if [ "${1:-mock}" = real ]; then
    start_real_kafka
    export MUSTER_KAFKA_BROKERS=$KAFKA_BROKERS
  else
    "$BIN/muster" up --only kafka --env-file "$E2E_DIR/kafka.env" >"$E2E_DIR/kafka.out" 2>&1 &
    KAFKA_PID=$!
    E2E_PIDS+=("$KAFKA_PID")
    wait_for 20 test -s "$E2E_DIR/kafka.env" || fail "embedded kafka did not start"
    set -a; . "$E2E_DIR/kafka.env"; set +a
  fi
}

# Settings every part shares in these tests: short leases, quick polls.
export MUSTER_WORKER_LEASE=${MUSTER_WORKER_LEASE:-2s} MUSTER_WORKER_POLL=100ms
export MUSTER_LOG_LEVEL=info MUSTER_KAFKA_SESSION_TIMEOUT=6s

declare -A PIDS=()
start_dispatcher() {
  MUSTER_WORKFLOWS_DIR=$E2E_DIR/workflows "$BIN/muster-dispatcher" "$@" \
    >>"$E2E_DIR/dispatcher.log" 2>&1 &
  PIDS[dispatcher]=$!
  E2E_PIDS+=($!)
}

# start_worker NAME [--set k=v ...]
start_worker() {
  local name=$1; shift
  MUSTER_WORKER_ID=$name "$BIN/muster-worker" "$@" >>"$E2E_DIR/$name.log" 2>&1 &
  PIDS[$name]=$!
  E2E_PIDS+=($!)
}

signal() { kill "-$1" "${PIDS[$2]}"; }

# dispatcher_stopped: waits up to 30 s for the dispatcher (already signalled)
# to exit, and checks it exited 0 with no sanitizer report.
dispatcher_stopped() {
  for _ in $(seq 300); do kill -0 "${PIDS[dispatcher]}" 2>/dev/null || break; sleep 0.1; done
  kill -0 "${PIDS[dispatcher]}" 2>/dev/null && fail "the dispatcher did not stop in 30 s"
  local rc=0
  wait "${PIDS[dispatcher]}" || rc=$?
  expect_eq "dispatcher exit code" "$rc" 0
  if grep -q "Sanitizer" "$E2E_DIR/dispatcher.log"; then fail "sanitizer report in dispatcher.log"; fi
}
reap() { wait "${PIDS[$1]}" 2>/dev/null || true; }

# holder STEP: the worker whose lease the running task STEP is under.
holder() {
  local key
  for key in $(redis-cli -p "$REDIS_PORT" --scan --pattern "muster:{*}:task:$1"); do
    redis-cli -p "$REDIS_PORT" hget "$key" lease | cut -d'|' -f1
  done
}

# sink_in_flight: requests the receiver is holding (delay_ms) right now.
sink_in_flight() { curl -s "http://127.0.0.1:$SINK_PORT/_sink/stats" | jq -r .delayed; }
in_flight_at_least() { [ "$(sink_in_flight)" -ge "$1" ]; }

# check_invariants N: N incidents, each opened once; every task that started
# ended in exactly one terminal event (succeeded, dead or skipped are
# terminal; a replay may follow a death); one side effect per idempotency
# key at the sink.
check_invariants() {
  local want=$1
  expect_eq "incidents opened once each" "$(count_events '.type == "incident.opened"')" "$want"
  expect_eq "incidents in redis" "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" "$want"
  local bad
  bad=$(jq -r '(select(.ev.type | test("^task\\.(succeeded|dead|skipped)$")) |
                 "\(.ev.subject)/\(.ev.data.step) \(.ev.type)"),
               (select(.ev.type == "task.replayed") | .ev.subject as $i |
                 .ev.data.reopened[] | "\($i)/\(.) task.replayed")' "$E2E_DIR/events.jsonl" |
        awk '{ if ($2 == "task.replayed") open[$1]--; else open[$1]++ }
             END { for (t in open) if (open[t] != 1) print t, open[t] }')
  [ -z "$bad" ] || fail "tasks without exactly one terminal event: $bad"
  pass "every task ended in exactly one terminal event"
  local steps
  steps=$(jq -r 'select(.ev.type == "task.started") | "\(.ev.subject):\(.ev.data.step)"' \
    "$E2E_DIR/events.jsonl" | sort -u | wc -l)
  if [ -s "$SINK_LOG" ]; then
    local keys
    keys=$(jq -r '.headers["idempotency-key"]' "$SINK_LOG" | sort -u | wc -l)
    [ "$keys" -le "$steps" ] || fail "$keys idempotency keys at the sink for $steps steps"
    pass "side effects: $keys idempotency key(s) for $steps step(s)"
  fi
}

# settle_events: waits until the outbox is empty (every event Kafka has
# acknowledged), then reads them all into $E2E_DIR/events.jsonl.
outbox_empty() { [ "$(redis-cli -p "$REDIS_PORT" xlen muster:outbox)" -eq 0 ]; }
settle_events() {
  wait_for 60 outbox_empty || fail "the outbox did not drain: $(redis-cli -p "$REDIS_PORT" xlen muster:outbox) left"
  events_until 1 30 || fail "no events on muster.events"
}

# start_stack ROUTES WORKFLOWS_DIR [DISPATCHER ARGS...]: the receiver, the
# workflows pointed at it, Redis, the embedded Kafka and the dispatcher.
start_stack() {
  local routes=$1 workflows=$2
  shift 2
  start_sink "$routes"
  workflows_from "$workflows"
  start_redis
  start_kafka
  start_dispatcher "$@"
}

# start_intake_stack: Redis, the embedded Kafka and one no-op workflow, for
# tests of intake where only the incident matters; the test starts the
# dispatcher itself.
start_intake_stack() {
  mkdir -p "$E2E_DIR/workflows"
  cp "$SRC/tests/e2e/noop/noop.yaml" "$E2E_DIR/workflows/"
  start_redis
  start_kafka
}
# noop_alert N [PARTITION]: alert N of the no-op workflow onto the alerts
# topic, on PARTITION (else where librdkafka puts it).
noop_alert() {
  echo "{\"source\":\"t\",\"summary\":\"alert $1\",\"labels\":{\"bench\":\"noop\",\"n\":\"$1\"}}" >"$E2E_DIR/a$1.json"
  kcat -P -b "$MUSTER_KAFKA_BROKERS" -t muster.alerts ${2:+-p "$2"} "$E2E_DIR/a$1.json"
}
incidents() { redis-cli -p "$REDIS_PORT" zcard muster:incidents; }
incidents_at_least() { [ "$(incidents)" -ge "$1" ]; }
