#!/usr/bin/env bash
# kafka_selftest.sh - manual check (not run by ctest) that scripts/kafka.sh
# brings up a real broker that librdkafka (through kcat, same Debian
# librdkafka as muster) can use: keyed produce/consume, a consumer group with
# committed offsets, the idempotent producer, a crash (kill) plus restart on
# the same ports and data, and a clean stop. Loopback only; every wait is
# bounded; the broker is stopped and the temp dir removed on exit.
#
# usage: tests/harness/kafka_selftest.sh
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAFKA_SH="$SRC/scripts/kafka.sh"
KCAT=$(command -v kcat || command -v kafkacat || true)
[ -n "$KCAT" ] || { echo "kcat not found (Debian package kafkacat)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/muster-kafka-selftest-XXXXXX)
cleanup() {
  local rc=$?
  bash "$KAFKA_SH" stop "$DIR" >/dev/null 2>&1 || true
  if [ $rc -ne 0 ]; then
    echo "---- broker.log ----" >&2
    tail -n 30 "$DIR/broker.log" >&2 2>/dev/null || true
  fi
  rm -rf "$DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
ms() { date +%s%3N; }

# kc ARGS...: kcat bounded to 30 s, quiet.
kc() { timeout 30 "$KCAT" -b "$B" -q "$@"; }

# ---- fetch + start
libs=$(bash "$KAFKA_SH" fetch) || fail "fetch"
[ -d "$libs" ] || fail "fetch printed '$libs', not a directory"
pass "fetch: $libs"

t0=$(ms)
B=$(bash "$KAFKA_SH" start "$DIR") || fail "start"
t1=$(ms)
[ "$B" = "$(cat "$DIR/bootstrap")" ] || fail "start printed '$B', bootstrap file says '$(cat "$DIR/bootstrap")'"
[[ $B =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "bootstrap '$B' is not 127.0.0.1:PORT"
pid=$(cat "$DIR/kafka.pid")
kill -0 "$pid" || fail "pid $pid from kafka.pid is not running"
read -r bport cport <"$DIR/ports"
# Listens only on loopback.
if ss -Hltn | awk '{print $4}' | grep -E ":($bport|$cport)\$" | grep -qv '^127\.0\.0\.1:'; then
  fail "broker listens beyond 127.0.0.1: $(ss -Hltn | grep -E ":($bport|$cport) ")"
fi
pass "start: $B (controller port $cport, pid $pid) in $((t1 - t0)) ms"

# ---- keyed produce + consume
for i in $(seq 1 30); do echo "key$i:value$i"; done | kc -P -t selftest.keys -K: || fail "produce"
got=$(kc -C -t selftest.keys -o beginning -e -f '%k=%s\n' | sort)
want=$(for i in $(seq 1 30); do echo "key$i=value$i"; done | sort)
[ "$got" = "$want" ] || fail "consumed keys/values differ: $(diff <(echo "$want") <(echo "$got") | head)"
nparts=$(kc -L -t selftest.keys | grep -c 'partition [0-9]')
[ "$nparts" -eq 3 ] || fail "auto-created topic has $nparts partitions, want 3"
# Same key, same partition.
[ "$(kc -C -t selftest.keys -e -f '%k %p\n' | sort -u | awk '{print $1}' | uniq -d | wc -l)" -eq 0 ] \
  || fail "a key landed in more than one partition"
pass "keyed produce/consume (30 messages, 3 partitions)"

# ---- consumer group with committed offsets
group_read() { # group topic -> messages consumed until end of all partitions
  timeout 60 "$KCAT" -b "$B" -q -G "$1" -X auto.offset.reset=earliest -e -f '%k=%s\n' "$2"
}
n=$(group_read sg1 selftest.keys | wc -l)
[ "$n" -eq 30 ] || fail "group first read got $n messages, want 30"
n=$(group_read sg1 selftest.keys | wc -l)
[ "$n" -eq 0 ] || fail "group re-read got $n messages, want 0 (offsets not committed?)"
for i in 31 32 33; do echo "key$i:value$i"; done | kc -P -t selftest.keys -K: || fail "produce"
got=$(group_read sg1 selftest.keys | sort | tr '\n' ' ')
[ "$got" = "key31=value31 key32=value32 key33=value33 " ] || fail "group resumed with '$got'"
pass "consumer group commits and resumes from committed offsets"

# ---- idempotent producer
for i in $(seq 1 20); do echo "ik$i:iv$i"; done \
  | kc -P -t selftest.idem -K: -X enable.idempotence=true || fail "idempotent produce"
n=$(kc -C -t selftest.idem -o beginning -e | wc -l)
[ "$n" -eq 20 ] || fail "idempotent topic holds $n messages, want 20"
pass "idempotent producer (enable.idempotence=true)"

# ---- crash + restart on the same ports and data
bash "$KAFKA_SH" kill "$DIR" || fail "kill"
kill -0 "$pid" 2>/dev/null && fail "pid $pid still alive after kill"
[ ! -e "$DIR/kafka.pid" ] || fail "kafka.pid left after kill"
bash "$KAFKA_SH" kill "$DIR" || fail "second kill is not idempotent"
t0=$(ms)
B2=$(bash "$KAFKA_SH" restart "$DIR") || fail "restart"
t1=$(ms)
[ "$B2" = "$B" ] || fail "restart moved the broker from $B to $B2"
n=$(kc -C -t selftest.keys -o beginning -e | wc -l)
[ "$n" -eq 33 ] || fail "after restart the topic holds $n messages, want 33"
n=$(group_read sg1 selftest.keys | wc -l)
[ "$n" -eq 0 ] || fail "after restart the group re-read $n messages, want 0"
echo "after:restart" | kc -P -t selftest.keys -K: || fail "produce after restart"
pass "kill + restart on $B2 in $((t1 - t0)) ms, data and group offsets kept"

# ---- clean stop (twice: idempotent)
pid=$(cat "$DIR/kafka.pid")
t0=$(ms)
bash "$KAFKA_SH" stop "$DIR" || fail "stop"
t1=$(ms)
kill -0 "$pid" 2>/dev/null && fail "pid $pid still alive after stop"
bash "$KAFKA_SH" stop "$DIR" || fail "second stop is not idempotent"
(exec 3<>"/dev/tcp/127.0.0.1/$bport") 2>/dev/null && fail "port $bport still accepts connections"
pass "stop in $((t1 - t0)) ms"

echo "PASS: kafka selftest ($(basename "$(dirname "$libs")"))"
