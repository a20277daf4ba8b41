#!/usr/bin/env bash
# up_supervise.sh - muster up restarts what crashes: a stream of alerts into
# `muster up --examples`, a worker killed (-9) during it, then the child
# redis-server; every alert's incident still opens and its run succeeds.
# A child that keeps crashing stops muster up with a non-zero exit that
# names it (the folder stays with --keep); Ctrl-C exits 0 and removes the
# state folder.
. "$(dirname "$0")/../harness/e2e.sh"

ALERTS=${ALERTS:-30}
export MUSTER_WORKER_LEASE=2s MUSTER_WORKER_POLL=100ms MUSTER_LOG_LEVEL=info

# up OUT ARGS...: muster up in the background; sets UP (its pid), once it
# wrote its env file.
up() {
  local out=$1; shift
  rm -f "$E2E_DIR/env"
  "$BIN/muster" up --env-file "$E2E_DIR/env" "$@" >"$E2E_DIR/$out.out" 2>"$E2E_DIR/$out.log" &
  UP=$!
  E2E_PIDS+=($UP)
  wait_for 60 test -s "$E2E_DIR/env" || { cat "$E2E_DIR/$out.log" >&2; fail "muster up did not start"; }
  set -a; . "$E2E_DIR/env"; set +a
}
child() { pgrep -P "$UP" -f "$1" | head -1; }
state_of() { sed -n 's/.*(state in \([^,)]*\).*/\1/p' "$E2E_DIR/$1.out"; }
# restarted NAME OLD_PID: NAME runs again under another pid.
restarted() { local p; p=$(child "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }

up run --examples --workers 2
state=$(state_of run)
[ -d "$state/appendonlydir" ] || fail "redis keeps no append-only file in the state folder $state"

send() {
  for i in $(seq "$ALERTS"); do
    jq -c --arg i "$i" '.labels.instance = "host-\($i)" | .summary += " (\($i))"' \
      "$SRC/docs/examples/alerts/checkout-down.json" | "$BIN/muster" send-alert - >/dev/null
    sleep 0.1
  done
}
send &
sender=$!
E2E_PIDS+=($sender)

opened() { [ "$("$BIN/muster" incident list --json 2>/dev/null | jq length)" -ge "$1" ]; }
wait_for 60 opened 3 || fail "no incident opened"
victim=$(child muster-worker)
kill -9 "$victim"
wait_for 20 restarted muster-worker "$victim" || fail "the killed worker was not restarted"
grep -q "worker [0-9] (pid $victim) was killed by signal 9" "$E2E_DIR/run.log" ||
  fail "no restart logged for worker $victim: $(grep 'muster up:' "$E2E_DIR/run.log")"
pass "worker $victim killed; restarted as $(child muster-worker)"

wait_for 60 opened $((ALERTS / 2)) || fail "incidents stopped opening after the worker was killed"
redis=$(child redis-server)
kill -9 "$redis"
wait_for 20 restarted redis-server "$redis" || fail "redis-server was not restarted"
grep -q "redis-server (pid $redis) was killed by signal 9 (Killed); restarting it in [0-9]* ms" \
  "$E2E_DIR/run.log" || fail "no restart logged for redis-server"
pass "redis-server $redis killed; restarted as $(child redis-server)"
wait "$sender" || fail "sending alerts failed"

"$BIN/muster" wait --incidents "$ALERTS" --timeout 120s >/dev/null ||
  fail "not every run succeeded: $("$BIN/muster" incident list --json | jq -c '[.[] | .run] | group_by(.) | map({(.[0]): length}) | add')"
list=$("$BIN/muster" incident list --limit 1000 --json)
expect_eq "incidents" "$(jq length <<<"$list")" "$ALERTS"
expect_eq "runs succeeded" "$(jq '[.[] | select(.run == "succeeded")] | length' <<<"$list")" "$ALERTS"
expect_eq "alerts, each with its own incident" "$(jq '[.[].summary] | unique | length' <<<"$list")" "$ALERTS"

# Ctrl-C: exit 0, nothing left behind.
kill -INT "$UP"
rc=0; wait "$UP" || rc=$?
expect_eq "exit status on Ctrl-C" "$rc" 0
[ ! -e "$state" ] || fail "muster up left its state folder $state"
[ ! -e "$E2E_DIR/env" ] || fail "muster up left its env file"
pass "Ctrl-C stopped it and removed $state"

# A worker that dies each time it is started: muster up gives up on it.
up loop --workers 1 --keep --workflows "$SRC/tests/e2e/workflows"
state=$(state_of loop)
for _ in $(seq 20); do
  kill -0 "$UP" 2>/dev/null || break
  w=$(child muster-worker)
  [ -n "$w" ] && kill -9 "$w" 2>/dev/null
  wait_for 10 bash -c "! kill -0 $UP 2>/dev/null || { p=\$(pgrep -P $UP -f muster-worker | head -1); [ -n \"\$p\" ] && [ \"\$p\" != '$w' ]; }" || true
done
kill -0 "$UP" 2>/dev/null && fail "muster up still runs after its worker crashed 20 times"
rc=0; wait "$UP" || rc=$?
[ "$rc" -ne 0 ] || fail "muster up exited 0 after giving up"
grep -q "worker 1 (pid [0-9]*) was killed by signal 9 (Killed); it stopped 5 times within 60 s" \
  "$E2E_DIR/loop.log" || fail "no message says which child kept crashing: $(grep 'muster up:' "$E2E_DIR/loop.log")"
pass "$(grep 'gives up' "$E2E_DIR/loop.log") (exit $rc)"
[ -d "$state" ] || fail "--keep: the state folder $state is gone"
rm -rf "$state"
pass "--keep kept $state"
echo "ok"
