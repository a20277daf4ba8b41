#!/usr/bin/env bash
# integrations_replay.sh - the story on the real jira, slack and twilio
# actions through the whole pipeline, then a forced replay of each of them:
# the ticket is found, not opened again; nobody is paged again. The
# receiver's log is the judge: it counts what the vendors would have got.
. "$(dirname "$0")/../harness/e2e.sh"
export MUSTER_HTTP_ALLOW_PRIVATE=0 # the workflow's allow_private_network must do it
export MUSTER_SECRET_JIRA_TOKEN=t-jira MUSTER_SECRET_SLACK_TOKEN=xoxb-t MUSTER_SECRET_TWILIO_TOKEN=t-twilio

start_sink "$SRC/docs/examples/sink-routes.json"
mkdir -p "$E2E_DIR/workflows"
sed "s#127.0.0.1:18080#127.0.0.1:${SINK_PORT}#g" "$SRC/tests/e2e/integrations/service-down.yaml" \
  >"$E2E_DIR/workflows/service-down.yaml"
start_pipeline

"$BIN/muster" send-alert "$SRC/docs/examples/alerts/checkout-down.json" >/dev/null
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the story did not succeed"
inc=$(redis-cli -p "$MUSTER_REDIS_PORT" zrange muster:incidents 0 0)
sent() { jq -r --arg m "$1" --arg p "$2" 'select(.method == $m and (.path | test($p)))' "$SINK_LOG" | jq -s length; }
expect_eq "issues created" "$(sent POST '^/rest/api/3/issue$')" 1
expect_eq "chat messages" "$(sent POST '^/api/chat.postMessage$')" 2
expect_eq "SMS sent" "$(sent POST '/Messages.json$')" 1
# The second message went to the first one's thread.
expect_eq "findings posted in the page's thread" \
  "$(jq -r 'select(.path == "/api/chat.postMessage") | .body | fromjson | .thread_ts // "none"' "$SINK_LOG" | tr '\n' ' ')" \
  "none 1700000000.001 "
# Twilio got a form, with basic auth of the account and the secret.
expect_eq "twilio auth" "$(jq -r 'select(.path | test("Messages.json$")) | .headers.authorization' "$SINK_LOG")" \
  "Basic $(printf 'AC0123456789abcdef0123456789abcdef:t-twilio' | base64 -w0)"

output() { redis-cli -p "$MUSTER_REDIS_PORT" hget "muster:{$inc}:task:$1" output; }
for step in ticket page_chat page_sms; do
  "$BIN/muster" replay "$inc/$step" --force | grep -q "replayed" || fail "could not replay $step"
done
done_again() {
  local s
  for s in ticket page_chat page_sms; do
    [ "$(redis-cli -p "$MUSTER_REDIS_PORT" hget "muster:{$inc}:task:$s" attempts)" -ge 1 ] || return 1
    [ "$(redis-cli -p "$MUSTER_REDIS_PORT" hget "muster:{$inc}:task:$s" state)" = succeeded ] || return 1
  done
  jq -e '.created == false' <<<"$(output ticket)" >/dev/null
}
wait_for 60 done_again || fail "the replays did not finish: $(output ticket)"
for step in page_chat page_sms; do
  wait_for 30 eval "jq -e '.deduplicated == true' <<<\"\$(output $step)\"" ||
    fail "$step was not recognised as sent: $(output $step)"
done
expect_eq "issues created after the replays" "$(sent POST '^/rest/api/3/issue$')" 1
expect_eq "chat messages after the replays" "$(sent POST '^/api/chat.postMessage$')" 2
expect_eq "SMS after the replays" "$(sent POST '/Messages.json$')" 1
expect_eq "replayed ticket step names the same issue" "$(output ticket | jq -r .key)" OPS-1
pass "a replayed ticket, chat page and SMS opened and sent nothing twice"
