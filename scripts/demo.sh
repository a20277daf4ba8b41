#!/usr/bin/env bash
# demo.sh - the whole story on one machine: `muster up --examples` runs the
# embedded Kafka, a Redis child, the dispatcher, two workers, muster-metrics
# and a local receiver standing in for Jira, Slack and Twilio. Sends the
# sample alerts; each pages the primary by Slack and SMS, who does not
# answer, then the secondary, who presses the Slack button (the receiver
# sends the signed click). Sends the resolutions, prints each incident's
# timeline, who acknowledged at which level after how long, and the four
# yardsticks (MTTA, MTTR, automated actions per incident, manual tasks).
# Exits 0 only when every step of every run (on_resolve included)
# succeeded and every page was acknowledged at level 2 by the secondary
# (dave) via Slack.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MUSTER_BIN_DIR:-build}
work=$(mktemp -d /tmp/muster-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN/muster" validate docs/examples/workflows

echo "== starting the embedded pipeline and the local receiver (muster up --examples)"
MUSTER_LOG_LEVEL=warn "$BIN/muster" up --examples --workers 2 --state-dir "$work/state" \
  --env-file "$work/env" >"$work/up.out" 2>"$work/up.log" &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/env" ] && break; sleep 0.1; done
if [ ! -s "$work/env" ]; then cat "$work/up.out" "$work/up.log"; exit 1; fi
sed -n '1,9p' "$work/up.out"
. "$work/env"

echo "== sending the sample alerts"
"$BIN/muster" send-alert docs/examples/alerts/*.json
n=$(ls docs/examples/alerts/*.json | wc -l)

echo "== waiting for the workflows"
rc=0
"$BIN/muster" wait --incidents "$n" --timeout 60s || rc=$?

ids=$("$BIN/muster" incident list --json | sed -n 's/.*"id": "\(inc-[0-9a-f]*\)".*/\1/p')
echo "== the primary (carol) was paged by Slack and SMS and did not answer; the"
echo "   secondary (dave) was paged a few seconds later and pressed Acknowledge"
for id in $ids; do
  "$BIN/muster" incident show "$id" --json | jq -r --arg id "$id" '
    [.timeline[] | select(.type == "incident.acknowledged")][0] as $a |
    [.timeline[] | select(.type == "task.succeeded" and .data.step == "page")][0].data.output as $o |
    if $a then "  \($id): acknowledged by \($a.data.person) via \($a.data.channel) at level \($a.data.level)" +
      (if $o.ack_ms then " after \($o.ack_ms) ms" else "" end)
    else "  \($id): not acknowledged" end'
  ok=$("$BIN/muster" incident show "$id" --json | jq -r '[.timeline[] | select(.type == "incident.acknowledged")][0].data |
    select(.person == "dave" and .channel == "slack" and .level == 2) | "yes"')
  [ "$ok" = yes ] || { echo "demo: $id was not acknowledged at level 2 by dave via slack" >&2; rc=1; }
done

echo "== resolving them (on_resolve comments on each ticket)"
"$BIN/muster" send-alert docs/examples/resolved/*.json
"$BIN/muster" wait --incidents "$n" --resolved "$n" --timeout 60s || rc=$?

for id in $ids; do
  echo
  "$BIN/muster" incident show "$id"
done
echo
echo "== the receiver got $(wc -l <"$work/state/sink.log") requests:"
sed -n 's/.*"method": *"\([A-Z]*\)", *"path": *"\([^"]*\)".*/  \1 \2/p' "$work/state/sink.log" | sort | uniq -c
echo
echo "== the yardsticks of this run (muster report)"
"$BIN/muster" report || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "demo: not every step succeeded (muster wait exited $rc); logs:" >&2
  tail -n 30 "$work/up.log" >&2
fi
exit "$rc"
