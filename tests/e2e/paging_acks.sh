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
. "$SRC/tests/harness/inbound.sh"
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
wait_for 30 intake_listening || fail "no intake: $(tail -5 "$E2E_DIR/dispatcher.log")"

# press NAME USER INCIDENT: USER presses Slack's Acknowledge for INCIDENT.
press() {
  slack_body "$E2E_DIR/$1.form" "$2" muster_ack "$3"
  slack "$1" "$E2E_DIR/$1.form"
}
inc_field() { redis-cli -p "$REDIS_PORT" --raw hget "muster:{$1}:inc" "$2"; }

# (2) and (7): the Slack page at level 2.
slack2=$(page slack2)
wait_for 20 level_is "$slack2" 2 || fail "slack2: level 2 never came: $(task_field "$slack2" page state)"
wait_for 10 eval '[ "$(pages slack2 U0BOB0002 slack)" = 1 ]' || fail "slack2: bob was not paged on Slack"
expect_eq "an unknown Slack user is refused" "$(press stranger U999NOBODY "$slack2")" 401
expect_eq "the stranger acknowledged nothing" "$(inc_field "$slack2" acknowledged_by)" ""
level_is "$slack2" 2 || fail "the stranger's press changed the page: $(task_field "$slack2" page state)"
pass "an unknown Slack user's press is refused and the page goes on"
expect_eq "bob presses Acknowledge" "$(press bob U0BOB0002 "$slack2")" 200
wait_for 10 step_is "$slack2" page succeeded || fail "slack2: page step is $(task_field "$slack2" page state)"
out=$(task_field "$slack2" page output)
expect_eq "slack2: acknowledged_by" "$(jq -r .acknowledged_by <<<"$out")" bob
expect_eq "slack2: level" "$(jq -r .level <<<"$out")" 2
expect_eq "slack2: via" "$(inc_field "$slack2" acknowledged_via)" slack

# (3): alice answers her level-1 SMS.
sms1=$(page sms1)
wait_for 15 eval '[ "$(pages sms1 "$A" sms)" = 1 ]' || fail "sms1: alice got no SMS"
code=$("$SIGN" code "$sms1")
expect_eq "alice replies ACK $code" \
  "$(twilio sms /api/v1/twilio/sms "From=%2B4915112345601&To=%2B15550199&Body=ACK+$code&MessageSid=SM1")" 200
grep -q "<Response><Message>" "$E2E_DIR/sms.body" || fail "not TwiML: $(cat "$E2E_DIR/sms.body")"
wait_for 10 step_is "$sms1" page succeeded || fail "sms1: page step is $(task_field "$sms1" page state)"
out=$(task_field "$sms1" page output)
expect_eq "sms1: acknowledged_by" "$(jq -r .acknowledged_by <<<"$out")" alice
expect_eq "sms1: level" "$(jq -r .level <<<"$out")" 1
expect_eq "sms1: via" "$(inc_field "$sms1" acknowledged_via)" sms

# The phone: alice presses 1 on the call of her page.
call1=$(page call1)
wait_for 10 eval '[ "$(pages call1 U0ALICE01 slack)" = 1 ]' || fail "call1: alice was not paged"
expect_eq "alice presses 1" \
  "$(twilio call "/api/v1/twilio/voice?incident=$call1" "CallSid=CA1&From=%2B15550199&To=%2B4915112345601&Digits=1")" 200
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
