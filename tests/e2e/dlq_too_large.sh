#!/usr/bin/env bash
# dlq_too_large.sh - an undecodable message of 1.1 MB, larger than the
# dead-letter topic takes, no longer wedges intake: its first bytes go to
# the dead-letter topic with its size, SHA-256 and origin in headers, and an
# alert sent after it opens its incident.
. "$(dirname "$0")/../harness/e2e.sh"
mkdir -p "$E2E_DIR/workflows"
cp "$SRC/tests/e2e/noop/noop.yaml" "$E2E_DIR/workflows/"
WORKERS=1 start_pipeline
{ printf '{"not json'; head -c 1099990 /dev/zero | tr '\0' x; } >"$E2E_DIR/big.json"
size=$(stat -c %s "$E2E_DIR/big.json")
sha=$(sha256sum "$E2E_DIR/big.json" | cut -d' ' -f1)
# The alerts topic takes it (the producer allows 3 MB); the dispatcher's
# producer allows 1 MB, so the whole cannot go to the dead-letter topic.
kcat -P -b "$MUSTER_KAFKA_BROKERS" -t muster.alerts -p 0 -X message.max.bytes=3000000 \
  "$E2E_DIR/big.json" || fail "kcat could not produce the large message"
echo '{"source":"t","summary":"after the large one","labels":{"bench":"noop","n":"1"}}' >"$E2E_DIR/a.json"
# On the same partition, behind the large message.
kcat -P -b "$MUSTER_KAFKA_BROKERS" -t muster.alerts -p 0 "$E2E_DIR/a.json" || fail "kcat: alert"
opened() { [ "$(redis-cli -p "$MUSTER_REDIS_PORT" zcard muster:incidents)" -ge 1 ]; }
wait_for 40 opened || fail "the alert behind the large message was not processed"
pass "the alert behind the large message opened its incident"
dlq_has() { dlq_dump | grep -q muster-sha256; }
wait_for 20 dlq_has || fail "no truncated copy on the dead-letter topic: $(dlq_dump | head -c 300)"
dlq_dump | jq -c 'select(.headers != null) | {len: (.payload | length), h: (.headers |
  [range(0; length; 2) as $i | {(.[$i]): .[$i + 1]}] | add)}' >"$E2E_DIR/dlq.jsonl"
row=$(grep muster-sha256 "$E2E_DIR/dlq.jsonl" | head -1)
expect_eq "truncated copy length" "$(jq -r .len <<<"$row")" 65536
expect_eq "header muster-size" "$(jq -r '.h["muster-size"]' <<<"$row")" "$size"
expect_eq "header muster-sha256" "$(jq -r '.h["muster-sha256"]' <<<"$row")" "$sha"
expect_eq "header muster-truncated" "$(jq -r '.h["muster-truncated"]' <<<"$row")" true
expect_eq "header muster-topic" "$(jq -r '.h["muster-topic"]' <<<"$row")" muster.alerts
expect_eq "header muster-partition" "$(jq -r '.h["muster-partition"]' <<<"$row")" 0
expect_eq "header muster-offset" "$(jq -r '.h["muster-offset"]' <<<"$row")" 0
[ -n "$(jq -r '.h["muster-error"]' <<<"$row")" ] || fail "no muster-error header"
echo "1 passed, 0 failed"
