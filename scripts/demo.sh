#!/usr/bin/env bash
# demo.sh - the whole story on one machine: embedded Kafka, a Redis child,
# the dispatcher, two workers and a local receiver standing in for Jira and
# Slack and Twilio. Sends the sample alerts, then their resolutions, prints
# each incident's timeline, and exits 0 only when every step of every run
# (on_resolve included) succeeded.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MUSTER_BIN_DIR:-build}
# exec steps run programs from these directories only: the example scripts
# and the usual system ones (the diagnostics use printf and friends).
export MUSTER_EXEC_DIRS="$PWD/docs/examples/scripts:/usr/bin:/bin"
# The credentials the example workflows name as {secret: ...}; a real
# deployment mounts them from a Secret instead (docs/actions.md#secrets).
export MUSTER_SECRET_JIRA_TOKEN=demo-jira-token MUSTER_SECRET_SLACK_TOKEN=xoxb-demo-token
export MUSTER_SECRET_TWILIO_TOKEN=demo-twilio-token
work=$(mktemp -d /tmp/muster-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting the local receiver (stands in for Jira, Slack and Twilio)"
"$BIN/muster-sink" --port 0 --port-file "$work/sink.port" --log "$work/sink.log" \
  --routes docs/examples/sink-routes.json >"$work/sink.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
sink_port=$(cat "$work/sink.port")

# The example workflows name port 18080; point them at this receiver.
mkdir -p "$work/workflows"
for f in docs/examples/workflows/*.yaml; do
  sed "s#http://127.0.0.1:18080#http://127.0.0.1:${sink_port}#g" "$f" >"$work/workflows/$(basename "$f")"
done
"$BIN/muster" validate "$work/workflows"

echo "== starting the embedded pipeline (muster up)"
MUSTER_LOG_LEVEL=warn "$BIN/muster" up --workers 2 --workflows "$work/workflows" \
  --state-dir "$work/state" --env-file "$work/env" >"$work/up.out" 2>"$work/up.log" &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/env" ] && break; sleep 0.1; done
if [ ! -s "$work/env" ]; then cat "$work/up.out" "$work/up.log"; exit 1; fi
cat "$work/up.out" | sed -n '1,5p'
set -a; . "$work/env"; set +a

echo "== sending the sample alerts"
"$BIN/muster" send-alert docs/examples/alerts/*.json
n=$(ls docs/examples/alerts/*.json | wc -l)

echo "== waiting for the workflows"
rc=0
"$BIN/muster" wait --incidents "$n" --timeout 60s || rc=$?

echo "== resolving them (on_resolve comments on each ticket)"
"$BIN/muster" send-alert docs/examples/resolved/*.json
"$BIN/muster" wait --incidents "$n" --resolved "$n" --timeout 60s || rc=$?

for id in $("$BIN/muster" incident list --json | sed -n 's/.*"id": "\(inc-[0-9a-f]*\)".*/\1/p'); do
  echo
  "$BIN/muster" incident show "$id"
done
echo
echo "== the receiver got $(wc -l <"$work/sink.log") requests:"
sed -n 's/.*"method": *"\([A-Z]*\)", *"path": *"\([^"]*\)".*/  \1 \2/p' "$work/sink.log" | sort | uniq -c
if [ "$rc" -ne 0 ]; then
  echo "demo: not every step succeeded (muster wait exited $rc); logs:" >&2
  tail -n 30 "$work/up.log" >&2
fi
exit "$rc"
