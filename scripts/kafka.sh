#!/usr/bin/env bash
# kafka.sh - fetches, starts and stops a real single-node Apache Kafka broker
# (KRaft, broker and controller in one JVM) for muster's tests and benchmarks.
#
# The broker jars come from Maven Central through deploy/kafka/pom.xml and are
# cached in ${MUSTER_CACHE:-$HOME/.cache/muster}/kafka-<version>/libs. Each
# broker lives entirely under a directory the caller made (config, data, logs,
# pid) and listens only on 127.0.0.1. Readiness is checked with kcat (Debian
# package kafkacat), which is built on the same librdkafka as muster.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: kafka.sh fetch
       kafka.sh start DIR
       kafka.sh stop DIR
       kafka.sh kill DIR
       kafka.sh restart DIR
       kafka.sh -h | --help

  fetch        make sure the Kafka jars (version from deploy/kafka/pom.xml) are
               in ${MUSTER_CACHE:-$HOME/.cache/muster}/kafka-<version>/libs;
               runs mvn only when no completed copy is recorded there.
               Prints the libs directory.
  start DIR    start a fresh single-node KRaft broker whose config, data and
               logs live under DIR (an existing directory the caller made; any
               earlier DIR/data is wiped). Picks two free loopback ports,
               formats DIR/data, starts the JVM in the background and waits
               (KAFKA_START_TIMEOUT, 90s) until a client metadata request
               succeeds. Prints the bootstrap address. Files in DIR:
                 bootstrap          127.0.0.1:PORT (bootstrap.servers)
                 kafka.pid          JVM pid (only while running)
                 ports              "BROKER_PORT CONTROLLER_PORT"
                 server.properties  broker config
                 log4j2.properties  logging config
                 broker.log         JVM stdout/stderr: WARN and above
                 logs/server.log    full broker log (INFO)
                 data/              log.dirs (KRaft metadata and topics)
               On failure exits non-zero and shows the tail of DIR/broker.log.
  stop DIR     SIGTERM, wait up to KAFKA_STOP_TIMEOUT (20s), then SIGKILL.
               Idempotent; succeeds when nothing runs.
  kill DIR     SIGKILL at once (a crash). Idempotent.
  restart DIR  start again on the same ports with the same data (after kill or
               stop; a running broker is stopped first). Prints the bootstrap
               address.

environment:
  MUSTER_CACHE          cache root (default $HOME/.cache/muster)
  KAFKA_START_TIMEOUT   seconds to wait for readiness (default 90)
  KAFKA_STOP_TIMEOUT    seconds to wait after SIGTERM (default 20)
  KAFKA_HEAP_OPTS       heap flags (default "-Xms256m -Xmx512m")
  KAFKA_JVM_OPTS        other JVM flags (default: fast start-up flags)
  KAFKA_CDS             1 (default): reuse a class-data-sharing archive of the
                        broker's classes kept in the cache (made by the first
                        broker that is stopped cleanly); 0: off
EOF
}

die() { echo "kafka.sh: $*" >&2; exit 1; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$script_dir/../deploy/kafka/pom.xml"
cache_root=${MUSTER_CACHE:-$HOME/.cache/muster}
start_timeout=${KAFKA_START_TIMEOUT:-90}
stop_timeout=${KAFKA_STOP_TIMEOUT:-20}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
# Measured (2 CPUs): serial GC + C1 only + no perf-data file start the broker
# about 45% faster than the JVM defaults; a test broker needs neither C2 nor
# a concurrent collector.
jvm_opts=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss512k}
use_cds=${KAFKA_CDS:-1}

kafka_version() {
  [ -f "$pom" ] || die "missing $pom"
  local v
  v=$(sed -n 's:.*<kafka.version>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</kafka.version>.*:\1:p' "$pom" | head -n1)
  [ -n "$v" ] || die "no <kafka.version> in $pom"
  printf '%s\n' "$v"
}

# --- fetch -----------------------------------------------------------------

# Sets LIBS. Runs in the calling shell (no subshell) so that a TERM/INT to
# this script also reaches the trap that ends mvn.
ensure_libs() {
  local version dir marker stamp mvn_pid
  version=$(kafka_version)
  dir="$cache_root/kafka-$version"
  LIBS="$dir/libs"
  marker="$dir/.fetched"
  # The marker holds the pom's checksum and is written only after mvn
  # succeeded: a completed copy for this exact pom is reused; anything else
  # (no marker, interrupted copy, edited pom) is fetched again from scratch.
  stamp="pom-sha256 $(sha256sum "$pom" | cut -d' ' -f1)"
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (run scripts/deps.sh)"
  mkdir -p "$dir"
  # Serialise concurrent first-time fetches (parallel ctest).
  exec 9>"$dir/.fetch.lock"
  flock -w 900 9 || die "timed out waiting for another fetch of Kafka $version"
  if ! { [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ]; }; then
    rm -rf "$marker" "$LIBS"
    mkdir -p "$LIBS"
    echo "kafka.sh: fetching Kafka $version jars into $LIBS" >&2
    mvn -q -B -f "$pom" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$dir/fetch.log" 2>&1 </dev/null &
    mvn_pid=$!
    # shellcheck disable=SC2064  # expand the pid now
    trap "kill $mvn_pid 2>/dev/null; wait $mvn_pid 2>/dev/null; exit 130" INT TERM
    if ! wait "$mvn_pid"; then
      sed 's/\x1b\[[0-9;]*m//g' "$dir/fetch.log" | tail -n 30 >&2
      die "mvn failed to fetch Kafka $version jars (log: $dir/fetch.log)"
    fi
    trap - INT TERM
    [ -f "$LIBS/kafka_2.13-$version.jar" ] \
      || die "mvn succeeded but $LIBS/kafka_2.13-$version.jar is missing"
    printf '%s\n' "$stamp" >"$marker.tmp"
    mv -f "$marker.tmp" "$marker"
  fi
  exec 9>&-
}

cmd_fetch() {
  ensure_libs
  printf '%s\n' "$LIBS"
}

# --- helpers ---------------------------------------------------------------

need_dir() {
  [ $# -eq 1 ] && [ -n "$1" ] || { usage >&2; exit 2; }
  [ -d "$1" ] || die "directory $1 does not exist"
  (cd "$1" && pwd)
}

need_tools() {
  command -v java >/dev/null 2>&1 || die "java not found (Java 17+ is needed)"
  KCAT=$(command -v kcat || command -v kafkacat || true)
  [ -n "$KCAT" ] || die "kcat not found (Debian package kafkacat; see scripts/deps.sh)"
}

# True when the local TCP port is in use in any state (listening, connected,
# TIME_WAIT), or something accepts connections on it.
port_busy() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  return 1
}

# A random free port in 20000-60000, kept below the kernel's ephemeral range
# when that leaves room (an outgoing connection could otherwise take the port
# between our check and the broker's bind).
pick_port() {
  local lo=20000 hi=60000 elo ehi p i avoid=${1:-0}
  if read -r elo ehi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null \
     && [ "$elo" -gt $((lo + 2000)) ] && [ "$elo" -le "$hi" ]; then
    hi=$((elo - 1))
  fi
  for i in $(seq 1 200); do
    p=$(( lo + ( (RANDOM << 15) | RANDOM ) % (hi - lo + 1) ))
    [ "$p" -eq "$avoid" ] && continue
    port_busy "$p" || { printf '%s\n' "$p"; return 0; }
  done
  die "no free port found in $lo-$hi"
}

# A Kafka Uuid: 16 random bytes as URL-safe base64 without padding, never
# starting with '-' (the rule Kafka's Uuid.randomUuid follows).
new_uuid() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    case $id in -*|AAAAAAAAAAAAAAAAAAAAA*) ;; *) printf '%s\n' "$id"; return 0 ;; esac
  done
}

# The pid in DIR/kafka.pid if that process is alive and is DIR's broker.
running_pid() {
  local dir=$1 pid
  [ -f "$dir/kafka.pid" ] || return 1
  pid=$(cat "$dir/kafka.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the command line must name DIR's config.
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$dir/server.properties" || return 1
  fi
  printf '%s\n' "$pid"
}

wait_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  ! kill -0 "$1" 2>/dev/null
}

write_config() {
  local dir=$1 bport=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# generated by scripts/kafka.sh: single-node KRaft broker for tests
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
background.threads=4
log.retention.hours=1
log.segment.bytes=16777216
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=4194304
# After a crash (kill) the restarted broker is refused with
# DUPLICATE_BROKER_REGISTRATION until its old session expires (default 9s).
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
  cat >"$dir/log4j2.properties" <<EOF
# generated by scripts/kafka.sh: WARN and above to the console (broker.log),
# everything at INFO to logs/server.log.
status = error
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
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

# The java command (one word a line) for a config directory.
java_cmd() {
  local dir=$1 libs=$2
  # preferIPv4Stack: plain AF_INET sockets on 127.0.0.1 (not ::ffff:127.0.0.1).
  # shellcheck disable=SC2086  # the option strings are meant to be split
  printf '%s\n' java $heap_opts $jvm_opts \
    -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" \
    "-Dkafka.logs.dir=$dir/logs" -cp "$libs/*"
}

show_log_tail() {
  local dir=$1
  echo "---- tail of $dir/broker.log ----" >&2
  tail -n 40 "$dir/broker.log" >&2 2>/dev/null || true
  if [ -f "$dir/logs/server.log" ]; then
    echo "---- last errors in $dir/logs/server.log ----" >&2
    grep -E '\] (ERROR|FATAL) ' "$dir/logs/server.log" | tail -n 15 >&2 || true
  fi
}

# --- storage format --------------------------------------------------------
# `kafka.tools.StorageTool format` writes two files into log.dirs:
# meta.properties (node id, cluster id, directory id) and bootstrap.checkpoint
# (the initial feature levels, which depend only on the Kafka version). The
# tool costs a JVM start (~1s), so it runs once per cache: its
# bootstrap.checkpoint is kept and each start writes a fresh meta.properties.

format_template() { # libs -> path of the cached bootstrap.checkpoint
  local libs=$1 vdir tdir scratch out
  vdir=$(dirname "$libs")
  tdir="$vdir/format-template"      # rename if write_config changes features
  if [ ! -s "$tdir/bootstrap.checkpoint" ]; then
    (
      exec 9>"$vdir/.format.lock"
      flock -w 120 9 || die "timed out waiting for another format"
      [ -s "$tdir/bootstrap.checkpoint" ] && exit 0
      scratch=$(mktemp -d "$vdir/format.XXXXXX")
      trap 'rm -rf "$scratch"' EXIT
      mkdir -p "$scratch/data" "$scratch/logs" "$tdir"
      write_config "$scratch" 19092 19093
      local -a jc
      mapfile -t jc < <(java_cmd "$scratch" "$libs")
      if ! out=$("${jc[@]}" kafka.tools.StorageTool format -t "$(new_uuid)" \
                   -c "$scratch/server.properties" 2>&1) \
         || [ ! -s "$scratch/data/bootstrap.checkpoint" ]; then
        printf '%s\n' "$out" | tail -n 20 >&2
        die "kafka.tools.StorageTool format failed"
      fi
      cp "$scratch/data/bootstrap.checkpoint" "$tdir/bootstrap.checkpoint.tmp"
      mv -f "$tdir/bootstrap.checkpoint.tmp" "$tdir/bootstrap.checkpoint"
    ) || exit 1
  fi
  printf '%s\n' "$tdir/bootstrap.checkpoint"
}

format_storage() { # dir libs
  local dir=$1 libs=$2 checkpoint
  checkpoint=$(format_template "$libs") || exit 1
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  cp "$checkpoint" "$dir/data/bootstrap.checkpoint"
  cat >"$dir/data/meta.properties" <<EOF
#
#written by scripts/kafka.sh (same content as kafka.tools.StorageTool format)
node.id=1
directory.id=$(new_uuid)
version=1
cluster.id=$(new_uuid)
EOF
}

# --- class-data sharing ----------------------------------------------------
# Loading ~5000 classes dominates start-up. The first broker started without
# an archive (and holding the dump lock) records its classes at exit
# (-XX:ArchiveClassesAtExit); `stop` promotes that file once the JVM exited
# cleanly. Later brokers map it (-XX:SharedArchiveFile), about 1s faster. The
# lock is an flock held by the JVM itself, so a crashed or killed broker
# releases it. A stale or foreign archive is ignored by the JVM (-Xshare:auto).

cds_opts() { # dir libs -> JVM options, one a line; may take the dump lock on fd 8
  local dir=$1 libs=$2 vdir key archive tmp
  rm -f "$dir/cds-dump"
  [ "$use_cds" = 1 ] || return 0
  vdir=$(dirname "$libs")
  key=$( { readlink -f "$(command -v java)"; printf '%s\n' $heap_opts $jvm_opts; \
           ls -l "$libs"; } | sha256sum | cut -c1-16)
  archive="$vdir/cds/broker-$key.jsa"
  mkdir -p "$vdir/cds"
  if [ -s "$archive" ]; then
    printf '%s\n' -Xshare:auto "-XX:SharedArchiveFile=$archive" '-Xlog:cds*=off'
    return 0
  fi
  exec 8>"$vdir/cds/.dump.lock"
  if flock -n 8; then
    tmp="$archive.tmp.$$"
    rm -f "$vdir"/cds/broker-*.jsa.tmp.*
    printf '%s %s\n' "$tmp" "$archive" >"$dir/cds-dump"
    printf '%s\n' "-XX:ArchiveClassesAtExit=$tmp" '-Xlog:cds*=off'
  else
    exec 8>&-
  fi
}

# After the JVM exited: promote (clean exit) or drop (crash) a pending dump.
cds_finish() { # dir clean(0|1)
  local dir=$1 clean=$2 tmp archive
  [ -f "$dir/cds-dump" ] || return 0
  read -r tmp archive <"$dir/cds-dump" || true
  rm -f "$dir/cds-dump"
  if [ "$clean" = 1 ] && [ -n "$tmp" ] && [ -s "$tmp" ]; then
    # Archives for other JDKs/flags/jars are dead weight (~50 MB each).
    find "$(dirname "$archive")" -maxdepth 1 -name 'broker-*.jsa' ! -name "${archive##*/}" -delete
    mv -f "$tmp" "$archive"
  else
    rm -f "$tmp"
  fi
}

# --- start / restart / stop / kill -----------------------------------------

# Ready = the port accepts connections and a metadata request through kcat
# (librdkafka) lists this broker. Kafka opens the client listener only after
# the broker is unfenced and has caught up with the metadata log.
broker_ready() {
  local port=$1 md
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  md=$(timeout 10 "$KCAT" -b "127.0.0.1:$port" -L -m 3 \
         -X socket.timeout.ms=3000 2>/dev/null) || return 1
  grep -q "broker 1 at 127.0.0.1:$port" <<<"$md"
}

launch() { # dir libs broker_port
  local dir=$1 libs=$2 bport=$3 pid deadline
  local -a jc cds
  mapfile -t jc < <(java_cmd "$dir" "$libs")
  cds_opts "$dir" "$libs" >"$dir/.cds-opts"
  mapfile -t cds <"$dir/.cds-opts"
  rm -f "$dir/.cds-opts"
  mkdir -p "$dir/logs"
  # setsid: the JVM gets no terminal signals meant for the test run (the
  # harness stops it). It inherits fd 8, the CDS dump lock, if taken.
  setsid "${jc[0]}" "${cds[@]}" "${jc[@]:1}" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/broker.log" 2>&1 &
  pid=$!
  exec 8>&-
  printf '%s\n' "$pid" >"$dir/kafka.pid"
  # An interrupted start leaves no broker behind.
  # shellcheck disable=SC2064  # expand now
  trap "kill -KILL $pid 2>/dev/null; rm -f '$dir/kafka.pid' '$dir/bootstrap'; exit 130" INT TERM
  printf '127.0.0.1:%s\n' "$bport" >"$dir/bootstrap"
  deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      rm -f "$dir/kafka.pid"
      cds_finish "$dir" 0
      echo "kafka.sh: the broker exited during start-up" >&2
      return 1
    fi
    if broker_ready "$bport"; then
      trap - INT TERM
      return 0
    fi
    sleep 0.1
  done
  echo "kafka.sh: the broker was not ready after ${start_timeout}s" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$dir/kafka.pid"
  cds_finish "$dir" 0
  return 1
}

cmd_start() {
  local dir libs bport cport attempt
  dir=$(need_dir "$@")
  need_tools
  if running_pid "$dir" >/dev/null; then
    die "a broker already runs for $dir (pid $(cat "$dir/kafka.pid")); stop it first"
  fi
  ensure_libs
  libs=$LIBS
  for attempt in 1 2 3; do
    bport=$(pick_port)
    cport=$(pick_port "$bport")
    rm -rf "$dir/logs"
    mkdir -p "$dir/logs"
    : >"$dir/broker.log"
    printf '%s %s\n' "$bport" "$cport" >"$dir/ports"
    write_config "$dir" "$bport" "$cport"
    format_storage "$dir" "$libs"
    if launch "$dir" "$libs" "$bport"; then
      printf '127.0.0.1:%s\n' "$bport"
      return 0
    fi
    # Another process took a port between our check and the bind: retry.
    grep -qsE 'BindException|Address already in use' "$dir/broker.log" "$dir/logs/server.log" \
      || break
    echo "kafka.sh: port clash on attempt $attempt, picking new ports" >&2
  done
  rm -f "$dir/bootstrap"
  show_log_tail "$dir"
  exit 1
}

cmd_restart() {
  local dir libs bport cport p deadline
  dir=$(need_dir "$@")
  need_tools
  [ -f "$dir/ports" ] && [ -f "$dir/server.properties" ] && [ -f "$dir/data/meta.properties" ] \
    || die "$dir holds no broker to restart (use start)"
  read -r bport cport <"$dir/ports"
  if running_pid "$dir" >/dev/null; then
    cmd_stop "$dir"
  fi
  ensure_libs
  libs=$LIBS
  # The old JVM is gone, so its listeners are closed; give the kernel a moment
  # in case they are still being torn down.
  deadline=$((SECONDS + 10))
  for p in "$bport" "$cport"; do
    while [ -n "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do
      sleep 0.2
    done
  done
  printf '==== kafka.sh restart %s ====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/broker.log"
  if launch "$dir" "$libs" "$bport"; then
    printf '127.0.0.1:%s\n' "$bport"
    return 0
  fi
  show_log_tail "$dir"
  exit 1
}

cmd_stop() {
  local dir pid clean=1
  dir=$(need_dir "$@")
  if pid=$(running_pid "$dir"); then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$stop_timeout"; then
      echo "kafka.sh: broker $pid still up ${stop_timeout}s after SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || die "broker $pid survived SIGKILL"
      clean=0
    fi
  fi
  rm -f "$dir/kafka.pid"
  cds_finish "$dir" "$clean"
}

cmd_kill() {
  local dir pid
  dir=$(need_dir "$@")
  if pid=$(running_pid "$dir"); then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "broker $pid survived SIGKILL"
  fi
  rm -f "$dir/kafka.pid"
  cds_finish "$dir" 0
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1
shift
case $cmd in
  -h|--help|help) usage ;;
  fetch)   [ $# -eq 0 ] || { usage >&2; exit 2; }; cmd_fetch ;;
  start)   cmd_start "$@" ;;
  stop)    cmd_stop "$@" ;;
  kill)    cmd_kill "$@" ;;
  restart) cmd_restart "$@" ;;
  *) echo "kafka.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
