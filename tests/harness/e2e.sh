# e2e.sh - sourced by tests/e2e/*.sh: a temp dir, a local receiver, the
# pipeline (muster up) on embedded or real Kafka, and helpers to read what
# came out. Every wait is bounded; everything started is stopped on exit.
set -euo pipefail

SRC=${MUSTER_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${MUSTER_BIN_DIR:-$SRC/build}
E2E_DIR=$(mktemp -d /tmp/muster-e2e-XXXXXX)
E2E_PIDS=()
E2E_KAFKA_DIR=""
# Every receiver in these tests listens on loopback, which workers refuse by
# default; and exec steps run programs from these directories only.
export MUSTER_HTTP_ALLOW_PRIVATE=${MUSTER_HTTP_ALLOW_PRIVATE:-1}
export MUSTER_EXEC_DIRS=${MUSTER_EXEC_DIRS:-$SRC/docs/examples/scripts:/usr/bin:/bin}

e2e_cleanup() {
  local rc=$?
  for p in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  # Whatever has not stopped in 15 s (a client stuck on a server already
  # gone) is killed, so a test cannot hang until ctest's limit.
  local end=$((SECONDS + 15))
  for p in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$E2E_KAFKA_DIR" ]; then bash "$SRC/scripts/kafka.sh" stop "$E2E_KAFKA_DIR" >/dev/null 2>&1 || true; fi
  if [ $rc -ne 0 ] && [ $rc -ne "$E2E_SKIP" ]; then
    echo "---- logs (test failed, rc=$rc) ----" >&2
    tail -n 40 "$E2E_DIR"/up.log 2>/dev/null >&2 || true
    # What the daemons said last, warnings and errors first (info is loud).
    local log
    for log in "$E2E_DIR"/dispatcher*.log "$E2E_DIR"/w*.log; do
      [ -f "$log" ] || continue
      echo "-- $(basename "$log"): last warnings and errors, then its last lines" >&2
      grep -E '"level":"(warn|error)"' "$log" | tail -n 10 >&2 || true
      tail -n 5 "$log" >&2 || true
    done
  fi
  rm -rf "$E2E_DIR"
}
trap e2e_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip_test REASON: this test does not run here; ctest reports it as skipped
# (SKIP_RETURN_CODE in tests/CMakeLists.txt), not as passed.
E2E_SKIP=77
skip_test() { echo "skipped: $*"; exit "$E2E_SKIP"; }
# skip_under_asan REASON: make test-asan runs the e2e tests again on the
# sanitizer build; a test that calls this runs on the plain build only.
skip_under_asan() {
  if [[ $(readelf -d "$BIN/muster" 2>/dev/null) == *libasan* ]]; then skip_test "sanitizer build ($*)"; fi
}
pass() { echo "ok: $*"; }

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

# start_sink ROUTES: the local receiver; sets SINK_PORT, SINK_LOG.
start_sink() {
  SINK_LOG=$E2E_DIR/sink.log
  # docs/examples/sink-routes.json presses the demo secondary's Slack button
  # (then_interact): where, and the signing secret, must be set.
  export SINK_INTERACT_URL=${SINK_INTERACT_URL:-http://127.0.0.1:9/api/v1/slack/interactions}
  export MUSTER_SECRET_SLACK_SIGNING_SECRET=${MUSTER_SECRET_SLACK_SIGNING_SECRET:-e2e-slack-signing-secret}
  "$BIN/muster-sink" --port 0 --port-file "$E2E_DIR/sink.port" --log "$SINK_LOG" \
    --routes "$1" >"$E2E_DIR/sink.out" 2>&1 &
  E2E_PIDS+=($!)
  wait_for 10 test -s "$E2E_DIR/sink.port" || fail "muster-sink did not start"
  SINK_PORT=$(cat "$E2E_DIR/sink.port")
}

# workflows_from DIR: copies workflow files, pointing port 18080 at the sink.
workflows_from() {
  mkdir -p "$E2E_DIR/workflows"
  for f in "$1"/*.yaml; do
    sed "s#127.0.0.1:18080#127.0.0.1:${SINK_PORT}#g" "$f" >"$E2E_DIR/workflows/$(basename "$f")"
  done
}

# start_real_kafka: a real broker (scripts/kafka.sh); sets KAFKA_BROKERS.
start_real_kafka() {
  E2E_KAFKA_DIR=$E2E_DIR/kafka
  mkdir -p "$E2E_KAFKA_DIR"
  bash "$SRC/scripts/kafka.sh" start "$E2E_KAFKA_DIR" >/dev/null || fail "kafka broker did not start"
  KAFKA_BROKERS=$(cat "$E2E_KAFKA_DIR/bootstrap")
}

# start_pipeline [BROKERS]: muster up with N workers; exports MUSTER_* so
# the muster command talks to it.
start_pipeline() {
  local kafka=()
  [ -n "${1:-}" ] && kafka=(--kafka "$1")
  MUSTER_LOG_LEVEL=${MUSTER_LOG_LEVEL:-info} "$BIN/muster" up --workers "${WORKERS:-2}" \
    --workflows "$E2E_DIR/workflows" --state-dir "$E2E_DIR/state" --env-file "$E2E_DIR/env" \
    "${kafka[@]+"${kafka[@]}"}" >"$E2E_DIR/up.out" 2>"$E2E_DIR/up.log" &
  E2E_PIDS+=($!)
  wait_for 30 test -s "$E2E_DIR/env" || { cat "$E2E_DIR/up.log" >&2; fail "muster up did not start"; }
  set -a; . "$E2E_DIR/env"; set +a
}

# events_until N [SECONDS]: reads muster.events from the start until at least
# N distinct events arrived; writes them (one JSON per line, with key and
# offset) to $E2E_DIR/events.jsonl, dropping repeats by event id as the
# contract asks consumers to, and every copy to $E2E_DIR/events.all.jsonl.
events_until() {
  local want=$1 limit=${2:-60}
  local end=$((SECONDS + limit))
  while :; do
    kcat -b "$MUSTER_KAFKA_BROKERS" -C -t muster.events -o beginning -e -q -J 2>/dev/null \
      >"$E2E_DIR/events.raw" || true
    jq -c '{key, partition, offset, ev: (.payload | fromjson)}' "$E2E_DIR/events.raw" \
      >"$E2E_DIR/events.all.jsonl" 2>/dev/null || true
    jq -c -s 'reduce .[] as $e ({seen: {}, out: []};
                if .seen[$e.ev.id] then . else .seen[$e.ev.id] = true | .out += [$e] end) | .out[]' \
      "$E2E_DIR/events.all.jsonl" >"$E2E_DIR/events.jsonl" 2>/dev/null || true
    [ "$(wc -l <"$E2E_DIR/events.jsonl")" -ge "$want" ] && return 0
    [ $SECONDS -lt $end ] || return 1
    sleep 0.5
  done
}

# dlq_dump: the dead-letter topic as JSON lines with headers.
dlq_dump() {
  kcat -b "$MUSTER_KAFKA_BROKERS" -C -t muster.alerts.dlq -o beginning -e -q -J 2>/dev/null || true
}

# count_events JQ_FILTER: how many events satisfy the filter (over .ev).
count_events() {
  local out
  out=$(jq -c "select(.ev | $1)" "$E2E_DIR/events.jsonl") || { echo "FAIL: bad jq filter: $1" >&2; kill -TERM $$; }
  [ -z "$out" ] && echo 0 || wc -l <<<"$out"
}

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; pass "$1 = $3"; }
