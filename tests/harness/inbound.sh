# inbound.sh - sourced after e2e.sh and faults.sh by the tests of the
# acknowledgement endpoints: the intake's port and public URL, the vendors'
# secrets (named in the settings, read from the environment), and helpers
# that post requests signed the way each vendor signs them.
unset MUSTER_INTAKE_TOKEN MUSTER_INTAKE_TOKEN_FILE MUSTER_INTAKE_ACK_TOKENS MUSTER_INTAKE_ACK_TOKENS_FILE
SIGN=$BIN/muster-sign
INTAKE_PORT=$(free_port) || fail "no free port"
BASE=http://127.0.0.1:$INTAKE_PORT
PUBLIC=https://muster.example.com
export MUSTER_SECRET_SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5
export MUSTER_SECRET_TWILIO_AUTH_TOKEN=twilio-token-12345
export MUSTER_SECRET_PAGERDUTY_WEBHOOK_SECRET=pd-secret-0a1b2c
export MUSTER_SECRET_ACK_LINK_SECRET=link-secret-9z8y7x

# post NAME [CURL ARGS...]: prints the status; the body lands in
# $E2E_DIR/NAME.body and the headers in $E2E_DIR/NAME.headers.
post() {
  local name=$1; shift
  curl -sS --max-time 30 -o "$E2E_DIR/$name.body" -D "$E2E_DIR/$name.headers" -w '%{http_code}' "$@"
}

# intake_listening: whether the dispatcher logged its intake on INTAKE_PORT.
intake_listening() { grep -q "webhook intake on http://127.0.0.1:$INTAKE_PORT/" "$E2E_DIR/dispatcher.log"; }

# twilio NAME URLPATH BODY: posts a form body signed for the public URL.
twilio() {
  local sig
  printf '%s' "$3" >"$E2E_DIR/$1.form"
  sig=$("$SIGN" twilio "$MUSTER_SECRET_TWILIO_AUTH_TOKEN" "$PUBLIC$2" <"$E2E_DIR/$1.form")
  post "$1" -H "X-Twilio-Signature: $sig" --data-binary @"$E2E_DIR/$1.form" "$BASE$2"
}

# slack_body FILE USER ACTION INCIDENT: a block_actions interaction, form-encoded.
slack_body() {
  local payload
  payload=$(jq -cn --arg u "$2" --arg a "$3" --arg v "$4" --arg r "http://127.0.0.1:$SINK_PORT/slack/respond" \
    '{type: "block_actions", user: {id: $u, username: "x"}, response_url: $r,
      actions: [{action_id: $a, value: $v, type: "button"}]}')
  printf 'payload=%s' "$(jq -rn --arg p "$payload" '$p|@uri')" >"$1"
}
# slack NAME BODYFILE [TIMESTAMP]: posts it signed.
slack() {
  local ts=${3:-$(date +%s)} sig
  sig=$("$SIGN" slack "$MUSTER_SECRET_SLACK_SIGNING_SECRET" "$ts" <"$2")
  post "$1" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
    -H "Content-Type: application/x-www-form-urlencoded" --data-binary @"$2" "$BASE/api/v1/slack/interactions"
}
