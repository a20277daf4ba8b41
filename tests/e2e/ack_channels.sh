#!/usr/bin/env bash
# ack_channels.sh - acknowledge and resolve from where the responder is:
# a Slack button (and the message updated at its response_url), an SMS
# reply answered with TwiML, a key press, PagerDuty v3 acknowledged then
# resolved, a signed link (GET, then POST). Refusals: an unknown Slack user,
# a tampered body, a stale timestamp, a replayed request, a reused, expired
# or forged link: each with the vendor's status, and the incident unchanged.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
. "$SRC/tests/harness/inbound.sh"
mkdir -p "$E2E_DIR/oncall" "$E2E_DIR/wf"
cp "$SRC/tests/e2e/ack/people.yaml" "$E2E_DIR/oncall/"
cp "$SRC/tests/e2e/ack/page.yaml" "$E2E_DIR/wf/"
start_sink "$SRC/tests/e2e/ack/routes.json"
workflows_from "$E2E_DIR/wf"
start_redis
start_kafka
start_dispatcher \
  --set intake.port="$INTAKE_PORT" --set intake.token=s3cret --set oncall.dir="$E2E_DIR/oncall" \
  --set intake.public_url="$PUBLIC/" \
  --set slack.signing_secret=slack_signing_secret \
  --set slack.response_hosts="hooks.slack.com,http://127.0.0.1:$SINK_PORT" \
  --set twilio.auth_token=twilio_auth_token --set pagerduty.webhook_secret=pagerduty_webhook_secret \
  --set ack.link_secret=ack_link_secret
wait_for 30 intake_listening || fail "no intake: $(tail -5 "$E2E_DIR/dispatcher.log")"
pass "intake listening"

incidents_at_least() { [ "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" -ge "$1" ]; }
field() { redis-cli -p "$REDIS_PORT" hget "muster:{$1}:inc" "$2"; }
# state ID: what a refusal must leave as it was.
state() {
  redis-cli -p "$REDIS_PORT" hgetall "muster:{$1}:inc" | paste - - | sort | md5sum
  redis-cli -p "$REDIS_PORT" llen "muster:{$1}:timeline"
}

# Four open incidents, one alert each.
for i in 1 2 3 4; do
  code=$(post alert$i -H "Authorization: Bearer s3cret" --data-binary \
    "{\"source\":\"test\",\"status\":\"firing\",\"severity\":\"critical\",\"summary\":\"down $i\",\"labels\":{\"team\":\"ops\",\"n\":\"$i\"}}" \
    "$BASE/api/v1/alerts")
  expect_eq "alert $i" "$code" 202
  wait_for 60 incidents_at_least "$i" || fail "alert $i opened no incident: $(tail -5 "$E2E_DIR/dispatcher.log")"
done
mapfile -t INC < <(redis-cli -p "$REDIS_PORT" zrange muster:incidents 0 -1)
expect_eq "incidents" "${#INC[@]}" 4

# ---- Slack ----
A=${INC[0]}
before=$(state "$A")
slack_body "$E2E_DIR/stranger" U999NOBODY muster_ack "$A"
expect_eq "unknown Slack user" "$(slack stranger "$E2E_DIR/stranger")" 401
expect_eq "unknown user changes nothing" "$(state "$A")" "$before"
slack_body "$E2E_DIR/ack" U012ABCDE muster_ack "$A"
sed 's/U012ABCDE/U023BCDEF/' "$E2E_DIR/ack" >"$E2E_DIR/tampered"
ts=$(date +%s)
sig=$("$SIGN" slack "$MUSTER_SECRET_SLACK_SIGNING_SECRET" "$ts" <"$E2E_DIR/ack")
expect_eq "tampered body" "$(post tampered -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
  --data-binary @"$E2E_DIR/tampered" "$BASE/api/v1/slack/interactions")" 401
expect_eq "stale timestamp" "$(slack stale "$E2E_DIR/ack" $(( $(date +%s) - 600 )))" 401
expect_eq "refusals change nothing" "$(state "$A")" "$before"
expect_eq "Slack ack" "$(slack ack "$E2E_DIR/ack" "$ts")" 200
expect_eq "acknowledged by" "$(field "$A" acknowledged_by)" alice
expect_eq "via" "$(field "$A" acknowledged_via)" slack
after=$(state "$A")
expect_eq "replayed request" "$(slack replay "$E2E_DIR/ack" "$ts")" 401
expect_eq "a replay changes nothing" "$(state "$A")" "$after"
grep -q 'replayed request (replay)' "$E2E_DIR/dispatcher.log" || fail "no log line for the replay"
updated() { jq -e 'select(.path == "/slack/respond") | .body | fromjson | select(.replace_original == true)' "$SINK_LOG"; }
wait_for 10 updated || fail "the Slack message was not updated: $(cat "$SINK_LOG" 2>/dev/null)"
text=$(jq -r 'select(.path == "/slack/respond") | .body | fromjson | .text' "$SINK_LOG" | head -1)
[[ $text == *"acknowledged by Alice Martin"* ]] || fail "message text: $text"
pass "the message says who acknowledged: $text"
expect_eq "no credentials to the response_url" \
  "$(jq -r 'select(.path == "/slack/respond") | .headers | has("authorization")' "$SINK_LOG" | head -1)" false
# A response_url elsewhere is not called (the ack still counts): resolve A.
payload=$(jq -cn --arg v "$A" '{type: "block_actions", user: {id: "U012ABCDE"},
  response_url: "https://evil.example.net/x", actions: [{action_id: "muster_resolve", value: $v}]}')
printf 'payload=%s' "$(jq -rn --arg p "$payload" '$p|@uri')" >"$E2E_DIR/resolve"
expect_eq "Slack resolve" "$(slack resolve "$E2E_DIR/resolve")" 200
expect_eq "resolved" "$(field "$A" status)" resolved
expect_eq "resolved by" "$(field "$A" resolved_by)" alice
grep -q "response_url not in slack.response_hosts" "$E2E_DIR/dispatcher.log" || fail "no log line for the refused response_url"
expect_eq "on_resolve step queued" "$(redis-cli -p "$REDIS_PORT" hget "muster:{$A}:task:closed" state)" queued

# ---- SMS ----
B=${INC[1]}
code=$("$SIGN" code "$B")
before=$(state "$B")
expect_eq "SMS from a stranger" "$(twilio smsx /api/v1/twilio/sms "From=%2B15550001111&To=%2B15005550006&Body=ACK+$code&MessageSid=SM0")" 403
expect_eq "a stranger changes nothing" "$(state "$B")" "$before"
expect_eq "SMS ACK with a code" "$(twilio sms /api/v1/twilio/sms "From=%2B4917098765432&To=%2B15005550006&Body=ack+$code&MessageSid=SM1")" 200
expect_eq "TwiML" "$(grep -i '^content-type:' "$E2E_DIR/sms.headers" | tr -d '\r' | cut -d' ' -f2)" text/xml
grep -q "<Response><Message>Incident $B acknowledged by Bob &lt;Okafor&gt;.</Message></Response>" "$E2E_DIR/sms.body" ||
  fail "TwiML: $(cat "$E2E_DIR/sms.body")"
pass "the reply is TwiML, escaped"
expect_eq "acknowledged by (sms)" "$(field "$B" acknowledged_by)" bob
expect_eq "via (sms)" "$(field "$B" acknowledged_via)" sms
# Without a code: the newest open incident.
D=${INC[3]}
expect_eq "SMS ACK without a code" "$(twilio sms2 /api/v1/twilio/sms "From=%2B4915112345678&Body=1&MessageSid=SM2")" 200
expect_eq "the newest open incident" "$(field "$D" acknowledged_by)" alice
expect_eq "help for other text" "$(twilio sms3 /api/v1/twilio/sms "From=%2B4915112345678&Body=hello&MessageSid=SM3")" 200
grep -q "Reply ACK" "$E2E_DIR/sms3.body" || fail "no help: $(cat "$E2E_DIR/sms3.body")"

# ---- phone: a key press on the call to bob, for incident C ----
C=${INC[2]}
expect_eq "key press 2" "$(twilio call2 "/api/v1/twilio/voice?incident=$C" "CallSid=CA1&Digits=2&From=%2B15005550006&To=%2B4917098765432")" 200
grep -q "<Say>Not acknowledged" "$E2E_DIR/call2.body" || fail "TwiML: $(cat "$E2E_DIR/call2.body")"
expect_eq "not acknowledged by a 2" "$(field "$C" acknowledged_by)" ""
expect_eq "voice signed for another incident" "$(post callx -H "X-Twilio-Signature: $("$SIGN" twilio \
  "$MUSTER_SECRET_TWILIO_AUTH_TOKEN" "$PUBLIC/api/v1/twilio/voice?incident=$C" <"$E2E_DIR/call2.form")" \
  --data-binary @"$E2E_DIR/call2.form" "$BASE/api/v1/twilio/voice?incident=$D")" 403

# ---- PagerDuty ----
C=${INC[2]}
# pd NAME TYPE WEBHOOK_ID: a v3 event of incident C by alice.
pd() {
  jq -cn --arg t "$2" --arg k "$C" --arg at "$(date -u +%FT%T.000Z)" \
    '{event: {id: "01ABC", event_type: $t, resource_type: "incident", occurred_at: $at,
      agent: {id: "P1", type: "user_reference", email: "alice@example.com"},
      data: {id: "Q1", type: "incident", incident_key: $k, status: "acknowledged"}}}' >"$E2E_DIR/$1.json"
  local sig
  sig=$("$SIGN" pagerduty "$MUSTER_SECRET_PAGERDUTY_WEBHOOK_SECRET" <"$E2E_DIR/$1.json")
  post "$1" -H "X-PagerDuty-Signature: $sig" -H "X-Webhook-Id: $3" -H "Content-Type: application/json" \
    --data-binary @"$E2E_DIR/$1.json" "$BASE/api/v1/pagerduty"
}
expect_eq "PagerDuty acknowledged" "$(pd pd1 incident.acknowledged wh-1)" 200
expect_eq "acknowledged by (pagerduty)" "$(field "$C" acknowledged_by)" alice
expect_eq "via (pagerduty)" "$(field "$C" acknowledged_via)" pagerduty
expect_eq "PagerDuty resolved" "$(pd pd2 incident.resolved wh-2)" 200
expect_eq "resolved (pagerduty)" "$(field "$C" status)" resolved
expect_eq "resolved via" "$(field "$C" resolved_via)" pagerduty
expect_eq "PagerDuty bad signature" "$(post pd3 -H "X-PagerDuty-Signature: v1=$(printf '0%.0s' $(seq 64))" \
  --data-binary @"$E2E_DIR/pd2.json" "$BASE/api/v1/pagerduty")" 403

# ---- links ----
D=${INC[3]}
# D is acknowledged already: a fresh incident for the link.
code=$(post alert5 -H "Authorization: Bearer s3cret" --data-binary \
  '{"source":"test","status":"firing","severity":"critical","summary":"down 5","labels":{"team":"ops","n":"5"}}' \
  "$BASE/api/v1/alerts")
wait_for 60 incidents_at_least 5 || fail "alert 5 opened no incident"
E=$(redis-cli -p "$REDIS_PORT" zrevrange muster:incidents 0 0)
exp=$(( $(date +%s) + 3600 ))
token=$("$SIGN" link "$MUSTER_SECRET_ACK_LINK_SECRET" ack "$E" bob "$exp")
before=$(state "$E")
expect_eq "link GET" "$(post get "$BASE/ack/$token")" 200
grep -q '<form method="post" action="/ack/' "$E2E_DIR/get.body" || fail "no form: $(cat "$E2E_DIR/get.body")"
grep -q 'Bob &lt;Okafor&gt;' "$E2E_DIR/get.body" || fail "the page is not escaped: $(cat "$E2E_DIR/get.body")"
expect_eq "a GET changes nothing" "$(state "$E")" "$before"
expect_eq "link POST" "$(post link -X POST "$BASE/ack/$token")" 200
expect_eq "acknowledged by (link)" "$(field "$E" acknowledged_by)" bob
expect_eq "via (link)" "$(field "$E" acknowledged_via)" link
after=$(state "$E")
expect_eq "reused link" "$(post reuse -X POST "$BASE/ack/$token")" 409
expect_eq "reused link GET" "$(post reuseget "$BASE/ack/$token")" 409
old=$("$SIGN" link "$MUSTER_SECRET_ACK_LINK_SECRET" ack "$E" alice $(( $(date +%s) - 10 )))
expect_eq "expired link" "$(post old -X POST "$BASE/ack/$old")" 410
forged=$("$SIGN" link "another-secret" ack "$E" alice "$exp")
expect_eq "forged link" "$(post forged -X POST "$BASE/ack/$forged")" 403
expect_eq "broken link" "$(post broken -X POST "$BASE/ack/v2.abc.def")" 400
expect_eq "link refusals change nothing" "$(state "$E")" "$after"

# ---- never a secret in the log ----
for s in "$MUSTER_SECRET_SLACK_SIGNING_SECRET" "$MUSTER_SECRET_TWILIO_AUTH_TOKEN" \
         "$MUSTER_SECRET_PAGERDUTY_WEBHOOK_SECRET" "$MUSTER_SECRET_ACK_LINK_SECRET"; do
  grep -qF "$s" "$E2E_DIR/dispatcher.log" && fail "a secret is in the log"
done
pass "no secret in the log"

# A clean stop, with no sanitizer report on the ASan build.
signal TERM dispatcher
dispatcher_stopped
