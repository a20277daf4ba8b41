#!/usr/bin/env bash
# api_openapi.sh - docs/api.openapi.yaml is valid OpenAPI 3.1
# (@apidevtools/swagger-parser, pinned in tests/node), and names every
# route muster-api serves (api/server.c's routes[]) and no other.
# tests/e2e/api_operator.sh checks the real answers against it.
. "$(dirname "$0")/../harness/e2e.sh"
NODE_DIR=$SRC/tests/node
command -v node >/dev/null || skip_test "no node (scripts/deps.sh installs it)"
[ -d "$NODE_DIR/node_modules/@apidevtools/swagger-parser" ] || skip_test "no tests/node/node_modules (make node-deps)"
node "$NODE_DIR/openapi_check.mjs" "$SRC/docs/api.openapi.yaml" >"$E2E_DIR/check.txt" ||
  fail "$(cat "$E2E_DIR/check.txt")"
pass "$(head -1 "$E2E_DIR/check.txt" | sed 's/^ok: //')"
# The routes of the code, as METHOD PATH with {id} / {incident}/{step}.
awk '/^} routes\[\] = \{/ { on = 1; next } on && /^\};/ { exit } on' "$SRC/api/server.c" | tr -d '\n' |
  grep -oE '\{"(GET|POST)", "[^"]*", (EXACT|INCIDENT|TASK), "[^"]*"' |
  sed -E 's/\{"([A-Z]+)", "([^"]*)", (EXACT|INCIDENT|TASK), "([^"]*)"/\1 \2 \3 \4/' |
  while read -r method prefix kind suffix; do
    case $kind in
      EXACT) echo "$method $prefix" ;;
      INCIDENT) echo "$method ${prefix}{id}$suffix" ;;
      TASK) echo "$method ${prefix}{incident}/{step}$suffix" ;;
    esac
  done | sort >"$E2E_DIR/code.txt"
[ "$(wc -l <"$E2E_DIR/code.txt")" -ge 14 ] || fail "read only these routes from api/server.c: $(cat "$E2E_DIR/code.txt")"
node -e '
const SwaggerParser = require(process.argv[1] + "/node_modules/@apidevtools/swagger-parser");
SwaggerParser.parse(process.argv[2]).then((api) => {
  for (const [p, item] of Object.entries(api.paths))
    for (const m of Object.keys(item))
      if (["get", "post", "put", "delete", "patch"].includes(m) && p.startsWith("/api/")) console.log(m.toUpperCase() + " " + p);
});' "$NODE_DIR" "$SRC/docs/api.openapi.yaml" | sort >"$E2E_DIR/spec.txt"
diff -u "$E2E_DIR/code.txt" "$E2E_DIR/spec.txt" >&2 || fail "api/server.c's routes (-) and docs/api.openapi.yaml's (+) differ"
pass "the description names the $(wc -l <"$E2E_DIR/code.txt") routes of api/server.c"
echo "1 passed, 0 failed"
