# language_checks.sh - the workflow language end to end, sourced after
# e2e.sh and faults.sh by tests/e2e/language_*.sh: dedup, grouping, resolve
# with on_resolve, reopen, several and exclusive workflows, a DAG with
# fan-out, join and skipped if: branches, and every alert format on Kafka.

send() { echo "$1" | "$BIN/muster" send-alert - >/dev/null; }
incidents() { redis-cli -p "$REDIS_PORT" zcard muster:incidents; }
incidents_are() { [ "$(incidents)" -eq "$1" ]; }
sink_paths() { jq -r .path "$SINK_LOG" 2>/dev/null | grep -c "^$1\$" || true; }
sink_has() { [ "$(sink_paths "$1")" -ge "$2" ]; }

run_language_checks() {
  start_sink "$SRC/tests/e2e/language-routes.json"
  workflows_from "$SRC/tests/e2e/language"
  "$BIN/muster" validate "$E2E_DIR/workflows" >/dev/null || fail "test workflows do not validate"
  start_redis
  start_kafka "${1:-mock}"
  start_dispatcher
  start_worker w1

  # Dedup: 5 copies of one alert, 1 incident, 1 run.
  for _ in 1 2 3 4 5; do send '{"source":"t","summary":"dag","severity":"critical","labels":{"case":"dag","n":"7","env":"prod"}}'; done
  wait_for 60 incidents_are 1 || fail "dedup: $(incidents) incidents"
  "$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || fail "the dag run did not succeed"
  # Grouping: three instances of one service, one incident, one ticket.
  for i in 1 2 3; do send "{\"source\":\"t\",\"summary\":\"db $i\",\"labels\":{\"case\":\"group\",\"service\":\"db\",\"instance\":\"db-$i\"}}"; done
  # Another service is another incident.
  send '{"source":"t","summary":"cache","labels":{"case":"group","service":"cache","instance":"c-1"}}'
  wait_for 60 incidents_are 3 || fail "grouping: $(incidents) incidents, want 3"
  "$BIN/muster" wait --incidents 3 --timeout 60s >/dev/null || fail "grouped runs did not succeed"
  expect_eq "one ticket per group" "$(sink_paths /ticket)" 2
  # Resolve two of the three db alerts: still open; the third resolves it.
  for i in 1 2; do send "{\"source\":\"t\",\"summary\":\"db $i\",\"status\":\"resolved\",\"labels\":{\"case\":\"group\",\"service\":\"db\",\"instance\":\"db-$i\"}}"; done
  sleep 1
  expect_eq "no on_resolve while an alert still fires" "$(sink_paths /close)" 0
  send '{"source":"t","summary":"db 3","status":"resolved","labels":{"case":"group","service":"db","instance":"db-3"}}'
  wait_for 60 sink_has /close 1 || fail "on_resolve did not run"
  pass "on_resolve ran once every alert of the incident resolved"
  close_ticket=$(jq -r 'select(.path == "/close") | .body | fromjson | .ticket' "$SINK_LOG")
  [[ "$close_ticket" == OPS-[12] ]] || fail "on_resolve did not get the ticket key: $close_ticket"
  pass "on_resolve templated the run's ticket key ($close_ticket)"
  # Reopen: the same alert firing again after resolve is a new incident.
  send '{"source":"t","summary":"db 1","labels":{"case":"group","service":"db","instance":"db-1"}}'
  wait_for 60 incidents_are 4 || fail "reopen: $(incidents) incidents, want 4"
  # Several workflows: both run; an exclusive match wins alone. (The
  # Alertmanager group below adds 2 alerts x pair-a, pair-b.)
  send '{"source":"t","summary":"pair","labels":{"case":"pair"}}'
  send '{"source":"t","summary":"only","severity":"critical","labels":{"case":"only"}}'
  wait_for 60 incidents_are 7 || fail "several workflows: $(incidents) incidents, want 7"

  # Every format on the same topic.
  cat >"$E2E_DIR/am.json" <<'JSON'
{"version":"4","groupKey":"{}:{alertname=\"Disk\"}","truncatedAlerts":0,"status":"firing","receiver":"muster",
 "groupLabels":{"alertname":"Disk"},"commonLabels":{"alertname":"Disk","case":"pair"},"commonAnnotations":{"summary":"disk filling"},
 "externalURL":"http://am.example:9093","alerts":[
  {"status":"firing","labels":{"instance":"n1"},"annotations":{},"startsAt":"2026-11-24T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/1","fingerprint":"aaaa000000000001"},
  {"status":"firing","labels":{"instance":"n2"},"annotations":{},"startsAt":"2026-11-24T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/2","fingerprint":"aaaa000000000002"}]}
JSON
  "$BIN/muster" send-alert "$E2E_DIR/am.json" >/dev/null
  wait_for 60 incidents_are 11 || fail "alertmanager group: $(incidents) incidents, want 11 (2 alerts x 2 workflows)"
  send '{"routing_key":"samplekeyhere","event_action":"trigger","dedup_key":"pd-1","payload":{"summary":"pd only","source":"pd","severity":"critical","component":"x","custom_details":{"case":"ignored"}}}'
  send '{"specversion":"1.0","id":"ce-1","source":"/monitoring","type":"com.example.alert","data":{"summary":"ce","labels":{"case":"dag","n":"9","env":"prod"}}}'
  wait_for 60 incidents_are 12 || fail "cloudevent: $(incidents) incidents, want 12"
  "$BIN/muster" wait --incidents 12 --timeout 60s >/dev/null || fail "not every run succeeded"
  settle_events

  expect_eq "incidents opened" "$(count_events '.type == "incident.opened"')" 12
  expect_eq "dedup joins" "$(count_events '.type == "incident.alert_joined" and .data.by == "fingerprint" and .data.workflow == "dag"')" 4
  expect_eq "group joins" "$(count_events '.type == "incident.alert_joined" and .data.by == "group"')" 2
  expect_eq "resolved incidents" "$(count_events '.type == "incident.resolved"')" 1
  expect_eq "runs of pair-a / pair-b / pair-x" \
    "$(jq -r 'select(.ev.type == "incident.opened") | .ev.data.workflow' "$E2E_DIR/events.jsonl" | grep '^pair' | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
    "pair-a=3 pair-b=3 pair-x=1 "
  # The DAG: fan-out and join in order, the if: branches.
  local dag
  dag=$(jq -r 'select(.ev.type == "incident.opened" and .ev.data.workflow == "dag") | .key' "$E2E_DIR/events.jsonl" | head -n 1)
  order=$(jq -r --arg k "$dag" 'select(.key == $k) | "\(.offset) \(.ev.type):\(.ev.data.step // "-")"' \
    "$E2E_DIR/events.jsonl" | sort -n | awk '{print $2}' | tr '\n' ' ')
  before_join=${order%%task.started:join *}
  for need in task.succeeded:left task.succeeded:right; do
    [[ "$before_join" == *"$need"* ]] || fail "join started before $need: $order"
  done
  pass "join waited for both branches"
  expect_eq "if: false skips the step" \
    "$(count_events ".subject == \"$dag\" and .type == \"task.skipped\" and .data.step == \"only_staging\" and (.data.reason | test(\"condition false\"))")" 1
  expect_eq "and what needs it" "$(count_events ".subject == \"$dag\" and .type == \"task.skipped\" and .data.step == \"after_staging\"")" 1
  expect_eq "if: true runs the step" "$(count_events ".subject == \"$dag\" and .type == \"task.succeeded\" and .data.step == \"when_left_ok\"")" 1
  expect_eq "skips do not fail the run" "$(count_events ".subject == \"$dag\" and .type == \"workflow.completed\" and .data.status == \"succeeded\"")" 1
  expect_eq "nothing reached the skipped branch" "$(sink_paths /never)" 0
  expect_eq "outputs carried through the DAG" \
    "$(jq -r 'select(.path == "/join") | .body | fromjson | "\(.left)|\(.right)"' "$SINK_LOG" | sort | tr '\n' ' ')" \
    "left-OPS-7|right left-OPS-9|right "
  check_invariants 12
  echo "1 passed, 0 failed"
}
