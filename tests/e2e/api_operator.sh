#!/usr/bin/env bash
# api_operator.sh - muster-api against a real pipeline: every route with its
# scope allowed and refused (401, 403), acknowledge, resolve, notes and
# replay through the API with their events and audit entries, live events
# (SSE), the console's headers, the muster command through the API with no
# Redis to reach, and every real JSON response checked against
# docs/api.openapi.yaml (tests/node/openapi_check.mjs).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
NODE_DIR=$SRC/tests/node
command -v node >/dev/null || skip_test "no node (scripts/deps.sh installs it)"
[ -d "$NODE_DIR/node_modules/@apidevtools/swagger-parser" ] || skip_test "no tests/node/node_modules (make node-deps)"
[ -x "$BIN/muster-api" ] || fail "no $BIN/muster-api"

start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/faults"
workflows_from "$SRC/tests/e2e/operator"
start_redis
start_kafka
# The dispatcher publishes the on-call files to Redis, where the API reads them.
export MUSTER_ONCALL_DIR=$SRC/docs/examples/oncall
start_dispatcher
start_worker w1

# One token per scope, and one that may do everything.
TOKENS=$E2E_DIR/tokens
for who in admin:admin reader:incidents:read acker:incidents:ack writer:incidents:write replayer:tasks:replay; do
  name=${who%%:*}
  tok=$("$BIN/muster" token create --name "$name" --scope "${who#*:}" --file "$TOKENS" 2>/dev/null) || fail "token create $name"
  printf -v "T_$name" '%s' "$tok"
done
"$BIN/muster" token create --name bad --scope incidents:reed --file "$TOKENS" 2>/dev/null && fail "an unknown scope was accepted"
expect_eq "tokens stored hashed" "$(grep -c "$T_admin" "$TOKENS" || true)" 0
API_PORT=$(free_port)
"$BIN/muster-api" -s api.port="$API_PORT" -s api.tokens_file="$TOKENS" \
  -s api.header_timeout=1s -s api.request_timeout=2s >"$E2E_DIR/api.log" 2>&1 &
API_PID=$!
E2E_PIDS+=($API_PID)
API=http://127.0.0.1:$API_PORT
wait_for 20 curl -sf "$API/readyz" || { cat "$E2E_DIR/api.log" >&2; fail "muster-api is not ready"; }

RESP=$E2E_DIR/responses
mkdir -p "$RESP"
n=0
# call TEMPLATE METHOD PATH TOKEN [BODY]: the answer's body in $E2E_DIR/body,
# its status in $code; every JSON answer is kept for the schema check (not
# those of TEMPLATE -, a path the description does not have).
call() {
  local template=$1 method=$2 path=$3 token=$4 body=${5:-}
  local args=(-s -o "$E2E_DIR/body" -w '%{http_code}' -X "$method" --max-time 20)
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  code=$(curl "${args[@]}" "$API$path")
  n=$((n + 1))
  if [ "$template" != - ] && jq -e . "$E2E_DIR/body" >/dev/null 2>&1; then
    jq -n --arg m "${method,,}" --arg p "$template" --argjson s "$code" --slurpfile b "$E2E_DIR/body" \
      '{method: $m, path: $p, status: $s, body: $b[0]}' >"$RESP/$(printf %03d "$n").json"
  fi
}
expect_code() { [ "$code" = "$1" ] || fail "$2: HTTP $code, want $1: $(head -c 400 "$E2E_DIR/body")"; }

# A run that dies (poison: the receiver fails its first 3 requests) and one
# that waits for a person (handoff).
echo '{"source":"t","summary":"poison","labels":{"fault":"poison","service":"pay"}}' | "$BIN/muster" send-alert - >/dev/null
echo '{"source":"t","summary":"db failover","severity":"critical","labels":{"case":"handoff","service":"db"}}' | "$BIN/muster" send-alert - >/dev/null
dead_one() { [ "$("$BIN/muster" dead list --json | jq length)" -eq 1 ]; }
wait_for 60 dead_one || fail "no dead task: $("$BIN/muster" status)"
waiting() { [ "$("$BIN/muster" status --json | jq .manual_waiting)" -eq 1 ]; }
wait_for 30 waiting || fail "the manual step is not waiting"
poison=$("$BIN/muster" dead list --json | jq -r '.[0].incident')
handoff=$("$BIN/muster" incident list --json | jq -r --arg p "$poison" '[.[] | select(.id != $p)][0].id')
task="$poison/call"

# ---- every route: no token 401, a wrong one 401, a token without the scope 403 ----
routes=(
  "GET /api/v1/incidents /api/v1/incidents reader acker"
  "GET /api/v1/incidents/{id} /api/v1/incidents/$handoff reader acker"
  "POST /api/v1/incidents/{id}/ack /api/v1/incidents/$handoff/ack acker reader"
  "POST /api/v1/incidents/{id}/resolve /api/v1/incidents/$handoff/resolve writer acker"
  "POST /api/v1/incidents/{id}/notes /api/v1/incidents/$handoff/notes writer acker"
  "GET /api/v1/tasks/dead /api/v1/tasks/dead reader replayer"
  "POST /api/v1/tasks/{incident}/{step}/replay /api/v1/tasks/$task/replay replayer writer"
  "POST /api/v1/tasks/replay /api/v1/tasks/replay replayer reader"
  "GET /api/v1/status /api/v1/status reader writer"
  "GET /api/v1/oncall /api/v1/oncall reader acker"
  "GET /api/v1/kpi /api/v1/kpi reader replayer"
  "GET /api/v1/events /api/v1/events reader acker"
  "GET /api/v1/audit /api/v1/audit admin reader"
)
for r in "${routes[@]}"; do
  read -r method template path allowed refused <<<"$r"
  call "$template" "$method" "$path" ""
  expect_code 401 "$method $path without a token"
  call "$template" "$method" "$path" "not-a-token"
  expect_code 401 "$method $path with a wrong token"
  tv=T_$refused
  call "$template" "$method" "$path" "${!tv}" '{}'
  expect_code 403 "$method $path as $refused"
  grep -q "lacks the scope" "$E2E_DIR/body" || fail "403 body: $(cat "$E2E_DIR/body")"
done
pass "13 routes: 401 without or with a wrong token, 403 without the scope"
call /api/v1/whoami GET /api/v1/whoami "$T_reader"
expect_code 200 whoami
expect_eq "whoami" "$(jq -c . "$E2E_DIR/body")" '{"name":"reader","scopes":["incidents:read"]}'
call /api/v1/whoami GET /api/v1/whoami "$T_admin"
expect_eq "admin holds every scope" "$(jq '.scopes | length' "$E2E_DIR/body")" 5
call - GET /api/v1/nope "$T_admin"
expect_code 404 "unknown route"
call - DELETE /api/v1/status "$T_admin"
expect_code 405 "wrong method"

# ---- incidents: list, filters, paging, one ----
call /api/v1/incidents GET /api/v1/incidents "$T_reader"
expect_code 200 "list"
expect_eq "two incidents" "$(jq '.incidents | length' "$E2E_DIR/body")" 2
call /api/v1/incidents GET "/api/v1/incidents?service=db&state=unacknowledged&since=1h" "$T_reader"
expect_eq "filtered by service and state" "$(jq -r '[.incidents[].id] | join(",")' "$E2E_DIR/body")" "$handoff"
call /api/v1/incidents GET "/api/v1/incidents?q=FAILOVER&severity=critical" "$T_reader"
expect_eq "text search" "$(jq -r '.incidents[0].id' "$E2E_DIR/body")" "$handoff"
call /api/v1/incidents GET "/api/v1/incidents?limit=1" "$T_reader"
cursor=$(jq -r .next_cursor "$E2E_DIR/body")
first=$(jq -r '.incidents[0].id' "$E2E_DIR/body")
[ "$cursor" != null ] || fail "no next_cursor on a page of 1 of 2"
call /api/v1/incidents GET "/api/v1/incidents?limit=1&cursor=$cursor" "$T_reader"
second=$(jq -r '.incidents[0].id' "$E2E_DIR/body")
[ "$second" != "$first" ] && [ "$(jq -r .next_cursor "$E2E_DIR/body")" = null ] || fail "paging: $first then $(cat "$E2E_DIR/body")"
pass "paging with limit and cursor"
call /api/v1/incidents GET "/api/v1/incidents?since=yesterday" "$T_reader"
expect_code 400 "bad since"
expect_eq "the error names the field" "$(jq -r .field "$E2E_DIR/body")" since
call /api/v1/incidents GET "/api/v1/incidents?limit=9999" "$T_reader"
expect_code 400 "limit too large"
call /api/v1/incidents GET "/api/v1/incidents?state=sleepy" "$T_reader"
expect_code 400 "bad state"
call "/api/v1/incidents/{id}" GET "/api/v1/incidents/$poison" "$T_reader"
expect_code 200 "show"
jq -e '.steps[] | select(.id == "call") | .state == "dead" and .attempts == 3 and (.error | test("500"))' "$E2E_DIR/body" >/dev/null \
  || fail "the dead step in show: $(jq -c .steps "$E2E_DIR/body")"
jq -e '(.alerts | length) >= 1 and (.timeline | length) > 3 and .acknowledged == null' "$E2E_DIR/body" >/dev/null || fail "show: $(head -c 600 "$E2E_DIR/body")"
call "/api/v1/incidents/{id}" GET /api/v1/incidents/inc-nope "$T_reader"
expect_code 404 "unknown incident"

# ---- acknowledge, note, resolve ----
call "/api/v1/incidents/{id}/ack" POST "/api/v1/incidents/$handoff/ack" "$T_acker" '{"by":"mallory"}'
expect_code 200 ack
expect_eq "acknowledged as the token's holder" "$(jq -r '.outcome + " " + .acknowledged_by' "$E2E_DIR/body")" "acknowledged acker"
call "/api/v1/incidents/{id}/ack" POST "/api/v1/incidents/$handoff/ack" "$T_admin"
expect_eq "second ack" "$(jq -r '.outcome + " " + .acknowledged_by' "$E2E_DIR/body")" "already acker"
call "/api/v1/incidents/{id}/ack" POST "/api/v1/incidents/$handoff/ack" "$T_acker" 'not json'
expect_code 400 "ack with a body that is not JSON"
call "/api/v1/incidents/{id}/ack" POST /api/v1/incidents/inc-nope/ack "$T_acker"
expect_code 404 "ack of an unknown incident"
# live events: a stream open while the note is added
curl -sN --max-time 6 -H "Authorization: Bearer $T_reader" "$API/api/v1/events?incident=$handoff" >"$E2E_DIR/sse.txt" 2>/dev/null &
sse=$!
wait_for 5 grep -q "muster events" "$E2E_DIR/sse.txt" || fail "the event stream did not open"
call "/api/v1/incidents/{id}/notes" POST "/api/v1/incidents/$handoff/notes" "$T_writer" '{"text":"db-2 is taking traffic"}'
expect_code 201 note
call "/api/v1/incidents/{id}/notes" POST "/api/v1/incidents/$handoff/notes" "$T_writer" '{"text":""}'
expect_code 400 "empty note"
expect_eq "the empty note's field" "$(jq -r .field "$E2E_DIR/body")" text
wait "$sse" 2>/dev/null || true
grep -q '^event: incident.note$' "$E2E_DIR/sse.txt" || fail "no incident.note on the stream: $(cat "$E2E_DIR/sse.txt")"
grep '^data: ' "$E2E_DIR/sse.txt" | sed 's/^data: //' | jq -e -s 'all(.[]; .subject != null and .specversion == "1.0")' >/dev/null \
  || fail "stream data is not CloudEvents of the incident"
grep -q "^id: [0-9]*-[0-9]*$" "$E2E_DIR/sse.txt" || fail "no ids on the stream"
pass "the event stream carried the note"
call "/api/v1/incidents/{id}" GET "/api/v1/incidents/$handoff" "$T_reader"
jq -e '.acknowledged.by == "acker" and .acknowledged.via == "api" and any(.timeline[]; .type == "incident.note" and .data.text == "db-2 is taking traffic" and .data.by == "writer")' \
  "$E2E_DIR/body" >/dev/null || fail "show after ack and note: $(jq -c '{acknowledged, t: [.timeline[].type]}' "$E2E_DIR/body")"
pass "show says who acknowledged, and the note is in the timeline"
call "/api/v1/incidents/{id}/resolve" POST "/api/v1/incidents/$handoff/resolve" "$T_writer"
expect_code 200 resolve
expect_eq "resolved by" "$(jq -r '.outcome + " " + .resolved_by' "$E2E_DIR/body")" "resolved writer"
call "/api/v1/incidents/{id}/resolve" POST "/api/v1/incidents/$handoff/resolve" "$T_writer"
expect_eq "resolve again" "$(jq -r .outcome "$E2E_DIR/body")" already
call /api/v1/incidents GET "/api/v1/incidents?state=resolved" "$T_reader"
expect_eq "the resolved filter" "$(jq -r '[.incidents[].id] | join(",")' "$E2E_DIR/body")" "$handoff"

# ---- dead tasks and replay ----
call /api/v1/tasks/dead GET /api/v1/tasks/dead "$T_reader"
expect_eq "the dead task" "$(jq -r '.tasks[0].task + " " + (.tasks[0].attempts | tostring)' "$E2E_DIR/body")" "$task 3"
call "/api/v1/tasks/{incident}/{step}/replay" POST "/api/v1/tasks/$task/replay" "$T_replayer" '{"dry_run":true}'
expect_eq "dry run" "$(jq -r '.outcome + " " + .state_before' "$E2E_DIR/body")" "would replay dead"
call /api/v1/tasks/replay POST /api/v1/tasks/replay "$T_replayer" '{"all":true,"dry_run":true}'
expect_eq "bulk dry run" "$(jq -r '.would_replay' "$E2E_DIR/body")" 1
call /api/v1/tasks/replay POST /api/v1/tasks/replay "$T_replayer" '{"all":true,"workflow":"poison"}'
expect_code 400 "two selectors"
call /api/v1/tasks/replay POST /api/v1/tasks/replay "$T_replayer" '{"tasks":["nope"]}'
expect_eq "a bad task in a list" "$(jq -r '.results[0].outcome + " " + (.failed | tostring)' "$E2E_DIR/body")" "invalid 1"
expect_eq "still dead after the dry runs" "$("$BIN/muster" dead list --json | jq length)" 1
call "/api/v1/tasks/{incident}/{step}/replay" POST "/api/v1/tasks/${poison}%2Fcall/replay" "$T_replayer" '{"dry_run":"yes"}'
expect_code 400 "dry_run not a boolean"
call "/api/v1/tasks/{incident}/{step}/replay" POST "/api/v1/tasks/${poison}%2Fcall/replay" "$T_replayer"
expect_eq "replayed (slash as %2F)" "$(jq -r .outcome "$E2E_DIR/body")" replayed
# (the handoff run still waits for its manual step: wait for the poison run alone)
run_ok() { "$BIN/muster" incident list --json | jq -e --arg p "$poison" '.[] | select(.id == $p) | .run == "succeeded"' >/dev/null; }
wait_for 60 run_ok || fail "the replayed run did not succeed: $("$BIN/muster" incident list)"
call "/api/v1/tasks/{incident}/{step}/replay" POST "/api/v1/tasks/$task/replay" "$T_replayer"
expect_code 409 "replay of a task that succeeded"
call "/api/v1/tasks/{incident}/{step}/replay" POST "/api/v1/tasks/inc-nope/x/replay" "$T_replayer"
expect_code 404 "replay of an unknown task"
call /api/v1/tasks/replay POST /api/v1/tasks/replay "$T_replayer" '{"all":true}'
expect_eq "nothing dead is left" "$(jq -r '.replayed' "$E2E_DIR/body")" 0

# ---- status, on-call, KPIs, audit ----
call /api/v1/status GET /api/v1/status "$T_reader"
expect_eq "status" "$(jq -r '[.incidents, .dead] | join(" ")' "$E2E_DIR/body")" "2 0"
call /api/v1/oncall GET /api/v1/oncall "$T_reader"
expect_code 200 oncall
want=$("$BIN/muster" oncall --json | jq -c '[.[] | {schedule, who}] | sort_by(.schedule)')
expect_eq "on call now, as muster oncall says" "$(jq -c '[.schedules[] | {schedule, who}] | sort_by(.schedule)' "$E2E_DIR/body")" "$want"
[ "$(jq '.schedules | length' "$E2E_DIR/body")" -ge 2 ] || fail "no schedules: $(cat "$E2E_DIR/body")"
call /api/v1/kpi GET "/api/v1/kpi?since=30d" "$T_reader"
expect_code 200 kpi
call /api/v1/kpi GET "/api/v1/kpi?by=service" "$T_reader"
expect_code 200 "kpi by service"
call /api/v1/kpi GET "/api/v1/kpi?by=week" "$T_reader"
expect_code 200 "kpi by week"
expect_eq "kpi: the period and the one before" \
  "$(jq -r '[.days, .by, .total.incidents >= 0, (.previous.since | type), (.change | type)] | join(" ")' "$E2E_DIR/body")" \
  "30 week true string object"
call /api/v1/kpi GET "/api/v1/kpi?since=3d&until=1d" "$T_reader"
expect_code 200 "kpi between two times"
expect_eq "kpi: 2 days before yesterday's end" "$(jq -r '.days' "$E2E_DIR/body")" 2
call /api/v1/kpi GET "/api/v1/kpi?until=soon" "$T_reader"
expect_code 400 "kpi until a bad time"
call /api/v1/kpi GET "/api/v1/kpi?by=colour" "$T_reader"
expect_code 400 "kpi by an unknown label"
call /api/v1/audit GET "/api/v1/audit?since=1h" "$T_admin"
expect_code 200 audit
jq -e --arg h "$handoff" --arg t "$task" '
  any(.entries[]; .action == "ack" and .by == "acker" and .via == "api" and .incident == $h and (.remote | startswith("127.0.0.1:"))) and
  any(.entries[]; .action == "note" and .by == "writer") and
  any(.entries[]; .action == "resolve" and .by == "writer" and .outcome == "resolved") and
  any(.entries[]; .action == "replay" and .by == "replayer" and .task == $t) and
  (.entries | map(select(.action == "replay")) | length) == 1' "$E2E_DIR/body" >/dev/null \
  || fail "audit entries: $(jq -c '[.entries[] | {action, by, outcome}]' "$E2E_DIR/body")"
pass "audit: ack, note, resolve and the replay (not the dry runs), each with who and from where"

# ---- the console ----
curl -s -D "$E2E_DIR/h.txt" -o "$E2E_DIR/index.html" "$API/" || fail "GET /"
grep -qi '^content-type: text/html; charset=utf-8' "$E2E_DIR/h.txt" || fail "console type: $(cat "$E2E_DIR/h.txt")"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self'" "$E2E_DIR/h.txt" || fail "no strict CSP"
cmp -s "$E2E_DIR/index.html" "$SRC/api/console/index.html" || fail "GET / is not api/console/index.html"
etag=$(grep -i '^etag:' "$E2E_DIR/h.txt" | cut -d' ' -f2 | tr -d '\r')
expect_eq "unchanged: 304" "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$API/index.html")" 304
pass "the console is served with its type, a strict CSP and an ETag"
curl -s "$API/metrics" | "$BIN/muster-promcheck" >"$E2E_DIR/m.txt" || fail "/metrics invalid"
grep -q '^muster_api_requests_total{route="ack",code="200"} 2$' "$E2E_DIR/m.txt" || fail "requests metric: $(grep api_requests "$E2E_DIR/m.txt")"

# ---- slowloris: a head that trickles is cut at api.header_timeout (1 s) ----
"$BIN/muster-slowloris" --port "$API_PORT" --from 127.0.0.2 --connections 2 --interval 300 \
  --duration 2600 --reconnect 5000 >"$E2E_DIR/slow.json"
expect_eq "trickling heads closed by muster-api" "$(jq .closed_by_server "$E2E_DIR/slow.json")" 2
grep -q "closed the connection from 127.0.0.2:[0-9]* unanswered: no complete request head within 1000 ms" \
  "$E2E_DIR/api.log" || fail "no log line for a late head: $(tail -3 "$E2E_DIR/api.log")"
call /api/v1/whoami GET /api/v1/whoami "$T_reader"
expect_code 200 "whoami after the slow heads"
# a body over api.body_max: 413 before it is read
code=$(head -c 70000 /dev/zero | tr '\0' 'x' | curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $T_writer" -H 'Content-Type: application/json' --data-binary @- \
  "$API/api/v1/incidents/$handoff/notes")
expect_code 413 "a body over api.body_max"

# ---- the muster command through the API: no Redis to reach ----
cli() { MUSTER_API_URL=$API MUSTER_API_TOKEN=$1 MUSTER_REDIS_PORT=1 "$BIN/muster" "${@:2}"; }
cli "$T_reader" status --json | jq -e '.incidents == 2' >/dev/null || fail "status through the API"
cli "$T_reader" incident list | grep -q "$poison" || fail "incident list through the API"
cli "$T_reader" incident show "$handoff" | grep -q "acknowledged by acker (api)" || fail "incident show through the API: $(cli "$T_reader" incident show "$handoff")"
cli "$T_reader" ack "$poison" 2>"$E2E_DIR/err.txt" && fail "ack through the API with a read token"
grep -q "lacks the scope incidents:ack (HTTP 403" "$E2E_DIR/err.txt" || fail "the refusal: $(cat "$E2E_DIR/err.txt")"
cli "$T_acker" ack "$poison" | grep -q "acknowledged $poison as acker" || fail "ack through the API"
cli "$T_reader" dead list | grep -q "^TASK" || fail "dead list through the API"
cli "$T_replayer" replay "$task" --force --dry-run | grep -q "would replay $task" || fail "replay dry run through the API"
cli "$T_admin" audit --since 1h | grep -q "acker .* api .* ack" || fail "audit through the API"
cli "$T_reader" audit 2>/dev/null && fail "audit with a read token"
pass "the muster command works through the API alone"
# and without it, the command's own actions are audited with the OS user
USER=opal "$BIN/muster" note "$poison" "from the terminal" | grep -q "noted on $poison as opal" || fail "muster note"
"$BIN/muster" audit --json | jq -e 'any(.[]; .action == "note" and .by == "opal" and .via == "cli")' >/dev/null || fail "cli actions are not audited"
pass "the command's own actions are audited"

# ---- the events on muster.events ----
settle_events
expect_eq "incident.acknowledged by acker via api, of both incidents" "$(count_events '.type == "incident.acknowledged" and .data.by == "acker" and .data.via == "api"')" 2
expect_eq "incident.note" "$(count_events '.type == "incident.note" and .data.by == "writer" and .data.text == "db-2 is taking traffic"')" 1
expect_eq "operator.action events" "$(count_events '.type == "operator.action"')" "$(("$BIN/muster" audit --json) | jq length)"
expect_eq "operator.action of the replay" "$(count_events ".type == \"operator.action\" and .data.action == \"replay\" and .data.task == \"$task\" and .data.by == \"replayer\"")" 1

# every event of the run (operator.action and incident.note among them), and
# the stream's, against docs/events.schema.json
{ jq -c .ev "$E2E_DIR/events.jsonl"; grep '^data: ' "$E2E_DIR/sse.txt" | sed 's/^data: //'; } >"$E2E_DIR/all-events.jsonl"
node "$NODE_DIR/events_check.mjs" "$SRC/docs/events.schema.json" "$E2E_DIR/all-events.jsonl" >"$E2E_DIR/events-check.txt" ||
  fail "events that do not match docs/events.schema.json: $(cat "$E2E_DIR/events-check.txt")"
grep -q "operator.action" "$E2E_DIR/events-check.txt" && grep -q "incident.note" "$E2E_DIR/events-check.txt" ||
  fail "the schema check saw no operator.action or incident.note: $(cat "$E2E_DIR/events-check.txt")"
pass "every event matches docs/events.schema.json ($(head -1 "$E2E_DIR/events-check.txt"))"

# ---- every JSON answer against the description ----
node "$NODE_DIR/openapi_check.mjs" "$SRC/docs/api.openapi.yaml" "$RESP" || fail "responses do not match docs/api.openapi.yaml"
# A stream held open while muster-api stops: it ends, and the server exits 0.
curl -sN --max-time 20 -H "Authorization: Bearer $T_reader" "$API/api/v1/events" >/dev/null 2>&1 &
held=$!
sleep 0.5
kill -TERM "$API_PID"
for _ in $(seq 100); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$API_PID" 2>/dev/null && fail "muster-api did not stop in 10 s with a stream open"
rc=0; wait "$API_PID" || rc=$?
expect_eq "muster-api exit code" "$rc" 0
wait "$held" 2>/dev/null || true
if grep -q "Sanitizer" "$E2E_DIR/api.log"; then fail "sanitizer report in api.log: $(grep -A20 Sanitizer "$E2E_DIR/api.log" | head -40)"; fi
echo "1 passed, 0 failed"
