#!/usr/bin/env bash
# readme_newcomer.sh - the README's "Running it yourself", as written: its
# ```sh blocks, in order, in a shell that has none of muster's variables.
# The block marked "readme-test: background" is the first terminal (muster
# up, left running); once it printed its next commands, the other blocks run
# in one shell, the second terminal. Every command must succeed, the
# incident's run must succeed and resolve, the commands muster up suggests
# must name files that exist, and Ctrl-C must leave no state folder behind.
. "$(dirname "$0")/../harness/e2e.sh"

# A newcomer's shell: nothing the harness or the caller set for muster.
unset MUSTER_HTTP_ALLOW_PRIVATE MUSTER_EXEC_DIRS
for v in $(compgen -e | grep '^MUSTER_' | grep -v -e '^MUSTER_BIN_DIR$' -e '^MUSTER_SOURCE_DIR$'); do unset "$v"; done

# The clone, as the README sees it: build/ is the tree ctest runs from.
clone=$E2E_DIR/clone
mkdir -p "$clone"
ln -s "$BIN" "$clone/build"
ln -s "$SRC/docs" "$clone/docs"

# extract: the section's ```sh blocks to bg.sh and fg.sh (in order).
awk -v bg="$E2E_DIR/bg.sh" -v fg="$E2E_DIR/fg.sh" '
  /^## / { in_sec = ($0 == "## Running it yourself") }
  !in_sec { next }
  /<!-- readme-test: background/ { mark = "bg"; next }
  /^```sh$/ { block = 1; out = (mark == "bg") ? bg : fg; mark = ""; n[out]++; next }
  /^```$/ { block = 0; next }
  block { print > out }
  END { if (!n[bg] || !n[fg]) exit 1 }
' "$SRC/README.md" || fail "README: \"Running it yourself\" needs a \`\`\`sh block marked background and one without"
pass "extracted $(wc -l <"$E2E_DIR/bg.sh") + $(wc -l <"$E2E_DIR/fg.sh") command lines"

# `make` has run: ctest runs on the build it made.
prelude='set -euo pipefail
make() { [ $# -eq 0 ] && [ -x build/muster ]; }'

cd "$clone"
bash -c "$prelude
$(cat "$E2E_DIR/bg.sh")" >"$E2E_DIR/up.out" 2>"$E2E_DIR/up.log" &
bg=$!
E2E_PIDS+=($bg)
wait_for 60 grep -q "^In another terminal" "$E2E_DIR/up.out" ||
  { cat "$E2E_DIR/up.out" "$E2E_DIR/up.log" >&2; fail "the first terminal did not print its next commands"; }
sleep 0.5 # what follows that line is printed with it
pass "first terminal: $(head -1 "$E2E_DIR/up.out")"

# What muster up suggests names files that exist, from here.
while read -r cmd rest; do
  [ "$cmd" = . ] && { [ -n "$rest" ] || fail "muster up suggests '.' with no file"; continue; }
  [[ $cmd == export ]] && continue
  [ -x "$cmd" ] || fail "muster up suggests '$cmd', which is not a program here"
  for w in $rest; do
    [[ $w == */*.json ]] && { [ -f "$w" ] || fail "muster up suggests $w, which does not exist"; }
  done
done < <(sed -n '/^In another terminal/,$p' "$E2E_DIR/up.out" | sed -n 's/^  //p')
pass "the suggested commands name programs and files that exist"

rc=0
timeout 120 bash -c "$prelude
set -x
$(cat "$E2E_DIR/fg.sh")" >"$E2E_DIR/fg.out" 2>&1 || rc=$?
cat "$E2E_DIR/fg.out"
[ $rc -eq 0 ] || fail "the second terminal's commands failed (exit $rc)"
pass "every command of the second terminal succeeded"

set -a; . ./muster.env; set +a
list=$("$BIN/muster" incident list --json)
expect_eq "incidents" "$(jq length <<<"$list")" 1
expect_eq "run" "$(jq -r '.[0].run' <<<"$list")" succeeded
expect_eq "status" "$(jq -r '.[0].status' <<<"$list")" resolved
report=$("$BIN/muster" report --json)
expect_eq "incidents" "$(jq .total.incidents <<<"$report")" 1
expect_eq "acknowledged" "$(jq .total.acknowledged <<<"$report")" 1
expect_eq "resolved" "$(jq .total.resolved <<<"$report")" 1
[ "$(jq '.total.automated > 0' <<<"$report")" = true ] || fail "no automated action counted: $report"
pass "report: $(jq -c . <<<"$report")"
wf=$(jq -r '.[0].workflow' <<<"$list")
csv=$("$BIN/muster" report --by workflow --csv | tr -d '\r')
expect_eq "CSV header" "$(head -1 <<<"$csv")" \
  "key,incidents,acknowledged,resolved,mtta_p50_s,mtta_mean_s,mttr_p50_s,mttr_mean_s,automated,manual,automated_per_incident,manual_per_incident"
expect_eq "CSV row of the workflow" "$(grep -c "^$wf,1,1,1," <<<"$csv")" 1
"$BIN/muster" report --by week --since 2w | grep -q "^total  *1 " || fail "report --by week: $("$BIN/muster" report --by week --since 2w)"
rc=0; "$BIN/muster" report --since 7x 2>/dev/null || rc=$?
expect_eq "a bad --since is a usage error" "$rc" 2
# The on_resolve run counts from the resolution, not from the opening: it
# is shorter than the time to resolve.
id=$(jq -r '.[0].id' <<<"$list")
resolve_ms=$("$BIN/muster" incident show "$id" --json |
  jq '[.timeline[] | select(.type == "workflow.completed")] | last | .data.duration_ms')
[ "$(jq -n "$resolve_ms < $(jq .total.mttr_mean_s <<<"$report") * 1000")" = true ] ||
  fail "the on_resolve run took ${resolve_ms}ms, more than the $(jq .total.mttr_mean_s <<<"$report")s to resolve"
pass "the on_resolve run took ${resolve_ms}ms"

# Ctrl-C in the first terminal: everything stops, nothing is left in /tmp.
state=$(sed -n 's/.*(state in \([^,)]*\).*/\1/p' "$E2E_DIR/up.out")
[ -d "$state" ] || fail "no state folder '$state' while running"
# bash may have become muster up itself (it execs a last command).
up=$(pgrep -P "$bg" -f "muster up" || true)
[ -n "$up" ] || { ps -o args= -p "$bg" | grep -q "muster up" && up=$bg; } || fail "muster up is not running"
kill -INT "$up"
wait_for 30 bash -c "! kill -0 $bg" || fail "muster up did not stop on Ctrl-C"
[ ! -e "$state" ] || fail "muster up left its state folder $state"
[ ! -e muster.env ] || fail "muster up left muster.env"
pass "Ctrl-C stopped it and removed $state"
