#!/usr/bin/env bash
# deps.sh - installs the Debian packages muster builds, tests and demos with.
# Safe to run again: it installs only what is missing. Needs root or sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev
  libcmocka-dev libuv1-dev libfyaml-dev libmicrohttpd-dev libssl-dev
  redis-server redis-tools redis-sentinel jq kafkacat gnuplot-nox zsh
  clang libclang-rt-14-dev
  maven default-jre-headless
  nodejs npm chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Java 17 or newer is enough for the Kafka broker; do not pull a second JRE.
if command -v java >/dev/null 2>&1; then
  keep=(); for p in "${missing[@]}"; do [ "$p" = default-jre-headless ] || keep+=("$p"); done
  missing=("${keep[@]+"${keep[@]}"}")
fi
if command -v mvn >/dev/null 2>&1; then
  keep=(); for p in "${missing[@]}"; do [ "$p" = maven ] || keep+=("$p"); done
  missing=("${keep[@]+"${keep[@]}"}")
fi

# Any node 18 or newer runs the API tests' checkers (tests/node) and the
# console's browser test (puppeteer-core, with Debian's chromium); keep one
# installed another way.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  keep=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || keep+=("$p"); done
  missing=("${keep[@]+"${keep[@]}"}")
fi

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
