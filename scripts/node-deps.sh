#!/usr/bin/env bash
# node-deps.sh - installs the npm packages the API tests use (tests/node:
# the OpenAPI validator and the JSON Schema checker), pinned by
# tests/node/package-lock.json, into tests/node/node_modules. Safe to run
# again: it installs only when the lock changed since the last install.
# Needs node and npm (scripts/deps.sh installs Debian's).
set -euo pipefail
cd "$(dirname "$0")/../tests/node"
stamp=node_modules/.muster-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then exit 0; fi
echo "node-deps: npm ci in tests/node" >&2
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
