// Figure 7b: spawn + handshake of an SDK component server through weft's own plugin code
// (StdioPlugin.init: execa spawn, `initialize` request/response, `initialized`
// notification), median of `reps` after one unmeasured start; each server is stopped
// outside the timed span.
//   node figures/spawn.mjs [--reps 20]
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, REPO_DIR, SERVER, args, emit, median } from '../lib/common.mjs';

const opt = args({ reps: 20 });
const { StdioPlugin } = await import(pathToFileURL(join(REPO_DIR, 'dist/runtime/plugins/stdio-plugin.js')).href);
const runtime = {
  putBlob: async () => { throw new Error('unused'); }, getBlob: async () => { throw new Error('unused'); },
  submitRun: async () => { throw new Error('unused'); }, getRun: async () => { throw new Error('unused'); },
  awaitInput: async () => { throw new Error('unused'); },
};
const once = async () => {
  const plugin = new StdioPlugin({ name: 'bench', command: process.execPath, args: [SERVER], workingDirectory: BENCH_DIR });
  const t0 = performance.now();
  await plugin.init(runtime);
  const ms = performance.now() - t0;
  await plugin.close();
  return ms;
};
await once();
const ms = [];
for (let r = 0; r < opt.reps; r++) ms.push(await once());
emit({ reps: opt.reps, medianMs: +median(ms).toFixed(1), minMs: +Math.min(...ms).toFixed(1), maxMs: +Math.max(...ms).toFixed(1) });
