#!/usr/bin/env bash
# cli_help.sh - one convention for every program: `--help` exits 0 and prints
# a usage line, a description and its options, for every muster subcommand
# (as `muster --help` lists them) and every daemon. Also: `muster validate`
# with nothing to check says what to do.
. "$(dirname "$0")/../harness/e2e.sh"

# check_help NAME COMMAND...: exit 0, a Usage: line, a description, Options:.
check_help() {
  local name=$1 rc=0; shift
  "$@" --help >"$E2E_DIR/help" 2>"$E2E_DIR/help.err" || rc=$?
  [ $rc -eq 0 ] || fail "$name --help exited $rc"
  grep -q "^Usage: $name" "$E2E_DIR/help" || fail "$name --help has no 'Usage: $name' line: $(head -3 "$E2E_DIR/help")"
  grep -q "^Options:" "$E2E_DIR/help" || fail "$name --help lists no options"
  # A description: a line of prose after the usage lines, before Options:.
  awk '/^Options:/ { exit } /^[A-Z][a-z ]/ && !/^Usage:/ { found = 1 } END { exit !found }' "$E2E_DIR/help" ||
    fail "$name --help has no description"
  [ ! -s "$E2E_DIR/help.err" ] || fail "$name --help wrote to stderr: $(cat "$E2E_DIR/help.err")"
  # Nothing cut off: no line ends on a possessive waiting for its noun.
  local cut="[a-z]'s$"
  ! grep -qE "$cut" "$E2E_DIR/help" || fail "$name --help has a line cut off: $(grep -E "$cut" "$E2E_DIR/help")"
}

check_help muster "$BIN/muster"
cmds=$("$BIN/muster" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ "$(wc -w <<<"$cmds")" -ge 12 ] || fail "muster --help lists only: $cmds"
for c in $cmds; do check_help "muster $c" "$BIN/muster" "$c"; done
pass "muster and its $(wc -w <<<"$cmds") subcommands: --help exits 0 with usage, description and options"

for d in muster-dispatcher muster-worker muster-metrics muster-api muster-sink; do check_help "$d" "$BIN/$d"; done
pass "the daemons and the receiver: the same"

# The worker names every action of the registry.
"$BIN/muster-worker" --help >"$E2E_DIR/worker.help"
for a in webhook exec jira servicenow github slack teams twilio email pagerduty http_check tcp_check manual; do
  grep -q "^  $a " "$E2E_DIR/worker.help" || fail "muster-worker --help does not name action $a"
done
pass "muster-worker --help names every action"

cd "$E2E_DIR"
rc=0
"$BIN/muster" validate >"$E2E_DIR/out" 2>&1 || rc=$?
expect_eq "muster validate without workflows/ exits" "$rc" 2
grep -q "docs/examples/workflows" "$E2E_DIR/out" || fail "no hint: $(cat "$E2E_DIR/out")"
pass "muster validate with nothing to check names what to do"
