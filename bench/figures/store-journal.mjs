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
  // Commit k starts items of batch k and finishes those of batch k - 1 (a step's round trip apart).
  for (let k = 0; k <= commits; k++) {
    st.transaction(() => {
      const at = new Date().toISOString();
      for (let i = k * opt.per; k < commits && i < Math.min(opt.n, (k + 1) * opt.per); i++) {
        st.setItemStatus(runId, i, 'running');
        st.appendEvent({ runId, type: 'item_started', at, itemIndex: i });
        st.startStep(runId, i, 'work', 1, at);
        st.appendEvent({ runId, type: 'step_started', at, itemIndex: i, stepId: 'work', attempt: 1 });
      }
      for (let i = (k - 1) * opt.per; k > 0 && i < Math.min(opt.n, k * opt.per); i++) {
        const result = { outcome: 'success', result: { i } };
        st.finishStep(runId, i, 'work', 1, result, at);
        st.appendEvent({ runId, type: 'step_completed', at, itemIndex: i, stepId: 'work', attempt: 1, data: { durationMs: 1 } });
        st.finishItem(runId, i, result, at);
        st.appendEvent({ runId, type: 'item_completed', at, itemIndex: i, data: { outcome: 'success' } });
      }
    }, { deferSync: true });
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
