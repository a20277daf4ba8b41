#!/usr/bin/env bash
# console_browser.sh - the console in headless Chromium (Debian's chromium,
# driven by puppeteer-core from npm, pinned in tests/browser/package-lock.json
# and installed into a cache) against a real pipeline and muster-api: the
# incident list shows the incidents opened here, and one opened while it is
# open; Acknowledge produces
# incident.acknowledged by the token's holder, Resolve resolves; a dead task is previewed and
# replayed from the page and its run then succeeds; a token without
# tasks:replay sees the button disabled and the API refuses it. Screenshots
# of every page go to $BIN/console-screenshots (docs/console.md shows them).
. "$(dirname "$0")/../harness/e2e.sh"
. "$SRC/tests/harness/faults.sh"
skip_under_asan "the browser part does not change under ASan; muster-api's own tests run there"
started=$SECONDS

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip_test "no chromium (scripts/deps.sh installs Debian's)"
command -v npm >/dev/null && command -v node >/dev/null || skip_test "no node and npm"
[ -x "$BIN/muster-api" ] || skip_test "no muster-api built"

# puppeteer-core, as the lock file pins it, in a cache keyed by the lock.
lock=$(cat "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" | sha256sum | cut -c1-16)
PUPPETEER_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/muster/browser-$lock
if [ ! -f "$PUPPETEER_DIR/node_modules/puppeteer-core/package.json" ]; then
  mkdir -p "$PUPPETEER_DIR"
  cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" "$PUPPETEER_DIR/"
  (cd "$PUPPETEER_DIR" && timeout 120 npm ci --ignore-scripts --no-audit --no-fund) >"$E2E_DIR/npm.log" 2>&1 ||
    { tail -5 "$E2E_DIR/npm.log"; rm -rf "$PUPPETEER_DIR/node_modules"; skip_test "npm could not install puppeteer-core"; }
fi
export PUPPETEER_DIR CHROMIUM

start_stack "$SRC/tests/e2e/fault-routes.json" "$SRC/tests/e2e/console"
start_worker w1
"$BIN/muster-metrics" -s status.port=0 >>"$E2E_DIR/metrics.log" 2>&1 &
E2E_PIDS+=($!)

# Two tokens: alice may do everything but admin, viewer may not replay.
token_line() { printf '%s sha256:%s %s\n' "$1" "$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)" "$3"; }
TOKEN_ADMIN=mst_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_VIEWER=mst_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
{ token_line alice "$TOKEN_ADMIN" incidents:read,incidents:ack,incidents:write,tasks:replay
  token_line viewer "$TOKEN_VIEWER" incidents:read,incidents:ack; } >"$E2E_DIR/tokens"
API_PORT=$(free_port)
"$BIN/muster-api" -s api.port="$API_PORT" -s api.tokens_file="$E2E_DIR/tokens" -s status.port=0 \
  >>"$E2E_DIR/api.log" 2>&1 &
E2E_PIDS+=($!)
CONSOLE_URL=http://127.0.0.1:$API_PORT
wait_for 20 curl -sf "$CONSOLE_URL/" -o /dev/null || { cat "$E2E_DIR/api.log" >&2; fail "muster-api did not start"; }

for n in 1 2; do
  echo "{\"source\":\"t\",\"summary\":\"web $n is down\",\"severity\":\"critical\",\"labels\":{\"case\":\"console\",\"service\":\"web-$n\"}}" |
    "$BIN/muster" send-alert - >/dev/null
done
echo '{"source":"t","summary":"payments webhook fails","severity":"warning","labels":{"fault":"poison","service":"payments"}}' |
  "$BIN/muster" send-alert - >/dev/null
rc=0; "$BIN/muster" wait --incidents 3 --timeout 40s >/dev/null || rc=$?
expect_eq "two runs succeeded, the poison one failed (exit code)" "$rc" 1
list=$("$BIN/muster" incident list --json)
web=$(jq -r '[.[] | select(.workflow == "web-down") | .id] | join(",")' <<<"$list")
poison=$(jq -r '.[] | select(.workflow == "poison") | .id' <<<"$list")
DEAD_TASK=$("$BIN/muster" dead list --json | jq -r '.[0].task')
expect_eq "the dead task" "$DEAD_TASK" "$poison/call"

SHOTS=$BIN/console-screenshots
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
CONSOLE_URL=$CONSOLE_URL TOKEN_ADMIN=$TOKEN_ADMIN TOKEN_VIEWER=$TOKEN_VIEWER INCIDENTS="$web,$poison" \
  DEAD_TASK=$DEAD_TASK SHOTS=$SHOTS MUSTER=$BIN/muster WORK_DIR=$E2E_DIR timeout 60 node "$SRC/tests/browser/console.mjs" ||
  { tail -20 "$E2E_DIR/api.log" >&2; fail "the browser test failed"; }

# What the clicks did, as muster.events tells it.
# The page opened a fourth incident while the list was open.
"$BIN/muster" wait --incidents 4 --timeout 30s >/dev/null || fail "the replayed run did not succeed"
settle_events
first=${web%%,*}
expect_eq "incident.acknowledged by the token's holder" \
  "$(count_events ".type == \"incident.acknowledged\" and .data.incident == \"$first\" and .data.by == \"alice\" and .data.via == \"api\"")" 1
expect_eq "the acknowledgement is audited" \
  "$(count_events ".type == \"operator.action\" and .data.action == \"ack\" and .data.by == \"alice\" and .data.incident == \"$first\"")" 1
expect_eq "the note" "$(count_events ".type == \"incident.note\" and .data.by == \"alice\" and .data.incident == \"$first\"")" 1
second=${web#*,}
expect_eq "resolved by alice" "$(count_events ".type == \"operator.action\" and .data.action == \"resolve\" and .data.by == \"alice\" and .data.incident == \"$second\"")" 1
expect_eq "incident.resolved" "$(count_events ".type == \"incident.resolved\" and .data.incident == \"$second\"")" 1
expect_eq "replayed once, by alice" \
  "$(count_events ".type == \"operator.action\" and .data.action == \"replay\" and .data.by == \"alice\" and .data.task == \"$DEAD_TASK\"")" 1
expect_eq "the viewer replayed nothing" "$(count_events '.type == "operator.action" and .data.by == "viewer"')" 0
expect_eq "the replayed step succeeded" "$(count_events ".type == \"task.succeeded\" and .data.incident == \"$poison\" and .data.step == \"call\"")" 1
expect_eq "and the step after it" "$(count_events ".type == \"task.succeeded\" and .data.incident == \"$poison\" and .data.step == \"after\"")" 1
expect_eq "no dead task left" "$("$BIN/muster" dead list --json | jq length)" 0
# The same KPI report through muster-api (no Redis to reach) as from Redis.
until=$(date -u -d tomorrow +%F)
direct=$("$BIN/muster" report --since 7d --until "$until" --by workflow --json)
remote=$(MUSTER_API_URL=$CONSOLE_URL MUSTER_API_TOKEN=$TOKEN_VIEWER MUSTER_REDIS_PORT=1 \
  "$BIN/muster" report --since 7d --until "$until" --by workflow --json) || fail "muster report through the API failed"
expect_eq "muster report through muster-api" "$(jq -cS . <<<"$remote")" "$(jq -cS . <<<"$direct")"
expect_eq "the report counts the incidents opened here" "$(jq '.total.incidents' <<<"$direct")" 4
for p in login incidents incidents-phone incident incident-phone dead dead-viewer queues kpi; do
  [ -s "$SHOTS/$p.png" ] || fail "no screenshot $p.png"
done
pass "screenshots in $SHOTS"
took=$((SECONDS - started))
[ "$took" -lt 90 ] || fail "took ${took}s, more than 90"
pass "took ${took}s"
