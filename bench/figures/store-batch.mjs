// Diagnostic (not an issue figure): the store's cost of the run manager's journal through
// the asynchronous batch interface (AsyncStateStore.commit), no component server and no
// executor: the workload of store-journal.mjs, one StoreBatch per group commit of --per
// items, one commit in flight at a time, for memory and SQLite (through the adapter) and
// PostgreSQL (a server at --url, e.g. a throwaway cluster: see README "Stores").
//   node --expose-gc figures/store-batch.mjs --store memory|sqlite|sqlite-normal|postgres [--url postgres://...] [--n 20000] [--per 50] [--runs 5]
// Prints one JSON line: µs of wall and of this process's CPU per item (PostgreSQL's own
// CPU is in other processes); `best` is the fastest run.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncStore } from '../../dist/runtime/store/async-state-adapter.js';
import { openStore } from '../../dist/runtime/store/open-store.js';
import { PostgresStore } from '../../dist/runtime/store/postgres-store.js';
import { StoreBatch } from '../../dist/runtime/store/store-batch.js';
import { args, emit, median } from '../lib/common.mjs';
import { journalCommit } from '../lib/journal-workload.mjs';

const opt = args({ store: 'sqlite', url: process.env.WEFT_DATABASE_URL ?? '', n: 20000, per: 50, runs: 5 });

async function open(dir) {
  if (opt.store === 'postgres') {
    if (!opt.url) throw new Error('--store postgres needs --url postgres://... (or WEFT_DATABASE_URL)');
    return PostgresStore.open(opt.url);
  }
  if (opt.store === 'memory') return asyncStore(openStore({ type: 'memory' }));
  return asyncStore(openStore({ type: 'sqlite', path: join(dir, 'weft.db'), durability: opt.store === 'sqlite-normal' ? 'normal' : 'full' }));
}

async function once() {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-store-'));
  const store = await open(dir);
  const st = store.state;
  const runId = randomUUID(); // PostgreSQL keeps runs across runs of this script
  await st.commit(new StoreBatch()
    .createRun({ runId, flowId: `sha256:${'0'.repeat(64)}`, status: 'running', createdAt: new Date().toISOString(), rootRunId: runId, depth: 0, items: {} })
    .addItems(runId, 0, Array.from({ length: opt.n }, (_, i) => ({ i }))));
  const commits = Math.ceil(opt.n / opt.per);
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let k = 0; k <= commits; k++) {
    const b = new StoreBatch();
    journalCommit(b, runId, k, commits, opt.n, opt.per);
    await st.commit(b);
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3 / opt.n;
  const cpu = process.cpuUsage(c0);
  const last = await st.getItem(runId, opt.n - 1);
  if (last?.status !== 'success') throw new Error(`item ${opt.n - 1}: ${JSON.stringify(last)}`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { wallUs, cpuUs: (cpu.user + cpu.system) / opt.n };
}

const runs = [];
for (let r = 0; r < opt.runs; r++) runs.push(await once());
const best = runs.reduce((a, b) => (b.wallUs < a.wallUs ? b : a));
emit({ ...opt, url: opt.url ? '(given)' : '', wallUsPerItem: +median(runs.map((r) => r.wallUs)).toFixed(2), best: +best.wallUs.toFixed(2), cpuUsPerItem: +median(runs.map((r) => r.cpuUs)).toFixed(2) });
