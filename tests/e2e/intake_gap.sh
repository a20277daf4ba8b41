#!/usr/bin/env bash
# intake_gap.sh - while the dispatcher is stopped, the broker deletes alerts
# it has not read (the embedded Kafka keeps ~5 MB per partition). On restart
# the gap is an error, not a WARN line: counted per partition in
# muster_dispatcher_skipped_offsets_total, recorded as an intake.gap event,
# /readyz says degraded and `muster status` shows it; intake reads on.
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
start_intake_stack
SP=$(free_port)
start_dispatcher --set kafka.commit_interval=100ms --set status.port="$SP"
noop_alert 1 0
wait_for 30 incidents_at_least 1 || fail "the dispatcher did not record the first alert"
sleep 0.5
signal TERM dispatcher; reap dispatcher
pass "dispatcher stopped at offset 1 of partition 0"
# 7 x 900 kB on partition 0: the mock drops its oldest batches, offset 1
# (never read) among them.
head -c 900000 /dev/zero | tr '\0' x >"$E2E_DIR/filler"
for _ in 1 2 3 4 5 6 7; do
  kcat -P -b "$MUSTER_KAFKA_BROKERS" -t muster.alerts -p 0 "$E2E_DIR/filler" || fail "kcat: filler"
done
noop_alert 2 0
start_dispatcher --set kafka.commit_interval=100ms --set status.port="$SP"
wait_for 60 incidents_at_least 2 || fail "the alert after the gap was not processed"
pass "intake read on after the gap"
metrics() { curl -s "http://127.0.0.1:$SP/metrics"; }
skipped=$(metrics | awk '/^muster_dispatcher_skipped_offsets_total\{topic="muster.alerts",partition="0"\}/ {print $2}')
[ -n "$skipped" ] && [ "${skipped%.*}" -ge 1 ] || fail "no skipped offsets counted: $(metrics | grep skipped)"
pass "muster_dispatcher_skipped_offsets_total{partition=\"0\"} = $skipped"
ev=$(redis-cli -p "$REDIS_PORT" --raw xrange muster:outbox - + | grep '"intake.gap"' | head -1)
[ -n "$ev" ] || fail "no intake.gap event in the outbox"
expect_eq "intake.gap data.skipped" "$(jq -r .data.skipped <<<"$ev")" "${skipped%.*}"
expect_eq "intake.gap data.from_offset" "$(jq -r .data.from_offset <<<"$ev")" 1
expect_eq "intake.gap data.partition" "$(jq -r .data.partition <<<"$ev")" 0
expect_eq "intake.gap subject" "$(jq -r .subject <<<"$ev")" muster.alerts/0
code=$(curl -s -o "$E2E_DIR/readyz" -w '%{http_code}' "http://127.0.0.1:$SP/readyz")
expect_eq "/readyz status" "$code" 200
grep -q '^degraded: ' "$E2E_DIR/readyz" || fail "/readyz does not say degraded: $(cat "$E2E_DIR/readyz")"
pass "/readyz: $(cat "$E2E_DIR/readyz")"
"$BIN/muster" status >"$E2E_DIR/status" || fail "muster status failed"
grep -q "alerts deleted unread" "$E2E_DIR/status" || fail "muster status does not show the gap: $(cat "$E2E_DIR/status")"
expect_eq "muster status --json gap" "$("$BIN/muster" status --json | jq -r '.intake_gaps["muster.alerts/0"].skipped')" "${skipped%.*}"
echo "1 passed, 0 failed"
