#!/usr/bin/env bash
# gc_retention.sh - retention from the operator's side: muster gc --dry-run
# lists what would go and changes nothing, muster gc expires it, incident
# show says it expired and that its events remain on muster.events, open
# incidents stay; a worker expires on its own and counts it in /metrics.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/retention"
# This worker never expires by itself during the test (its first look, at
# start, finds nothing due under the default 14 days).
start_worker w1 --set retention.interval=24h
send() { echo "{\"source\":\"t\",\"summary\":\"$1\",\"status\":\"$2\",\"labels\":{\"case\":\"$1\"}}" | "$BIN/muster" send-alert - >/dev/null; }
send gc-done firing
send gc-open firing
"$BIN/muster" wait --incidents 2 --timeout 30s >/dev/null || fail "the runs did not finish"
send gc-done resolved
"$BIN/muster" wait --incidents 2 --resolved 1 --timeout 30s >/dev/null || fail "gc-done did not resolve"
id_of() { "$BIN/muster" incident list --json | jq -r --arg s "$1" '.[] | select(.summary == $s) | .id'; }
done_id=$(id_of gc-done); open_id=$(id_of gc-open)
[ -n "$done_id" ] && [ -n "$open_id" ] || fail "incidents not found"
keys() { redis-cli -p "$REDIS_PORT" --scan --pattern '*' | sort; }
keys >"$E2E_DIR/keys0"
grep -q "{$done_id}:timeline" "$E2E_DIR/keys0" || fail "no timeline for $done_id"

# Under the default retention nothing is due.
"$BIN/muster" gc --dry-run --json >"$E2E_DIR/dry0.json" || fail "gc --dry-run failed"
expect_eq "nothing due under 14 days" "$(jq .would_expire "$E2E_DIR/dry0.json")" 0
# Shortened: the finished incident would go, the open one not; nothing changes.
short=(-s retention.incidents=1ms)
"$BIN/muster" "${short[@]}" gc --dry-run --json >"$E2E_DIR/dry.json" || fail "gc --dry-run failed"
expect_eq "would expire" "$(jq .would_expire "$E2E_DIR/dry.json")" 1
expect_eq "the finished one" "$(jq -r '.incidents[0].id' "$E2E_DIR/dry.json")" "$done_id"
[ "$(jq .bytes "$E2E_DIR/dry.json")" -gt 1000 ] || fail "no size estimate: $(cat "$E2E_DIR/dry.json")"
"$BIN/muster" "${short[@]}" gc --dry-run >"$E2E_DIR/dry.txt" || fail "gc --dry-run (text) failed"
grep -q "^$done_id .* expire " "$E2E_DIR/dry.txt" || fail "text dry run: $(cat "$E2E_DIR/dry.txt")"
grep -q "dry run: 1 incident(s) would expire" "$E2E_DIR/dry.txt" || fail "text dry run: $(cat "$E2E_DIR/dry.txt")"
keys >"$E2E_DIR/keys1"
cmp -s "$E2E_DIR/keys0" "$E2E_DIR/keys1" || fail "a dry run changed keys: $(diff "$E2E_DIR/keys0" "$E2E_DIR/keys1")"
"$BIN/muster" incident show "$done_id" >/dev/null || fail "a dry run removed the incident"
pass "gc --dry-run lists the finished incident and changes nothing"

# The real thing.
"$BIN/muster" "${short[@]}" gc --json >"$E2E_DIR/gc.json" || fail "gc failed"
expect_eq "expired" "$(jq .expired "$E2E_DIR/gc.json")" 1
keys >"$E2E_DIR/keys2"
grep -q "{$done_id}" "$E2E_DIR/keys2" && fail "keys of $done_id are left: $(grep "{$done_id}" "$E2E_DIR/keys2")"
gone=$(comm -23 "$E2E_DIR/keys0" "$E2E_DIR/keys2" | grep -v -e "{$done_id}" -e "^muster:finished$" || true)
[ -z "$gone" ] || fail "gc deleted keys that were not the incident's (an emptied P:finished aside): $gone"
"$BIN/muster" incident show "$done_id" 2>"$E2E_DIR/show.err" && fail "an expired incident is shown"
grep -q "expired" "$E2E_DIR/show.err" && grep -q "muster.events" "$E2E_DIR/show.err" ||
  fail "incident show of an expired incident: $(cat "$E2E_DIR/show.err")"
"$BIN/muster" incident show inc-never 2>"$E2E_DIR/show2.err" && fail "an unknown incident is shown"
grep -q "may have expired" "$E2E_DIR/show2.err" || fail "unknown incident: $(cat "$E2E_DIR/show2.err")"
"$BIN/muster" incident show "$open_id" >/dev/null || fail "the open incident went"
expect_eq "incidents left" "$("$BIN/muster" incident list --json | jq length)" 1
expect_eq "status: expired so far" "$("$BIN/muster" status --json | jq .expired_incidents)" 1
expect_eq "status: finished and kept" "$("$BIN/muster" status --json | jq .finished_incidents)" 0
settle_events
expect_eq "its events remain on muster.events" \
  "$(count_events ".type == \"incident.opened\" and .subject == \"$done_id\"")" 1
pass "muster gc expires the finished incident, keeps the open one"

# The timeline keeps the first 10 joined alerts and counts the rest.
for _ in $(seq 14); do send gc-open firing; done
joined14() { [ "$(redis-cli -p "$REDIS_PORT" hget "muster:{$open_id}:inc" alerts_joined)" = 14 ]; }
wait_for 20 joined14 || fail "the alerts did not join $open_id"
"$BIN/muster" incident show "$open_id" >"$E2E_DIR/show.txt"
expect_eq "joined alerts in the timeline" "$(grep -c 'incident.alert_joined' "$E2E_DIR/show.txt")" 10
grep -q "and 4 more joined" "$E2E_DIR/show.txt" || fail "no summary: $(cat "$E2E_DIR/show.txt")"
pass "the timeline keeps 10 joined alerts and summarises the rest"

# A worker expires by itself, at its interval, and counts it.
send gc-open resolved
"$BIN/muster" wait --incidents 1 --resolved 1 --timeout 30s >/dev/null || fail "gc-open did not resolve"
W2_STATUS=$(free_port)
start_worker w2 --set retention.incidents=500ms --set retention.interval=200ms --set status.port="$W2_STATUS"
none_left() { [ "$(redis-cli -p "$REDIS_PORT" zcard muster:incidents)" -eq 0 ]; }
wait_for 20 none_left || fail "the worker did not expire $open_id"
counted() {
  curl -s "http://127.0.0.1:$W2_STATUS/metrics" >"$E2E_DIR/w2.metrics" &&
    "$BIN/muster-promcheck" <"$E2E_DIR/w2.metrics" >/dev/null &&
    grep -q '^muster_worker_incidents_expired_total 1$' "$E2E_DIR/w2.metrics"
}
wait_for 10 counted || fail "no expiry count: $(curl -s "http://127.0.0.1:$W2_STATUS/metrics" | grep expired)"
pass "a worker expires finished incidents by itself and counts them in /metrics"
# muster-metrics mirrors the totals of every expiry (muster gc's and w2's).
M_PORT=$(free_port)
"$BIN/muster-metrics" -s status.port="$M_PORT" >>"$E2E_DIR/metrics.log" 2>&1 &
E2E_PIDS+=($!)
mirrored() {
  curl -s "http://127.0.0.1:$M_PORT/metrics" >"$E2E_DIR/m.metrics" &&
    grep -q '^muster_incidents_expired_total 2$' "$E2E_DIR/m.metrics" &&
    grep -q '^muster_finished_incidents 0$' "$E2E_DIR/m.metrics"
}
wait_for 20 mirrored || fail "muster-metrics: $(grep -e expired -e finished "$E2E_DIR/m.metrics")"
pass "muster-metrics shows the incidents expired by anyone"
echo "1 passed, 0 failed"
