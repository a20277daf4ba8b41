#!/usr/bin/env bash
# run.sh - muster's benchmark (make bench): seven scenarios on this machine,
# one JSON object per scenario on stdout, results kept in
# bench/results/latest.json and drawn in bench/results/latest.png.
# docs/performance.md explains every figure and the method.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [--kafka embedded|real] [--quick] [--scenario N[,N...]] [-h]

  --kafka embedded   librdkafka's mock cluster in a helper process, as `muster up`
                     embeds it (default)
  --kafka real       a real single-node Kafka broker (scripts/kafka.sh; needs Java,
                     fetches the broker jars once)
  --quick            smaller loads and shorter windows (about 3.5 minutes)
  --scenario LIST    run only these scenarios (1-7, comma-separated); their
                     entries in bench/results/latest.json are replaced, the
                     others kept

Scenarios: 1 task throughput (no-op steps, against two reference queues run
in the same sitting on the same Redis settings: a raw hiredis Streams loop,
bench-rawqueue, and BullMQ from npm, bench/bullmq/; and against the raw Redis
limit of muster's own command mix, measured with redis-benchmark), 2 alert intake (with consumer lag), 3 latency (open
loop at 1k, 5k and 20k alerts/s), 4 HTTP fan-out (1 ms and 50 ms server,
steps in flight), 5 exec steps (against a raw posix_spawn loop), 6 memory,
7 soak (100,000 incidents opened, resolved and expired; Redis memory after).

Environment: MUSTER_BIN_DIR (default build/), BENCH_KEEP=1 keeps the work
directory, BENCH_LOG_LEVEL (default info) for the daemons, BENCH_WORKER_ENV
("VAR=VALUE ...") more environment for every worker (for A/B runs, e.g.
MUSTER_WORKER_CONCURRENCY=256), BENCH_BULLMQ_CONCURRENCY (default 50) the
BullMQ Worker's concurrency. The BullMQ reference needs node (18 or later) and
npm; it runs `npm ci` in bench/bullmq once, and is reported as skipped, with
the reason, when either is missing or the install fails.
EOF
}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MUSTER_BIN_DIR:-$SRC/build}
BB=$BIN/bench
RESULTS=$SRC/bench/results
KAFKA_MODE=embedded
QUICK=0
SCENARIOS="1,2,3,4,5,6,7"

while [ $# -gt 0 ]; do
  case $1 in
    --kafka) KAFKA_MODE=${2:-}; shift 2 ;;
    --kafka=*) KAFKA_MODE=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --scenario) SCENARIOS=${2:-}; shift 2 ;;
    --scenario=*) SCENARIOS=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $KAFKA_MODE in embedded|real) ;; *) echo "run.sh: --kafka wants embedded or real" >&2; exit 2 ;; esac
[[ $SCENARIOS =~ ^[1-7](,[1-7])*$ ]] || { echo "run.sh: --scenario wants numbers 1-7" >&2; exit 2; }
want() { [[ ",$SCENARIOS," == *",$1,"* ]]; }

for t in muster-dispatcher muster-worker muster-sink bench/bench-loadgen bench/bench-events \
         bench/bench-lag bench/bench-spawn bench/bench-kafka-mock bench/bench-rawqueue; do
  [ -x "$BIN/$t" ] || { echo "run.sh: $BIN/$t is missing (make build)" >&2; exit 2; }
done
for t in redis-server redis-cli redis-benchmark jq gnuplot; do
  command -v "$t" >/dev/null || { echo "run.sh: $t not found (scripts/deps.sh installs it)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/muster-bench-XXXXXX)
mkdir -p "$WORK/logs" "$RESULTS"
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
# HTTP fan-out holds one socket per step in flight.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- sizes: every load is bounded in count and in time ---------------------
if [ "$QUICK" = 1 ]; then
  S2_ALERTS=10000; S2_MAX_S=30
  S1_INCIDENTS=8000; S1_MAX_S=15
  S1_RAWQ_TASKS=50000; S1_BULLMQ_JOBS=10000; S1_REF_MAX_S=20
  S3_RATES="100 1000 5000 20000"; S3_SEND_S=3; S3_WIND_S=4
  S4_INCIDENTS=3000; S4_WINDOW_S=4; S4_HOLD_INCIDENTS=2600; S4_HOLD_MS=5000
  S5_INCIDENTS=1200; S5_WINDOW_S=4; S5_RAW=3000
  IDLE_S=2
else
  S2_ALERTS=30000; S2_MAX_S=60
  S1_INCIDENTS=30000; S1_MAX_S=40
  S1_RAWQ_TASKS=200000; S1_BULLMQ_JOBS=30000; S1_REF_MAX_S=60
  S3_RATES="100 1000 5000 20000"; S3_SEND_S=6; S3_WIND_S=12
  S4_INCIDENTS=8000; S4_WINDOW_S=12; S4_HOLD_INCIDENTS=2600; S4_HOLD_MS=6000
  S5_INCIDENTS=3000; S5_WINDOW_S=10; S5_RAW=10000
  IDLE_S=3
fi
S4_CONCURRENCY=16000
EXEC_CONCURRENCY=64
BULLMQ_CONCURRENCY=${BENCH_BULLMQ_CONCURRENCY:-50}
RUN_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export MUSTER_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
export MUSTER_WORKFLOWS_DIR=$WORK/workflows

: >"$WORK/results.jsonl"
# emit JSON: one scenario's result, on stdout and into the run's results.
emit() {
  local j
  j=$(jq -c --arg kafka "$KAFKA_MODE" --argjson quick "$QUICK" --arg at "$RUN_START" \
        '. + {kafka: $kafka, quick: ($quick == 1), at: $at}' <<<"$1")
  echo "$j" >>"$WORK/results.jsonl"
  echo "$j"
}

# target WHAT MEASURED OP TARGET UNIT: one target as JSON (met, and the
# measured/target ratio turned so that >= 1 means met).
target() {
  jq -nc --arg what "$1" --argjson m "${2:-null}" --arg op "$3" --argjson t "$4" --arg unit "$5" '
    {what: $what, measured: $m, op: $op, target: $t, unit: $unit,
     met: (if $m == null then false elif $op == ">=" then $m >= $t else $m <= $t end),
     score: (if $m == null then 0 elif $op == ">=" then $m / $t
             elif $m == 0 then 100 else $t / $m end)}'
}

mem_rows=()   # "process scenario rss_kb" for scenario 6
note_mem() { mem_rows+=("$1 $2 $3"); }

# --- setup -----------------------------------------------------------------

log "work directory $WORK; kafka $KAFKA_MODE; quick=$QUICK; scenarios $SCENARIOS"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
log "load average before start: $(cut -d' ' -f1-3 /proc/loadavg)"
TAGS="idle s2 s1 s1b"
for r in $S3_RATES; do TAGS="$TAGS s3-$r"; done
TAGS="$TAGS s4-http1 s4-http50 s4-hold s5 s7"
topics=()
for t in $TAGS; do read -ra tt <<<"$(topics_of "$t")"; topics+=("${tt[@]}"); done
start_kafka "$KAFKA_MODE" "${topics[@]}"
log "kafka at $BROKERS"

SINK_PORT=9
if want 4; then
  cat >"$WORK/routes.json" <<EOF
[{"path": "/fast", "delay_ms": 1, "body": {"ok": true}},
 {"path": "/slow", "delay_ms": 50, "body": {"ok": true}},
 {"path": "/hold", "delay_ms": $S4_HOLD_MS, "body": {"ok": true}}]
EOF
  spawn "$WORK/logs/sink.log" "$BIN/muster-sink" --port 0 --port-file "$WORK/sink.port" \
    --routes "$WORK/routes.json" --threads 2
  SINK_PID=$LAST_PID
  wait_for 10 test -s "$WORK/sink.port" || die "muster-sink did not start"
  SINK_PORT=$(cat "$WORK/sink.port")
fi
mkdir -p "$WORK/workflows"
for f in "$SRC"/bench/workflows/*.yaml; do
  sed "s/SINK_PORT/$SINK_PORT/g" "$f" >"$WORK/workflows/$(basename "$f")"
done

# sink_delayed: requests the sink holds right now (its delay queue).
sink_delayed() {
  local body
  exec 9<>"/dev/tcp/127.0.0.1/$SINK_PORT" || { echo 0; return; }
  printf 'GET /_sink/stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&9
  body=$(timeout 2 cat <&9 | tail -n1)
  exec 9>&-
  jq -r '.delayed // 0' <<<"$body" 2>/dev/null || echo 0
}

# seed TAG WORKFLOW N: N incidents of WORKFLOW recorded through the real
# intake path (loadgen -> Kafka -> dispatcher -> expand.lua), dispatcher
# stopped again.
seed() {
  local tag=$1 wf=$2 n=$3 t0 res got t1
  use_topics "$tag"
  start_dispatcher "$tag"
  t0=$(now_ms)
  "$BB/bench-loadgen" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" --count "$n" \
    --workflow "$wf" --run "$tag" >"$WORK/$tag-seed.json" || die "loadgen ($tag) failed"
  res=$(wait_incidents "$n" 120)
  note_mem dispatcher "$tag" "$(proc_kb "$DISP_PID" VmHWM)"
  stop_pid "$DISP_PID" 20
  read -r got _ _ t1 <<<"$res"
  [ "$got" -ge "$n" ] || die "only $got of $n incidents recorded for $tag in 120 s"
  log "$tag: $got incidents seeded in $((t1 - t0)) ms"
}

# window TAG SECONDS WARM: lets the running workers work for SECONDS after
# WARM, snapshotting Redis INFO and the workers' CPU at both ends (files
# $WORK/TAG-info-{0,1}); sets W_T0, W_T1 (wall ms), W_CPU (worker ms),
# W_MON (probes sent), W_HOST_BUSY (share of all CPUs busy, anyone's),
# W_INFLIGHT_MAX/W_INFLIGHT_MEAN (leased, unfinished: the pool's pending
# list), W_DELAYED_MAX (sink), W_DRAINED. Ends early if the queue runs dry.
window() {
  local tag=$1 secs=$2 warm=$3 c0=0 c1=0 p len=1 pend out n=0 sum=0 d
  sleep "$warm"
  rcli info all >"$WORK/$tag-info-0"
  for p in "${WORKER_PIDS[@]}"; do c0=$((c0 + $(proc_cpu_ms "$p"))); done
  W_HOST0=$(host_cpu)
  W_T0=$(now_ms); W_MON=0; W_INFLIGHT_MAX=0; W_DELAYED_MAX=0
  while [ $(( $(now_ms) - W_T0 )) -lt $((secs * 1000)) ]; do
    sleep 0.25
    read -r len pend out <<<"$(queue_state)"
    W_MON=$((W_MON + 3))
    n=$((n + 1)); sum=$((sum + pend))
    [ "$pend" -gt "$W_INFLIGHT_MAX" ] && W_INFLIGHT_MAX=$pend
    if [[ $tag == s4-* ]]; then
      d=$(sink_delayed); [ "$d" -gt "$W_DELAYED_MAX" ] && W_DELAYED_MAX=$d
    fi
    [ "$len" -eq 0 ] && break
  done
  W_T1=$(now_ms)
  W_HOST_BUSY=$(host_busy "$W_HOST0" "$(host_cpu)")
  rcli info all >"$WORK/$tag-info-1"
  for p in "${WORKER_PIDS[@]}"; do c1=$((c1 + $(proc_cpu_ms "$p"))); done
  W_CPU=$((c1 - c0))
  W_INFLIGHT_MEAN=$(( n > 0 ? sum / n : 0 ))
  W_DRAINED=$([ "$len" -eq 0 ] && echo true || echo false)
}

# wind_down TAG: nothing new is leased (the queue is trimmed); what is
# leased finishes; the relay catches up, so every event of the windows is on
# Kafka. Bounded: 90 s.
wind_down() {
  local tag=$1 st len=1 pend=1 out=1
  rcli xtrim muster:q:default maxlen 0 >/dev/null
  st=$(now_ms)
  while [ $(( $(now_ms) - st )) -lt 90000 ]; do
    read -r len pend out <<<"$(queue_state)"
    [ "$len" -gt 0 ] && rcli xtrim muster:q:default maxlen 0 >/dev/null
    [ "$len" -eq 0 ] && [ "$pend" -eq 0 ] && [ "$out" -eq 0 ] && break
    sleep 0.2
  done
  [ "$out" -eq 0 ] || log "$tag: outbox still holds $out events after 90 s"
}

# --- raw Redis limit: the same command mix through redis-benchmark --------

# raw_rate NAME N ARGS...: requests/s of one command, pipelined (4 clients,
# 32 deep), random keys among 100k.
raw_rate() {
  local name=$1 n=$2 rate; shift 2
  rate=$(redis-benchmark -p "$REDIS_PORT" -c 4 -P 32 -n "$n" -r 100000 --csv "$@" 2>>"$WORK/raw.err" |
           awk -F'","' 'NR == 2 { print $(NF - 6) + 0 }')
  if [ "${rate:-0}" = 0 ]; then
    log "redis-benchmark gave no rate for $name (see $WORK/raw.err)"
    return 0
  fi
  echo "$rate"
}

# raw_limit MIX_JSON: for each command of the per-task mix, its rate alone;
# the limit is 1 / sum(count_per_task / rate). Script calls are priced as a
# call of an empty script (what Lua's logic costs on top is the scripts'
# price, not Redis'). Prints a JSON object.
raw_limit() {
  local mix=$1 sha ev cmd rate rates="{}" ids
  ev=$(printf '{"specversion":"1.0","id":"evt-0123456789abcdef01234567-1","source":"muster","type":"task.succeeded","time":"2026-11-24T20:20:59.448Z","subject":"inc-0123456789abcdef01234567","datacontenttype":"application/json","data":{"incident":"inc-0123456789abcdef01234567","workflow":"bench-noop5","step":"ticket","action":"noop","attempt":1,"duration_ms":0}}')
  sha=$(rcli script load "return 1")
  # Hashes to read, and a stream with a consumer group to lease from.
  redis-benchmark -p "$REDIS_PORT" -c 4 -P 32 -n 100000 -r 100000 \
    HSET 'rb:{__rand_int__}:task' state queued unmet 0 pool default attempts 0 \
    def '{"id":"ticket","action":"noop","pool":"default","timeout_ms":0,"continue_on_error":false,"with":{}}' \
    >/dev/null 2>&1
  redis-benchmark -p "$REDIS_PORT" -c 4 -P 32 -n 200000 XADD rb:q '*' task 'inc-0123456789abcdef01234567/ticket' >/dev/null 2>&1
  rcli xgroup create rb:q workers 0 >/dev/null
  for cmd in $(jq -r 'keys[]' <<<"$mix"); do
    case $cmd in
      evalsha) rate=$(raw_rate "$cmd" 100000 EVALSHA "$sha" 0) ;;
      hget) rate=$(raw_rate "$cmd" 200000 HGET 'rb:{__rand_int__}:task' state) ;;
      hmget) rate=$(raw_rate "$cmd" 200000 HMGET 'rb:{__rand_int__}:task' state unmet pool) ;;
      hset) rate=$(raw_rate "$cmd" 200000 HSET 'rb:{__rand_int__}:task' state running lease 'bench-w|1795553786196-4' started_at 1795553786196) ;;
      hincrby) rate=$(raw_rate "$cmd" 200000 HINCRBY 'rb:{__rand_int__}:task' attempts 1) ;;
      hdel) rate=$(raw_rate "$cmd" 200000 HDEL 'rb:{__rand_int__}:task' nothing) ;;
      hexists) rate=$(raw_rate "$cmd" 200000 HEXISTS 'rb:{__rand_int__}:task' state) ;;
      xadd) rate=$(raw_rate "$cmd" 200000 XADD rb:outbox '*' key inc-0123456789abcdef01234567 event "$ev") ;;
      rpush) rate=$(raw_rate "$cmd" 200000 RPUSH 'rb:{__rand_int__}:timeline' "$ev") ;;
      xreadgroup) rate=$(raw_rate "$cmd" 3000 XREADGROUP GROUP workers c1 COUNT 64 STREAMS rb:q '>') ;;
      # Acknowledge and delete ids that exist nowhere: the lookup is paid,
      # the removal is not, so these two are priced a little low.
      xack) rate=$(raw_rate "$cmd" 200000 XACK rb:q workers 1-__rand_int__) ;;
      xdel) rate=$(raw_rate "$cmd" 200000 XDEL rb:q 1-__rand_int__) ;;
      zadd) rate=$(raw_rate "$cmd" 200000 ZADD rb:z 1795553786196 'inc-__rand_int__') ;;
      zrangebyscore) rate=$(raw_rate "$cmd" 100000 ZRANGEBYSCORE rb:z -inf 0 LIMIT 0 1000) ;;
      zrem) rate=$(raw_rate "$cmd" 200000 ZREM rb:z none) ;;
      get) rate=$(raw_rate "$cmd" 200000 GET rb:lease) ;;
      set) rate=$(raw_rate "$cmd" 200000 SET rb:lease bench-w PX 5000) ;;
      pexpire) rate=$(raw_rate "$cmd" 200000 PEXPIRE rb:lease 5000) ;;
      *) rate="" ;;
    esac
    [ -n "$rate" ] && rates=$(jq -c --arg c "$cmd" --argjson r "$rate" '. + {($c): $r}' <<<"$rates")
  done
  ids=$(rcli --scan --pattern 'rb:*' | head -n 1)
  [ -n "$ids" ] && rcli eval "for _, k in ipairs(redis.call('keys', 'rb:*')) do redis.call('unlink', k) end" 0 >/dev/null
  jq -nc --argjson mix "$mix" --argjson rates "$rates" '
    ($mix | to_entries | map(select($rates[.key] != null))) as $known
    | ([$known[] | .value / $rates[.key]] | add) as $secs
    | {rates_per_s: $rates,
       unpriced: ($mix | to_entries | map(select($rates[.key] == null)) | from_entries),
       tasks_per_s: (if $secs > 0 then 1 / $secs else null end)}'
}

# --- phases ------------------------------------------------------------------

# Idle: both daemons with nothing to do.
phase_idle() {
  local d0 w0
  log "idle: dispatcher and worker with nothing to do (${IDLE_S}s)"
  start_redis "$WORK/idle"
  use_topics idle
  start_dispatcher idle
  start_workers idle 1
  sleep 1
  d0=$(proc_cpu_ms "$DISP_PID"); w0=$(proc_cpu_ms "${WORKER_PIDS[0]}")
  sleep "$IDLE_S"
  IDLE_DISP_CPU=$(( ($(proc_cpu_ms "$DISP_PID") - d0) / IDLE_S ))
  IDLE_WORKER_CPU=$(( ($(proc_cpu_ms "${WORKER_PIDS[0]}") - w0) / IDLE_S ))
  IDLE_DISP_RSS=$(proc_kb "$DISP_PID" VmRSS)
  IDLE_WORKER_RSS=$(proc_kb "${WORKER_PIDS[0]}" VmRSS)
  stop_workers
  stop_pid "$DISP_PID" 20
  stop_redis
}

# Scenario 2, and the Redis memory an open incident takes (scenario 6).
phase_s2() {
  local n=$S2_ALERTS tag=s2 lagpid mem0 mem1 t0 res got t10 t90 t1 lg lag dcpu0 dcpu1 dcpu h0 hb
  log "2: intake of $n alerts into 5-step workflows"
  start_redis "$WORK/$tag"
  use_topics "$tag"
  start_dispatcher "$tag"
  mem0=$(rcli info memory | awk -F: '$1 == "used_memory" { print $2 + 0 }')
  spawn "$WORK/$tag-lag.json" "$BB/bench-lag" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" \
    --group "$MUSTER_KAFKA_GROUP" --interval-ms 250 --max-ms $(( (S2_MAX_S + 10) * 1000 ))
  lagpid=$LAST_PID
  dcpu0=$(proc_cpu_ms "$DISP_PID")
  h0=$(host_cpu)
  t0=$(now_ms)
  lg=$("$BB/bench-loadgen" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" --count "$n" \
         --workflow noop5 --run "$tag") || die "loadgen failed"
  res=$(wait_incidents "$n" "$S2_MAX_S")
  read -r got t10 t90 t1 <<<"$res"
  dcpu1=$(proc_cpu_ms "$DISP_PID")
  hb=$(host_busy "$h0" "$(host_cpu)")
  sleep 1.5 # one more auto-commit, so the lag shows the end of the run
  stop_pid "$lagpid" 10
  lag=$(cat "$WORK/$tag-lag.json")
  note_mem dispatcher 2 "$(proc_kb "$DISP_PID" VmHWM)"
  stop_pid "$DISP_PID" 20
  rcli info all >"$WORK/$tag-info-seeded"
  mem1=$(info_get "$WORK/$tag-info-seeded" used_memory)
  dcpu=$((dcpu1 - dcpu0))
  PER_INCIDENT_BYTES=$(( got > 0 ? (mem1 - mem0) / got : 0 ))
  S2_RESULT=$(jq -nc --argjson n "$n" --argjson got "$got" --argjson t0 "$t0" --argjson t1 "$t1" \
      --argjson t10 "$t10" --argjson t90 "$t90" --argjson lg "$lg" --argjson lag "$lag" \
      --argjson dcpu "$dcpu" --argjson per "$PER_INCIDENT_BYTES" --argjson host "$hb" '
    {alerts: $n, recorded: $got, seconds: (($t1 - $t0) / 1000), host_busy: $host,
     alerts_per_s: ($got * 1000 / ($t1 - $t0)),
     steady_alerts_per_s: (if $t90 > $t10 then ($got * 0.8 * 1000 / ($t90 - $t10)) else null end),
     produce_per_s: $lg.rate_sent,
     dispatcher_cpu_us_per_alert: ($dcpu * 1000 / $got),
     consumer_lag: {max: $lag.max, mean: $lag.mean, end: $lag.last, series: $lag.series},
     redis_bytes_per_open_incident: $per}')
  if want 2; then
    local rate
    rate=$(jq '.steady_alerts_per_s // .alerts_per_s' <<<"$S2_RESULT")
    emit "$(jq -c --argjson t "$(target 'alerts/s expanded into 5-step workflows' "$rate" '>=' 20000 'alerts/s')" \
        '{scenario: 2, name: "alert intake"} + . + {targets: [$t]}' <<<"$S2_RESULT")"
  fi
  stop_redis
}

# s1_measure TAG TASKS CONCURRENCY: figures of the window just measured
# (W_*, the INFO snapshots) for TASKS tasks finished in it; sets S1_ROW.
s1_measure() {
  local tag=$1 tasks=$2 conc=$3 mix reads r0 r1 rcpu
  [ "$tasks" -gt 0 ] || die "scenario 1: no task finished in the window"
  mix=$(cmdstat_delta "$WORK/$tag-info-0" "$WORK/$tag-info-1" |
        jq -c --argjson n "$tasks" 'map_values(. / $n)')
  r0=$(info_get "$WORK/$tag-info-0" total_reads_processed)
  r1=$(info_get "$WORK/$tag-info-1" total_reads_processed)
  reads=$((r1 - r0 - W_MON - 1))
  rcpu=$(( $(redis_cpu_ms "$WORK/$tag-info-1") - $(redis_cpu_ms "$WORK/$tag-info-0") ))
  S1_ROW=$(jq -nc --argjson tasks "$tasks" --argjson mix "$mix" --argjson conc "$conc" \
      --argjson reads "$reads" --argjson rcpu "$rcpu" --argjson wcpu "$W_CPU" \
      --argjson t0 "$W_T0" --argjson t1 "$W_T1" --argjson drained "$W_DRAINED" --argjson host "$W_HOST_BUSY" '
    (($t1 - $t0) / 1000) as $secs | ($tasks / $secs) as $rate |
    {worker_concurrency: $conc, window_s: $secs, tasks: $tasks, tasks_per_s: $rate,
     queue_ran_dry: $drained, host_busy: $host,
     redis_round_trips_per_task: ($reads / $tasks),
     redis_commands_per_task: ([$mix[]] | add),
     redis_commands_mix: $mix,
     redis_cpu_us_per_task: ($rcpu * 1000 / $tasks),
     redis_busy: ($rcpu / 1000 / $secs),
     redis_bound_tasks_per_s: (if $rcpu > 0 then $tasks / ($rcpu / 1000) else null end),
     worker_cpu_us_per_task: ($wcpu * 1000 / $tasks),
     worker_busy: ($wcpu / 1000 / $secs)}')
}

# s1_run TAG CONCURRENCY VAR=VALUE...: seeds S1_INCIDENTS (twice as many
# at concurrency 256) 5-step no-op workflows, lets one worker run them all
# (FIFO: a window shorter than the whole run would see mostly first steps,
# which release three steps each) and measures; sets S1_ROW. Leaves Redis
# running.
s1_run() {
  local tag=$1 conc=$2 n=$S1_INCIDENTS; shift 2
  [ "$conc" = 256 ] && n=$((S1_INCIDENTS * 2))
  start_redis "$WORK/$tag"
  seed "$tag" noop5 "$n"
  log "1: $((n * 5)) no-op tasks, one worker, worker.concurrency ${conc/null/default}"
  events_start "$tag"
  start_workers "$tag" 1 "$@"
  window "$tag" "$S1_MAX_S" 0.5
  echo "window $W_T0 $W_T1" >>"$EV_FINISH"
  [ "$conc" = null ] && note_mem worker 1 "$(proc_kb "${WORKER_PIDS[0]}" VmHWM)"
  wind_down "$tag"
  stop_workers
  events_finish
  s1_measure "$tag" "$(jq '.succeeded.windows[0].n' <<<"$EV")" "$conc"
}

# --- the reference queues of scenario 1 (issue 13's targets) --------------

# ref_counts TAG UNITS: Redis commands and round trips per unit between
# $WORK/TAG-info-{0,1}, the same way s1_measure counts them for muster.
ref_counts() {
  local tag=$1 n=$2 r0 r1
  r0=$(info_get "$WORK/$tag-info-0" total_reads_processed)
  r1=$(info_get "$WORK/$tag-info-1" total_reads_processed)
  cmdstat_delta "$WORK/$tag-info-0" "$WORK/$tag-info-1" |
    jq -c --argjson n "$n" --argjson reads $((r1 - r0 - 1)) '
      if $n > 0 then {commands_per_task: (([.[]] | add // 0) / $n), round_trips_per_task: ($reads / $n),
                      commands_mix: map_values(. / $n)}
      else {commands_per_task: null, round_trips_per_task: null, commands_mix: {}} end'
}

# raw_stream_ref: the raw Streams queue on a fresh redis-server configured
# like muster's: S1_RAWQ_TASKS entries added, then consumed by one loop
# (XREADGROUP COUNT 64 + XACK, one round trip per batch). Sets RAWQ (JSON).
# Not in $(...): start_redis must record its pid here.
raw_stream_ref() {
  local tag=s1-rawq out counts
  start_redis "$WORK/$tag"
  "$BB/bench-rawqueue" --port "$REDIS_PORT" --count "$S1_RAWQ_TASKS" --mode produce >/dev/null ||
    die "bench-rawqueue (produce) failed"
  rcli info all >"$WORK/$tag-info-0"
  out=$("$BB/bench-rawqueue" --port "$REDIS_PORT" --count "$S1_RAWQ_TASKS" --batch 64 \
          --max-ms $((S1_REF_MAX_S * 1000)) --mode consume) || die "bench-rawqueue (consume) failed"
  rcli info all >"$WORK/$tag-info-1"
  stop_redis
  counts=$(ref_counts "$tag" "$(jq .tasks <<<"$out")")
  RAWQ=$(jq -c --argjson c "$counts" '{tasks, seconds, tasks_per_s, batch} + $c + {skipped: null}' <<<"$out")
}

# bullmq_skip REASON: the BullMQ reference when it cannot run; sets BULL.
bullmq_skip() {
  log "1: BullMQ reference skipped: $1"
  BULL=$(jq -nc --arg why "$1" '{tasks_per_s: null, skipped: $why}')
}

# bullmq_ref: BullMQ (bench/bullmq, installed with npm ci when missing) on
# a fresh redis-server configured like muster's: S1_BULLMQ_JOBS no-op jobs
# added with addBulk, then processed by one Worker at BULLMQ_CONCURRENCY.
# Sets BULL (JSON): its figures, or why it was skipped. Not in $(...).
bullmq_ref() {
  local tag=s1-bullmq dir=$SRC/bench/bullmq major out counts
  command -v node >/dev/null || { bullmq_skip "node not found"; return; }
  command -v npm >/dev/null || { bullmq_skip "npm not found"; return; }
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 18 ] || { bullmq_skip "node $(node --version 2>/dev/null) is older than 18"; return; }
  if [ ! -f "$dir/node_modules/bullmq/package.json" ]; then
    log "1: installing BullMQ (npm ci in bench/bullmq)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/logs/npm-ci.log" 2>&1 ||
      { bullmq_skip "npm ci failed: $(tail -n1 "$WORK/logs/npm-ci.log")"; return; }
  fi
  start_redis "$WORK/$tag"
  if ! node "$dir/driver.mjs" --port "$REDIS_PORT" --count "$S1_BULLMQ_JOBS" --mode add \
         >/dev/null 2>"$WORK/logs/bullmq-add.err"; then
    stop_redis; bullmq_skip "driver failed adding jobs: $(tail -n1 "$WORK/logs/bullmq-add.err")"; return
  fi
  rcli info all >"$WORK/$tag-info-0"
  if ! out=$(node "$dir/driver.mjs" --port "$REDIS_PORT" --count "$S1_BULLMQ_JOBS" --mode process \
               --concurrency "$BULLMQ_CONCURRENCY" --max-ms $((S1_REF_MAX_S * 1000)) 2>"$WORK/logs/bullmq.err"); then
    stop_redis; bullmq_skip "driver failed processing jobs: $(tail -n1 "$WORK/logs/bullmq.err")"; return
  fi
  rcli info all >"$WORK/$tag-info-1"
  stop_redis
  counts=$(ref_counts "$tag" "$(jq .jobs <<<"$out")")
  BULL=$(jq -c --argjson c "$counts" '{tasks: .jobs, seconds, tasks_per_s: .jobs_per_s, failed, concurrency,
                                bullmq, node} + $c + {skipped: null}' <<<"$out")
}

scenario_1() {
  local base tuned raw res
  s1_run s1 null
  base=$S1_ROW
  stop_redis
  # The references right after muster's own run, on the same settings.
  log "1: raw Redis Streams queue: $S1_RAWQ_TASKS tasks, XREADGROUP COUNT 64 + XACK"
  raw_stream_ref
  log "1: BullMQ: $S1_BULLMQ_JOBS no-op jobs, one Worker at concurrency $BULLMQ_CONCURRENCY"
  bullmq_ref
  # The same worker leasing 256 at a time: how much of a task's time is the
  # loop's fixed cost per turn (docs/performance.md).
  s1_run s1b 256 MUSTER_WORKER_CONCURRENCY=256
  tuned=$S1_ROW
  log "1: measuring the raw Redis limit of the same command mix (redis-benchmark)"
  raw=$(raw_limit "$(jq -c .redis_commands_mix <<<"$base")")
  stop_redis
  res=$(jq -nc --argjson b "$base" --argjson t "$tuned" --argjson raw "$raw" --argjson rq "$RAWQ" --argjson bq "$BULL" '
    def ratio(a; b): if a != null and b != null and b > 0 then a / b else null end;
    $b + {raw_redis_tasks_per_s: $raw.tasks_per_s, raw_redis: $raw,
          ratio_to_raw: ratio($b.tasks_per_s; $raw.tasks_per_s),
          raw_stream_tasks_per_s: $rq.tasks_per_s, bullmq_tasks_per_s: $bq.tasks_per_s,
          ratio_vs_raw_stream: ratio($b.tasks_per_s; $rq.tasks_per_s),
          ratio_vs_bullmq: ratio($b.tasks_per_s; $bq.tasks_per_s),
          references: {raw_stream: $rq, bullmq: $bq},
          concurrency_256: $t}')
  emit "$(jq -c \
      --argjson a "$(target 'no-op tasks/s, one worker' "$(jq .tasks_per_s <<<"$res")" '>=' 100000 'tasks/s')" \
      --argjson b "$(target 'no-op tasks/s as a multiple of BullMQ' "$(jq .ratio_vs_bullmq <<<"$res")" '>=' 4.0 'x BullMQ')" \
      --argjson c "$(target 'share of the raw stream queue (XREADGROUP + XACK)' "$(jq .ratio_vs_raw_stream <<<"$res")" '>=' 0.40 'ratio')" \
      --argjson d "$(target 'Redis commands per no-op task' "$(jq .redis_commands_per_task <<<"$res")" '<=' 6 'commands')" \
      --argjson e "$(target 'Redis round trips per no-op task' "$(jq .redis_round_trips_per_task <<<"$res")" '<=' 0.1 'round trips')" \
      '{scenario: 1, name: "task throughput"} + . + {targets: [$a, $b, $c, $d, $e]}' <<<"$res")"
  s1_summary
}

# s1_summary: scenario 1 against its references, for a person (stderr).
s1_summary() {
  local r
  r=$(tail -n1 "$WORK/results.jsonl")
  jq -r '
    def n: if . == null then "n/a" elif . >= 100 then (. | round | tostring)
           elif . >= 1 then (. * 100 | round / 100 | tostring) else (. * 1000 | round / 1000 | tostring) end;
    def met(w): ([.targets[] | select(.what == w)][0]) as $t
                | "\($t.measured | n) (target \($t.op) \($t.target | n): \(if $t.met then "met" else "missed" end))";
    "1: muster no-op tasks/s, one worker: \(.tasks_per_s | n)",
    "1: raw stream queue tasks/s: \(.raw_stream_tasks_per_s | n); BullMQ \(.references.bullmq.bullmq // "") jobs/s: \(.bullmq_tasks_per_s | n)\(if .references.bullmq.skipped then " (skipped: \(.references.bullmq.skipped))" else "" end)",
    "1: muster / BullMQ: \(met("no-op tasks/s as a multiple of BullMQ"))",
    "1: muster / raw stream queue: \(met("share of the raw stream queue (XREADGROUP + XACK)"))",
    "1: Redis commands per task: \(met("Redis commands per no-op task")); round trips per task: \(met("Redis round trips per no-op task"))",
    "1: references per task: raw stream \(.references.raw_stream.commands_per_task | n) commands, \(.references.raw_stream.round_trips_per_task | n) round trips; BullMQ \(.references.bullmq.commands_per_task | n) commands, \(.references.bullmq.round_trips_per_task | n) round trips"
  ' <<<"$r" | while IFS= read -r line; do log "$line"; done
}

scenario_3() {
  local rows=() rate tag count lagpid lg lag ev st len pend out got res first_p99=null h0 hb at_least=false
  for rate in $S3_RATES; do
    tag=s3-$rate
    count=$((rate * S3_SEND_S))
    log "3: open loop at $rate alerts/s for ${S3_SEND_S}s ($count alerts), dispatcher + 1 worker"
    start_redis "$WORK/$tag"
    use_topics "$tag"
    start_dispatcher "$tag"
    start_workers "$tag" 1
    events_start "$tag" --expect "$count" --run "$tag"
    spawn "$WORK/$tag-lag.json" "$BB/bench-lag" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" \
      --group "$MUSTER_KAFKA_GROUP" --interval-ms 250 --max-ms $(( (S3_SEND_S + S3_WIND_S + 10) * 1000 ))
    lagpid=$LAST_PID
    h0=$(host_cpu)
    lg=$("$BB/bench-loadgen" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" --count "$count" \
           --rate "$rate" --max-ms $(( S3_SEND_S * 1000 + 5000 )) --linger-ms 0 --workflow noop5 \
           --run "$tag") || die "loadgen failed"
    jq --argjson c "$count" --argjson r "$rate" '"sent_until \((.start_wall_us / 1000 + ($c - 1) * 1000 / $r) | floor)"' \
      -r <<<"$lg" >>"$EV_FINISH"
    # Let the pipeline finish what it was given, within a bound.
    st=$(now_ms)
    while [ $(( $(now_ms) - st )) -lt $((S3_WIND_S * 1000)) ]; do
      got=$(( $(rcli zcard muster:incidents) - 1 ))
      read -r len pend out <<<"$(queue_state)"
      [ "$got" -ge "$count" ] && [ "$len" -eq 0 ] && [ "$out" -eq 0 ] && break
      sleep 0.2
    done
    hb=$(host_busy "$h0" "$(host_cpu)")
    # The reader takes the end of the run from this signal.
    kill -TERM "$EV_PID" 2>/dev/null || true
    stop_pid "$lagpid" 10
    lag=$(cat "$WORK/$tag-lag.json")
    note_mem dispatcher "3@$rate" "$(proc_kb "$DISP_PID" VmHWM)"
    note_mem worker "3@$rate" "$(proc_kb "${WORKER_PIDS[0]}" VmHWM)"
    stop_workers
    stop_pid "$DISP_PID" 20
    events_finish
    ev=$EV
    stop_redis
    res=$(jq -nc --argjson rate "$rate" --argjson lg "$lg" --argjson ev "$ev" --argjson lag "$lag" --argjson host "$hb" '
      {rate: $rate, alerts: $lg.produced, sent_per_s: $lg.rate_sent, host_busy: $host,
       send_late_ms_p99: $lg.late_ms_p99,
       opened: (($ev.by_type["incident.opened"] // 1) - 1), completed: $ev.completed,
       observed_until_ms: $ev.latency_ms.end_ms,
       recorded_ms: $ev.latency_ms.recorded,
       first_step_started_ms: $ev.latency_ms.first_started,
       last_step_done_ms: $ev.latency_ms.last_done,
       tasks_per_s: $ev.succeeded.steady_per_s,
       consumer_lag: {max: $lag.max, mean: $lag.mean}}')
    rows+=("$res")
    if [ "$rate" = 1000 ]; then
      first_p99=$(jq '.first_step_started_ms.p99' <<<"$res")
      at_least=$(jq '.first_step_started_ms.p99_at_least' <<<"$res")
    fi
  done
  local t
  t=$(target "p99 alert -> first step started at 1k/s ($KAFKA_MODE Kafka)" "$first_p99" '<=' 10 'ms' |
      jq -c --argjson al "$at_least" '. + {at_least: $al} | if $al then .met = false else . end')
  emit "$(printf '%s\n' "${rows[@]}" | jq -sc --argjson t "$t" --arg mode "$KAFKA_MODE" '
    {scenario: 3, name: "latency", workers: 1, rates: .,
     targets: [$t + {applies: ($mode == "real")}]}')"
}

# http_variant TAG WORKFLOW: seed, then one worker with room for every step;
# sets HTTP_RESULT.
http_variant() {
  local tag=$1 wf=$2 ev
  seed "$tag" "$wf" "$S4_INCIDENTS"
  log "4: $wf: $((S4_INCIDENTS * 5)) webhook steps, worker.concurrency $S4_CONCURRENCY"
  events_start "$tag"
  start_workers "$tag" 1 MUSTER_WORKER_CONCURRENCY=$S4_CONCURRENCY
  window "$tag" "$S4_WINDOW_S" 1
  echo "window $W_T0 $W_T1" >>"$EV_FINISH"
  wind_down "$tag"
  note_mem worker "4/$wf" "$(proc_kb "${WORKER_PIDS[0]}" VmHWM)"
  local hwm
  hwm=$(proc_kb "${WORKER_PIDS[0]}" VmHWM)
  stop_workers
  events_finish
  ev=$EV
  HTTP_RESULT=$(jq -nc --argjson ev "$ev" --arg wf "$wf" --argjson cpu "$W_CPU" --argjson imax "$W_INFLIGHT_MAX" \
      --argjson imean "$W_INFLIGHT_MEAN" --argjson dmax "$W_DELAYED_MAX" --argjson hwm "$hwm" \
      --argjson t0 "$W_T0" --argjson t1 "$W_T1" --argjson drained "$W_DRAINED" --argjson host "$W_HOST_BUSY" '
    ($ev.succeeded.windows[0].n) as $n | (($t1 - $t0) / 1000) as $secs |
    {workflow: $wf, window_s: $secs, steps: $n, steps_per_s: ($n / $secs), queue_ran_dry: $drained,
     host_busy: $host,
     failed: ($ev.by_type["task.failed"] // 0),
     in_flight_max: $imax, in_flight_mean: $imean, server_held_max: $dmax,
     worker_cpu_us_per_step: (if $n > 0 then $cpu * 1000 / $n else null end),
     worker_rss_peak_kb: $hwm}')
}

scenario_4() {
  local v1 v50 hold tag=s4-hold st len pend out imax=0 dmax=0 d hwm
  start_redis "$WORK/s4-http1"; http_variant s4-http1 http1; v1=$HTTP_RESULT; stop_redis
  start_redis "$WORK/s4-http50"; http_variant s4-http50 http50; v50=$HTTP_RESULT; stop_redis
  # Capacity: a server that holds every reply, so leased steps pile up.
  start_redis "$WORK/$tag"
  seed "$tag" httphold "$S4_HOLD_INCIDENTS"
  log "4: capacity: $((S4_HOLD_INCIDENTS * 5)) steps against a server that holds each reply ${S4_HOLD_MS} ms"
  start_workers "$tag" 1 MUSTER_WORKER_CONCURRENCY=$S4_CONCURRENCY
  st=$(now_ms)
  while [ $(( $(now_ms) - st )) -lt $(( S4_HOLD_MS * 2 + 20000 )) ]; do
    read -r len pend out <<<"$(queue_state)"
    [ "$pend" -gt "$imax" ] && imax=$pend
    d=$(sink_delayed); [ "$d" -gt "$dmax" ] && dmax=$d
    [ "$len" -eq 0 ] && [ "$pend" -eq 0 ] && break
    sleep 0.25
  done
  hwm=$(proc_kb "${WORKER_PIDS[0]}" VmHWM)
  note_mem worker "4/hold" "$hwm"
  stop_workers
  hold=$(jq -nc --argjson imax "$imax" --argjson dmax "$dmax" --argjson hwm "$hwm" \
      --argjson steps $((S4_HOLD_INCIDENTS * 5)) --argjson ms "$S4_HOLD_MS" --argjson secs $(( ($(now_ms) - st) / 1000 )) '
    {steps: $steps, server_hold_ms: $ms, in_flight_max: $imax, server_held_max: $dmax,
     seconds_to_finish: $secs, worker_rss_peak_kb: $hwm}')
  stop_redis
  local inflight
  inflight=$(jq -n --argjson a "$v1" --argjson b "$v50" --argjson h "$hold" \
    '[$a.in_flight_max, $b.in_flight_max, $h.in_flight_max] | max')
  emit "$(jq -nc --argjson a "$v1" --argjson b "$v50" --argjson h "$hold" \
      --argjson t1 "$(target 'HTTP steps in flight, one worker' "$inflight" '>=' 10000 'steps')" \
      --argjson t2 "$(target 'HTTP steps/s, 1 ms loopback server' "$(jq .steps_per_s <<<"$v1")" '>=' 20000 'steps/s')" \
      --argjson conc "$S4_CONCURRENCY" '
    {scenario: 4, name: "HTTP fan-out", worker_concurrency: $conc,
     server_1ms: $a, server_50ms: $b, capacity: $h, targets: [$t1, $t2]}')"
}

scenario_5() {
  local tag=s5 ev raw res hwm h0
  start_redis "$WORK/$tag"
  seed "$tag" exec5 "$S5_INCIDENTS"
  log "5: $((S5_INCIDENTS * 5)) exec steps (true), worker.concurrency $EXEC_CONCURRENCY"
  events_start "$tag"
  start_workers "$tag" 1 MUSTER_WORKER_CONCURRENCY=$EXEC_CONCURRENCY
  window "$tag" "$S5_WINDOW_S" 1
  echo "window $W_T0 $W_T1" >>"$EV_FINISH"
  wind_down "$tag"
  hwm=$(proc_kb "${WORKER_PIDS[0]}" VmHWM)
  note_mem worker 5 "$hwm"
  stop_workers
  events_finish
  ev=$EV
  stop_redis
  log "5: raw posix_spawn loop, $S5_RAW runs of true, $EXEC_CONCURRENCY at once"
  h0=$(host_cpu)
  raw=$("$BB/bench-spawn" --count "$S5_RAW" --concurrency "$EXEC_CONCURRENCY" --max-ms 60000 -- true)
  RAW_HOST_BUSY=$(host_busy "$h0" "$(host_cpu)")
  res=$(jq -nc --argjson ev "$ev" --argjson raw "$raw" --argjson cpu "$W_CPU" --argjson hwm "$hwm" \
      --argjson t0 "$W_T0" --argjson t1 "$W_T1" --argjson conc "$EXEC_CONCURRENCY" --argjson drained "$W_DRAINED" \
      --argjson host "$W_HOST_BUSY" --argjson rawhost "$RAW_HOST_BUSY" '
    ($ev.succeeded.windows[0].n) as $n | (($t1 - $t0) / 1000) as $secs |
    {worker_concurrency: $conc, window_s: $secs, steps: $n, steps_per_s: ($n / $secs),
     queue_ran_dry: $drained, host_busy: $host, raw_host_busy: $rawhost, failed: ($ev.by_type["task.failed"] // 0),
     raw_spawn_per_s: $raw.per_s, ratio_to_raw: (($n / $secs) / $raw.per_s),
     worker_cpu_us_per_step: (if $n > 0 then $cpu * 1000 / $n else null end),
     worker_rss_peak_kb: $hwm}')
  emit "$(jq -c --argjson t "$(target 'exec steps/s as a share of raw posix_spawn' "$(jq .ratio_to_raw <<<"$res")" '>=' 0.8 'ratio')" \
      '{scenario: 5, name: "exec steps"} + . + {targets: [$t]}' <<<"$res")"
}

# --- scenario 7: soak ------------------------------------------------------

# s7_alerts FILE STATUS FIRST N: one Alertmanager webhook (one Kafka
# message) of N soak alerts, fingerprints soak-FIRST.., all STATUS.
s7_alerts() {
  awk -v status="$2" -v first="$3" -v n="$4" 'BEGIN {
    printf "{\"version\":\"4\",\"groupKey\":\"soak\",\"status\":\"%s\",\"receiver\":\"muster\",", status
    printf "\"groupLabels\":{},\"commonLabels\":{\"bench\":\"soak\"},\"commonAnnotations\":{},\"externalURL\":\"\",\"alerts\":["
    for (i = first; i < first + n; i++)
      printf "%s{\"status\":\"%s\",\"labels\":{\"alertname\":\"Soak\",\"bench\":\"soak\",\"n\":\"%d\"},\"annotations\":{\"summary\":\"soak %d\"},\"startsAt\":\"2026-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":\"soak-%d\"}", (i > first ? "," : ""), status, i, i, i
    printf "]}\n"
  }' >"$1"
}

# s7_opened: incidents recorded so far (those still held plus those expired),
# read in one call so an expiry in between cannot be counted twice.
s7_opened() {
  rcli eval "return redis.call('zcard', KEYS[1]) + (tonumber(redis.call('hget', KEYS[2], 'expired')) or 0)" \
    2 muster:incidents muster:gc:stats
}

s7_mem() { rcli info memory | awk -F: '$1 == "used_memory" { print $2 + 0 }'; }

# s7_rounds FROM TO: rounds FROM..TO-1 of S7_PER alerts. A round's alerts
# resolve once all of them are recorded (a resolved alert that overtakes its
# firing one on another partition resolves nothing); the next round fires
# at the same time. Notes the highest used_memory seen in S7_PEAK.
s7_rounds() {
  local from=$1 to=$2 round st m files
  "$BIN/muster" send-alert "$WORK/s7-alerts/fire-$from.json" >/dev/null || die "send-alert failed"
  for ((round = from; round < to; round++)); do
    st=$(now_ms)
    until [ "$(s7_opened)" -ge $(( (round + 1) * S7_PER + 1 )) ]; do
      [ $(( $(now_ms) - st )) -lt 60000 ] || die "7: round $round not recorded in 60 s"
      sleep 0.05
    done
    m=$(s7_mem); [ "$m" -gt "$S7_PEAK" ] && S7_PEAK=$m
    files=("$WORK/s7-alerts/resolve-$round.json")
    [ $((round + 1)) -lt "$to" ] && files+=("$WORK/s7-alerts/fire-$((round + 1)).json")
    "$BIN/muster" send-alert "${files[@]}" >/dev/null || die "send-alert failed"
  done
}

# s7_drain N: until N incidents have expired (the warm-up incident of the
# dispatcher stays open), the queue and the outbox are empty and the
# tombstones have aged out; then Redis shrinks its emptied hash tables
# (serverCron). Bounded: 300 s.
s7_drain() {
  local want=$1 st expired len pend out
  st=$(now_ms)
  while :; do
    expired=$(rcli hget muster:gc:stats expired); expired=${expired:-0}
    read -r len pend out <<<"$(queue_state)"
    [ "$expired" -ge "$want" ] && [ "$(rcli zcard muster:incidents)" -le 1 ] && [ "$len" -eq 0 ] &&
      [ "$out" -eq 0 ] && [ "$(rcli zcard muster:expired)" -eq 0 ] && break
    [ $(( $(now_ms) - st )) -lt 300000 ] || { log "7: not drained in 300 s: expired $expired, queue $len, outbox $out"; break; }
    sleep 0.2
  done
  sleep 2
}

# Scenario 7: a soak. S7 incidents are opened, resolved and expired
# (retention.incidents 1s) in rounds of 1,000 alerts, through the real path
# (Alertmanager webhooks on Kafka, the dispatcher, two workers that run the
# step, relay the events and expire). Redis used_memory must come back to
# within 10% of where it started: measured after a warm-up round through the
# same path, since Redis keeps some memory once used that is no data (the
# Lua heap, buffers); the cold figure is reported too. The number of keys
# must come back exactly.
scenario_7() {
  local tag=s7 n rounds round cold m0 m1 k0 k1 t0 t1 opened expired
  if [ "$QUICK" = 1 ]; then n=20000; else n=100000; fi
  S7_PER=1000; S7_PEAK=0
  rounds=$((n / S7_PER))
  [ -x "$BIN/muster" ] || die "$BIN/muster is missing (make build)"
  log "7: soak: $n incidents opened, resolved and expired (retention.incidents 1s)"
  start_redis "$WORK/$tag"
  use_topics "$tag"
  start_dispatcher "$tag"
  start_workers "$tag" 2 MUSTER_RETENTION_INCIDENTS=1s MUSTER_RETENTION_INTERVAL=200ms
  mkdir -p "$WORK/$tag-alerts"
  for ((round = 0; round <= rounds; round++)); do
    s7_alerts "$WORK/$tag-alerts/fire-$round.json" firing $((round * S7_PER)) "$S7_PER"
    s7_alerts "$WORK/$tag-alerts/resolve-$round.json" resolved $((round * S7_PER)) "$S7_PER"
  done
  sleep 1
  cold=$(s7_mem)
  s7_rounds 0 1
  s7_drain "$S7_PER"
  m0=$(s7_mem); k0=$(rcli dbsize)
  rcli info all >"$WORK/$tag-info-start"
  t0=$(now_ms)
  s7_rounds 1 $((rounds + 1))
  s7_drain $(( (rounds + 1) * S7_PER ))
  t1=$(now_ms)
  m1=$(s7_mem); k1=$(rcli dbsize)
  rcli info all >"$WORK/$tag-info-end"
  opened=$(( $(s7_opened) - 1 - S7_PER ))
  expired=$(( $(rcli hget muster:gc:stats expired) - S7_PER ))
  log "7: used_memory $cold cold, $m0 after the warm-up round, $S7_PEAK at the peak seen, $m1 after $expired of $opened incidents expired; keys $k0 before, $k1 after"
  emit "$(jq -nc --argjson n "$n" --argjson opened "$opened" --argjson expired "$expired" \
      --argjson cold "$cold" --argjson m0 "$m0" --argjson m1 "$m1" --argjson peak "$S7_PEAK" \
      --argjson k0 "$k0" --argjson k1 "$k1" --argjson t0 "$t0" --argjson t1 "$t1" \
      --argjson t "$(target 'Redis used_memory after the soak, share of before' \
                      "$(awk -v a="$m1" -v b="$m0" 'BEGIN { printf "%.3f", a / b }')" '<=' 1.10 'ratio')" \
      --argjson tk "$(target 'Redis keys after the soak, more than before' "$((k1 - k0))" '<=' 0 'keys')" '
    {scenario: 7, name: "soak", incidents: $n, opened: $opened, expired: $expired,
     seconds: (($t1 - $t0) / 1000), incidents_per_s: ($expired * 1000 / ($t1 - $t0)),
     redis_used_memory: {cold: $cold, before: $m0, peak_seen: $peak, after: $m1,
                         after_over_before: ($m1 / $m0), after_over_cold: ($m1 / $cold)},
     redis_keys: {before: $k0, after: $k1},
     targets: [$t, $tk]}')"
  stop_workers
  stop_pid "$DISP_PID" 20
  stop_redis
}

scenario_6() {
  local rows
  rows=$(printf '%s\n' "${mem_rows[@]+"${mem_rows[@]}"}" | jq -Rsc '
    split("\n") | map(select(length > 0) | split(" ") | {process: .[0], scenario: .[1], rss_peak_kb: (.[2] | tonumber)})')
  emit "$(jq -nc --argjson rows "$rows" --argjson dr "$IDLE_DISP_RSS" --argjson wr "$IDLE_WORKER_RSS" \
      --argjson dc "$IDLE_DISP_CPU" --argjson wc "$IDLE_WORKER_CPU" --argjson per "${PER_INCIDENT_BYTES:-null}" \
      --argjson t "$(target 'worker RSS when idle' "$(awk -v k="$IDLE_WORKER_RSS" 'BEGIN { printf "%.2f", k / 1024 }')" '<=' 16 'MB')" '
    {scenario: 6, name: "memory",
     idle: {dispatcher_rss_kb: $dr, worker_rss_kb: $wr,
            dispatcher_cpu_ms_per_s: $dc, worker_cpu_ms_per_s: $wc},
     under_load: $rows, redis_bytes_per_open_incident: $per, targets: [$t]}')"
}

# --- run -------------------------------------------------------------------

SECONDS=0
phase_idle
if want 2 || want 6; then phase_s2; fi
if want 1; then scenario_1; fi
if want 3; then scenario_3; fi
if want 4; then scenario_4; fi
if want 5; then scenario_5; fi
if want 6; then scenario_6; fi
if want 7; then scenario_7; fi
log "scenarios done in ${SECONDS}s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"

# Keep the last results: this run's scenarios replace their entries.
machine=$(jq -nc --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
  --argjson n "$(nproc)" --arg kernel "$(uname -r)" --arg redis "$(redis-server --version | awk '{print $3}')" \
  --argjson l0 "$LOAD_BEFORE" --argjson l1 "$(cut -d' ' -f1 /proc/loadavg)" \
  '{cpu: $cpu, cpus: $n, kernel: $kernel, redis: $redis, load_before: $l0, load_after: $l1}')
old='{"results": []}'
[ -s "$RESULTS/latest.json" ] && old=$(cat "$RESULTS/latest.json")
jq -s --argjson old "$old" --argjson machine "$machine" --arg at "$RUN_START" '
  . as $new | ($new | map(.scenario)) as $ids
  | {updated: $at, machine: $machine,
     results: ([$old.results[] | select(.scenario as $s | $ids | index($s) | not)] + $new
               | sort_by(.scenario))}' "$WORK/results.jsonl" >"$RESULTS/latest.json.tmp"
mv "$RESULTS/latest.json.tmp" "$RESULTS/latest.json"
bash "$SRC/bench/plot.sh" "$RESULTS/latest.json" "$RESULTS/latest.png" || log "plot failed"
log "results: $RESULTS/latest.json, $RESULTS/latest.png (${SECONDS}s)"
