#!/usr/bin/env bash
# fuzz.sh - runs every libFuzzer target for a bounded time on a scratch copy
# of its seed corpus. Usage: fuzz.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${2:-20}
scratch=$(mktemp -d /tmp/muster-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
ran=0 failed=0
for bin in "$build"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  mkdir -p "$scratch/$name"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$scratch/$name/"
  echo "fuzz: $name for ${secs}s"
  if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$scratch/" "$scratch/$name" >"$scratch/$name.log" 2>&1; then
    tail -n 1 "$scratch/$name.log"
  else
    failed=$((failed + 1))
    echo "fuzz: $name FAILED" >&2
    tail -n 40 "$scratch/$name.log" >&2
  fi
  ran=$((ran + 1))
done
echo "fuzz: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
