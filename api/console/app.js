/* app.js - the muster console: incidents, one incident, dead tasks, queues, KPIs.
 * Plain browser JavaScript, no build step, nothing fetched but muster-api's
 * own /api/v1/ (docs/console.md). */
"use strict";

const TOKEN_KEY = "muster.token";
const SCOPES = {
  read: "incidents:read", ack: "incidents:ack", write: "incidents:write",
  replay: "tasks:replay", admin: "admin",
};

const state = { me: null, stream: null, timer: null, page: null, gen: 0 };

/* ---- small helpers ---- */

/* An element: el("td", {class: "num", "data-label": "Age"}, "3m", child...). */
function el(tag, attrs, ...kids) {
  const svg = ["svg", "g", "rect", "text", "path", "line", "defs", "marker", "title", "tspan"].includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function say(text, error) {
  const s = document.getElementById("status");
  s.textContent = text || "";
  s.classList.toggle("error", !!error);
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function can(scope) {
  const s = (state.me && state.me.scopes) || [];
  return s.includes(scope) || s.includes(SCOPES.admin);
}

/* A button the token may not use is disabled, and says why. */
function guarded(scope, label, attrs) {
  const ok = can(scope);
  const b = el("button", Object.assign({ type: "button", disabled: !ok }, attrs || {}), label);
  if (!ok) {
    b.title = `Your token lacks the ${scope} scope`;
    b.setAttribute("aria-description", b.title);
  }
  return b;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/* Calls muster-api with the token; 401 sends the person back to sign in. */
async function api(path, opts) {
  opts = opts || {};
  const headers = { Authorization: `Bearer ${token()}` };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`/api/v1/${path}`, {
    method: opts.method || "GET", headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
    const msg = "The token was refused (401): sign in again";
    if (!location.hash.startsWith("#/login")) location.hash = `#/login?m=${encodeURIComponent(msg)}`;
    throw new ApiError(401, msg);
  }
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || `HTTP ${r.status}`);
  return body;
}

function ms(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : Date.parse(v);
}

function when(v) {
  const t = ms(v);
  if (!t) return "-";
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function clock(v) {
  const t = ms(v);
  return t ? new Date(t).toISOString().slice(11, 19) : "-";
}

/* A duration for a person: 850ms, 12.3s, 4m05s, 2h10m, 3d4h. */
function dur(msv) {
  if (msv === null || msv === undefined || !Number.isFinite(Number(msv))) return "-";
  const x = Number(msv);
  if (x < 1000) return `${Math.round(x)}ms`;
  const s = x / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function badge(text) {
  return el("span", { class: `badge s-${String(text || "unknown").replace(/[^a-z_-]/gi, "")}` }, text || "-");
}

function incidentState(i) {
  if (i.status === "resolved") return "resolved";
  if (i.acknowledged_by) return "acknowledged";
  return i.status || "open";
}

function ticketOf(t) {
  if (!t) return null;
  if (typeof t === "string") return { key: t, url: /^https?:/.test(t) ? t : null };
  return { key: t.key || t.number || t.id || "ticket", url: t.url || t.link || null };
}

function json(v) {
  if (typeof v === "string") {
    try { return JSON.parse(v); } catch (e) { return v; }
  }
  return v;
}

function table(columns, rows, caption) {
  return el("div", { class: "table-wrap" },
    el("table", { class: "stack" },
      caption ? el("caption", { class: "muted" }, caption) : null,
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      el("tbody", {}, rows.map((r) => el("tr", r.attrs || {},
        columns.map((c, i) => el("td", { "data-label": c.label, class: c.num ? "num" : null }, r.cells[i])))))));
}

/* ---- live updates: the events stream, read with fetch so it carries the token ---- */

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

function listen(query, onEvent) {
  stopStream();
  const ctl = new AbortController();
  state.stream = ctl;
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const r = await fetch(`/api/v1/events${query ? `?${query}` : ""}`, {
          headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" }, signal: ctl.signal,
        });
        if (!r.ok || !r.body) throw new Error(`events: HTTP ${r.status}`);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const msg = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const data = msg.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) {
              try { onEvent(JSON.parse(data)); } catch (e) { /* not an event */ }
            }
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      await new Promise((res) => setTimeout(res, 3000));
    }
  })();
}

/* A check for after an await: false once the person went to another page,
 * whose content an answer for this one must not replace. */
function still() {
  const gen = state.gen;
  return () => gen === state.gen;
}

/* Many events in a burst cause one refresh. */
function debounce(fn, wait) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, wait); };
}

/* ---- pages ---- */

function page(title, ...kids) {
  const m = document.getElementById("main");
  m.replaceChildren(el("h1", { id: "title" }, title), ...kids);
  document.title = `${title} - muster`;
  m.focus({ preventScroll: true });
  return m;
}

function loginPage(message) {
  const input = el("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true });
  const form = el("form", {
    on: {
      submit: async (e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        try {
          state.me = await api("whoami");
          location.hash = "#/incidents";
          route();
        } catch (err) {
          sessionStorage.removeItem(TOKEN_KEY);
          say(err.message, true);
          input.focus();
        }
      },
    },
  },
  el("label", { for: "token" }, "API token", input),
  el("p", { class: "muted" }, "The token 'muster token create' printed. It is kept in this tab only (sessionStorage)."),
  el("button", { type: "submit" }, "Sign in"));
  const m = page("Sign in", el("div", { class: "card login" }, form));
  m.querySelector("h1").classList.add("login");
  if (message) say(message, true);
  input.focus();
}

const FILTERS = ["state", "severity", "workflow", "since", "acked_by", "ticket", "q"];

async function incidentsPage(params) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
  const sel = (id, label, options) => el("label", { for: id }, label,
    el("select", { id, name: id }, options.map(([v, t]) => el("option", { value: v, selected: f[id] === v }, t))));
  const text = (id, label, ph) => el("label", { for: id }, label, el("input", { id, name: id, value: f[id], placeholder: ph || "" }));
  const form = el("form", { class: "filters card", role: "search", "aria-label": "Filter incidents" },
    sel("state", "State", [["", "any"], ["open", "open"], ["unacknowledged", "unacknowledged"],
      ["acknowledged", "acknowledged"], ["resolved", "resolved"]]),
    sel("severity", "Severity", [["", "any"], ["critical", "critical"], ["error", "error"], ["warning", "warning"], ["info", "info"]]),
    text("workflow", "Workflow", "service-down"),
    sel("since", "Opened within", [["", "any time"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]]),
    text("acked_by", "Acknowledged by", "name"),
    sel("ticket", "Ticket", [["", "any"], ["yes", "with a ticket"], ["no", "without"]]),
    text("q", "Search", "id, summary"),
    el("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const k of FILTERS) if (form.elements[k].value) q.set(k, form.elements[k].value.trim());
    location.hash = `#/incidents?${q}`;
  });
  const body = el("div", { id: "incident-list" }, el("p", { class: "muted" }, "Loading…"));
  const more = el("div", { class: "actions" });
  page("Incidents", form, body, more);

  let cursor = null;
  let shown = [];
  const server = new URLSearchParams();
  for (const k of ["state", "severity", "workflow", "since", "q"]) if (f[k]) server.set(k, f[k]);

  /* What the API does not filter is filtered here, on the page loaded. */
  const keep = (i) => (!f.acked_by || (i.acknowledged_by || "").toLowerCase().includes(f.acked_by.toLowerCase())) &&
    (!f.ticket || (f.ticket === "yes") === !!ticketOf(i.ticket));

  const render = () => {
    const rows = shown.filter(keep).map((i) => {
      const t = ticketOf(i.ticket);
      return {
        attrs: { "data-incident": i.id },
        cells: [
          el("a", { href: `#/incidents/${encodeURIComponent(i.id)}` }, i.summary || i.id),
          badge(incidentState(i)), badge(i.severity), i.workflow || "-", i.service || "-",
          dur(Date.now() - ms(i.opened_at)), i.acknowledged_by || "-",
          t ? (t.url ? el("a", { href: t.url, rel: "noopener noreferrer", target: "_blank" }, t.key) : t.key) : "-",
        ],
      };
    });
    body.replaceChildren(rows.length ? table([
      { label: "Incident" }, { label: "State" }, { label: "Severity" }, { label: "Workflow" },
      { label: "Service" }, { label: "Age" }, { label: "Acknowledged by" }, { label: "Ticket" },
    ], rows, `${rows.length} incident(s)`) : el("p", { class: "muted" }, "No incident matches."));
  };

  const here = still();
  const load = async (append) => {
    const q = new URLSearchParams(server);
    if (append && cursor) q.set("cursor", cursor);
    try {
      const r = await api(`incidents?${q}`);
      if (!here()) return;
      shown = append ? shown.concat(r.incidents || []) : (r.incidents || []);
      cursor = r.next_cursor || null;
      render();
      more.replaceChildren(cursor ? el("button", { type: "button", class: "secondary", on: { click: () => load(true) } }, "Load more") : "");
      say(`Updated ${clock(Date.now())}`);
    } catch (e) {
      say(e.message, true);
    }
  };
  await load(false);
  const refresh = debounce(() => load(false), 500);
  listen("", (ev) => { if (/^incident\.|^workflow\./.test(ev.type || "")) refresh(); });
}

/* Layers of the step DAG: a step sits one right of its deepest need. */
function layout(steps) {
  const by = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const visit = (id, seen) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const s = by.get(id);
    const needs = (s && s.needs_list) || [];
    const d = needs.length ? 1 + Math.max(...needs.map((n) => (by.has(n) ? visit(n, seen) : -1))) : 0;
    depth.set(id, Math.max(0, d));
    return depth.get(id);
  };
  steps.forEach((s) => visit(s.id, new Set()));
  const cols = [];
  steps.forEach((s) => { const d = depth.get(s.id); (cols[d] = cols[d] || []).push(s); });
  return cols;
}

function dag(steps) {
  const W = 170, H = 52, GX = 50, GY = 18;
  steps.forEach((s) => { s.needs_list = Array.isArray(json(s.needs)) ? json(s.needs) : []; });
  const cols = layout(steps);
  const pos = new Map();
  cols.forEach((col, x) => col.forEach((s, y) => pos.set(s.id, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
  const width = 20 + cols.length * (W + GX) - GX;
  const height = 20 + Math.max(1, ...cols.map((c) => c.length)) * (H + GY) - GY;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-labelledby": "dag-title" },
  el("title", { id: "dag-title" }, `Steps: ${steps.map((s) => `${s.id} ${s.state || "waiting"}`).join(", ")}`),
  el("defs", {}, el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9aa3b2" }))));
  for (const s of steps) {
    for (const n of s.needs_list) {
      const a = pos.get(n), b = pos.get(s.id);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      svg.append(el("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    }
  }
  for (const s of steps) {
    const p = pos.get(s.id);
    const st = s.state || "waiting";
    const d = s.duration_ms !== undefined && s.duration_ms !== null ? dur(s.duration_ms) : "";
    svg.append(el("g", { class: `node ${st}`, transform: `translate(${p.x},${p.y})`, "data-step": s.id },
      el("title", {}, `${s.id}: ${st}${d ? `, ${d}` : ""}${s.error ? ` - ${s.error}` : ""}`),
      el("rect", { width: W, height: H, rx: 6 }),
      el("text", { x: 10, y: 20 }, s.id.length > 22 ? `${s.id.slice(0, 21)}…` : s.id),
      el("text", { x: 10, y: 38, class: "sub" }, `${s.action ? `${s.action} · ` : ""}${st}${d ? ` · ${d}` : ""}`)));
  }
  return el("div", { class: "dag card" }, svg);
}

function describe(ev) {
  const d = ev.data || {};
  const parts = [];
  if (d.step) parts.push(d.step);
  if (d.by) parts.push(`by ${d.by}`);
  if (d.via) parts.push(`via ${d.via}`);
  if (d.level) parts.push(`level ${d.level}`);
  if (d.text) parts.push(`"${d.text}"`);
  if (d.duration_ms !== undefined) parts.push(dur(d.duration_ms));
  if (d.error) parts.push(d.error);
  if (d.summary && ev.type === "incident.opened") parts.push(d.summary);
  return parts.join(" · ");
}

async function incidentPage(id) {
  page("Incident", el("p", { class: "muted" }, "Loading…"));
  const here = still();
  const render = async () => {
    let doc;
    try {
      doc = await api(`incidents/${encodeURIComponent(id)}`);
    } catch (e) {
      if (here()) say(e.message, true);
      return;
    }
    if (!here()) return;
    const inc = doc.incident || {};
    const alert = (doc.alerts || [])[0] || {};
    const stateNow = inc.status === "resolved" ? "resolved" : (doc.acknowledged ? "acknowledged" : inc.status || "open");
    const ack = guarded(SCOPES.ack, "Acknowledge", { id: "ack" });
    const resolve = guarded(SCOPES.write, "Resolve", { id: "resolve", class: "danger" });
    if (doc.acknowledged && can(SCOPES.ack)) { ack.disabled = true; ack.title = `Acknowledged by ${doc.acknowledged.by}`; }
    if (inc.status === "resolved" && can(SCOPES.write)) { resolve.disabled = true; resolve.title = "Resolved already"; }
    const act = (path, what, body) => async () => {
      try {
        const r = await api(`incidents/${encodeURIComponent(id)}/${path}`, { method: "POST", body: body ? body() : {} });
        say(`${what}: ${r.outcome || "done"}${r.acknowledged_by ? ` (by ${r.acknowledged_by})` : ""}`);
        await render();
      } catch (e) { say(e.message, true); }
    };
    ack.addEventListener("click", act("ack", "Acknowledge"));
    resolve.addEventListener("click", act("resolve", "Resolve"));
    const noteText = el("textarea", { id: "note-text", rows: 2, cols: 40, maxlength: 4096, disabled: !can(SCOPES.write) });
    const note = guarded(SCOPES.write, "Add note", { id: "note" });
    note.addEventListener("click", async () => {
      if (!noteText.value.trim()) { say("A note needs some text", true); noteText.focus(); return; }
      await act("notes", "Note", () => ({ text: noteText.value.trim() }))();
    });
    const steps = doc.steps || [];
    /* A step's action: its events say it (the definition is not in the task). */
    const actions = {};
    for (const ev of doc.timeline || []) if (ev.data && ev.data.step && ev.data.action) actions[ev.data.step] = ev.data.action;
    steps.forEach((s) => { s.action = s.action || (json(s.def) || {}).action || actions[s.id] || null; });
    const m = page(alert.summary || id,
      el("p", {}, badge(stateNow), " ", badge(alert.severity), " ",
        el("span", { class: "mono" }, id), " · ", inc.workflow || "-", " · opened ", when(inc.opened_at),
        doc.acknowledged ? ` · acknowledged by ${doc.acknowledged.by}${doc.acknowledged.via ? ` via ${doc.acknowledged.via}` : ""}` : ""),
      el("div", { class: "actions card", role: "group", "aria-label": "Incident actions" }, ack, resolve,
        el("label", { for: "note-text" }, "Note", noteText), note),
      el("h2", {}, "Steps"), steps.length ? dag(steps) : el("p", { class: "muted" }, "No steps."),
      table([{ label: "Step" }, { label: "Action" }, { label: "State" }, { label: "Attempts", num: true },
        { label: "Duration", num: true }, { label: "Error" }],
      steps.map((s) => ({ attrs: { "data-step": s.id }, cells: [s.id, s.action || "-", badge(s.state || "waiting"),
        s.attempts ?? "-", dur(s.duration_ms), s.error || ""] }))),
      el("h2", {}, "Timeline"),
      el("ol", { class: "timeline card", id: "timeline" }, (doc.timeline || []).map((ev) =>
        el("li", { "data-type": ev.type }, el("time", { datetime: ev.time }, clock(ev.time)),
          el("span", {}, el("strong", {}, ev.type), " ", describe(ev))))),
      el("h2", {}, "Alerts"),
      ...(doc.alerts || []).map((a) => el("div", { class: "card" },
        el("p", {}, badge(a.status), " ", a.summary || a.fingerprint || ""),
        el("p", { class: "mono" }, Object.entries(a.labels || {}).map(([k, v]) => `${k}=${v}`).join(" ")))),
      el("h2", {}, "Outputs"),
      ...steps.filter((s) => s.output && json(s.output) !== "").map((s) => el("details", { class: "card" },
        el("summary", {}, s.id), el("pre", {}, JSON.stringify(json(s.output), null, 2)))));
    m.querySelector("h1").textContent = alert.summary || id;
  };
  await render();
  const refresh = debounce(render, 400);
  listen(`incident=${encodeURIComponent(id)}`, () => refresh());
}

async function deadPage() {
  page("Dead tasks", el("p", { class: "muted" }, "Loading…"));
  const here = still();
  let r;
  try { r = await api("tasks/dead?limit=1000"); } catch (e) { say(e.message, true); return; }
  if (!here()) return;
  const tasks = r.tasks || [];
  const groups = new Map();
  for (const t of tasks) {
    const key = `${t.workflow || "-"}\u0000${t.step}\u0000${t.error || t.reason || ""}`;
    if (!groups.has(key)) groups.set(key, { workflow: t.workflow || "-", step: t.step, error: t.error || t.reason || "", tasks: [] });
    groups.get(key).tasks.push(t);
  }
  const preview = el("div", { id: "replay-preview", "aria-live": "polite" });
  const chosen = () => [...document.querySelectorAll("input.pick:checked")].map((c) => c.value);
  const replay = async (list) => {
    if (!list.length) { say("Choose the tasks to replay", true); return; }
    try {
      const dry = await api("tasks/replay", { method: "POST", body: { tasks: list, dry_run: true } });
      const confirm = guarded(SCOPES.replay, `Confirm replay of ${dry.would_replay} task(s)`, { id: "confirm-replay" });
      const cancel = el("button", { type: "button", class: "secondary", on: { click: () => preview.replaceChildren() } }, "Cancel");
      confirm.addEventListener("click", async () => {
        try {
          const done = await api("tasks/replay", { method: "POST", body: { tasks: list } });
          say(`Replayed ${done.replayed} task(s)${done.failed ? `, ${done.failed} refused` : ""}`);
          await deadPage();
        } catch (e) { say(e.message, true); }
      });
      preview.replaceChildren(el("div", { class: "card" },
        el("h2", { id: "preview-title" }, "Dry run: what the replay would do"),
        table([{ label: "Task" }, { label: "State now" }, { label: "Outcome" }],
          (dry.results || []).map((x) => ({ attrs: { "data-task": x.task }, cells: [x.task, x.state_before || "-", x.outcome] }))),
        el("div", { class: "actions" }, confirm, cancel)));
      (dry.would_replay ? confirm : cancel).focus();
    } catch (e) { say(e.message, true); }
  };
  const bulk = guarded(SCOPES.replay, "Preview replay of the chosen", { id: "replay-chosen" });
  bulk.addEventListener("click", () => replay(chosen()));
  const sections = [...groups.values()].map((g, gi) => {
    const all = el("input", { type: "checkbox", id: `group-${gi}`, "aria-label": `Choose all ${g.tasks.length} of ${g.workflow}/${g.step}` });
    all.addEventListener("change", () => sec.querySelectorAll("input.pick").forEach((c) => { c.checked = all.checked; }));
    const sec = el("section", { class: "card", "aria-labelledby": `group-title-${gi}` },
      el("h2", { id: `group-title-${gi}` }, all, " ", `${g.workflow} / ${g.step}`, " ", el("span", { class: "muted" }, `(${g.tasks.length})`)),
      el("p", { class: "mono" }, g.error || "-"),
      table([{ label: "Choose" }, { label: "Task" }, { label: "Attempts", num: true }, { label: "Died" }, { label: "Replay" }],
        g.tasks.map((t) => {
          const one = guarded(SCOPES.replay, "Replay…", { class: "secondary replay-one", "data-task": t.task, "aria-label": `Replay ${t.task}` });
          one.addEventListener("click", () => replay([t.task]));
          return { attrs: { "data-task": t.task }, cells: [
            el("input", { type: "checkbox", class: "pick", value: t.task, "aria-label": `Choose ${t.task}` }),
            el("a", { href: `#/incidents/${encodeURIComponent(t.incident)}`, class: "mono" }, t.task),
            t.attempts ?? "-", when(t.died_at), one] };
        })));
    return sec;
  });
  page("Dead tasks",
    el("p", { class: "muted" }, `${tasks.length} dead task(s)${r.more ? " (more than shown)" : ""}, grouped by workflow, step and error. A replay is previewed (a dry run) before it is done.`),
    tasks.length ? el("div", { class: "actions" }, bulk) : el("p", {}, "No dead task."),
    preview, ...sections);
}

async function queuesPage() {
  page("Queues and workers", el("p", { class: "muted" }, "Loading…"));
  const here = still();
  const render = async () => {
    if (!here()) return;
    let st;
    try { st = await api("status"); } catch (e) { if (here()) say(e.message, true); return; }
    if (!here()) return;
    const lag = st.consumer_lag && typeof st.consumer_lag === "object" ? st.consumer_lag.total : st.consumer_lag;
    const fig = (label, v, id) => el("div", { class: "card", id }, el("div", { class: "muted" }, label), el("div", { class: "figure" }, v ?? "-"));
    const queues = Object.entries(st.queues || {});
    const workers = Object.entries(st.workers || {});
    page("Queues and workers",
      el("div", { class: "grid" },
        fig("Alerts not yet read (lag)", lag ?? "n/a", "fig-lag"), fig("In flight", queues.reduce((a, [, q]) => a + (q.in_flight || 0), 0), "fig-inflight"),
        fig("Delayed (retries)", st.delayed, "fig-delayed"), fig("Dead", st.dead, "fig-dead"),
        fig("Manual, waiting", st.manual_waiting, "fig-manual"), fig("Outbox", st.outbox, "fig-outbox"),
        fig("Open incidents", st.open_incidents, "fig-open"), fig("Paging timers", st.paging_timers, "fig-timers")),
      el("h2", {}, "Queues"),
      table([{ label: "Pool" }, { label: "Depth", num: true }, { label: "Waiting", num: true }, { label: "In flight", num: true }],
        queues.map(([name, q]) => ({ attrs: { "data-pool": name }, cells: [name, q.length ?? "-", q.waiting ?? "-", q.in_flight ?? "-"] }))),
      el("h2", {}, "Workers"),
      workers.length ? table([{ label: "Worker" }, { label: "Last heartbeat", num: true }],
        workers.map(([name, w]) => ({ attrs: { "data-worker": name }, cells: [name, `${dur(w.last_seen_ms_ago)} ago`] })))
        : el("p", { class: "muted" }, "No worker has sent a heartbeat."),
      el("h2", {}, "Outbox"),
      el("p", {}, `${st.outbox ?? 0} event(s) waiting for the relay; ${st.outbox_in_flight ?? 0} being sent; backlog ${st.outbox_backlog ?? 0}.`));
    say(`Updated ${clock(Date.now())}`);
  };
  await render();
  state.timer = setInterval(render, 5000);
}

/* ---- KPIs ---- */

const YARDSTICKS = [
  { key: "mtta", label: "MTTA (to the first acknowledgement by a person)", p50: "mtta_p50_s", mean: "mtta_mean_s", time: true },
  { key: "mttr", label: "MTTR (to resolution)", p50: "mttr_p50_s", mean: "mttr_mean_s", time: true },
  { key: "auto", label: "Automated actions per incident", value: "automated_per_incident", more: true },
  { key: "manual", label: "Manual tasks per incident", value: "manual_per_incident" },
];

function fmt(v, time) {
  if (v === null || v === undefined) return "-";
  return time ? dur(v * 1000) : Number(v).toFixed(2);
}

/* A bar chart of rows[].field (and a second, lighter bar for p50). */
function bars(rows, y, label, time) {
  const W = 320, H = 170, L = 40, B = 30, T = 10;
  const vals = rows.map((r) => Number(r[y.main]) || 0);
  const vals2 = y.second ? rows.map((r) => Number(r[y.second]) || 0) : [];
  const max = Math.max(1e-9, ...vals, ...vals2);
  const bw = rows.length ? (W - L - 10) / rows.length : 0;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label },
    el("line", { class: "axis", x1: L, y1: H - B, x2: W - 5, y2: H - B }),
    el("text", { x: 4, y: T + 8 }, fmt(max, time)), el("text", { x: 4, y: H - B }, "0"));
  rows.forEach((r, i) => {
    const x = L + i * bw;
    const h = ((Number(r[y.main]) || 0) / max) * (H - B - T);
    const w = y.second ? bw * 0.4 : bw * 0.7;
    svg.append(el("rect", { class: "bar", x: x + bw * 0.1, y: H - B - h, width: w, height: h },
      el("title", {}, `${r.key}: ${y.mainLabel} ${fmt(r[y.main], time)}`)));
    if (y.second) {
      const h2 = ((Number(r[y.second]) || 0) / max) * (H - B - T);
      svg.append(el("rect", { class: "bar prev", x: x + bw * 0.5, y: H - B - h2, width: w, height: h2 },
        el("title", {}, `${r.key}: ${y.secondLabel} ${fmt(r[y.second], time)}`)));
    }
    const week = /^\d{4}-(W\d+)$/.exec(String(r.key));
    const name = week ? week[1] : String(r.key);
    svg.append(el("text", { x: x + bw / 2, y: H - B + 14, "text-anchor": "middle" },
      name.length > 10 ? `${name.slice(0, 9)}…` : name, el("title", {}, String(r.key))));
  });
  return svg;
}

function changeText(c, lowerIsBetter) {
  if (c === null || c === undefined) return el("span", { class: "change" }, "no comparison");
  const good = lowerIsBetter ? c < 0 : c > 0;
  return el("span", { class: `change ${c === 0 ? "" : good ? "good" : "bad"}` },
    `${c > 0 ? "+" : ""}${(c * 100).toFixed(0)}% against the previous period`);
}

async function kpiPage(params) {
  const since = params.get("since") || "30d";
  const pick = el("select", { id: "kpi-since", name: "since" },
    [["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"], ["365d", "a year"]].map(([v, t]) => el("option", { value: v, selected: v === since }, t)));
  pick.addEventListener("change", () => { location.hash = `#/kpi?since=${pick.value}`; });
  page("KPIs", el("div", { class: "filters card" }, el("label", { for: "kpi-since" }, "Period", pick)), el("p", { class: "muted" }, "Loading…"));
  const here = still();
  let week, wf, svc;
  try {
    [week, wf, svc] = await Promise.all(["week", "workflow", "service"].map((by) => api(`kpi?since=${encodeURIComponent(since)}&by=${by}`)));
  } catch (e) { if (here()) say(e.message, true); return; }
  if (!here()) return;
  const t = week.total || {}, c = week.change || {}, p = week.previous || {};
  const cards = YARDSTICKS.map((y) => el("div", { class: "card", id: `kpi-${y.key}` },
    el("div", { class: "muted" }, y.label),
    y.time ? el("div", { class: "figure" }, `${fmt(t[y.p50], true)} p50`) : el("div", { class: "figure" }, fmt(t[y.value])),
    y.time ? el("div", {}, `mean ${fmt(t[y.mean], true)} (before: ${fmt(p[y.mean], true)})`) : el("div", {}, `before: ${fmt(p[y.value])}`),
    changeText(y.time ? c[y.p50] : c[y.value], !y.more)));
  const charts = (title, rep) => el("section", { "aria-labelledby": `h-${title}` },
    el("h2", { id: `h-${title}` }, `By ${title}`),
    el("div", { class: "grid" }, YARDSTICKS.map((y) => el("figure", { class: "card" },
      el("figcaption", { class: "muted" }, y.label, y.time ? " — mean (dark), p50 (light)" : ""),
      bars(rep.rows || [], y.time ? { main: y.mean, mainLabel: "mean", second: y.p50, secondLabel: "p50" } : { main: y.value, mainLabel: "" },
        `${y.label} by ${title}`, y.time)))));
  page("KPIs",
    el("div", { class: "filters card" }, el("label", { for: "kpi-since" }, "Period", pick)),
    el("p", { class: "muted" }, `${t.incidents ?? 0} incident(s) opened ${String(week.since).slice(0, 10)} to ${String(week.until).slice(0, 10)} (${week.days} days), against ${p.incidents ?? 0} in the ${week.days} days before.`),
    el("div", { class: "grid", id: "kpi-cards" }, cards),
    charts("week", week), charts("workflow", wf), charts("service", svc));
  document.getElementById("kpi-since").focus();
}

/* ---- routing ---- */

function stopPage() {
  stopStream();
  clearInterval(state.timer);
  state.timer = null;
}

async function route() {
  state.gen++;
  stopPage();
  say("");
  const hash = location.hash || "#/incidents";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (!token() || parts[0] === "login") {
    document.getElementById("nav").hidden = true;
    document.getElementById("who").hidden = true;
    state.page = "login";
    return loginPage(params.get("m"));
  }
  if (!state.me) {
    const here = still();
    try { state.me = await api("whoami"); } catch (e) { if (e.status !== 401 && here()) loginPage(e.message); return; }
    if (!here()) return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("holder").textContent = `${state.me.name} (${(state.me.scopes || []).join(", ")})`;
  state.page = parts[0] || "incidents";
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === state.page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (state.page === "incidents" && parts[1]) return incidentPage(decodeURIComponent(parts[1]));
  if (state.page === "incidents") return incidentsPage(params);
  if (state.page === "dead") return deadPage();
  if (state.page === "queues") return queuesPage();
  if (state.page === "kpi") return kpiPage(params);
  page("Not found", el("p", {}, el("a", { href: "#/incidents" }, "To the incidents")));
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  location.hash = "#/login";
});
window.addEventListener("hashchange", route);
route();
