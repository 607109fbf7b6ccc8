// Diagnostic (not an issue figure): the store's own cost of the run manager's journal, no
// component server and no executor. Replays a 1-step item's writes (item running + event,
// step start + event, step finish + event, item finish + event) in group commits of
// --per items, as the run manager issues them, and reports wall and CPU µs per item.
//   node --expose-gc figures/store-journal.mjs --store memory|sqlite|sqlite-normal [--n 20000] [--per 50] [--runs 5]
// Prints one JSON line; `best` is the fastest run (the least disturbed on a shared machine).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../dist/runtime/store/open-store.js';
import { args, emit, median } from '../lib/common.mjs';
import { journalCommit } from '../lib/journal-workload.mjs';

const opt = args({ store: 'sqlite', n: 20000, per: 50, runs: 5 });

async function once() {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-store-'));
  const store = opt.store === 'memory' ? openStore({ type: 'memory' })
    : openStore({ type: 'sqlite', path: join(dir, 'weft.db'), durability: opt.store === 'sqlite-normal' ? 'normal' : 'full' });
  const st = store.state;
  const runId = '01934b2e-7c1a-7d3e-9f00-123456789abc';
  st.transaction(() => {
    st.createRun({ runId, flowId: `sha256:${'0'.repeat(64)}`, status: 'running', createdAt: new Date().toISOString(), rootRunId: runId, depth: 0, items: {} });
    st.addItems(runId, 0, Array.from({ length: opt.n }, (_, i) => ({ i })));
  });
  const commits = Math.ceil(opt.n / opt.per);
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let k = 0; k <= commits; k++) {
    st.transaction(() => journalCommit(st, runId, k, commits, opt.n, opt.per), { deferSync: true });
    await st.synced();
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3 / opt.n;
  const cpu = process.cpuUsage(c0);
  const last = st.getItem(runId, opt.n - 1);
  if (last?.status !== 'success') throw new Error(`item ${opt.n - 1}: ${JSON.stringify(last)}`);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { wallUs, cpuUs: (cpu.user + cpu.system) / opt.n };
}

const runs = [];
for (let r = 0; r < opt.runs; r++) runs.push(await once());
const best = runs.reduce((a, b) => (b.wallUs < a.wallUs ? b : a));
emit({ ...opt, wallUsPerItem: +median(runs.map((r) => r.wallUs)).toFixed(2), best: +best.wallUs.toFixed(2), cpuUsPerItem: +median(runs.map((r) => r.cpuUs)).toFixed(2) });
