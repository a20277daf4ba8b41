#!/usr/bin/env bash
# sink_interact.sh - muster-sink's then_interact: a route hit is followed by
# a signed Slack block_actions click, sent to a second sink playing the
# dispatcher; routes pointing a click off loopback are refused.
. "$(dirname "$0")/../harness/e2e.sh"

# start_one NAME [ROUTES]: a muster-sink logging to $E2E_DIR/NAME.log; its
# port is in $E2E_DIR/NAME.port. Not to be called in $(...): the cleanup
# must see the pid it adds.
start_one() {
  local name=$1 routes=()
  [ -n "${2:-}" ] && routes=(--routes "$2")
  "$BIN/muster-sink" --port 0 --port-file "$E2E_DIR/$name.port" --log "$E2E_DIR/$name.log" \
    "${routes[@]+"${routes[@]}"}" >"$E2E_DIR/$name.out" 2>&1 &
  E2E_PIDS+=($!)
  wait_for 10 test -s "$E2E_DIR/$name.port" || { cat "$E2E_DIR/$name.out" >&2; fail "$name did not start"; }
}

# post PORT PATH JSON
post() { curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$3" "http://127.0.0.1:$1$2"; }

# message CHANNEL INCIDENT: a chat.postMessage body as muster's slack action sends it.
message() {
  jq -cn --arg ch "$1" --arg inc "$2" '{channel: $ch, text: "Disk full on db-1",
    blocks: [{type: "section", text: {type: "mrkdwn", text: "Disk full on db-1"}},
             {type: "actions", block_id: "muster_page", elements: [
               {type: "button", action_id: "muster_ack", text: {type: "plain_text", text: "Acknowledge"}, style: "primary", value: $inc},
               {type: "button", action_id: "muster_resolve", text: {type: "plain_text", text: "Resolve"}, style: "danger", value: $inc}]}]}'
}

export MUSTER_SECRET_SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5
secret=$MUSTER_SECRET_SLACK_SIGNING_SECRET

start_one disp
disp_port=$(cat "$E2E_DIR/disp.port")
export SINK_INTERACT_URL="http://127.0.0.1:$disp_port/api/v1/slack/interactions"
cat >"$E2E_DIR/routes.json" <<JSON
[
  {"method": "POST", "path": "/api/chat.postMessage", "body": {"ok": true, "channel": "C0PAGE", "ts": "1717000000.000{{n}}"},
   "then_interact": {"url_env": "SINK_INTERACT_URL", "user": "U0SECONDARY", "username": "secondary",
                     "action": "muster_ack", "delay_ms": 300, "only_channel": "C0PAGE",
                     "signing_secret_env": "MUSTER_SECRET_SLACK_SIGNING_SECRET"}},
  {"method": "POST", "path": "/level/chat.postMessage", "body": {"ok": true},
   "then_interact": {"url": "http://localhost:$disp_port/level2", "user": "U0LEVEL2", "after_hits": 2,
                     "delay_ms": 0, "signing_secret_env": "MUSTER_SECRET_SLACK_SIGNING_SECRET"}}
]
JSON
start_one slack "$E2E_DIR/routes.json"
slack_port=$(cat "$E2E_DIR/slack.port")

expect_eq "page in another channel" "$(post "$slack_port" /api/chat.postMessage "$(message C0OTHER inc-other)")" 200
expect_eq "page in C0PAGE" "$(post "$slack_port" /api/chat.postMessage "$(message C0PAGE inc-42)")" 200
expect_eq "level 1 page" "$(post "$slack_port" /level/chat.postMessage "$(message C1 inc-l1)")" 200
expect_eq "level 2 page" "$(post "$slack_port" /level/chat.postMessage "$(message C1 inc-l2)")" 200
expect_eq "a page without buttons" "$(post "$slack_port" /api/chat.postMessage '{"channel":"C0PAGE","text":"hi"}')" 200

clicks() { jq -c 'select(.path != null and .method == "POST")' "$E2E_DIR/disp.log" 2>/dev/null; }
two_clicks() { [ "$(clicks | wc -l)" -ge 2 ]; }
wait_for 10 two_clicks || fail "the dispatcher stand-in got $(clicks | wc -l) clicks, want 2"
sleep 0.5 # nothing more may arrive
expect_eq "clicks received" "$(clicks | wc -l)" 2

# urldecode: the body is payload=<percent-encoded JSON>, nothing else.
urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
check_click() { # PATH USER VALUE
  local line body ts sig want payload
  line=$(clicks | jq -c --arg p "$1" 'select(.path == $p)')
  [ "$(wc -l <<<"$line")" = 1 ] && [ -n "$line" ] || fail "$1: want one click, got: $line"
  expect_eq "$1 content-type" "$(jq -r '.headers["content-type"]' <<<"$line")" application/x-www-form-urlencoded
  body=$(jq -j .body <<<"$line")
  [[ $body == payload=* ]] || fail "$1: body is not payload=...: ${body:0:80}"
  [[ $body != *'&'* ]] || fail "$1: body holds more than payload"
  ts=$(jq -r '.headers["x-slack-request-timestamp"]' <<<"$line")
  sig=$(jq -r '.headers["x-slack-signature"]' <<<"$line")
  [ $((ts - $(date +%s))) -le 5 ] && [ $(($(date +%s) - ts)) -le 30 ] || fail "$1: timestamp $ts is not now"
  want="v0=$(printf 'v0:%s:%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= *//')"
  expect_eq "$1 signature" "$sig" "$want"
  payload=$(urldecode "${body#payload=}")
  expect_eq "$1 type" "$(jq -r .type <<<"$payload")" block_actions
  expect_eq "$1 user" "$(jq -r .user.id <<<"$payload")" "$2"
  expect_eq "$1 action" "$(jq -r '.actions[0] | "\(.type) \(.action_id) \(.block_id)"' <<<"$payload")" "button muster_ack muster_page"
  expect_eq "$1 value" "$(jq -r '.actions[0].value' <<<"$payload")" "$3"
  expect_eq "$1 response_url" "$(jq -r .response_url <<<"$payload")" "http://127.0.0.1:$slack_port/_sink/slack/response"
  PAYLOAD=$payload
}
check_click /api/v1/slack/interactions U0SECONDARY inc-42
expect_eq "username" "$(jq -r .user.username <<<"$PAYLOAD")" secondary
expect_eq "channel and message" "$(jq -r '"\(.channel.id) \(.container.channel_id) \(.message.ts) \(.container.message_ts)"' <<<"$PAYLOAD")" \
  "C0PAGE C0PAGE 1717000000.0002 1717000000.0002"
check_click /level2 U0LEVEL2 inc-l2

# The sink logs each click's answer and the skipped page, and counts them.
expect_eq "click lines" "$(jq -c 'select(.interaction.status == 200)' "$E2E_DIR/slack.log" | wc -l)" 2
expect_eq "skipped page logged" "$(jq -r 'select(.interaction.status == null) | .interaction.error' "$E2E_DIR/slack.log" | grep -c 'no button')" 1
stats=$(curl -sS "http://127.0.0.1:$slack_port/_sink/stats")
expect_eq "stats" "$(jq -c '.interactions' <<<"$stats")" '{"scheduled":2,"answered":2,"failed":0,"skipped":1,"last_status":200}'
grep -q "$secret" "$E2E_DIR/slack.log" && fail "the signing secret is in the sink log"

# The dispatcher's update through response_url lands in the sink's log.
expect_eq "response_url" "$(post "$slack_port" /_sink/slack/response '{"replace_original":true,"text":"Acknowledged by secondary"}')" 200
expect_eq "response logged" "$(jq -r 'select(.path == "/_sink/slack/response") | (.body | fromjson | .text)' "$E2E_DIR/slack.log")" "Acknowledged by secondary"
expect_eq "response is not unmatched" "$(curl -sS "http://127.0.0.1:$slack_port/_sink/stats" | jq .unmatched)" 0

# Routes that would click off loopback, or without a secret, are refused.
refused() { # NAME ROUTES WANT_IN_MESSAGE
  echo "$2" >"$E2E_DIR/$1.json"
  local rc=0
  "$BIN/muster-sink" --port 0 --routes "$E2E_DIR/$1.json" >"$E2E_DIR/$1.out" 2>&1 || rc=$?
  expect_eq "$1 exit status" "$rc" 1
  grep -qF "$E2E_DIR/$1.json: route 1: \"then_interact\": $3" "$E2E_DIR/$1.out" || fail "$1: $(cat "$E2E_DIR/$1.out")"
  pass "$1 refused: $(cat "$E2E_DIR/$1.out")"
}
ok_rule='{"path": "/ok"}'
refused remote "[$ok_rule, {\"then_interact\": {\"url\": \"http://10.1.2.3:8080/api/v1/slack/interactions\", \"user\": \"U1\", \"signing_secret_env\": \"MUSTER_SECRET_SLACK_SIGNING_SECRET\"}}]" '"url": "http://10.1.2.3:8080'
SINK_REMOTE_URL=http://example.com/x refused remote_env "[$ok_rule, {\"then_interact\": {\"url_env\": \"SINK_REMOTE_URL\", \"user\": \"U1\", \"signing_secret_env\": \"MUSTER_SECRET_SLACK_SIGNING_SECRET\"}}]" '"url_env": "http://example.com/x" is not on a loopback host'
refused https "[$ok_rule, {\"then_interact\": {\"url\": \"https://127.0.0.1/x\", \"user\": \"U1\", \"signing_secret_env\": \"MUSTER_SECRET_SLACK_SIGNING_SECRET\"}}]" '"url": "https://127.0.0.1/x" is not an absolute http URL'
refused no_secret "[$ok_rule, {\"then_interact\": {\"url\": \"http://127.0.0.1/x\", \"user\": \"U1\", \"signing_secret_env\": \"SINK_NO_SUCH_SECRET\"}}]" '"signing_secret_env": SINK_NO_SUCH_SECRET is not set'
pass "sink then_interact"
