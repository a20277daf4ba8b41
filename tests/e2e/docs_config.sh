#!/usr/bin/env bash
# docs_config.sh - docs/configuration.md must match the code's settings table.
set -euo pipefail
SRC=${MUSTER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${MUSTER_BIN_DIR:-$SRC/build}
want=$("$BIN/muster" config --markdown)
got=$(sed -n '/^| key |/,$p' "$SRC/docs/configuration.md")
if [ "$want" != "$got" ]; then
  diff <(echo "$want") <(echo "$got") >&2 || true
  echo "FAIL: docs/configuration.md is stale; run 'make docs'" >&2
  exit 1
fi
# Every documented environment variable is one the code reads.
for v in $(grep -o 'MUSTER_[A-Z][A-Z_]*' "$SRC/docs/configuration.md" | sort -u); do
  [ "$v" = MUSTER_CONFIG ] && continue
  grep -q "\`$v\`" <<<"$want" || { echo "FAIL: $v documented but not in the table" >&2; exit 1; }
done
# The example workflows in the docs load as the dispatcher would load them.
"$BIN/muster" validate "$SRC/docs/examples/workflows" >/dev/null || { echo "FAIL: docs/examples/workflows" >&2; exit 1; }
echo "1 passed, 0 failed"
