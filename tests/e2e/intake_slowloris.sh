#!/usr/bin/env bash
# intake_slowloris.sh - security review, finding 3: connections that send a
# byte just often enough to beat the idle timeout must not keep a sender's
# alert out. 40 of them, more than one address may hold and, from five
# addresses, more than the intake has slots; meanwhile an alert from another
# address is still accepted (202) within seconds. Then a token holder who
# trickles a body is cut at the request deadline.
#
# The limits come from the environment, so the same script runs against a
# dispatcher that does not know them (it then fails on the latency).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
unset MUSTER_INTAKE_TOKEN MUSTER_INTAKE_TOKEN_FILE
export MUSTER_INTAKE_HEADER_TIMEOUT=2s MUSTER_INTAKE_REQUEST_TIMEOUT=4s
export MUSTER_INTAKE_MAX_CONNECTIONS=32 MUSTER_INTAKE_MAX_CONNECTIONS_PER_IP=8
INTERVAL_MS=1000   # a byte a second: well inside the 10 s idle timeout
LEGIT_MAX_MS=${LEGIT_MAX_MS:-4500} # the head deadline (2 s) and time to spare
INTAKE_PORT=$(free_port) || fail "no free port"
URL=http://127.0.0.1:$INTAKE_PORT/api/v1/alerts
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults" \
  --set intake.port="$INTAKE_PORT" --set intake.token=s3cret
listening() { grep -q "webhook intake on http://127.0.0.1:$INTAKE_PORT/api/v1/alerts" "$E2E_DIR/dispatcher.log"; }
wait_for 30 listening || fail "no intake: $(tail -5 "$E2E_DIR/dispatcher.log")"
pass "intake listening on $INTAKE_PORT"

cat >"$E2E_DIR/alert.json" <<'EOF'
{"version": "4", "status": "firing", "receiver": "muster",
 "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db-0"},
             "annotations": {"summary": "disk full"}, "startsAt": "2024-05-01T10:00:00Z"}]}
EOF

# legit NAME: posts the alert from 127.0.0.1; prints "STATUS MILLISECONDS".
legit() {
  local t0 t1 code
  t0=$(date +%s%N)
  code=$(curl -sS --max-time 12 -o "$E2E_DIR/$1.body" -w '%{http_code}' \
    -H "Authorization: Bearer s3cret" --data-binary @"$E2E_DIR/alert.json" "$URL" 2>/dev/null) || true
  t1=$(date +%s%N)
  echo "${code:-000} $(((t1 - t0) / 1000000))"
}

# expect_legit NAME: the alert is accepted within LEGIT_MAX_MS.
expect_legit() {
  local got code ms
  got=$(legit "$1")
  code=${got% *} ms=${got#* }
  echo "measured: $1: $code in $ms ms"
  [ "$code" = 202 ] || fail "$1: the alert got $code after $ms ms, not 202"
  [ "$ms" -le "$LEGIT_MAX_MS" ] || fail "$1: the alert took $ms ms (at most $LEGIT_MAX_MS)"
  pass "$1: 202 in $ms ms"
}

# attack NAME FROM: 40 connections, a byte a second each, for 12 s.
attack() {
  "$BIN/muster-slowloris" --port "$INTAKE_PORT" --from "$2" --connections 40 \
    --interval "$INTERVAL_MS" --duration 12000 --reconnect 200 >"$E2E_DIR/$1.json" &
  ATTACK=$!
  E2E_PIDS+=("$ATTACK")
  sleep 3 # long enough for every connection to be open and trickling
}

expect_legit "no attack"

# One address, 40 connections: the per-address cap keeps 32 slots for others.
attack one-address 127.0.0.2
expect_legit "under attack from one address"
wait "$ATTACK"
echo "attacker: $(cat "$E2E_DIR/one-address.json")"

# Five addresses, 8 connections each, every one within the per-address cap:
# together more than the 32 slots. Only the head deadline frees them.
attack five-addresses 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6
expect_legit "under attack from five addresses"
wait "$ATTACK"
echo "attacker: $(cat "$E2E_DIR/five-addresses.json")"
grep -q "closed the connection from 127.0.0.[2-6]:[0-9]* unanswered: no complete request head within 2000 ms" \
  "$E2E_DIR/dispatcher.log" || fail "no log line for a late head"
pass "a late head is logged with its peer"
lines=$(grep -c "closed [0-9]* new connection(s) at once" "$E2E_DIR/dispatcher.log" || true)
[ "$lines" -le 30 ] || fail "$lines log lines for connections over the caps in 24 s"
pass "connections over the caps: $lines log line(s), at most one a second"

# A token holder who trickles the body is cut at the request deadline (4 s).
"$BIN/muster-slowloris" --port "$INTAKE_PORT" --from 127.0.0.7 --connections 1 \
  --interval 500 --duration 7000 --reconnect 5000 --token s3cret >"$E2E_DIR/body.json"
echo "slow body: $(cat "$E2E_DIR/body.json")"
expect_eq "slow body closed by the intake" "$(jq .closed_by_server "$E2E_DIR/body.json")" 1
grep -q "from 127.0.0.7:[0-9]* unanswered: no complete request (head and body) within 4000 ms" \
  "$E2E_DIR/dispatcher.log" || fail "no log line for a late body"
pass "a late body is cut at the request deadline"
expect_legit "after the attacks"

signal TERM dispatcher
dispatcher_stopped
echo "1 passed, 0 failed"
