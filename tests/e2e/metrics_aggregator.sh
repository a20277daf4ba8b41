#!/usr/bin/env bash
# metrics_aggregator.sh - muster-metrics over a real run: an incident that is
# acknowledged, has a manual step done and resolves, then fires again (a
# reopening); another whose step dies after retries, gets its alert again
# and is replayed. /metrics must parse and agree with the events on muster.events;
# a restart, and a replica that reads every event again, change nothing;
# rollups appear on muster.metrics; every event matches
# docs/events.schema.json; every metric the Grafana dashboard asks for is
# one the worker, the dispatcher or muster-metrics exports.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"

start_sink "$SRC/tests/e2e/fault-routes.json"
workflows_from "$SRC/tests/e2e/operator"
workflows_from "$SRC/tests/e2e/faults"
start_redis
start_kafka
D_PORT=$(free_port)
W_PORT=$(free_port)
M_PORT=$(free_port)
start_dispatcher -s status.port="$D_PORT"
start_worker w1 -s status.port="$W_PORT"

# stop_part NAME: SIGTERM, at most 15 s, then SIGKILL. The daemons go
# before the harness stops Kafka: one left without brokers can take minutes
# to close its consumer, and the cleanup would wait for it.
stop_part() {
  local pid=${PIDS[$1]:-} st end=$((SECONDS + 15))
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while st=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ $st != Z* ]] && [ $SECONDS -lt $end ]; do sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap 'rc=$?; set +e; stop_part metrics; stop_part w1; stop_part dispatcher
      [ $rc -eq 0 ] || tail -n 20 "$E2E_DIR/metrics.log" >&2; (exit $rc); e2e_cleanup' EXIT

# start_metrics [--set k=v ...]: muster-metrics, 2 s rollup windows.
start_metrics() {
  MUSTER_METRICS_ROLLUP_INTERVAL=2s "$BIN/muster-metrics" -s status.port="$M_PORT" "$@" \
    >>"$E2E_DIR/metrics.log" 2>&1 &
  PIDS[metrics]=$!
  E2E_PIDS+=($!)
  wait_for 20 curl -sf --max-time 10 "http://127.0.0.1:$M_PORT/readyz" || fail "muster-metrics not ready: $(tail -5 "$E2E_DIR/metrics.log")"
}
# stop_metrics: SIGTERM; it must exit 0 (and, under ASan, leak nothing).
stop_metrics() {
  local rc=0
  signal TERM metrics
  gone() { local st; st=$(ps -o stat= -p "${PIDS[metrics]}" 2>/dev/null) || true; [ -z "$st" ] || [[ $st == Z* ]]; }
  wait_for 20 gone || fail "muster-metrics did not stop within 20 s of SIGTERM: $(tail -5 "$E2E_DIR/metrics.log")"
  wait "${PIDS[metrics]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "muster-metrics exited with $rc: $(tail -5 "$E2E_DIR/metrics.log")"
  ! grep -qE 'AddressSanitizer|runtime error' "$E2E_DIR/metrics.log" || fail "sanitizer report: $(cat "$E2E_DIR/metrics.log")"
}

# scrape PORT NAME: /metrics, checked, as "name{labels} value" lines.
scrape() {
  curl -sf --max-time 10 "http://127.0.0.1:$1/metrics" >"$E2E_DIR/$2.txt" || fail "no /metrics from $2"
  "$BIN/muster-promcheck" <"$E2E_DIR/$2.txt" >"$E2E_DIR/$2.samples" ||
    fail "$2: /metrics is not valid Prometheus text"
}
# metric SAMPLE: its value in the last muster-metrics scrape (0 when absent).
metric() { awk -v s="$1" 'index($0, s " ") == 1 { v = $NF } END { print v + 0 }' "$E2E_DIR/metrics.samples"; }
# sum_metric PATTERN: the sum of every sample matching an awk regex.
sum_metric() { awk -v p="$1" '$0 ~ p { v += $NF } END { print v + 0 }' "$E2E_DIR/metrics.samples"; }
# The aggregates: what must not change across restarts and replays.
aggregates() {
  grep -E '^muster_(incident|incidents|automated|manual_tasks_total|action|task_)' "$E2E_DIR/metrics.samples" | sort
}

start_metrics

HANDOFF='{"source":"t","severity":"critical","summary":"db","labels":{"case":"handoff","service":"db"}}'
POISON='{"source":"t","severity":"warning","summary":"api","labels":{"fault":"poison","service":"api"}}'
send() { echo "$1" | "$BIN/muster" send-alert - >/dev/null || fail "send-alert"; }
status() { "$BIN/muster" status --json | jq "$1"; }
send "$HANDOFF"
send "$POISON"
waiting() { [ "$(status .manual_waiting)" -eq 1 ]; }
wait_for 30 waiting || fail "the manual step is not waiting: $("$BIN/muster" status)"
inc=$("$BIN/muster" incident list --json | jq -r '.[] | select(.workflow == "handoff") | .id')
pinc=$("$BIN/muster" incident list --json | jq -r '.[] | select(.workflow == "poison") | .id')
sleep 0.3
"$BIN/muster" ack "$inc" --by alice >/dev/null || fail "ack"
"$BIN/muster" done "$inc" confirm_failover --by carol >/dev/null || fail "done"
send "${HANDOFF/\"labels\"/\"status\":\"resolved\",\"labels\"}"
resolved() { "$BIN/muster" incident list --json | jq -e --arg i "$inc" '.[] | select(.id == $i) | .status == "resolved"' >/dev/null; }
wait_for 30 resolved || fail "not resolved"
# The poison step dies after 3 attempts; the same alert again joins its
# incident; a replay (the receiver answers by now) carries the run on.
dead_one() { [ "$(status .dead)" -eq 1 ]; }
wait_for 30 dead_one || fail "the poison step did not die: $("$BIN/muster" status)"
send "$POISON"
"$BIN/muster" replay --incident "$pinc" --by ops >/dev/null || fail "replay"
# The handoff alert fires again: a new incident that reopens the first.
send "$HANDOFF"
poison_done() { "$BIN/muster" incident list --json | jq -e --arg i "$pinc" '.[] | select(.id == $i) | .run == "succeeded"' >/dev/null; }
wait_for 30 poison_done || fail "the replayed run did not succeed"
two_handoffs() { [ "$("$BIN/muster" incident list --json | jq '[.[] | select(.workflow == "handoff")] | length')" -eq 2 ] && waiting; }
wait_for 30 two_handoffs || fail "no second handoff incident waiting for its person"
settle_events
total=$(wc -l <"$E2E_DIR/events.jsonl")

# muster-metrics has counted every event once it shows them all.
all_counted() { scrape "$M_PORT" metrics; [ "$(sum_metric 'result="counted"')" -eq "$total" ]; }
wait_for 30 all_counted || fail "muster-metrics counted $(sum_metric 'result="counted"') of $total events"
pass "muster-metrics counted all $total events and /metrics parses"

H='workflow="handoff",severity="critical",service="db"'
P='workflow="poison",severity="warning",service="api"'
expect_eq "handoff opened" "$(metric "muster_incidents_opened_total{$H}")" 2
expect_eq "poison opened" "$(metric "muster_incidents_opened_total{$P}")" 1
# MTTA is the acknowledgement's ack_ms; MTTR the gap between the events' times.
ack_ms=$(jq -r 'select(.ev.type == "incident.acknowledged") | .ev.data.ack_ms' "$E2E_DIR/events.jsonl")
ttr_ms=$(jq -r --arg i "$inc" -s 'def ms: (.[0:19] + "Z" | fromdate) * 1000 + (.[20:23] | tonumber);
  [.[] | select(.ev.subject == $i)] |
  ((.[] | select(.ev.type == "incident.resolved") | .ev.time | ms) -
   (.[] | select(.ev.type == "incident.opened") | .ev.time | ms))' "$E2E_DIR/events.jsonl")
close_to() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 0.0005 && d > -0.0005) }'; }
expect_eq "MTTA observations" "$(metric "muster_incident_time_to_acknowledge_seconds_count{$H}")" 1
close_to "$(metric "muster_incident_time_to_acknowledge_seconds_sum{$H}")" "$(awk -v m="$ack_ms" 'BEGIN { print m / 1000 }')" ||
  fail "MTTA sum $(metric "muster_incident_time_to_acknowledge_seconds_sum{$H}") s, the event says $ack_ms ms"
pass "MTTA = ack_ms of the event ($ack_ms ms)"
expect_eq "MTTR observations" "$(metric "muster_incident_time_to_resolve_seconds_count{$H}")" 1
close_to "$(metric "muster_incident_time_to_resolve_seconds_sum{$H}")" "$(awk -v m="$ttr_ms" 'BEGIN { print m / 1000 }')" ||
  fail "MTTR sum $(metric "muster_incident_time_to_resolve_seconds_sum{$H}") s, the events say $ttr_ms ms"
pass "MTTR = resolved - opened ($ttr_ms ms)"
expect_eq "poison never acknowledged" "$(metric "muster_incident_time_to_acknowledge_seconds_count{$P}")" 0
# Automated actions: tasks (not attempts) that succeeded, once per task.
automated() { jq -r --arg w "$1" 'select(.ev.type == "task.succeeded" and .ev.data.workflow == $w and .ev.data.action != "manual")
  | "\(.ev.subject)/\(.ev.data.step)"' "$E2E_DIR/events.jsonl" | sort -u | wc -l; }
expect_eq "automated actions, handoff (2 + 1 of the second incident)" "$(metric "muster_automated_actions_total{$H}")" "$(automated handoff)"
expect_eq "automated actions, poison (after the replay)" "$(metric "muster_automated_actions_total{$P}")" 2
expect_eq "manual tasks, handoff" "$(metric "muster_manual_tasks_total{$H}")" 1
for o in succeeded failed; do
  for a in noop webhook manual; do
    expect_eq "$a attempts $o" "$(metric "muster_action_attempts_total{action=\"$a\",outcome=\"$o\"}")" \
      "$(count_events ".type == \"task.$o\" and .data.action == \"$a\"")"
  done
done
expect_eq "webhook retries" "$(metric 'muster_task_retries_total{action="webhook"}')" \
  "$(count_events '.type == "task.retrying"')"
expect_eq "webhook deaths" "$(metric 'muster_task_deaths_total{action="webhook",reason="attempts exhausted"}')" 1
expect_eq "latency observations" "$(sum_metric '^muster_action_duration_seconds_count')" \
  "$(count_events '.type == "task.succeeded" or .type == "task.failed"')"
expect_eq "dead tasks gauge (replayed)" "$(metric "muster_dead_tasks{}")" 0
expect_eq "manual waiting gauge" "$(metric "muster_manual_tasks_waiting{}")" 1
before=$(aggregates)

# A restart in the same group: the counters carry on from Redis.
stop_metrics
start_metrics
scrape "$M_PORT" metrics
[ "$(aggregates)" = "$before" ] || fail "figures changed across a restart: $(diff <(echo "$before") <(aggregates))"
pass "a restarted muster-metrics shows the same figures"

# A replica in a new group reads every event again: nothing counts twice.
stop_metrics
start_metrics -s metrics.group=muster-metrics-replica
all_repeated() { scrape "$M_PORT" metrics; [ "$(sum_metric 'result="duplicate"')" -ge "$total" ]; }
wait_for 30 all_repeated || fail "the replica recognised $(sum_metric 'result="duplicate"') of $total events"
[ "$(aggregates)" = "$before" ] || fail "figures changed when every event came again: $(diff <(echo "$before") <(aggregates))"
expect_eq "events counted" "$(sum_metric 'result="counted"')" "$total"
pass "every event read again was recognised; no figure moved"

# Rollups: one per incident kind and window; their sum is the totals.
rollup_sum() { jq -s -r --arg w "$1" "[unique_by(.id)[] | select(.workflow == \$w) | $2] | add // 0" "$E2E_DIR/rollups.jsonl"; }
rollups_in() {
  timeout 10 kcat -b "$MUSTER_KAFKA_BROKERS" -C -t muster.metrics -o beginning -e -q >"$E2E_DIR/rollups.jsonl" 2>/dev/null || true
  [ "$(rollup_sum handoff .incidents.resolved)" = 1 ] && [ "$(rollup_sum poison .actions.dead)" = 1 ]
}
wait_for 20 rollups_in || fail "rollups on muster.metrics do not add up: $(cat "$E2E_DIR/rollups.jsonl")"
expect_eq "rollups: handoff opened" "$(rollup_sum handoff .incidents.opened)" 2
expect_eq "rollups: handoff automated" "$(rollup_sum handoff .actions.automated)" "$(automated handoff)"
expect_eq "rollups: handoff manual" "$(rollup_sum handoff .actions.manual)" 1
expect_eq "rollups: handoff MTTA count" "$(rollup_sum handoff .mtta_seconds.count)" 1
expect_eq "rollups: poison attempts" "$(rollup_sum poison .actions.attempts)" \
  "$(count_events '(.type == "task.succeeded" or .type == "task.failed") and .data.workflow == "poison"')"
jq -e -s 'all(.[]; (.window.start | test("Z$")) and (.window.end > .window.start) and .service != null)' \
  "$E2E_DIR/rollups.jsonl" >/dev/null || fail "a rollup lacks its window or labels"
pass "rollups on muster.metrics add up to the totals"

# Every event of the run against docs/events.schema.json. The checker below
# knows the keywords the schema uses and refuses a schema with others, so
# nothing in it goes unchecked.
schema_check='
def check($s; $root; $path):
  . as $v
  | ($s | if has("$ref") then ."$ref" | ltrimstr("#/") | split("/") as $p | $root | getpath($p) else . end) as $s
  | [ ($s.type // null) as $t
      | if $t == null then empty
        else ($v | type) as $vt
          | ([$t] | flatten) as $ts
          | if ($ts | any(. == $vt or (. == "integer" and $vt == "number" and ($v | floor) == $v))) then empty
            else "\($path): \($vt), want \($ts | join(" or "))" end end,
      (if $s | has("const") then (if $v == $s.const then empty else "\($path): \($v | tojson) is not \($s.const | tojson)" end) else empty end),
      (if $s | has("enum") then (if ($s.enum | index([$v])) then empty else "\($path): \($v | tojson) not in \($s.enum | tojson)" end) else empty end),
      (if ($s | has("minimum")) and ($v | type) == "number" and $v < $s.minimum then "\($path): \($v) < \($s.minimum)" else empty end),
      (if ($s | has("minLength")) and ($v | type) == "string" and ($v | length) < $s.minLength then "\($path): shorter than \($s.minLength)" else empty end),
      (if ($s | has("pattern")) and ($v | type) == "string" and ($v | test($s.pattern) | not) then "\($path): \($v) does not match \($s.pattern)" else empty end),
      (if ($v | type) == "object" then
         (($s.required // [])[] | select(. as $k | $v | has($k) | not) | "\($path): \(.) missing"),
         ($v | to_entries[] | . as $e
           | if ($s.properties // {} | has($e.key)) then ($e.value | check($s.properties[$e.key]; $root; "\($path).\($e.key)"))
             elif $s.additionalProperties == false then "\($path): unexpected \($e.key)"
             elif ($s.additionalProperties | type) == "object" then ($e.value | check($s.additionalProperties; $root; "\($path).\($e.key)"))
             else empty end)
       else empty end),
      (if ($v | type) == "array" and ($s | has("items")) then ($v | to_entries[] | .value | check($s.items; $root; $path + "[]")) else empty end),
      (($s.allOf // [])[] | . as $sub
         | if ($sub | has("if")) then
             (if ([$v | check($sub.if; $root; $path)] | length) == 0 then ($v | check($sub.then; $root; $path)) else empty end)
           else ($v | check($sub; $root; $path)) end)
    ] | .[];
def keywords: keys[], ((.properties // {})[] | keywords), ((."$defs" // {})[] | keywords),
  ((.items // empty) | keywords), ((.allOf // [])[] | keywords), ((.if // empty) | keywords),
  ((.then // empty) | keywords), ((.additionalProperties // null) | objects | keywords);
'
known='["$defs","$id","$ref","$schema","additionalProperties","allOf","const","description","enum","if","items","minLength","minimum","pattern","properties","required","then","title","type"]'
jq -e -n --argjson known "$known" --slurpfile s "$SRC/docs/events.schema.json" \
  "$schema_check"'[$s[0] | keywords] | unique - $known | if length == 0 then true else error("schema keywords the check does not know: \(.)") end' >/dev/null ||
  fail "docs/events.schema.json uses keywords the check cannot check"
problems=$(jq -r --slurpfile s "$SRC/docs/events.schema.json" "$schema_check"'.ev as $e | $e | check($s[0]; $s[0]; "\($e.type) \($e.id)")' "$E2E_DIR/events.jsonl")
[ -z "$problems" ] || fail "events that do not match docs/events.schema.json: $problems"
types=$(jq -r '.ev.type' "$E2E_DIR/events.jsonl" | sort -u | tr '\n' ' ')
pass "all $total events match docs/events.schema.json ($types)"
# Where a full JSON Schema validator is at hand, it must agree.
if python3 -c 'import jsonschema' 2>/dev/null; then
  jq -c .ev "$E2E_DIR/events.jsonl" | python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = [f"{e['"'"'type'"'"']} {e['"'"'id'"'"']}: {err.message}" for e in map(json.loads, sys.stdin) for err in v.iter_errors(e)]
sys.exit("\n".join(bad) if bad else 0)' "$SRC/docs/events.schema.json" || fail "python jsonschema (draft 2020-12) refuses the schema or an event"
  pass "python jsonschema (draft 2020-12) accepts the schema and every event"
else
  echo "skip: python3 jsonschema is not installed; the jq check above stands alone"
fi
# The check finds what it should: a broken event is refused.
bad=$(head -1 "$E2E_DIR/events.jsonl" | jq -c '.ev | del(.id) | .data.workflow = 7' |
  jq -r --slurpfile s "$SRC/docs/events.schema.json" "$schema_check"'check($s[0]; $s[0]; "bad")')
grep -q "id missing" <<<"$bad" && grep -q "workflow: number" <<<"$bad" || fail "the schema check let a broken event through: $bad"
pass "the schema check refuses an event without id and with a numeric workflow"

# Paging and acknowledgement: the events the page step and the intake write
# (docs/events.md), produced here as they would arrive. A person's Slack
# acknowledgement at level 2 after 200 s makes the person MTTA; the
# escalation and three pages count once each, whatever is delivered twice.
t0=$(date -u +%s)
ev() { # ID TYPE SECONDS-AFTER DATA
  printf 'inc-paging\t{"specversion":"1.0","id":"%s","source":"muster","type":"%s","time":"%s","subject":"inc-paging","datacontenttype":"application/json","data":{"incident":"inc-paging",%s}}\n' \
    "$1" "$2" "$(date -u -d "@$((t0 + $3))" +%Y-%m-%dT%H:%M:%SZ)" "$4"
}
{
  ev pg1 incident.opened 0 '"workflow":"paging","severity":"critical","fingerprint":"f","summary":"s","source":"t","group":"g"'
  ev pg2 page.sent 1 '"person":"alice","channel":"slack","level":1'
  ev pg3 page.sent 1 '"person":"alice","channel":"sms","level":1'
  ev pg4 incident.escalated 60 '"level":2,"targets":["bob"]'
  ev pg5 page.sent 60 '"person":"bob","channel":"slack","level":2'
  ev pg5 page.sent 60 '"person":"bob","channel":"slack","level":2'
  ev pg6 incident.acknowledged 200 '"by":"bob","via":"slack","level":2,"ack_ms":200000,"person":"bob","channel":"slack"'
} | kcat -b "$MUSTER_KAFKA_BROKERS" -P -t muster.events -K '\t' -q 2>/dev/null || fail "kcat could not produce the paging events"
paged() { scrape "$M_PORT" metrics && grep -q '^muster_acknowledgements_total{level="2",channel="slack"} 1' "$E2E_DIR/metrics.samples"; }
wait_for 30 paged || fail "muster-metrics did not count the paging events: $(grep -E 'pages|escalat|acknowledge' "$E2E_DIR/metrics.samples" | head)"
PG='workflow="paging",severity="critical",service="unknown"'
[ "$(metric "muster_pages_total{$PG}")" = 3 ] || fail "pages: $(metric "muster_pages_total{$PG}"), want 3"
[ "$(metric 'muster_pages_by_channel_total{channel="slack"}')" = 2 ] || fail "slack pages: want 2"
[ "$(metric "muster_escalations_total{$PG}")" = 1 ] || fail "escalations: want 1"
[ "$(metric "muster_incident_time_to_person_acknowledge_seconds_sum{$PG}")" = 200 ] ||
  fail "person MTTA: $(metric "muster_incident_time_to_person_acknowledge_seconds_sum{$PG}"), want 200"
pass "pages, escalations, acknowledgements by level and channel, and the person MTTA are counted"

# The dashboard asks only for metrics some program exports.
scrape "$D_PORT" dispatcher
scrape "$W_PORT" worker
scrape "$M_PORT" metrics
cut -d'{' -f1 "$E2E_DIR"/{dispatcher,worker,metrics}.samples | cut -d' ' -f1 | sort -u >"$E2E_DIR/exported"
jq -r '(.. | objects | .expr? // empty), (.templating.list[] | .definition? // empty)' \
  "$SRC/deploy/grafana/muster.json" |
  grep -oE 'muster_[a-zA-Z0-9_:]+' | sort -u >"$E2E_DIR/asked"
[ -s "$E2E_DIR/asked" ] || fail "the dashboard has no muster_ queries"
missing=$(comm -23 "$E2E_DIR/asked" "$E2E_DIR/exported")
[ -z "$missing" ] || fail "the dashboard asks for metrics nobody exports: $missing"
pass "the dashboard's $(wc -l <"$E2E_DIR/asked") metric names are all exported"
stop_metrics
echo "1 passed, 0 failed"
