#!/usr/bin/env bash
# paging_validate.sh - muster validate and the dispatcher check page steps
# and oncall.* templates against the on-call files; a broken on-call file
# keeps the dispatcher from starting, with its file:line:column.
. "$(dirname "$0")/../harness/e2e.sh"
OC=$SRC/tests/e2e/paging/oncall
WF=$E2E_DIR/wf
mkdir -p "$WF" "$E2E_DIR/oncall"
cp "$SRC/tests/e2e/paging/workflows/page.yaml" "$WF/"
MUSTER_ONCALL_DIR=$OC "$BIN/muster" validate "$WF" >"$E2E_DIR/out" 2>&1 || fail "valid page step refused: $(cat "$E2E_DIR/out")"
pass "a page step naming a known policy validates"
sed -i 's/policy: esc/policy: nope/; s/oncall.primary.name/oncall.secondary.name/' "$WF/page.yaml"
MUSTER_ONCALL_DIR=$OC "$BIN/muster" validate "$WF" >"$E2E_DIR/out" 2>&1 && fail "unknown policy accepted"
grep -q 'page.yaml: step "page": there is no policy "nope" in the on-call files' "$E2E_DIR/out" || fail "policy: $(cat "$E2E_DIR/out")"
grep -q 'step "announce": template names schedule "secondary", which the on-call files do not hold' "$E2E_DIR/out" ||
  fail "template: $(cat "$E2E_DIR/out")"
pass "an unknown policy and an unknown schedule in a template are refused"
MUSTER_ONCALL_DIR=$E2E_DIR/none "$BIN/muster" validate "$WF" >"$E2E_DIR/out" 2>&1 && fail "a page step without on-call files accepted"
grep -q 'but there are no on-call files' "$E2E_DIR/out" || fail "no files: $(cat "$E2E_DIR/out")"
pass "a page step without on-call files is refused"
# The dispatcher refuses to start on a broken on-call file, placed.
sed 's/delay: 2s/delay: soon/' "$OC/people.yaml" >"$E2E_DIR/oncall/people.yaml"
rc=0
MUSTER_ONCALL_DIR=$E2E_DIR/oncall MUSTER_WORKFLOWS_DIR=$SRC/tests/e2e/paging/workflows \
  "$BIN/muster-dispatcher" >"$E2E_DIR/d.log" 2>&1 || rc=$?
expect_eq "dispatcher exit code on a broken on-call file" "$rc" 2
grep -qE 'oncall/people.yaml:[0-9]+:[0-9]+: ' "$E2E_DIR/d.log" || fail "no file:line:column: $(cat "$E2E_DIR/d.log")"
pass "the dispatcher names the place: $(grep -m1 -oE 'people.yaml:[0-9]+:[0-9]+: .*' "$E2E_DIR/d.log")"
echo "1 passed, 0 failed"
