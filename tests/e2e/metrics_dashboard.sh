#!/usr/bin/env bash
# metrics_dashboard.sh - deploy/grafana/muster.json without a pipeline: it
# parses, is a dashboard Grafana can import, shows what the design asks for,
# and every metric its queries name is registered somewhere in the source.
# (metrics_aggregator.sh checks the names against live /metrics scrapes.)
. "$(dirname "$0")/../harness/e2e.sh"
D=$SRC/deploy/grafana/muster.json

jq -e . "$D" >/dev/null 2>&1 || fail "$D does not parse as JSON"
pass "the dashboard parses"
jq -e '(.title | type == "string") and (.uid | type == "string") and (.schemaVersion >= 30)
       and (.panels | length > 0)
       and all(.panels[]; (.id | type == "number") and (.gridPos.w > 0) and (.gridPos.h > 0)
                          and (.targets | length > 0) and all(.targets[]; (.expr | length > 0) and (.refId | length > 0)))
       and ([.panels[].id] | length == (unique | length))' "$D" >/dev/null ||
  fail "the dashboard lacks a title, uid, panels, or a panel lacks an id, a place or queries"
pass "every panel has an id of its own, a place and queries"
for v in $(jq -r '.. | objects | .expr? // empty' "$D" | grep -oE '\$[a-z_]+' | sort -u); do
  [ "$v" = '$__rate_interval' ] && continue
  jq -e --arg v "${v#\$}" '.templating.list | any(.name == $v)' "$D" >/dev/null || fail "queries use $v, which the dashboard does not define"
done
pass "every variable the queries use is defined"

# What the design asks to see.
exprs=$(jq -r '.. | objects | .expr? // empty' "$D")
for want in 'muster_incident_time_to_acknowledge_seconds' 'muster_incident_time_to_resolve_seconds' \
            'muster_automated_actions_total' 'muster_manual_tasks_total' 'muster_queue_tasks' \
            'muster_action_attempts_total{outcome="failed"}' 'muster_task_deaths_total' \
            'muster_incident_time_to_person_acknowledge_seconds' 'muster_acknowledgements_total' \
            'muster_escalations_total' 'muster_pages_total' 'muster_pages_by_channel_total'; do
  grep -qF "$want" <<<"$exprs" || fail "no panel queries $want"
done
pass "MTTA and MTTR trends, actions per incident, queue depth, failures by action, person MTTA, acknowledgements, escalations and pages are shown"

# Names the programs register (a histogram's samples get their suffixes).
grep -rhoE '"muster_[a-zA-Z0-9_:]+"' "$SRC"/worker "$SRC"/dispatcher "$SRC"/metrics "$SRC"/common/metrics.c |
  tr -d '"' | sort -u >"$E2E_DIR/registered"
sed -e 's/$/_bucket/' "$E2E_DIR/registered" >>"$E2E_DIR/registered"
sed -e '/_bucket$/d; s/$/_sum/' "$E2E_DIR/registered" >>"$E2E_DIR/registered"
sed -e '/_bucket$/d; /_sum$/d; s/$/_count/' "$E2E_DIR/registered" >>"$E2E_DIR/registered"
sort -u -o "$E2E_DIR/registered" "$E2E_DIR/registered"
jq -r '(.. | objects | .expr? // empty), (.templating.list[] | .definition? // empty)' "$D" |
  grep -oE 'muster_[a-zA-Z0-9_:]+' | sort -u >"$E2E_DIR/asked"
missing=$(comm -23 "$E2E_DIR/asked" "$E2E_DIR/registered")
[ -z "$missing" ] || fail "the dashboard names metrics no program registers: $missing"
pass "all $(wc -l <"$E2E_DIR/asked") metric names in the dashboard are registered in the source"
echo "1 passed, 0 failed"
