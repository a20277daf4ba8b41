#!/usr/bin/env bash
# secrets_never_leak.sh - secrets named in a workflow reach the vendor and
# the program that need them, and nothing else: planted values are searched
# for in every log, in everything Redis holds (its append-only file), in
# every event on Kafka and in what the muster command shows. The workflow
# also proves the allow_private_network opt-in travels from the file to the
# worker (the worker-wide http.allow_private is off here).
. "$(dirname "$0")/../harness/e2e.sh"
export MUSTER_HTTP_ALLOW_PRIVATE=0

P1="hooktok-$RANDOM$RANDOM-planted"   # a bearer token, from the environment
P2="dbpass-$RANDOM$RANDOM-planted"    # a password, from a file in secrets.dirs
P3="T0B0$RANDOM$RANDOM-planted"       # the secret part of a webhook URL
export MUSTER_SECRET_HOOK_TOKEN=$P1
mkdir -p "$E2E_DIR/secrets"
printf '%s\n' "$P2" >"$E2E_DIR/secrets/db_password"
export MUSTER_SECRETS_DIRS=$E2E_DIR/secrets:/nonexistent

# The vendor answers the secret URL by echoing its path, a 502 first: the
# secret comes back in an error body and in a success body.
cat >"$E2E_DIR/routes.json" <<JSON
[
  {"method": "POST", "path": "/hook", "status": 200, "body": {"ok": true}},
  {"method": "POST", "path": "/services/$P3", "fail_first": 1, "fail_status": 502,
   "fail_body": {"error": "bad gateway at {{path}}"}, "body": {"called": "{{path}}"}}
]
JSON
start_sink "$E2E_DIR/routes.json"
printf '%s\n' "http://127.0.0.1:$SINK_PORT/services/$P3" >"$E2E_DIR/secrets/hook_url"

mkdir -p "$E2E_DIR/workflows"
cat >"$E2E_DIR/workflows/leak.yaml" <<'YAML'
name: leak
allow_private_network: true
triggers:
  - matchers: ['alertname="SecretTest"']
steps:
  - id: hook
    action: webhook
    with:
      url: "http://127.0.0.1:SINKPORT/hook"
      bearer: {secret: hook_token}
      body: {text: "{{ alert.summary }}"}
  - id: vendor
    action: webhook
    retry: {max_attempts: 3, initial_delay: 100ms}
    with:
      url: {secret: hook_url}
      body: {text: "{{ alert.summary }}"}
  - id: diag
    action: exec
    continue_on_error: true
    retry: {max_attempts: 2, initial_delay: 100ms}
    with:
      command: ["sh", "-c", "echo password=$DB_PASSWORD; echo leaked $DB_PASSWORD >&2; exit 2"]
      env: {DB_PASSWORD: {secret: db_password}}
  - id: after
    action: noop
    needs: [hook, vendor, diag]
    with: {echo: "{{ steps.vendor.output.body.called }}"}
YAML
sed -i "s/SINKPORT/$SINK_PORT/" "$E2E_DIR/workflows/leak.yaml"
"$BIN/muster" validate "$E2E_DIR/workflows" >/dev/null || fail "workflow does not validate"
start_pipeline

cat >"$E2E_DIR/alert.json" <<'JSON'
{"source": "test", "severity": "critical", "summary": "secret handling",
 "labels": {"alertname": "SecretTest", "service": "s"}}
JSON
"$BIN/muster" send-alert "$E2E_DIR/alert.json" >/dev/null
rc=0
"$BIN/muster" wait --incidents 1 --timeout 60s >/dev/null || rc=$?
inc=$("$BIN/muster" incident list --json 2>/dev/null | jq -r '.[0].id' 2>/dev/null || true)
[ -n "$inc" ] && [ "$inc" != null ] || inc=$(redis-cli -p "$MUSTER_REDIS_PORT" zrange muster:incidents 0 0)
"$BIN/muster" incident show "$inc" >"$E2E_DIR/show.txt" 2>&1 || true
"$BIN/muster" incident show "$inc" --json >"$E2E_DIR/show.json" 2>&1 || true

# The steps did what they should, with the real values.
step_status() { redis-cli -p "$MUSTER_REDIS_PORT" hget "muster:{$inc}:task:$1" state; }
expect_eq "hook step (bearer from the environment)" "$(step_status hook)" succeeded
expect_eq "vendor step (URL from a file, after a 502)" "$(step_status vendor)" succeeded
expect_eq "diag step (the password reached the program: it printed it)" "$(step_status diag)" dead
expect_eq "after step ran" "$(step_status after)" succeeded
grep -q "/services/$P3" "$SINK_LOG" || fail "positive control: the vendor never saw the secret URL"
events_until 10 60 || fail "events did not arrive"
grep -q '\[secret\]' "$E2E_DIR/events.all.jsonl" ||
  fail "positive control: no event carried a masked value, so nothing was tested"

# Now search everywhere muster writes.
redis-cli -p "$MUSTER_REDIS_PORT" bgrewriteaof >/dev/null
sleep 1
for p in "$P1" "$P2" "$P3"; do
  hits=$(grep -rla -- "$p" "$E2E_DIR/state" "$E2E_DIR/up.log" "$E2E_DIR/up.out" \
           "$E2E_DIR/events.all.jsonl" "$E2E_DIR/show.txt" "$E2E_DIR/show.json" 2>/dev/null || true)
  [ -z "$hits" ] || fail "secret ${p:0:8}... found in: $hits"
done
# And every Redis value, read back one by one.
for key in $(redis-cli -p "$MUSTER_REDIS_PORT" --scan); do
  case $(redis-cli -p "$MUSTER_REDIS_PORT" type "$key") in
    hash) redis-cli -p "$MUSTER_REDIS_PORT" hgetall "$key" ;;
    stream) redis-cli -p "$MUSTER_REDIS_PORT" xrange "$key" - + ;;
    zset) redis-cli -p "$MUSTER_REDIS_PORT" zrange "$key" 0 -1 ;;
    set) redis-cli -p "$MUSTER_REDIS_PORT" smembers "$key" ;;
    list) redis-cli -p "$MUSTER_REDIS_PORT" lrange "$key" 0 -1 ;;
    string) redis-cli -p "$MUSTER_REDIS_PORT" get "$key" ;;
  esac
done >"$E2E_DIR/redis.txt"
[ -s "$E2E_DIR/redis.txt" ] || fail "read nothing back from Redis"
for p in "$P1" "$P2" "$P3"; do
  ! grep -qa -- "$p" "$E2E_DIR/redis.txt" || fail "secret ${p:0:8}... is in Redis"
done
pass "no planted secret in logs, Redis, events or the muster command's output"
