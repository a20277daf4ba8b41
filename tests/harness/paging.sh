# paging.sh - sourced after faults.sh by tests/e2e/paging_*.sh: the stack
# with on-call files, the sink playing Slack and Twilio, and counters of
# the pages it received.
export MUSTER_SECRET_SLACK_TOKEN=xoxb-t MUSTER_SECRET_TWILIO_TOKEN=t-twilio
export MUSTER_ONCALL_DIR=$SRC/tests/e2e/paging/oncall

# start_paging: the stack and workers w1 and w2; A and B are alice's and
# bob's phone numbers.
start_paging() {
  start_stack "$SRC/docs/examples/sink-routes.json" "$SRC/tests/e2e/paging/workflows"
  start_worker w1
  start_worker w2
  A=+4915112345601 B=+4915112345602
}

# page ID: fires an alert whose summary is ID, and prints its incident.
page() {
  echo "{\"source\":\"t\",\"summary\":\"$1\",\"labels\":{\"page\":\"$1\"}}" | "$BIN/muster" send-alert - >/dev/null
  local inc=""
  for _ in $(seq 100); do
    inc=$("$BIN/muster" incident list --json | jq -r --arg s "$1" '.[] | select(.summary == $s) | .id' | head -1)
    [ -n "$inc" ] && break
    sleep 0.1
  done
  [ -n "$inc" ] || fail "no incident for $1"
  echo "$inc"
}

# pages ID WHO CHANNEL: how many pages for alert ID reached WHO's contact
# (a Slack user id or a phone number) on CHANNEL (slack|sms) at the sink.
pages() {
  [ -s "$SINK_LOG" ] || { echo 0; return; }
  case $3 in
    slack) jq -s --arg id "$1" --arg who "$2" '[.[] | select(.path == "/api/chat.postMessage") |
             .body | fromjson | select(.channel == $who and (.text | startswith($id + " (")))] | length' "$SINK_LOG" ;;
    sms) jq -s --arg id "$1" --arg who "$2" '[.[] | select(.path | test("Messages.json$")) | .body |
           select(contains("To=" + ($who | @uri)) and contains("Body=" + $id + "%20"))] | length' "$SINK_LOG" ;;
  esac
}

# task_field INCIDENT STEP FIELD
task_field() { redis-cli -p "$REDIS_PORT" --raw hget "muster:{$1}:task:$2" "$3"; }
step_is() { [ "$(task_field "$1" "$2" state)" = "$3" ]; }
level_is() { step_is "$1" page paging && [ "$(task_field "$1" page page_pass)" = "$2" ]; }

# stop_all_clean: stops the dispatcher and workers with SIGTERM and checks
# that each exited without a sanitizer report (the ASan pass runs this too).
stop_all_clean() {
  local n
  for n in "${!PIDS[@]}"; do kill -TERM "${PIDS[$n]}" 2>/dev/null || true; done
  dispatcher_stopped
  for n in "${!PIDS[@]}"; do reap "$n"; done
  if grep -l "Sanitizer" "$E2E_DIR"/*.log 2>/dev/null; then fail "sanitizer report in a log"; fi
  pass "every part stopped without a sanitizer report"
}
