// openapi_check.mjs - checks docs/api.openapi.yaml is valid OpenAPI 3.1 and,
// given a folder of captured responses, that each conforms to the schema the
// description gives for its operation and status, and that every JSON
// operation of the description was seen at least once.
//
//   node openapi_check.mjs SPEC [RESPONSES_DIR]
//
// A response file is {"method": "get", "path": "/api/v1/incidents/{id}",
// "status": 200, "body": ...} (tests/e2e/api_operator.sh writes them).
import fs from "node:fs";
import path from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [spec, dir] = process.argv.slice(2);
if (!spec) {
  console.error("usage: node openapi_check.mjs SPEC [RESPONSES_DIR]");
  process.exit(2);
}
let api;
try {
  api = await SwaggerParser.validate(spec);
} catch (e) {
  console.error(`FAIL: ${spec} is not valid OpenAPI: ${e.message}`);
  process.exit(1);
}
if (!String(api.openapi).startsWith("3.1")) {
  console.error(`FAIL: ${spec} is OpenAPI ${api.openapi}, not 3.1`);
  process.exit(1);
}
console.log(`ok: ${spec} is valid OpenAPI ${api.openapi} (${Object.keys(api.paths).length} paths)`);
if (!dir) {
  console.log("1 passed, 0 failed");
  process.exit(0);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const seen = new Set();
let passed = 0, failed = 0;
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
  const op = api.paths[r.path]?.[r.method];
  if (!op) {
    console.error(`FAIL: ${f}: ${r.method.toUpperCase()} ${r.path} is not in the description`);
    failed++;
    continue;
  }
  const resp = op.responses[String(r.status)] ?? op.responses.default;
  const schema = resp?.content?.["application/json"]?.schema;
  if (!schema) {
    console.error(`FAIL: ${f}: ${r.method.toUpperCase()} ${r.path} has no JSON response ${r.status}`);
    failed++;
    continue;
  }
  const check = ajv.compile(schema);
  if (!check(r.body)) {
    console.error(`FAIL: ${f}: ${r.method.toUpperCase()} ${r.path} ${r.status}: ` +
      ajv.errorsText(check.errors, { separator: "; " }) + `\n  body: ${JSON.stringify(r.body).slice(0, 600)}`);
    failed++;
    continue;
  }
  seen.add(`${r.method} ${r.path} ${r.status}`);
  passed++;
}
// Every JSON operation's success answer must have been seen.
for (const [p, item] of Object.entries(api.paths)) {
  for (const [m, op] of Object.entries(item)) {
    if (typeof op !== "object" || !op.responses) continue;
    for (const [code, resp] of Object.entries(op.responses)) {
      if (!code.startsWith("2") || !resp.content?.["application/json"]) continue;
      if (!seen.has(`${m} ${p} ${code}`)) {
        console.error(`FAIL: no response of ${m.toUpperCase()} ${p} ${code} was checked`);
        failed++;
      }
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
