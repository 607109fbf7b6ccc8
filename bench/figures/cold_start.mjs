// Figure 7a: `node bin/weft.js run` of a 1-step builtin flow on the memory store, whole
// process wall time (spawn to exit), median of `reps` after one unmeasured start.
//   node figures/cold-start.mjs [--reps 10]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FLOW_SCHEMA, REPO_DIR, args, emit, median } from '../lib/common.mjs';

const opt = args({ reps: 10 });
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-cold-'));
try {
  const flow = join(dir, 'flow.json');
  writeFileSync(flow, JSON.stringify({
    schema: FLOW_SCHEMA, name: 'cold start',
    steps: [{ id: 'msg', component: '/builtin/create_messages', input: { user_prompt: { $input: '$.q' } } }],
    output: { $step: 'msg' },
  }));
  const once = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin', 'weft.js'), 'run', flow, '--input', '{"q":"hi"}', '--store', 'memory'], { cwd: dir, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0 || !r.stdout.includes('"hi"')) throw new Error(`weft run failed (${r.status}): ${r.stderr || r.stdout}`);
    return ms;
  };
  once();
  const ms = Array.from({ length: opt.reps }, once);
  emit({ reps: opt.reps, medianMs: +median(ms).toFixed(1), minMs: +Math.min(...ms).toFixed(1), maxMs: +Math.max(...ms).toFixed(1) });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
