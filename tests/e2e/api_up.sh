#!/usr/bin/env bash
# api_up.sh - muster up runs muster-api beside the pipeline, with an admin
# token made for the run: the console answers, the token works, and its
# hash alone is in the state directory.
. "$(dirname "$0")/../harness/e2e.sh"
mkdir -p "$E2E_DIR/workflows"
cp "$SRC/tests/e2e/noop/noop.yaml" "$E2E_DIR/workflows/"
WORKERS=1 start_pipeline
[ -n "${MUSTER_CONSOLE_URL:-}" ] && [ -n "${MUSTER_CONSOLE_TOKEN:-}" ] || fail "the env file names no console: $(cat "$E2E_DIR/env")"
ready() { curl -sf "$MUSTER_CONSOLE_URL/readyz"; }
wait_for 20 ready || fail "muster-api is not ready: $(grep -i api "$E2E_DIR/up.log" | tail -5)"
grep -q "  api         $MUSTER_CONSOLE_URL/" "$E2E_DIR/up.out" || fail "muster up does not say where the API is: $(cat "$E2E_DIR/up.out")"
expect_eq "the run's token is an admin's" \
  "$(curl -sf -H "Authorization: Bearer $MUSTER_CONSOLE_TOKEN" "$MUSTER_CONSOLE_URL/api/v1/whoami" | jq -c .)" \
  '{"name":"operator","scopes":["incidents:read","incidents:ack","incidents:write","tasks:replay","admin"]}'
curl -sf "$MUSTER_CONSOLE_URL/" | grep -qi "<html" || fail "no console at /"
grep -q "$MUSTER_CONSOLE_TOKEN" "$E2E_DIR/state/api-tokens" && fail "the token itself is in the state directory"
expect_eq "its hash is" "$(awk '{print $1, $3}' "$E2E_DIR/state/api-tokens")" "operator admin"
# The command still talks to Redis (the env file sets no MUSTER_API_URL).
[ -z "${MUSTER_API_URL:-}" ] || fail "the env file sets MUSTER_API_URL"
"$BIN/muster" status --json | jq -e '.incidents == 0' >/dev/null || fail "muster status"
# Stopped with the rest: nothing left running, no sanitizer report.
up=${E2E_PIDS[0]}
kill -TERM "$up"
for _ in $(seq 300); do kill -0 "$up" 2>/dev/null || break; sleep 0.1; done
kill -0 "$up" 2>/dev/null && fail "muster up did not stop in 30 s"
if grep -q "Sanitizer" "$E2E_DIR/up.log"; then fail "sanitizer report: $(grep -A20 Sanitizer "$E2E_DIR/up.log" | head -30)"; fi
curl -s --max-time 2 "$MUSTER_CONSOLE_URL/healthz" >/dev/null && fail "muster-api still answers after muster up stopped"
echo "1 passed, 0 failed"
