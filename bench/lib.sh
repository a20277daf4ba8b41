# lib.sh - sourced by bench/run.sh: starting and stopping what the benchmark
# runs (redis-server, Kafka, the daemons, the sink), and reading /proc and
# INFO. Every wait is bounded; every process started is recorded in
# BENCH_PIDS and stopped by bench_cleanup.

BENCH_PIDS=()
# The sink is on loopback, which workers refuse by default; exec steps run
# programs from these directories only.
export MUSTER_HTTP_ALLOW_PRIVATE=1 MUSTER_EXEC_DIRS=/usr/bin:/bin
KAFKA_DIR=""
LAST_PID=""

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_ms() { date +%s%3N; }

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
  local limit=$1; shift
  local end=$(( $(now_ms) + limit * 1000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# spawn OUT COMMAND...: runs COMMAND in the background, its stdout in OUT and
# its stderr in OUT.err; sets LAST_PID. Never call it in a subshell ($(...)):
# the pid would not reach bench_cleanup.
spawn() {
  local out=$1; shift
  "$@" >"$out" 2>"$out.err" &
  LAST_PID=$!
  BENCH_PIDS+=("$LAST_PID")
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 15).
stop_pid() {
  local pid=$1 limit=${2:-15} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop in ${limit}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local rc=$? i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${BENCH_PIDS[$i]}" 2>/dev/null || true
  done
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${BENCH_PIDS[$i]}" 5
  done
  if [ -n "$KAFKA_DIR" ]; then bash "$SRC/scripts/kafka.sh" stop "$KAFKA_DIR" >/dev/null 2>&1 || true; fi
  if [ $rc -ne 0 ] || [ "${BENCH_KEEP:-0}" = 1 ]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}

# A free loopback port in 20000-40000 (below the ephemeral range).
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 20000 ))
    [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  die "no free port"
}

# --- /proc --------------------------------------------------------------

# CPU time (user + system, all threads) of a live process, in ms.
proc_cpu_ms() {
  local hz
  hz=$(getconf CLK_TCK)
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk -v hz="$hz" '{ printf "%d\n", ($12 + $13) * 1000 / hz }'
}

# proc_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM); 0 if gone.
proc_kb() {
  awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# --- Redis --------------------------------------------------------------

REDIS_PORT=""
REDIS_PID=""

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# redis_ge N COMMAND...: whether the integer reply of COMMAND is at least N.
redis_ge() {
  local want=$1 got; shift
  got=$(rcli "$@") || return 1
  [ "${got:-0}" -ge "$want" ]
}

# start_redis DIR: a fresh redis-server, configured as `muster up` runs it
# (AOF on, fsync every second), its files in DIR.
start_redis() {
  local dir=$1
  mkdir -p "$dir"
  REDIS_PORT=$(free_port)
  spawn "$dir/redis.out" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --save "" --logfile "$dir/redis.log"
  REDIS_PID=$LAST_PID
  wait_for 10 rcli ping || die "redis-server did not start (see $dir/redis.log)"
  export MUSTER_REDIS_HOST=127.0.0.1 MUSTER_REDIS_PORT=$REDIS_PORT
}

stop_redis() {
  rcli shutdown nosave >/dev/null 2>&1 || true
  stop_pid "$REDIS_PID" 10
  REDIS_PID=""
}

# info_get FILE KEY: one value from a saved INFO reply.
info_get() { awk -F: -v k="$2" '$1 == k { sub(/\r$/, "", $2); print $2; exit }' "$1"; }

redis_cpu_ms() { # FILE: used_cpu_user + used_cpu_sys, ms
  awk -F: '$1 == "used_cpu_user" || $1 == "used_cpu_sys" { sub(/\r$/, "", $2); s += $2 }
           END { printf "%d\n", s * 1000 }' "$1"
}

# cmdstat_delta BEFORE AFTER: {"cmd": calls, ...} of the commands run between
# two INFO snapshots, leaving out the benchmark's own probes.
cmdstat_delta() {
  awk -F'[:,=]' '
    FNR == 1 { file++ }
    /^cmdstat_/ {
      name = substr($1, 9)
      if (name ~ /^(info|xlen|xpending|zcard|hlen|ping|dbsize|config|client|memory|xinfo|command|scard)/) next
      if (file == 1) before[name] = $3; else after[name] = $3
    }
    END {
      printf "{"; sep = ""
      for (n in after) { d = after[n] - before[n]; if (d > 0) { printf "%s\"%s\":%d", sep, n, d; sep = "," } }
      printf "}\n"
    }' "$1" "$2"
}

# --- Kafka --------------------------------------------------------------

BROKERS=""

# start_kafka MODE TOPIC...: the embedded mock cluster (topics created up
# front, 3 partitions like `muster up`) or a real broker (scripts/kafka.sh;
# topics are created on first use with the broker's 3 partitions).
start_kafka() {
  local mode=$1; shift
  if [ "$mode" = real ]; then
    KAFKA_DIR=$WORK/kafka
    mkdir -p "$KAFKA_DIR"
    bash "$SRC/scripts/kafka.sh" start "$KAFKA_DIR" >/dev/null || die "kafka broker did not start"
    BROKERS=$(cat "$KAFKA_DIR/bootstrap")
  else
    spawn "$WORK/kafka-mock.log" "$BB/bench-kafka-mock" --bootstrap-file "$WORK/bootstrap" "$@"
    # librdkafka 2.0.2's mock thread sometimes sleeps 1 s before it creates a
    # topic (a lost wakeup), so this can take a few seconds.
    wait_for 60 test -s "$WORK/bootstrap" || die "bench-kafka-mock did not start"
    BROKERS=$(cat "$WORK/bootstrap")
  fi
  export MUSTER_KAFKA_BROKERS=$BROKERS
}

# use_topics TAG: this phase's topics and consumer group, so phases never
# read each other's messages.
use_topics() {
  export MUSTER_KAFKA_ALERTS_TOPIC=bench.$1.alerts MUSTER_KAFKA_EVENTS_TOPIC=bench.$1.events
  export MUSTER_KAFKA_DLQ_TOPIC=bench.$1.dlq MUSTER_KAFKA_GROUP=bench-$1
}

# The dead-letter topics stay empty (every bench alert decodes); not created.
# On the mock, alerts get 8 partitions: it keeps only ~5 MB of a partition,
# and a dispatcher 100k alerts behind (20k alerts/s) must still find them.
topics_of() { echo "bench.$1.alerts:8 bench.$1.events"; }

# --- muster --------------------------------------------------------------

DISP_PID=""
WORKER_PIDS=()

# start_dispatcher TAG: the dispatcher on TAG's topics; returns once it has
# recorded a warm-up alert (workflow bench-warmup, one no-op step), so
# muster:incidents holds one incident more than the load.
start_dispatcher() {
  local tag=$1
  spawn "$WORK/logs/$tag-dispatcher.log" "$BIN/muster-dispatcher"
  DISP_PID=$LAST_PID
  "$BB/bench-loadgen" --brokers "$BROKERS" --topic "$MUSTER_KAFKA_ALERTS_TOPIC" --count 1 \
    --workflow warmup --run warmup >/dev/null || die "warm-up alert not produced"
  wait_for 60 redis_ge 1 zcard muster:incidents || die "dispatcher ($tag) consumed nothing in 60 s"
}

# start_workers TAG N [VAR=VALUE...]: N workers (and BENCH_WORKER_ENV);
# returns once all heartbeat.
start_workers() {
  local tag=$1 n=$2 i; shift 2
  WORKER_PIDS=()
  local -a extra
  read -ra extra <<<"${BENCH_WORKER_ENV:-}"
  for ((i = 0; i < n; i++)); do
    local out="$WORK/logs/$tag-worker$i.log"
    [ -e "$out" ] && out="$WORK/logs/$tag-worker$i-$(now_ms).log"
    spawn "$out" env "$@" "${extra[@]+"${extra[@]}"}" \
      MUSTER_WORKER_ID="bench-$tag-$i" "$BIN/muster-worker"
    WORKER_PIDS+=("$LAST_PID")
  done
  wait_for 20 redis_ge "$n" hlen muster:workers || die "workers ($tag) did not start"
}

# WORKER_PIDS are the workers' own pids: env execs them.
stop_workers() {
  local p
  for p in "${WORKER_PIDS[@]+"${WORKER_PIDS[@]}"}"; do stop_pid "$p" 30; done
  WORKER_PIDS=()
}

# events_start TAG [ARGS...]: bench-events reads TAG's events as they come
# (the mock broker forgets old ones); lines for it at the end go to EV_FINISH.
events_start() {
  local tag=$1; shift
  EV_FILE=$WORK/$tag-events.json
  EV_FINISH=$WORK/$tag-events.finish
  : >"$EV_FINISH"
  spawn "$EV_FILE" "$BB/bench-events" --brokers "$BROKERS" --topic "bench.$tag.events" \
    --idle-ms 600000 --max-ms 900000 --finish-file "$EV_FINISH" "$@"
  EV_PID=$LAST_PID
}

# events_finish: the reader reads to the end of the topic and reports; sets EV.
events_finish() {
  stop_pid "$EV_PID" 90
  EV=$(cat "$EV_FILE")
  [ -n "$EV" ] || die "bench-events gave no result (see $EV_FILE.err)"
}

# queue_state: "QUEUED_OR_RUNNING PENDING OUTBOX" of the default pool.
queue_state() {
  local len pend out
  len=$(rcli xlen muster:q:default)
  pend=$(rcli xpending muster:q:default workers 2>/dev/null | head -n1)
  out=$(rcli xlen muster:outbox)
  echo "${len:-0} ${pend:-0} ${out:-0}"
}

# wait_incidents N SECONDS: until N incidents are recorded besides the
# warm-up one; prints how many, the times at which 10% and 90% were
# reached, and the time of the last look (wall ms).
wait_incidents() {
  local want=$1 limit=$2 t0 n t10=0 t90=0 now
  t0=$(now_ms)
  while :; do
    n=$(( $(rcli zcard muster:incidents) - 1 ))
    now=$(now_ms)
    [ "$t10" = 0 ] && [ "$n" -ge $((want / 10)) ] && t10=$now
    [ "$t90" = 0 ] && [ "$n" -ge $((want * 9 / 10)) ] && t90=$now
    [ "$n" -ge "$want" ] && break
    [ $((now - t0)) -lt $((limit * 1000)) ] || break
    sleep 0.05
  done
  echo "$n $t10 $t90 $now"
}

# host_cpu: "busy total" jiffies of all CPUs (/proc/stat), to tell how much
# of the machine something else used during a window.
host_cpu() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# host_busy BEFORE AFTER: the share of all CPUs busy between two host_cpu
# readings, 0..1.
host_busy() {
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$1"; read -r b1 t1 <<<"$2"
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f\n", (t > 0 ? b / t : 0) }'
}
