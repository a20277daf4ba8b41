#!/usr/bin/env bash
# webhook_intake.sh - POST /api/v1/alerts: an Alertmanager webhook with the
# right token becomes incidents; every refusal has its status; with Kafka
# gone the answer is 503 with Retry-After. Bodies reach Kafka unchanged.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
unset MUSTER_INTAKE_TOKEN MUSTER_INTAKE_TOKEN_FILE MUSTER_INTAKE_ACK_TOKENS_FILE
INTAKE_PORT=$(free_port) || fail "no free port"
URL=http://127.0.0.1:$INTAKE_PORT/api/v1/alerts
# Secrets from the environment, as docs/intake.md advises.
export MUSTER_INTAKE_ACK_TOKENS="dana:ack-dana-7f3a, pager-bot:ack-bot-91c2"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/faults" \
  --set intake.port="$INTAKE_PORT" --set intake.token=s3cret --set intake.body_max=2048
listening() { grep -q "webhook intake on http://127.0.0.1:$INTAKE_PORT/api/v1/alerts" "$E2E_DIR/dispatcher.log"; }
wait_for 30 listening || fail "no intake: $(tail -5 "$E2E_DIR/dispatcher.log")"
unset MUSTER_INTAKE_ACK_TOKENS # the dispatchers started below have their own
pass "intake listening on $INTAKE_PORT"

# post NAME [CURL ARGS...]: prints the status; headers and body land in
# $E2E_DIR/NAME.headers and $E2E_DIR/NAME.body.
post() {
  local name=$1; shift
  curl -sS --max-time 30 -o "$E2E_DIR/$name.body" -D "$E2E_DIR/$name.headers" \
    -w '%{http_code}' "$@"
}
header() { grep -i "^$2:" "$E2E_DIR/$1.headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
AUTH=(-H "Authorization: Bearer s3cret" -H "Content-Type: application/json")

# What Alertmanager sends (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
cat >"$E2E_DIR/am.json" <<'EOF'
{
  "version": "4",
  "groupKey": "{}:{alertname=\"CheckoutDown\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "muster",
  "groupLabels": {"alertname": "CheckoutDown"},
  "commonLabels": {"alertname": "CheckoutDown", "fault": "chain", "job": "checkout", "severity": "critical"},
  "commonAnnotations": {"summary": "Checkout is down"},
  "externalURL": "http://alertmanager.example:9093",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "CheckoutDown", "fault": "chain", "instance": "checkout-0:8080", "job": "checkout", "severity": "critical"},
      "annotations": {"summary": "Checkout is down", "description": "checkout-0 fails every probe"},
      "startsAt": "2024-05-01T10:00:00.000Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up%7Bjob%3D%22checkout%22%7D+%3D%3D+0",
      "fingerprint": "5f2c1b9e8a7d6c41"
    },
    {
      "status": "firing",
      "labels": {"alertname": "CheckoutDown", "fault": "chain", "instance": "checkout-1:8080", "job": "checkout", "severity": "critical"},
      "annotations": {"summary": "Checkout is down", "description": "checkout-1 fails every probe"},
      "startsAt": "2024-05-01T10:00:30.000Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up%7Bjob%3D%22checkout%22%7D+%3D%3D+0",
      "fingerprint": "0b3e9d2f7c6a5e18"
    }
  ]
}
EOF
size=$(wc -c <"$E2E_DIR/am.json")
[ "$size" -le 2048 ] || fail "the Alertmanager body ($size bytes) is over intake.body_max"

# Refusals first: none of them may reach Kafka.
expect_eq "no token" "$(post none -X POST --data-binary @"$E2E_DIR/am.json" "$URL")" 401
expect_eq "WWW-Authenticate" "$(header none WWW-Authenticate)" "Bearer"
expect_eq "wrong token" "$(post wrong -X POST -H "Authorization: Bearer s3cre7" \
  --data-binary @"$E2E_DIR/am.json" "$URL")" 401
expect_eq "WWW-Authenticate (wrong)" "$(header wrong WWW-Authenticate)" "Bearer"
expect_eq "another scheme" "$(post basic -X POST -u muster:s3cret \
  --data-binary @"$E2E_DIR/am.json" "$URL")" 401
expect_eq "malformed JSON" "$(post bad "${AUTH[@]}" --data-binary '{"version": "4", "alerts": [' "$URL")" 400
reason=$(jq -r .error "$E2E_DIR/bad.body")
[[ $reason == *"not valid JSON"* ]] || fail "400 reason: $reason"
pass "400 says why: $reason"
expect_eq "no format" "$(post nofmt "${AUTH[@]}" --data-binary '{"hello": "world"}' "$URL")" 400
[[ $(jq -r .error "$E2E_DIR/nofmt.body") == *"no alert format"* ]] || fail "400 reason: $(cat "$E2E_DIR/nofmt.body")"
pass "a body no format claims is refused with the formats' needs"
head -c 3000 /dev/zero | tr '\0' 'x' >"$E2E_DIR/big.txt"
expect_eq "oversized (Content-Length)" "$(post big "${AUTH[@]}" --data-binary @"$E2E_DIR/big.txt" "$URL")" 413
expect_eq "oversized (chunked)" "$(post chunked "${AUTH[@]}" -H "Transfer-Encoding: chunked" \
  --data-binary @"$E2E_DIR/big.txt" "$URL")" 413
expect_eq "GET" "$(post get -H "Authorization: Bearer s3cret" "$URL")" 405
expect_eq "Allow" "$(header get Allow)" "POST"
expect_eq "other path" "$(post other "${AUTH[@]}" --data-binary @"$E2E_DIR/am.json" \
  "http://127.0.0.1:$INTAKE_PORT/api/v1/alert")" 404
refused=$(grep -c '"webhook intake: [0-9]\{3\} for' "$E2E_DIR/dispatcher.log" || true)
expect_eq "log lines for refusals" "$refused" 9
grep -q s3cret "$E2E_DIR/dispatcher.log" && fail "the token is in the log"
pass "the token is never logged"

# The real thing.
start_worker w1
expect_eq "Alertmanager webhook" "$(post am "${AUTH[@]}" --data-binary @"$E2E_DIR/am.json" "$URL")" 202
expect_eq "202 body" "$(jq -c . "$E2E_DIR/am.body")" '{"status":"accepted"}'
"$BIN/muster" wait --incidents 2 --timeout 60s >/dev/null || fail "the two alerts did not become incidents"
expect_eq "incidents" "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" 2
formats=$(for id in $(redis-cli -p "$REDIS_PORT" zrange muster:incidents 0 -1); do
  redis-cli -p "$REDIS_PORT" hget "muster:{$id}:inc" alert | jq -r '"\(.format) \(.labels.instance)"'
done | sort | tr '\n' ',')
expect_eq "decoded as" "$formats" "alertmanager checkout-0:8080,alertmanager checkout-1:8080,"
kcat -b "$MUSTER_KAFKA_BROKERS" -C -t muster.alerts -o beginning -e -q -J >"$E2E_DIR/alerts.raw" 2>/dev/null ||
  fail "cannot read muster.alerts"
expect_eq "messages on muster.alerts" "$(wc -l <"$E2E_DIR/alerts.raw")" 1
jq -j .payload "$E2E_DIR/alerts.raw" | cmp -s - "$E2E_DIR/am.json" || fail "the body on Kafka is not the one sent"
pass "the body reached Kafka byte for byte"

# Acknowledge through HTTP, as a chat button or a pager app would: with a
# token of intake.ack_tokens, recorded as that token's name (review finding 8).
ACK_INC=$(redis-cli -p "$REDIS_PORT" zrange muster:incidents 0 0)
ACK_URL=http://127.0.0.1:$INTAKE_PORT/api/v1/incidents/$ACK_INC/ack
DANA=(-H "Authorization: Bearer ack-dana-7f3a")
BOT=(-H "Authorization: Bearer ack-bot-91c2")
expect_eq "ack without token" "$(post ackno --data '{}' "$ACK_URL")" 401
expect_eq "ack with a wrong token" "$(post ackwrong -H "Authorization: Bearer ack-dana-7f3b" \
  --data '{}' "$ACK_URL")" 401
expect_eq "ack with the intake's token" "$(post ackintake "${AUTH[@]}" --data '{"by":"dana"}' "$ACK_URL")" 403
expect_eq "403 WWW-Authenticate" "$(header ackintake WWW-Authenticate)" 'Bearer error="insufficient_scope"'
expect_eq "not acknowledged by the intake's token" \
  "$(redis-cli -p "$REDIS_PORT" hget "muster:{$ACK_INC}:inc" acknowledged_by)" ""
expect_eq "alerts with an ack token" "$(post alertack "${DANA[@]}" --data-binary @"$E2E_DIR/am.json" "$URL")" 403
expect_eq "ack" "$(post ack "${DANA[@]}" --data '{"by":"eve"}' "$ACK_URL")" 200
expect_eq "ack body" "$(jq -r .status "$E2E_DIR/ack.body")" "acknowledged by dana"
expect_eq "recorded as the token's name, not the body's" \
  "$(redis-cli -p "$REDIS_PORT" hget "muster:{$ACK_INC}:inc" acknowledged_by)" dana
grep -q 'the body.s \\"by\\" (\\"eve\\") is ignored' "$E2E_DIR/dispatcher.log" ||
  fail "no log line for the ignored \"by\""
expect_eq "second ack" "$(post ack2 "${BOT[@]}" --data '{}' "$ACK_URL")" 200
expect_eq "second ack body" "$(jq -r .status "$E2E_DIR/ack2.body")" "already acknowledged by dana"
expect_eq "ack of an unknown incident" \
  "$(post ack3 "${BOT[@]}" --data '{}' "http://127.0.0.1:$INTAKE_PORT/api/v1/incidents/inc-0000/ack")" 404
expect_eq "recorded" "$(redis-cli -p "$REDIS_PORT" hget "muster:{$ACK_INC}:inc" acknowledged_via)" http
grep -q 'ack-dana-7f3a\|ack-bot-91c2' "$E2E_DIR/dispatcher.log" && fail "an ack token is in the log"
pass "the ack tokens are never logged"

# The token from a file (a Secret mount), on a second dispatcher that never
# reaches Redis, so it serves the intake and consumes nothing.
printf '  t0k3n-from-file\n\n' >"$E2E_DIR/token"
printf '# who may acknowledge\nsam:ack-from-file\n' >"$E2E_DIR/ack-tokens"
PORT2=$(free_port) || fail "no free port"
MUSTER_WORKFLOWS_DIR=$E2E_DIR/workflows "$BIN/muster-dispatcher" --set redis.port=1 \
  --set intake.port="$PORT2" --set intake.token_file="$E2E_DIR/token" --set status.port=-1 \
  --set intake.ack_tokens_file="$E2E_DIR/ack-tokens" \
  >"$E2E_DIR/second.log" 2>&1 &
SECOND=$!
E2E_PIDS+=("$SECOND")
up2() { grep -q "webhook intake on http://127.0.0.1:$PORT2/" "$E2E_DIR/second.log"; }
wait_for 30 up2 || fail "second intake: $(tail -5 "$E2E_DIR/second.log")"
expect_eq "token from file" "$(post file -H "Authorization: bearer t0k3n-from-file" \
  --data-binary '{}' "http://127.0.0.1:$PORT2/api/v1/alerts")" 400
expect_eq "token from file, wrong" "$(post file2 -H "Authorization: Bearer s3cret" \
  --data-binary '{}' "http://127.0.0.1:$PORT2/api/v1/alerts")" 401
# Without Redis the acknowledgement cannot be written (503), but only after
# the token from the file was taken.
expect_eq "ack token from file" "$(post file3 -H "Authorization: Bearer ack-from-file" \
  --data '{}' "http://127.0.0.1:$PORT2/api/v1/incidents/inc-0001/ack")" 503
expect_eq "ack token from file, the intake's" "$(post file4 -H "Authorization: Bearer t0k3n-from-file" \
  --data '{}' "http://127.0.0.1:$PORT2/api/v1/incidents/inc-0001/ack")" 403
kill -TERM "$SECOND"
for _ in $(seq 100); do kill -0 "$SECOND" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SECOND" 2>/dev/null && fail "the second dispatcher did not stop in 10 s"
rc=0; wait "$SECOND" || rc=$?
expect_eq "second dispatcher exit code" "$rc" 0
grep -q "Sanitizer" "$E2E_DIR/second.log" && fail "sanitizer report: $(grep -A5 Sanitizer "$E2E_DIR/second.log")"

# No token and the intake on: the dispatcher refuses to start.
rc=0
MUSTER_WORKFLOWS_DIR=$E2E_DIR/workflows timeout 20 "$BIN/muster-dispatcher" \
  --set intake.port=0 --set status.port=-1 \
  >"$E2E_DIR/notoken.log" 2>&1 || rc=$?
expect_eq "start without a token (exit code)" "$rc" 2
grep -q "no bearer token" "$E2E_DIR/notoken.log" || fail "no reason given: $(cat "$E2E_DIR/notoken.log")"
pass "without a token the intake refuses to start"

# Kafka gone: 503 with Retry-After, within the acknowledgement timeout.
kill "$KAFKA_PID"
for _ in $(seq 100); do kill -0 "$KAFKA_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KAFKA_PID" 2>/dev/null && fail "embedded kafka did not stop in 10 s"
pass "kafka stopped"
start=$SECONDS
post down "${AUTH[@]}" --data-binary @"$E2E_DIR/am.json" "$URL" >"$E2E_DIR/down.code" 2>&1 &
DOWN=$!
sleep 0.5
# Refusals do not wait behind a request that waits for Kafka.
expect_eq "401 while a request waits for kafka" \
  "$(post none2 --max-time 2 -X POST --data-binary '{}' "$URL")" 401
wait "$DOWN" || true
expect_eq "kafka down" "$(cat "$E2E_DIR/down.code")" 503
expect_eq "Retry-After" "$(header down Retry-After)" 5
[ $((SECONDS - start)) -le 15 ] || fail "503 took $((SECONDS - start)) s"
[[ $(jq -r .error "$E2E_DIR/down.body") == *kafka* ]] || fail "503 reason: $(cat "$E2E_DIR/down.body")"
pass "503 says why: $(jq -r .error "$E2E_DIR/down.body")"

# A request waiting for Kafka when the dispatcher stops still gets its answer.
post stopping "${AUTH[@]}" --data-binary @"$E2E_DIR/am.json" "$URL" >"$E2E_DIR/stopping.code" 2>&1 &
CURL=$!
sleep 1
signal TERM dispatcher
wait "$CURL" || true
expect_eq "answer while stopping" "$(cat "$E2E_DIR/stopping.code")" 503
dispatcher_stopped
echo "1 passed, 0 failed"
