// console.mjs - drives the muster console in headless Chromium against a real
// muster-api (tests/e2e/console_browser.sh starts everything and checks the
// events afterwards). Environment:
//   PUPPETEER_DIR  where puppeteer-core is installed (the test's cache)
//   CHROMIUM       the browser; CONSOLE_URL  muster-api's address
//   TOKEN_ADMIN    alice's token (read, ack, write, replay)
//   TOKEN_VIEWER   viewer's token (read, ack: no tasks:replay)
//   INCIDENTS      the incidents the test opened (comma-separated: the
//                  web-down ones, then the poison one)
//   DEAD_TASK      the dead task INCIDENT/STEP; SHOTS  where screenshots go
//   MUSTER         the muster command (it sends one more alert while the
//                  list is open); WORK_DIR  the test's scratch folder
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.PUPPETEER_DIR, "package.json"));
const puppeteer = require("puppeteer-core");

const URL = process.env.CONSOLE_URL;
const SHOTS = process.env.SHOTS;
const incidents = process.env.INCIDENTS.split(",");
const deadTask = process.env.DEAD_TASK;
const WAIT = 15000;

function ok(what) { console.log(`ok: ${what}`); }
function check(cond, what) {
  if (!cond) throw new Error(`FAIL: ${what}`);
  ok(what);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
});
const errors = [];
let page = null;
try {
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  // The refused token and the viewer's refused replays are meant to fail.
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of (401|403)/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    if (!r.url().includes("/api/v1/events")) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  // Nothing but muster-api itself is asked for.
  page.on("request", (r) => { if (!r.url().startsWith(URL)) errors.push(`outside request: ${r.url()}`); });

  const shot = async (name, opts) => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, ...(opts || {}) });
  };
  const signIn = async (tok) => {
    await page.goto(`${URL}/#/login`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#token", { visible: true, timeout: WAIT });
    await page.type("#token", tok);
    await page.keyboard.press("Enter"); // the form submits by keyboard
    await page.waitForSelector("nav:not([hidden])", { timeout: WAIT });
  };
  const signOut = async () => {
    await page.click("#logout");
    await page.waitForSelector("#token", { visible: true, timeout: WAIT });
  };
  const statusText = () => page.$eval("#status", (e) => e.textContent);
  const waitStatus = (re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent),
    { timeout: WAIT }, re.source);

  // The login page: a labelled field, the token kept in this tab only.
  await page.goto(`${URL}/`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#token", { visible: true, timeout: WAIT });
  check(await page.$eval("label[for=token]", (l) => l.textContent.includes("API token")), "the token field is labelled");
  await shot("login");

  // A wrong token is refused, and says so.
  await page.type("#token", "mst_wrong");
  await page.keyboard.press("Enter");
  await waitStatus(/refused|401/);
  check(await page.evaluate(() => sessionStorage.getItem("muster.token") === null), "a refused token is not kept");

  // -- viewer: no tasks:replay --
  await page.reload({ waitUntil: "domcontentloaded" });
  await signIn(process.env.TOKEN_VIEWER);
  check((await page.$eval("#holder", (e) => e.textContent)).startsWith("viewer"), "the page names the token's holder");
  await page.goto(`${URL}/#/dead`, { waitUntil: "domcontentloaded" });
  const sel = `tr[data-task="${deadTask}"] button.replay-one`;
  await page.waitForSelector(sel, { timeout: WAIT });
  check(await page.$eval(sel, (b) => b.disabled && /tasks:replay/.test(b.title)), "viewer: the replay button is disabled, and says why");
  check(await page.$eval("#replay-chosen", (b) => b.disabled), "viewer: the bulk replay button is disabled");
  const refused = await page.evaluate(async (task) => {
    const h = { Authorization: `Bearer ${sessionStorage.getItem("muster.token")}`, "Content-Type": "application/json" };
    const bulk = await fetch("/api/v1/tasks/replay", { method: "POST", headers: h, body: JSON.stringify({ tasks: [task], dry_run: true }) });
    const one = await fetch(`/api/v1/tasks/${task}/replay`, { method: "POST", headers: h, body: "{}" });
    return [bulk.status, one.status];
  }, deadTask);
  check(refused[0] === 403 && refused[1] === 403, `viewer: the API refuses the replay (${refused})`);
  await shot("dead-viewer");
  await signOut();

  // -- alice: everything --
  await signIn(process.env.TOKEN_ADMIN);
  await page.goto(`${URL}/#/incidents`, { waitUntil: "domcontentloaded" });
  for (const id of incidents) await page.waitForSelector(`tr[data-incident="${id}"]`, { timeout: WAIT });
  check(true, `the incident list shows the ${incidents.length} incidents the test opened`);
  // Live: an incident opened while the list is open appears without a reload.
  const alertFile = path.join(process.env.WORK_DIR, "web-3.json");
  writeFileSync(alertFile, JSON.stringify({ source: "t", summary: "web 3 is down", severity: "critical",
    labels: { case: "console", service: "web-3" } }));
  execFileSync(process.env.MUSTER, ["send-alert", alertFile], { stdio: ["ignore", "ignore", "inherit"] });
  await page.waitForFunction((n) => document.querySelectorAll("tr[data-incident]").length === n, { timeout: WAIT }, incidents.length + 1);
  check(await page.$$eval("tr[data-incident] a", (as) => as.some((a) => a.textContent === "web 3 is down")),
    "the list shows an incident opened while it is open (the event stream)");
  // A filter the API applies: by workflow, the poison incident goes (3 web-down stay).
  await page.select("#state", "");
  await page.type("#workflow", "web-down");
  await page.click("form.filters button[type=submit]");
  await page.waitForFunction(() => location.hash.includes("workflow=web-down"), { timeout: WAIT });
  await page.waitForFunction((n) => document.querySelectorAll("tr[data-incident]").length === n, { timeout: WAIT }, incidents.length);
  check(true, "the workflow filter keeps the web-down incidents only");
  await page.goto(`${URL}/#/incidents`, { waitUntil: "domcontentloaded" });
  for (const id of incidents) await page.waitForSelector(`tr[data-incident="${id}"]`, { timeout: WAIT });
  await shot("incidents");
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await page.reload({ waitUntil: "domcontentloaded" });
  await page.waitForSelector(`tr[data-incident="${incidents[0]}"]`, { timeout: WAIT });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `at phone width nothing is wider than the screen (${overflow}px)`);
  await shot("incidents-phone");
  await page.setViewport({ width: 1280, height: 900 });

  // The incident: its DAG, then Acknowledge and a note.
  const web = incidents[0];
  await page.goto(`${URL}/#/incidents/${encodeURIComponent(web)}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector('g.node[data-step="summary"]', { timeout: WAIT });
  const nodes = await page.$$eval("g.node", (g) => g.map((n) => `${n.dataset.step}:${n.getAttribute("class")}`));
  check(nodes.length === 4 && nodes.every((n) => n.endsWith("succeeded")), `the DAG draws the 4 steps, succeeded (${nodes})`);
  const edges = await page.$$eval("path.edge", (p) => p.length);
  check(edges === 4, `the DAG draws the 4 needs as edges (${edges})`);
  await page.waitForSelector("#ack:not([disabled])", { timeout: WAIT });
  await page.focus("#ack");
  await page.keyboard.press("Enter"); // by keyboard
  await waitStatus(/Acknowledge: acknowledged \(by alice\)/);
  await page.waitForSelector('li[data-type="incident.acknowledged"]', { timeout: WAIT });
  check(await page.$eval('li[data-type="incident.acknowledged"]', (li) => li.textContent.includes("by alice")),
    "Acknowledge: the timeline shows incident.acknowledged by alice");
  await page.type("#note-text", "checked the load balancer");
  await page.click("#note");
  await page.waitForSelector('li[data-type="incident.note"]', { timeout: WAIT });
  check(true, "the note is in the timeline");
  await shot("incident");
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await page.waitForSelector('g.node[data-step="summary"]', { timeout: WAIT });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 1, `the incident at phone width: the graph scrolls in its box, the page does not (${wide}px)`);
  await shot("incident-phone");
  await page.setViewport({ width: 1280, height: 900 });

  // Resolve, on the other web incident.
  await page.goto(`${URL}/#/incidents/${encodeURIComponent(incidents[1])}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#resolve:not([disabled])", { timeout: WAIT });
  await page.click("#resolve");
  await waitStatus(/Resolve: resolved/);
  await page.waitForSelector("#resolve[disabled]", { timeout: WAIT });
  check(true, "Resolve resolves the incident");

  // Dead tasks: preview (dry run), then confirm.
  await page.goto(`${URL}/#/dead`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(`${sel}:not([disabled])`, { timeout: WAIT });
  check(await page.$$eval("section.card h2", (h) => h.some((x) => x.textContent.includes("poison / call"))),
    "dead tasks are grouped by workflow and step");
  await page.click(sel);
  await page.waitForSelector("#confirm-replay", { timeout: WAIT });
  const preview = await page.$eval(`#replay-preview tr[data-task="${deadTask}"]`, (tr) => tr.textContent);
  check(/would replay/.test(preview) && /dead/.test(preview), `the dry run previews the replay (${preview})`);
  const still = await page.evaluate(async () => {
    const r = await fetch("/api/v1/tasks/dead", { headers: { Authorization: `Bearer ${sessionStorage.getItem("muster.token")}` } });
    return (await r.json()).tasks.length;
  });
  check(still === 1, "the preview replayed nothing");
  await shot("dead");
  // Cancel, then the same by the group's box and the bulk button.
  await page.$$eval("#replay-preview button", (bs) => bs.find((b) => b.textContent === "Cancel").click());
  await page.waitForFunction(() => !document.getElementById("confirm-replay"), { timeout: WAIT });
  await page.click("#group-0");
  check(await page.$eval(`tr[data-task="${deadTask}"] input.pick`, (c) => c.checked), "the group's box chooses its tasks");
  await page.click("#replay-chosen");
  await page.waitForSelector("#confirm-replay", { timeout: WAIT });
  check(await page.$eval("#confirm-replay", (b) => b.textContent.includes("1 task")), "the bulk preview counts the chosen");
  await page.click("#confirm-replay");
  await waitStatus(/Replayed 1 task/);
  check(true, `confirmed: ${await statusText()}`);

  await page.goto(`${URL}/#/queues`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#fig-lag", { timeout: WAIT });
  await page.waitForSelector("tr[data-worker]", { timeout: WAIT });
  check(true, "queues and workers: the figures and a worker's heartbeat");
  await shot("queues");

  await page.goto(`${URL}/#/kpi?since=30d`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#kpi-cards", { timeout: WAIT });
  const charts = await page.$$eval("svg.chart", (s) => s.length);
  check(charts === 12, `KPIs: four yardsticks by week, workflow and service (${charts} charts)`);
  await shot("kpi");

  // Keyboard: the skip link comes first; the filters are reachable by Tab.
  await page.goto(`${URL}/#/incidents`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("tr[data-incident]", { timeout: WAIT });
  check(await page.evaluate(() => document.querySelector("a[href], button, input, select, textarea").classList.contains("skip")),
    "the first thing to focus is 'Skip to content'");
  await page.focus("#main");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.id === "state"), "Tab from the page's start reaches the first filter");
  const unlabelled = await page.$$eval("input, select, textarea, button", (xs) => xs.filter((x) =>
    !(x.labels && x.labels.length) && !x.getAttribute("aria-label") && !x.textContent.trim()).map((x) => x.outerHTML));
  check(unlabelled.length === 0, `every control is labelled${unlabelled.length ? `: ${unlabelled}` : ""}`);

  check(errors.length === 0, `no page errors, failed or outside requests${errors.length ? `: ${errors.join("; ")}` : ""}`);
} catch (e) {
  // What the page showed when it went wrong.
  if (page) {
    await page.screenshot({ path: path.join(SHOTS, "failure.png"), fullPage: true }).catch(() => {});
    const where = await page.evaluate(() => `${location.hash} status: ${document.getElementById("status").textContent}`).catch(() => "");
    console.error(`at ${where}`);
  }
  if (errors.length) console.error(errors.join("\n"));
  throw e;
} finally {
  await browser.close();
}
