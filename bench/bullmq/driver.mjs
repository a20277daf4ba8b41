// driver.mjs - the BullMQ reference of muster's benchmark (scenario 1): no-op
// jobs/s of one Worker on the bench's redis-server.
//
// usage: node driver.mjs --port P [--host H] --count N [--concurrency C]
//                        [--max-ms MS] [--mode both|add|process]
//
// add: N no-op jobs with Queue.addBulk, 1,000 per call, into a fresh queue.
// process: one Worker (concurrency C, default 50) with a processor that
// returns at once, until N jobs completed or MS (default 30000) passed. Only
// the processing side is timed: from the Worker's start to the last
// completion. Prints one JSON object (jobs, seconds, jobs_per_s).
import { Queue, Worker } from 'bullmq';
import { createRequire } from 'node:module';

const MAX_COUNT = 1_000_000;
const ADD_CHUNK = 1000;
const QUEUE = 'bench-noop';

function parse(argv) {
  const o = { host: '127.0.0.1', port: 0, count: 0, concurrency: 50, maxMs: 30000, mode: 'both' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--host') o.host = v;
    else if (k === '--port') o.port = Number(v);
    else if (k === '--count') o.count = Number(v);
    else if (k === '--concurrency') o.concurrency = Number(v);
    else if (k === '--max-ms') o.maxMs = Number(v);
    else if (k === '--mode') o.mode = v;
    else throw new Error(`unknown option ${k}`);
  }
  const whole = (n, lo, hi) => Number.isInteger(n) && n >= lo && n <= hi;
  if (!whole(o.port, 1, 65535)) throw new Error('--port wants 1-65535');
  if (!whole(o.count, 1, MAX_COUNT)) throw new Error(`--count wants 1-${MAX_COUNT}`);
  if (!whole(o.concurrency, 1, 10000)) throw new Error('--concurrency wants 1-10000');
  if (!whole(o.maxMs, 1, 3_600_000)) throw new Error('--max-ms wants 1-3600000');
  if (!['both', 'add', 'process'].includes(o.mode)) throw new Error('--mode wants both, add or process');
  return o;
}

// Jobs are removed once completed, as muster deletes a finished task's
// queue entry; BullMQ's default keeps every completed job in a sorted set.
const jobOpts = { removeOnComplete: true, removeOnFail: true };

async function add(connection, count) {
  const queue = new Queue(QUEUE, { connection });
  await queue.obliterate({ force: true });
  const t0 = performance.now();
  for (let done = 0; done < count; done += ADD_CHUNK) {
    const n = Math.min(ADD_CHUNK, count - done);
    const jobs = [];
    for (let i = 0; i < n; i++) jobs.push({ name: 'noop', data: { i: done + i }, opts: jobOpts });
    await queue.addBulk(jobs);
  }
  const secs = (performance.now() - t0) / 1000;
  await queue.close();
  return secs;
}

async function processJobs(connection, count, concurrency, maxMs) {
  let completed = 0, failed = 0, t1 = 0, finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const worker = new Worker(QUEUE, async () => undefined, { connection, concurrency, autorun: false });
  worker.on('completed', () => {
    completed++;
    t1 = performance.now();
    if (completed + failed >= count) finish();
  });
  worker.on('failed', () => {
    failed++;
    if (completed + failed >= count) finish();
  });
  worker.on('error', (err) => process.stderr.write(`bullmq driver: worker: ${err.message}\n`));
  await worker.waitUntilReady();
  const t0 = performance.now();
  const timer = setTimeout(finish, maxMs);
  worker.run().catch((err) => process.stderr.write(`bullmq driver: run: ${err.message}\n`));
  await finished;
  clearTimeout(timer);
  await worker.close(true);
  return { completed, failed, secs: completed > 0 ? (t1 - t0) / 1000 : 0 };
}

async function main() {
  const o = parse(process.argv.slice(2));
  const connection = { host: o.host, port: o.port, maxRetriesPerRequest: null };
  const version = createRequire(import.meta.url)('bullmq/package.json').version;
  let addSecs = null, res = { completed: 0, failed: 0, secs: 0 };
  if (o.mode !== 'process') addSecs = await add(connection, o.count);
  if (o.mode !== 'add') res = await processJobs(connection, o.count, o.concurrency, o.maxMs);
  process.stdout.write(JSON.stringify({
    mode: o.mode, bullmq: version, node: process.versions.node, concurrency: o.concurrency,
    added: o.mode === 'process' ? 0 : o.count, add_s: addSecs,
    jobs: res.completed, failed: res.failed, seconds: res.secs,
    jobs_per_s: res.secs > 0 ? res.completed / res.secs : 0,
  }) + '\n');
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`bullmq driver: ${err.message}\n`);
  process.exit(1);
});
