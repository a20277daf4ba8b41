# pipeline_checks.sh - the end-to-end scenario both Kafka modes run: sourced
# after e2e.sh by tests/e2e/pipeline_*.sh, which start Kafka first.
A=$SRC/tests/e2e/alerts

run_pipeline_checks() {
  start_sink "$SRC/tests/e2e/routes.json"
  workflows_from "$SRC/tests/e2e/workflows"
  "$BIN/muster" validate "$E2E_DIR/workflows" >/dev/null || fail "test workflows do not validate"
  start_pipeline "${1:-}"

  "$BIN/muster" send-alert "$A/a.json" "$A/b.json" "$A/staging.json" "$A/bad-json.txt" \
    "$A/no-summary.json" >/dev/null
  local rc=0
  "$BIN/muster" wait --incidents 3 --timeout 90s >/dev/null || rc=$?
  expect_eq "muster wait exit code (one run is meant to fail)" "$rc" 1
  # The duplicate comes after the first copy's incident exists: it must join.
  "$BIN/muster" send-alert "$A/a.json" >/dev/null

  # 2 story runs x 15 events, 1 alert_joined, and for the broken endpoint:
  # opened, started, 3 x (task.started, task.failed), 2 retrying, dead,
  # skipped, completed = 13.
  events_until 44 90 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of 44 events arrived"
  expect_eq "events" "$(wc -l <"$E2E_DIR/events.jsonl")" 44
  expect_eq "copies published (no fault: no repeats)" "$(wc -l <"$E2E_DIR/events.all.jsonl")" 44
  expect_eq "events are CloudEvents 1.0" \
    "$(jq -c 'select(.ev.specversion == "1.0" and .ev.source == "muster" and .ev.subject == .key)' "$E2E_DIR/events.jsonl" | wc -l)" 44
  expect_eq "incidents opened" "$(count_events '.type == "incident.opened"')" 3
  expect_eq "duplicate alert joined" "$(count_events '.type == "incident.alert_joined"')" 1
  expect_eq "tasks succeeded" "$(count_events '.type == "task.succeeded"')" 12
  expect_eq "runs succeeded" "$(count_events '.type == "workflow.completed" and .data.status == "succeeded"')" 2

  # One incident's events share a key, so a partition keeps them in order:
  # a step starts only after everything it needs has succeeded.
  local inc
  for inc in $(jq -r 'select(.ev.type == "incident.opened" and .ev.data.workflow == "story") | .key' "$E2E_DIR/events.jsonl"); do
    expect_eq "$inc on one partition" \
      "$(jq -r --arg k "$inc" 'select(.key == $k) | .partition' "$E2E_DIR/events.jsonl" | sort -u | wc -l)" 1
    local order
    order=$(jq -r --arg k "$inc" 'select(.key == $k and .ev.type != "incident.alert_joined") | "\(.offset) \(.ev.type) \(.ev.data.step // "-")"' \
      "$E2E_DIR/events.jsonl" | sort -n | awk '{print $2 ":" $3}' | tr '\n' ' ')
    local post_start=${order%%task.started:post *}
    for need in task.succeeded:page_chat task.succeeded:diag_a task.succeeded:diag_b; do
      [[ "$post_start" == *"$need"* ]] || fail "$inc: post started before $need ($order)"
    done
    local close_start=${order%%task.started:close *}
    for need in task.succeeded:post task.succeeded:ticket; do
      [[ "$close_start" == *"$need"* ]] || fail "$inc: close started before $need ($order)"
    done
    [[ "$order" == *"workflow.completed:- " ]] || fail "$inc: workflow.completed is not last ($order)"
    pass "$inc: needs respected, completion last"
  done

  # What the receiver saw: one ticket per incident, outputs carried along.
  expect_eq "tickets created" "$(jq -c 'select(.path == "/rest/api/3/issue")' "$SINK_LOG" | wc -l)" 2
  expect_eq "chat messages" "$(jq -c 'select(.path == "/api/chat.postMessage")' "$SINK_LOG" | wc -l)" 4
  expect_eq "idempotency keys unique per request" \
    "$(jq -r '.headers["idempotency-key"]' "$SINK_LOG" | sort -u | wc -l)" "$(wc -l <"$SINK_LOG")"
  local texts
  texts=$(jq -r 'select(.path == "/api/chat.postMessage") | .body | fromjson | .text' "$SINK_LOG")
  grep -q '^diag-a for checkout|diag-b checkout-1:8080|OPS-[12]$' <<<"$texts" \
    || fail "post did not carry the outputs of diag_a, diag_b and ticket: $texts"
  grep -q '^diag-a for payments|diag-b payments-2:9000|OPS-[12]$' <<<"$texts" \
    || fail "post (payments) did not carry the outputs: $texts"
  pass "step outputs reach later steps through templates"
  expect_eq "close steps got the ticket key" \
    "$(jq -r 'select(.path == "/done") | .body | fromjson | .ticket' "$SINK_LOG" | grep -c '^OPS-[12]$')" 2

  # The broken endpoint: curl's error in the event, retried with growing
  # delays, then dead; its dependent skipped.
  expect_eq "failed attempts" "$(count_events '.type == "task.failed" and .data.step == "call"')" 3
  expect_eq "retries" "$(count_events '.type == "task.retrying" and .data.step == "call"')" 2
  expect_eq "dead" "$(count_events '.type == "task.dead" and .data.reason == "attempts exhausted" and .data.attempt == 3')" 1
  local failed_ev
  failed_ev=$(jq -c 'select(.ev.type == "task.failed") | .ev.data' "$E2E_DIR/events.jsonl" | tail -n 1)
  expect_eq "failed step's HTTP status in the event" "$(jq -r .output.status <<<"$failed_ev")" 0
  grep -q "Couldn't connect" <<<"$(jq -r .error <<<"$failed_ev")" || fail "no curl error: $failed_ev"
  expect_eq "skipped dependents" "$(count_events '.type == "task.skipped" and .data.step == "after"')" 1
  expect_eq "failed runs" "$(count_events '.type == "workflow.completed" and .data.status == "failed"')" 1

  # Bad input: both undecodable messages on the dead-letter topic, with why.
  local dlq
  dlq=$(dlq_dump)
  expect_eq "dead letters" "$(jq -c . <<<"$dlq" | wc -l)" 2
  jq -r '.headers | tostring' <<<"$dlq" | grep -q 'not valid JSON' || fail "no 'not valid JSON' reason: $dlq"
  jq -r '.headers | tostring' <<<"$dlq" | grep -q 'summary' || fail "no missing-summary reason: $dlq"
  pass "dead letters carry their reasons"

  "$BIN/muster" status >/dev/null || fail "muster status failed"
  "$BIN/muster" incident list --json | jq -e 'length == 3' >/dev/null || fail "incident list"
  echo "1 passed, 0 failed"
}
