#!/usr/bin/env bash
# promcheck_pipe.sh - muster-promcheck's exit status says whether a scrape
# is valid, whatever its reader does: the tests grep its output with
# `grep -q` under pipefail, and a reader that stops at its first match must
# not fail a valid scrape (it did once /metrics passed 4 KiB: the second
# write met a closed pipe and SIGPIPE made it exit 141).
. "$(dirname "$0")/../harness/e2e.sh"
{
  echo "# TYPE big gauge"
  for i in $(seq 1 5000); do echo "big{n=\"$i\"} 0"; done
} >"$E2E_DIR/big.prom"
"$BIN/muster-promcheck" <"$E2E_DIR/big.prom" | grep -q '^big{n="1"} 0$' ||
  fail "a valid 5,000-sample scrape failed when the reader stopped early (exit ${PIPESTATUS[0]})"
pass "a reader that stops early does not fail a valid scrape"
expect_eq "every sample printed when read whole" \
  "$("$BIN/muster-promcheck" <"$E2E_DIR/big.prom" | wc -l)" 5000
printf 'big{n="1"} zero\n' | "$BIN/muster-promcheck" >/dev/null 2>"$E2E_DIR/err" &&
  fail "an invalid value was accepted"
grep -q 'is not a float' "$E2E_DIR/err" || fail "no reason for the invalid value: $(cat "$E2E_DIR/err")"
pass "an invalid scrape still fails, with its reason"
echo "1 passed, 0 failed"
