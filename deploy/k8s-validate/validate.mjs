// validate.mjs - checks rendered Kubernetes manifests offline, as the API
// server would: each object against its kind's OpenAPI schema
// (kubernetes-models: Kubernetes, KEDA, prometheus-operator), unknown fields
// refused (like `kubectl apply --validate=strict`), names in the formats the
// API server enforces, and the references between the objects of one render.
//
//   node validate.mjs [--json OUT] FILE...    FILE is multi-document YAML, - is stdin
//
// Prints one line per object and exits 1 if any is invalid. --json writes
// every object, as a JSON array, for the caller to inspect with jq.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/keda",
  "@kubernetes-models/prometheus-operator",
];

async function modelFor(apiVersion, kind) {
  for (const pkg of PACKAGES) {
    try {
      const mod = await import(`${pkg}/${apiVersion}`);
      if (mod[kind]) return mod[kind];
    } catch (e) {
      if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED" && e.code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
  }
  return null;
}

function schemaErrors(Model, doc) {
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    return e.errors;
  }
}

// Unknown fields: the schemas allow extra properties, so each field is
// replaced in turn by a value no schema accepts (a Symbol); a declared field
// then fails at its own path, an undeclared one does not. An object whose
// schema is a map (labels, data) fails for any key and is taken whole.
const PROBE = Symbol("probe");
function unknownFields(Model, doc) {
  const found = [];
  const failsAt = (path) => schemaErrors(Model, doc).some((e) => e.instancePath === path);
  const walk = (node, path) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${path}/${i}`));
    if (!node || typeof node !== "object") return;
    node["muster~probe"] = PROBE;
    const isMap = failsAt(`${path}/muster~0probe`);
    delete node["muster~probe"];
    if (isMap) return;
    for (const key of Object.keys(node)) {
      const value = node[key];
      const at = `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      node[key] = PROBE;
      const known = failsAt(at);
      node[key] = value;
      if (known) walk(value, at);
      else found.push(at);
    }
  };
  walk(doc, "");
  return found;
}

// What the API server checks beyond the schema (apimachinery validation).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function podSpecOf(doc) {
  return ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(doc.kind)
    ? doc.spec?.template?.spec
    : doc.kind === "Pod" ? doc.spec : null;
}

function apiChecks(doc) {
  const bad = [];
  const md = doc.metadata ?? {};
  const nameRe = doc.kind === "Service" ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!md.name || !nameRe.test(md.name) || md.name.length > (doc.kind === "Service" ? 63 : 253))
    bad.push(`metadata.name "${md.name}" is not a valid ${doc.kind} name`);
  const labelSets = [md.labels, doc.spec?.template?.metadata?.labels];
  for (const labels of labelSets)
    for (const [k, v] of Object.entries(labels ?? {})) {
      const name = k.split("/").pop();
      if (name.length > 63 || !LABEL_VALUE.test(name) || !name) bad.push(`label key "${k}" is invalid`);
      if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) bad.push(`label ${k}: value "${v}" is invalid`);
    }
  const sel = doc.spec?.selector?.matchLabels;
  const tpl = doc.spec?.template?.metadata?.labels;
  if (sel && tpl && Object.entries(sel).some(([k, v]) => tpl[k] !== v))
    bad.push("spec.selector does not match spec.template.metadata.labels");
  const pod = podSpecOf(doc);
  if (pod) {
    const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
    for (const v of pod.volumes ?? []) if (!DNS_LABEL.test(v.name)) bad.push(`volume name "${v.name}" is invalid`);
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      if (!DNS_LABEL.test(c.name)) bad.push(`container name "${c.name}" is invalid`);
      const ports = new Set();
      for (const p of c.ports ?? [])
        if (p.name) {
          if (p.name.length > 15 || !PORT_NAME.test(p.name)) bad.push(`${c.name}: port name "${p.name}" is invalid`);
          ports.add(p.name);
        }
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (typeof port === "string" && !ports.has(port)) bad.push(`${c.name}: ${probe} names port "${port}", which the container does not declare`);
      }
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) bad.push(`${c.name}: volumeMount "${m.name}" has no volume`);
      const seen = new Set();
      for (const e of c.env ?? []) {
        if (!ENV_NAME.test(e.name)) bad.push(`${c.name}: env name "${e.name}" is invalid`);
        if (seen.has(e.name)) bad.push(`${c.name}: env ${e.name} is set twice`);
        seen.add(e.name);
      }
    }
  }
  return bad;
}

// References between the objects of one render.
function crossChecks(docs) {
  const bad = [];
  const workloads = docs.filter((d) => podSpecOf(d));
  const podLabels = workloads.map((d) => d.spec.template.metadata?.labels ?? {});
  const selects = (sel, labels) => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);
  for (const d of docs) {
    const id = `${d.kind}/${d.metadata?.name}`;
    const target = d.spec?.scaleTargetRef;
    if (target && !workloads.some((w) => w.kind === (target.kind ?? "Deployment") && w.metadata.name === target.name))
      bad.push(`${id}: scaleTargetRef ${target.kind ?? "Deployment"}/${target.name} is not in the render`);
    const sel = d.kind === "Service" ? d.spec?.selector : ["PodDisruptionBudget", "NetworkPolicy"].includes(d.kind)
      ? (d.spec?.selector ?? d.spec?.podSelector)?.matchLabels : null;
    if (sel && !podLabels.some((l) => selects(sel, l))) bad.push(`${id}: selects no pod of the render`);
    if (d.kind === "Service")
      for (const p of d.spec?.ports ?? [])
        if (typeof p.targetPort === "string" && !workloads.some((w) => selects(d.spec.selector, w.spec.template.metadata?.labels ?? {}) &&
            w.spec.template.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort))))
          bad.push(`${id}: targetPort "${p.targetPort}" is no container port of its pods`);
    if (d.kind === "ServiceMonitor") {
      const svcs = docs.filter((s) => s.kind === "Service" && selects(d.spec.selector?.matchLabels, s.metadata.labels ?? {}));
      if (!svcs.length) bad.push(`${id}: selects no Service of the render`);
      for (const e of d.spec.endpoints ?? [])
        if (e.port && !svcs.some((s) => s.spec.ports.some((p) => p.name === e.port))) bad.push(`${id}: no selected Service has port "${e.port}"`);
    }
    if (d.kind === "ScaledObject")
      for (const t of d.spec.triggers ?? [])
        if (t.authenticationRef && !docs.some((a) => a.kind === "TriggerAuthentication" && a.metadata.name === t.authenticationRef.name))
          bad.push(`${id}: TriggerAuthentication ${t.authenticationRef.name} is not in the render`);
  }
  return bad;
}

const args = process.argv.slice(2);
let jsonOut = null;
if (args[0] === "--json") { jsonOut = args[1]; args.splice(0, 2); }
if (!args.length) { console.error("usage: node validate.mjs [--json OUT] FILE..."); process.exit(2); }

let failed = 0;
const all = [];
for (const file of args) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  for (const ydoc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (ydoc.errors?.length) { failed++; console.log(`FAIL ${file}: YAML: ${ydoc.errors[0].message}`); continue; }
    const doc = ydoc.toJS();
    if (doc == null) continue;
    const id = `${doc.kind}/${doc.metadata?.name}`;
    const Model = doc.apiVersion && doc.kind ? await modelFor(doc.apiVersion, doc.kind) : null;
    const problems = [];
    if (!Model) problems.push(`no schema for apiVersion "${doc.apiVersion}" kind "${doc.kind}"`);
    else {
      for (const e of schemaErrors(Model, doc)) problems.push(`${e.instancePath || "/"} ${e.message}`);
      for (const at of unknownFields(Model, doc)) problems.push(`${at}: unknown field`);
      problems.push(...apiChecks(doc));
    }
    if (problems.length) { failed++; for (const p of problems) console.log(`FAIL ${file}: ${id}: ${p}`); }
    else console.log(`ok   ${file}: ${doc.apiVersion} ${id}`);
    all.push(doc);
  }
}
for (const p of crossChecks(all)) { failed++; console.log(`FAIL ${p}`); }
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(all, null, 1));
console.log(`${all.length} object(s), ${failed} problem(s)`);
process.exit(failed ? 1 : 0);
