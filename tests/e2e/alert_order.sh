#!/usr/bin/env bash
# alert_order.sh - an alert's firing and its resolution, sent one right
# after the other, are read in that order: muster keys each message by its
# alert (fingerprint, or an Alertmanager group's key), so both land on one
# partition of the many that muster up creates. Unkeyed, a resolution could
# be read first, resolve nothing, and leave its incident open for good.
. "$(dirname "$0")/../harness/e2e.sh"
N=30
mkdir -p "$E2E_DIR/workflows" "$E2E_DIR/alerts"
cat >"$E2E_DIR/workflows/order.yaml" <<'YAML'
name: order
triggers:
  - matchers: ['order="yes"']
steps:
  - {id: note, action: noop, with: {echo: "{{ alert.labels.n }}"}}
YAML
files=()
for i in $(seq 1 $N); do
  for status in firing resolved; do
    printf '{"source":"t","summary":"order %s","status":"%s","labels":{"order":"yes","n":"%s"}}\n' \
      "$i" "$status" "$i" >"$E2E_DIR/alerts/$i-$status.json"
    files+=("$E2E_DIR/alerts/$i-$status.json")
  done
done
start_pipeline
"$BIN/muster" send-alert "${files[@]}" >/dev/null || fail "send-alert failed"
"$BIN/muster" wait --incidents $N --resolved $N --timeout 60s >/dev/null \
  || fail "not every incident resolved: $("$BIN/muster" status 2>&1 | head -20)"
# Each incident: opened, workflow.started, task.started, task.succeeded,
# workflow.completed, resolved.
events_until $((N * 6)) 60 || fail "only $(wc -l <"$E2E_DIR/events.jsonl") of $((N * 6)) events arrived"
expect_eq "incidents opened" "$(count_events '.type == "incident.opened"')" $N
expect_eq "incidents resolved" "$(count_events '.type == "incident.resolved"')" $N
pass "$N alerts fired and resolved back to back: every incident resolved"
echo "1 passed, 0 failed"
