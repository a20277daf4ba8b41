#!/usr/bin/env bash
# cli_progress.sh - long commands show progress on stderr on a terminal (a
# pty through script(1)) and stay quiet without one; stdout is unchanged;
# tables are as wide as their content; status tells in flight from backlog.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_redis

# on_tty COMMAND...: runs it with stdin, stdout and stderr on a pty.
on_tty() { script -qec "$*" /dev/null; }

# muster wait: finished out of expected, on a terminal only.
rc=0
on_tty "$BIN/muster" wait --incidents 2 --timeout 1s >"$E2E_DIR/tty.out" 2>&1 || rc=$?
expect_eq "wait on a tty exits (timeout)" "$rc" 3
grep -q "0/2 incident(s) finished" "$E2E_DIR/tty.out" || fail "no progress on a tty: $(cat -v "$E2E_DIR/tty.out")"
pass "wait shows 0/2 on a tty"
rc=0
"$BIN/muster" wait --incidents 2 --timeout 1s >"$E2E_DIR/plain.out" 2>"$E2E_DIR/plain.err" || rc=$?
expect_eq "wait without a tty exits (timeout)" "$rc" 3
! grep -q "finished" "$E2E_DIR/plain.err" || fail "progress without a tty: $(cat "$E2E_DIR/plain.err")"
[ ! -s "$E2E_DIR/plain.out" ] || fail "wait wrote to stdout: $(cat "$E2E_DIR/plain.out")"
expect_eq "wait without a tty says" "$(cat "$E2E_DIR/plain.err")" "muster wait: timed out"

# Dead tasks, one with a long name, as the store keeps them.
P=muster
long=inc-0123456789abcdef0123456789abcdef0123456789/a-step-with-a-rather-long-name-indeed
for t in inc-1/ticket "$long"; do
  def='{"action":"webhook","with":{}}'
  redis-cli -p "$REDIS_PORT" HSET "$P:{${t%%/*}}:task:${t#*/}" state dead attempts 3 error "HTTP 503" \
    dead_reason "attempts exhausted" def "$def" >/dev/null
  redis-cli -p "$REDIS_PORT" HSET "$P:{${t%%/*}}:inc" workflow service-down-with-a-long-name >/dev/null
  redis-cli -p "$REDIS_PORT" ZADD "$P:dead" 1 "$t" >/dev/null
done
"$BIN/muster" dead list >"$E2E_DIR/dead.txt" || fail "dead list: $(cat "$E2E_DIR/dead.txt")"
cat "$E2E_DIR/dead.txt"
# Every column starts at the same place on every line: the header's.
for col in WORKFLOW ACTION ATTEMPTS REASON; do
  at=$(head -1 "$E2E_DIR/dead.txt" | awk -v c="$col" '{ print index($0, c) }')
  while IFS= read -r line; do
    [ "${line:at-2:1}" = " " ] && [ "${line:at-1:1}" != " " ] ||
      fail "column $col does not start at $at in: $line"
  done < <(tail -n +2 "$E2E_DIR/dead.txt")
done
pass "dead list columns are as wide as their content"

# replay --all: done/total on a tty, a summary either way.
on_tty "$BIN/muster" replay --all --dry-run >"$E2E_DIR/replay.tty" 2>&1 || true
grep -q "2/2 dead task(s) looked at" "$E2E_DIR/replay.tty" || fail "no replay progress on a tty: $(cat -v "$E2E_DIR/replay.tty")"
"$BIN/muster" replay --all --dry-run >"$E2E_DIR/replay.out" 2>"$E2E_DIR/replay.err" || true
! grep -q "looked at" "$E2E_DIR/replay.err" || fail "replay progress without a tty"
grep -q "of 2 dead task(s)" "$E2E_DIR/replay.out" || fail "no replay summary: $(cat "$E2E_DIR/replay.out" "$E2E_DIR/replay.err")"
pass "replay --all: progress on a tty, a summary always"

# status: an outbox entry from a minute ago is a backlog, a new one in flight.
old=$(( $(date +%s) * 1000 - 60000 ))
redis-cli -p "$REDIS_PORT" XADD "$P:outbox" "$old-0" event '{}' >/dev/null
redis-cli -p "$REDIS_PORT" XADD "$P:outbox" '*' event '{}' >/dev/null
MUSTER_KAFKA_BROKERS=127.0.0.1:1 "$BIN/muster" status --json >"$E2E_DIR/status.json" 2>/dev/null || true
expect_eq "outbox in flight" "$(jq .outbox_in_flight "$E2E_DIR/status.json")" 1
expect_eq "outbox backlog" "$(jq .outbox_backlog "$E2E_DIR/status.json")" 1
