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
# Page steps name policies of the example on-call files.
export MUSTER_ONCALL_DIR=$SRC/docs/examples/oncall
# Every workflow snippet in docs/actions.md validates: a whole workflow as
# it is, a list of steps (or `steps:`) under a workflow header.
tmp=$(mktemp -d /tmp/muster-docs-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /^```yaml$/ { n++; inblock = 1; file = sprintf("%s/snippet-%02d.yaml", dir, n); next }
  /^```$/ && inblock { inblock = 0; close(file); next }
  inblock { print > file }' "$SRC/docs/actions.md"
checked=0
for f in "$tmp"/snippet-*.yaml; do
  [ -e "$f" ] || continue
  first=$(grep -v '^ *#' "$f" | grep -m1 -v '^ *$' || true)
  case $first in
    name:*) cp "$f" "$f.wf" ;;
    steps:*|on_resolve:*) { printf 'name: snippet\ntriggers:\n  - matchers: [\x27severity="critical"\x27]\n'; cat "$f"; } >"$f.wf" ;;
    "- id:"*) { printf 'name: snippet\ntriggers:\n  - matchers: [\x27severity="critical"\x27]\nsteps:\n'; sed 's/^/  /' "$f"; } >"$f.wf" ;;
    *) continue ;; # a fragment (a with: map, one key)
  esac
  mv "$f.wf" "$tmp/check.yaml"
  "$BIN/muster" validate "$tmp/check.yaml" >"$tmp/out" 2>&1 ||
    { echo "FAIL: docs/actions.md snippet $(basename "$f"):" >&2; cat "$tmp/out" "$f" >&2; exit 1; }
  checked=$((checked + 1))
done
[ "$checked" -ge 10 ] || { echo "FAIL: only $checked workflow snippets found in docs/actions.md" >&2; exit 1; }
echo "1 passed, 0 failed ($checked snippets of docs/actions.md validated)"
