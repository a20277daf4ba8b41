#!/usr/bin/env bash
# paging_acks.sh - a page acknowledged from where the responder is, on the
# real pipeline with levels a few seconds long: (2) bob presses Slack's
# Acknowledge at level 2, which stops level 3 and his pending SMS; (7) an
# unknown Slack user's press during the page is refused and changes
# nothing; (3) alice answers her page SMS with ACK and its code; and she
# presses 1 on a page's phone call.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/paging.sh"
unset MUSTER_INTAKE_TOKEN MUSTER_INTAKE_TOKEN_FILE MUSTER_INTAKE_ACK_TOKENS MUSTER_INTAKE_ACK_TOKENS_FILE
SIGN=$BIN/muster-sign
INTAKE_PORT=$(free_port) || fail "no free port"
BASE=http://127.0.0.1:$INTAKE_PORT
PUBLIC=https://muster.example.com
export MUSTER_SECRET_SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5
export MUSTER_SECRET_TWILIO_AUTH_TOKEN=twilio-token-12345
start_sink "$SRC/docs/examples/sink-routes.json"
workflows_from "$SRC/tests/e2e/paging/workflows"
start_redis
start_kafka
start_dispatcher --set intake.port="$INTAKE_PORT" --set intake.token=s3cret --set intake.public_url="$PUBLIC/" \
  --set slack.signing_secret=slack_signing_secret --set slack.response_hosts="http://127.0.0.1:$SINK_PORT" \
  --set twilio.auth_token=twilio_auth_token
start_worker w1
start_worker w2
A=+4915112345601 B=+4915112345602
listening() { grep -q "webhook intake on http://127.0.0.1:$INTAKE_PORT/" "$E2E_DIR/dispatcher.log"; }
wait_for 30 listening || fail "no intake: $(tail -5 "$E2E_DIR/dispatcher.log")"

post() {
  local name=$1; shift
  curl -sS --max-time 30 -o "$E2E_DIR/$name.body" -D "$E2E_DIR/$name.headers" -w '%{http_code}' "$@"
}
# slack NAME USER INCIDENT: Slack's block_actions press of muster_ack, signed.
slack() {
  local payload ts sig
  payload=$(jq -cn --arg u "$2" --arg v "$3" --arg r "http://127.0.0.1:$SINK_PORT/slack/respond" \
    '{type: "block_actions", user: {id: $u, username: "x"}, response_url: $r,
      actions: [{action_id: "muster_ack", value: $v, type: "button"}]}')
  printf 'payload=%s' "$(jq -rn --arg p "$payload" '$p|@uri')" >"$E2E_DIR/$1.form"
  ts=$(date +%s)
  sig=$("$SIGN" slack "$MUSTER_SECRET_SLACK_SIGNING_SECRET" "$ts" <"$E2E_DIR/$1.form")
  post "$1" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
    -H "Content-Type: application/x-www-form-urlencoded" --data-binary @"$E2E_DIR/$1.form" \
    "$BASE/api/v1/slack/interactions"
}
inc_field() { redis-cli -p "$REDIS_PORT" --raw hget "muster:{$1}:inc" "$2"; }

# (2) and (7): the Slack page at level 2.
slack2=$(page slack2)
wait_for 20 level_is "$slack2" 2 || fail "slack2: level 2 never came: $(task_field "$slack2" page state)"
wait_for 10 eval '[ "$(pages slack2 U0BOB0002 slack)" = 1 ]' || fail "slack2: bob was not paged on Slack"
expect_eq "an unknown Slack user is refused" "$(slack stranger U999NOBODY "$slack2")" 401
expect_eq "the stranger acknowledged nothing" "$(inc_field "$slack2" acknowledged_by)" ""
level_is "$slack2" 2 || fail "the stranger's press changed the page: $(task_field "$slack2" page state)"
pass "an unknown Slack user's press is refused and the page goes on"
expect_eq "bob presses Acknowledge" "$(slack bob U0BOB0002 "$slack2")" 200
wait_for 10 step_is "$slack2" page succeeded || fail "slack2: page step is $(task_field "$slack2" page state)"
out=$(task_field "$slack2" page output)
expect_eq "slack2: acknowledged_by" "$(jq -r .acknowledged_by <<<"$out")" bob
expect_eq "slack2: level" "$(jq -r .level <<<"$out")" 2
expect_eq "slack2: via" "$(inc_field "$slack2" acknowledged_via)" slack

# (3): alice answers her level-1 SMS.
sms1=$(page sms1)
wait_for 15 eval '[ "$(pages sms1 "$A" sms)" = 1 ]' || fail "sms1: alice got no SMS"
code=$("$SIGN" code "$sms1")
form="From=%2B4915112345601&To=%2B15550199&Body=ACK+$code&MessageSid=SM1"
printf '%s' "$form" >"$E2E_DIR/sms.form"
sig=$("$SIGN" twilio "$MUSTER_SECRET_TWILIO_AUTH_TOKEN" "$PUBLIC/api/v1/twilio/sms" <"$E2E_DIR/sms.form")
expect_eq "alice replies ACK $code" \
  "$(post sms -H "X-Twilio-Signature: $sig" --data-binary @"$E2E_DIR/sms.form" "$BASE/api/v1/twilio/sms")" 200
grep -q "<Response><Message>" "$E2E_DIR/sms.body" || fail "not TwiML: $(cat "$E2E_DIR/sms.body")"
wait_for 10 step_is "$sms1" page succeeded || fail "sms1: page step is $(task_field "$sms1" page state)"
out=$(task_field "$sms1" page output)
expect_eq "sms1: acknowledged_by" "$(jq -r .acknowledged_by <<<"$out")" alice
expect_eq "sms1: level" "$(jq -r .level <<<"$out")" 1
expect_eq "sms1: via" "$(inc_field "$sms1" acknowledged_via)" sms

# The phone: alice presses 1 on the call of her page.
call1=$(page call1)
wait_for 10 eval '[ "$(pages call1 U0ALICE01 slack)" = 1 ]' || fail "call1: alice was not paged"
form="CallSid=CA1&From=%2B15550199&To=%2B4915112345601&Digits=1"
printf '%s' "$form" >"$E2E_DIR/call.form"
sig=$("$SIGN" twilio "$MUSTER_SECRET_TWILIO_AUTH_TOKEN" "$PUBLIC/api/v1/twilio/voice?incident=$call1" \
  <"$E2E_DIR/call.form")
expect_eq "alice presses 1" "$(post call -H "X-Twilio-Signature: $sig" --data-binary @"$E2E_DIR/call.form" \
  "$BASE/api/v1/twilio/voice?incident=$call1")" 200
grep -q "<Say>" "$E2E_DIR/call.body" || fail "not TwiML: $(cat "$E2E_DIR/call.body")"
wait_for 10 step_is "$call1" page succeeded || fail "call1: page step is $(task_field "$call1" page state)"
expect_eq "call1: acknowledged_by" "$(task_field "$call1" page output | jq -r .acknowledged_by)" alice
expect_eq "call1: via" "$(inc_field "$call1" acknowledged_via)" phone

# Nothing more is sent once acknowledged: level 3 and bob's SMS never come.
sleep 4
for want in "slack2 U0ALICE01 slack 1" "slack2 $A sms 1" "slack2 U0BOB0002 slack 1" \
            "slack2 $B sms 0" "slack2 U0CAROL03 slack 0" "sms1 U0BOB0002 slack 0"; do
  set -- $want
  expect_eq "pages of $1 to $2 on $3" "$(pages "$1" "$2" "$3")" "$4"
done
expect_eq "no timer left" "$("$BIN/muster" status --json | jq .paging_timers)" 0
stop_all_clean
echo "1 passed, 0 failed"
