#!/usr/bin/env bash
# kafka.sh - fetches, starts and stops a real single-node Apache Kafka broker
# (KRaft, broker+controller in one JVM) for muster's tests and benchmarks.
#
# The broker jars come from Maven Central through deploy/kafka/pom.xml and are
# cached in ${MUSTER_CACHE:-$HOME/.cache/muster}/kafka-<version>/libs. Each
# broker lives entirely under a directory the caller made (config, data, logs,
# pid) and listens only on 127.0.0.1.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: kafka.sh fetch
       kafka.sh start DIR
       kafka.sh stop DIR
       kafka.sh kill DIR
       kafka.sh restart DIR
       kafka.sh -h | --help

  fetch        download the Kafka jars (version from deploy/kafka/pom.xml) into
               ${MUSTER_CACHE:-$HOME/.cache/muster}/kafka-<version>/libs unless
               already complete; prints the libs directory.
  start DIR    start a single-node KRaft broker whose config, data and logs live
               under DIR (an existing, caller-made directory). Picks two free
               loopback ports, formats DIR/data, starts the JVM in the
               background and waits until clients can use it. Writes:
                 DIR/bootstrap        127.0.0.1:PORT (bootstrap servers)
                 DIR/kafka.pid        JVM pid
                 DIR/ports            "BROKER_PORT CONTROLLER_PORT"
                 DIR/server.properties, DIR/log4j2.properties
                 DIR/broker.log       JVM stdout/stderr (WARN and above)
                 DIR/logs/            full broker logs (INFO)
                 DIR/data/            log.dirs (KRaft metadata + topics)
               Prints the bootstrap address. On failure exits non-zero and
               shows the tail of DIR/broker.log.
  stop DIR     SIGTERM, wait up to 20s, then SIGKILL. Idempotent.
  kill DIR     SIGKILL at once (simulates a crash). Idempotent.
  restart DIR  start again on the same ports and data (after kill/stop, or
               stops a running broker first). Prints the bootstrap address.

environment:
  MUSTER_CACHE          cache root (default $HOME/.cache/muster)
  KAFKA_START_TIMEOUT   seconds to wait for readiness (default 90)
  KAFKA_STOP_TIMEOUT    seconds to wait after SIGTERM (default 20)
  KAFKA_HEAP_OPTS       JVM heap flags (default "-Xms256m -Xmx512m")
  KAFKA_JVM_OPTS        extra JVM flags (default: fast-start flags, see below)
EOF
}

die() { echo "kafka.sh: $*" >&2; exit 1; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(cd "$script_dir/.." && pwd)
pom="$root_dir/deploy/kafka/pom.xml"
cache_root=${MUSTER_CACHE:-$HOME/.cache/muster}
start_timeout=${KAFKA_START_TIMEOUT:-90}
stop_timeout=${KAFKA_STOP_TIMEOUT:-20}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
# Measured on a 2-CPU box: serial GC + C1 only shaves start-up noticeably and
# a single test broker never needs C2 or a parallel collector.
jvm_opts=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss512k -Djava.awt.headless=true}

kafka_version() {
  [ -f "$pom" ] || die "missing $pom"
  local v
  v=$(sed -n 's:.*<kafka.version>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</kafka.version>.*:\1:p' "$pom" | head -n1)
  [ -n "$v" ] || die "no <kafka.version> in $pom"
  printf '%s\n' "$v"
}


# --- fetch -----------------------------------------------------------------

cmd_fetch() {
  local version dir libs marker stamp
  version=$(kafka_version)
  dir="$cache_root/kafka-$version"
  libs="$dir/libs"
  marker="$dir/.fetched"
  # The marker records the pom's checksum: a completed copy for this exact
  # pom is reused, anything else (no marker, interrupted copy, edited pom) is
  # fetched again from scratch.
  stamp="pom-sha256 $(sha256sum "$pom" | cut -d' ' -f1)"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ]; then
    printf '%s\n' "$libs"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (run scripts/deps.sh)"
  mkdir -p "$dir"
  (
    # Serialise concurrent first-time fetches (parallel ctest).
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$dir/.fetch.lock"
      flock -w 600 9 || die "timed out waiting for another fetch"
    fi
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ]; then exit 0; fi
    rm -rf "$marker" "$libs"
    mkdir -p "$libs"
    echo "kafka.sh: fetching Kafka $version jars into $libs" >&2
    if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
          -DoutputDirectory="$libs" -DincludeScope=runtime >"$dir/fetch.log" 2>&1; then
      sed 's/\x1b\[[0-9;]*m//g' "$dir/fetch.log" | tail -n 30 >&2
      die "mvn failed to fetch Kafka $version jars (log: $dir/fetch.log)"
    fi
    [ -f "$libs/kafka_2.13-$version.jar" ] \
      || die "mvn succeeded but $libs/kafka_2.13-$version.jar is missing"
    printf '%s\n' "$stamp" >"$marker.tmp" && mv -f "$marker.tmp" "$marker"
  )
  printf '%s\n' "$libs"
}

ensure_libs() {
  local libs
  libs=$(cmd_fetch) || exit 1
  printf '%s\n' "$libs"
}

# --- helpers ---------------------------------------------------------------

need_dir() {
  [ $# -ge 1 ] && [ -n "$1" ] || { usage >&2; exit 2; }
  [ -d "$1" ] || die "directory $1 does not exist"
  (cd "$1" && pwd)
}

# True when something uses the local TCP port on loopback (listening or not).
port_busy() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && return 0
  fi
  # Fallback / double check: can we connect to it?
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  return 1
}

# Random free port in 20000-60000, avoiding the kernel's ephemeral range when
# that leaves room (an outgoing connection could otherwise grab our port
# between picking and binding).
pick_port() {
  local lo=20000 hi=60000 elo ehi p i avoid=${1:-0}
  if read -r elo ehi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
    if [ "$elo" -gt $((lo + 2000)) ] && [ "$elo" -le "$hi" ]; then hi=$((elo - 1)); fi
  fi
  for i in $(seq 1 200); do
    p=$(( lo + ( (RANDOM << 15) | RANDOM ) % (hi - lo + 1) ))
    [ "$p" -eq "$avoid" ] && continue
    port_busy "$p" || { printf '%s\n' "$p"; return 0; }
  done
  die "could not find a free port in $lo-$hi"
}

# Kafka cluster id: 16 random bytes, URL-safe base64 without padding; must not
# start with '-' (Kafka's own Uuid.randomUuid rule).
cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    case $id in -*) ;; *) printf '%s\n' "$id"; return 0 ;; esac
  done
}

# pid from DIR/kafka.pid when that process is alive and is our broker.
running_pid() {
  local dir=$1 pid
  [ -f "$dir/kafka.pid" ] || return 1
  pid=$(cat "$dir/kafka.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the command line must name this DIR's config.
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/server.properties" || return 1
  fi
  printf '%s\n' "$pid"
}

write_config() {
  local dir=$1 bport=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# generated by scripts/kafka.sh - single-node KRaft broker for tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=1
log.segment.bytes=16777216
log.cleaner.dedupe.buffer.size=4194304
log.cleaner.threads=1
controlled.shutdown.enable=true
# After a crash (kill) the restarted broker is refused with
# DUPLICATE_BROKER_REGISTRATION until the old session expires (default 9s).
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
  cat >"$dir/log4j2.properties" <<EOF
# generated by scripts/kafka.sh: WARN+ to the console (DIR/broker.log),
# everything at INFO to DIR/logs/server.log.
status = warn
name = muster-kafka
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
rootLogger.appenderRef.file.ref = FILE
logger.kafka-request.name = kafka.request.logger
logger.kafka-request.level = warn
logger.state-change.name = state.change.logger
logger.state-change.level = warn
EOF
}

java_cmd() {
  local dir=$1 libs=$2
  # shellcheck disable=SC2086  # heap/jvm opts are intentionally word-split
  printf '%s\n' java $heap_opts $jvm_opts \
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" \
    "-Dkafka.logs.dir=$dir/logs" \
    -cp "$libs/*"
}

show_log_tail() {
  local dir=$1
  echo "---- tail of $dir/broker.log ----" >&2
  tail -n 40 "$dir/broker.log" >&2 2>/dev/null || true
  if [ -f "$dir/logs/server.log" ]; then
    echo "---- errors in $dir/logs/server.log ----" >&2
    grep -E ' (ERROR|FATAL) ' "$dir/logs/server.log" | tail -n 15 >&2 || true
  fi
}

format_storage() {
  local dir=$1 libs=$2 out
  local -a jc
  mapfile -t jc < <(java_cmd "$dir" "$libs")
  if ! out=$("${jc[@]}" kafka.tools.StorageTool format \
        -t "$(cluster_id)" -c "$dir/server.properties" --ignore-formatted 2>&1); then
    printf '%s\n' "$out" >"$dir/format.log"
    echo "kafka.sh: storage format failed:" >&2
    printf '%s\n' "$out" | tail -n 20 >&2
    return 1
  fi
  printf '%s\n' "$out" >"$dir/format.log"
}

# Ready = port accepts connections and a metadata request via kcat lists the
# broker (the data-plane listener only serves requests once the broker is
# unfenced and caught up with the metadata log).
broker_ready() {
  local bootstrap=$1 port=${1##*:} md
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  md=$(timeout 10 "$KCAT" -b "$bootstrap" -L -m 3 -X socket.timeout.ms=3000 2>/dev/null) || return 1
  grep -q "broker 1 at 127.0.0.1:$port" <<<"$md"
}

launch() {
  local dir=$1 libs=$2 bport=$3 pid deadline
  local -a jc
  mapfile -t jc < <(java_cmd "$dir" "$libs")
  mkdir -p "$dir/logs"
  : >"$dir/broker.log"
  # setsid: the JVM must not get the caller's terminal signals (Ctrl-C in a
  # test run is handled by the harness, which calls stop).
  setsid "${jc[@]}" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/broker.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$dir/kafka.pid"
  printf '127.0.0.1:%s\n' "$bport" >"$dir/bootstrap"
  deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      rm -f "$dir/kafka.pid"
      echo "kafka.sh: broker exited during start-up" >&2
      return 1
    fi
    if broker_ready "127.0.0.1:$bport"; then
      return 0
    fi
    sleep 0.2
  done
  echo "kafka.sh: broker not ready after ${start_timeout}s" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$dir/kafka.pid"
  return 1
}

find_kcat() {
  KCAT=$(command -v kcat || command -v kafkacat || true)
  [ -n "$KCAT" ] || die "kcat/kafkacat not found (Debian package kafkacat; run scripts/deps.sh)"
}

# --- start / restart / stop / kill -----------------------------------------

cmd_start() {
  local dir libs bport cport attempt
  dir=$(need_dir "$@")
  command -v java >/dev/null 2>&1 || die "java not found"
  find_kcat
  if running_pid "$dir" >/dev/null; then
    die "a broker is already running for $dir (pid $(cat "$dir/kafka.pid"))"
  fi
  libs=$(ensure_libs)
  for attempt in 1 2 3; do
    bport=$(pick_port)
    cport=$(pick_port "$bport")
    rm -rf "$dir/data" "$dir/logs"
    mkdir -p "$dir/data" "$dir/logs"
    printf '%s %s\n' "$bport" "$cport" >"$dir/ports"
    write_config "$dir" "$bport" "$cport"
    format_storage "$dir" "$libs" || exit 1
    if launch "$dir" "$libs" "$bport"; then
      printf '127.0.0.1:%s\n' "$bport"
      return 0
    fi
    # Lost a race for a port with another process: pick new ports and retry.
    if grep -qE 'BindException|Address already in use' "$dir/broker.log" "$dir/logs/server.log" 2>/dev/null; then
      echo "kafka.sh: port clash (attempt $attempt), retrying with new ports" >&2
      continue
    fi
    break
  done
  show_log_tail "$dir"
  exit 1
}

cmd_restart() {
  local dir libs bport cport
  dir=$(need_dir "$@")
  command -v java >/dev/null 2>&1 || die "java not found"
  find_kcat
  [ -f "$dir/ports" ] && [ -f "$dir/server.properties" ] && [ -d "$dir/data" ] \
    || die "$dir has no broker to restart (run start first)"
  read -r bport cport <"$dir/ports"
  if running_pid "$dir" >/dev/null; then
    cmd_stop "$dir"
  fi
  libs=$(ensure_libs)
  # The old sockets are gone once the JVM is; wait briefly in case the kernel
  # is still tearing them down, then fail clearly if someone else took them.
  local deadline=$((SECONDS + 10)) p
  for p in "$bport" "$cport"; do
    while ss -Hltn "( sport = :$p )" 2>/dev/null | grep -q . && [ $SECONDS -lt $deadline ]; do
      sleep 0.2
    done
  done
  if launch "$dir" "$libs" "$bport"; then
    printf '127.0.0.1:%s\n' "$bport"
    return 0
  fi
  show_log_tail "$dir"
  exit 1
}

cmd_stop() {
  local dir pid deadline
  dir=$(need_dir "$@")
  if ! pid=$(running_pid "$dir"); then
    rm -f "$dir/kafka.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka.sh: broker $pid ignored SIGTERM for ${stop_timeout}s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  fi
  rm -f "$dir/kafka.pid"
}

cmd_kill() {
  local dir pid deadline
  dir=$(need_dir "$@")
  if pid=$(running_pid "$dir"); then
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  fi
  rm -f "$dir/kafka.pid"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1; shift
case $cmd in
  -h|--help|help) usage ;;
  fetch)   [ $# -eq 0 ] || { usage >&2; exit 2; }; cmd_fetch ;;
  start)   cmd_start "$@" ;;
  stop)    cmd_stop "$@" ;;
  kill)    cmd_kill "$@" ;;
  restart) cmd_restart "$@" ;;
  *) echo "kafka.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
