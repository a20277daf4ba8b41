// events_check.mjs - checks CloudEvents, one JSON object per line of FILE,
// against docs/events.schema.json (JSON Schema 2020-12, with ajv).
//
//   node events_check.mjs SCHEMA FILE
import fs from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";

const [schemaPath, file] = process.argv.slice(2);
if (!schemaPath || !file) {
  console.error("usage: node events_check.mjs SCHEMA FILE");
  process.exit(2);
}
const ajv = new Ajv2020({ strict: false, allErrors: true });
const check = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
let passed = 0, failed = 0;
const types = new Set();
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const ev = JSON.parse(line);
  types.add(ev.type);
  if (check(ev)) {
    passed++;
  } else {
    failed++;
    console.error(`FAIL: ${ev.type} ${ev.id}: ${ajv.errorsText(check.errors, { separator: "; " })}`);
  }
}
console.log(`events: ${[...types].sort().join(" ")}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
