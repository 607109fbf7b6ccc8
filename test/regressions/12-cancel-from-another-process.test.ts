import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { runWeft, until } from '../helpers/weft-process.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// Issue 12, guarantee 3: a cancel issued by another process (here `weft cancel`, a second
// process on the same store) did not stop the run executed by `weft serve`: it carried on
// (70 of 80 steps ran after the cancel) and ended `success`; a purge through the other
// process made the server's next runs fail until it restarted.
const RECORD_FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: records
steps:
  - id: work
    component: /runs/record
    input: {item: {$input: n}, ms: 300}
output: {$step: work}
`;

describe('cancel and purge from another process (weft serve + weft cancel, SQLite store, real component server)', () => {
  let ws: HttpWorkspace;
  let server: WeftServer;
  beforeEach(async () => {
    ws = httpWorkspace();
    writeFileSync(join(ws.dir, 'records.yaml'), RECORD_FLOW);
    writeFileSync(join(ws.dir, 'quick-records.yaml'), RECORD_FLOW.replace('ms: 300', 'ms: 30'));
    server = await startWeftServer(ws.dir);
  });
  afterEach(async () => { await server.stop(); ws.cleanup(); });

  const flowIn = (file: string): unknown => parse(readFileSync(join(ws.dir, file), 'utf8'));
  const submit = async (file: string, inputs: unknown[], maxConcurrency?: number) => {
    const res = await httpCall(server.url, 'POST', '/runs', {
      body: { flow: flowIn(file), inputs, ...(maxConcurrency ? { maxConcurrency } : {}) },
    });
    expect(res.status, res.text).toBe(201);
    return res.json.runId as string;
  };

  it('`weft cancel` stops the server\'s run: no step starts after the cancel is committed, the run ends cancelled', async () => {
    // 30 ms steps: between the cancel's commit and the server's periodic check (250 ms) the old
    // code started a dozen more; 2,000 items keep the run going however slow `weft cancel` starts.
    const n = 2000;
    const runId = await submit('quick-records.yaml', Array.from({ length: n }, (_, i) => ({ n: i })), 2);
    await until(() => ws.records().length >= 2, 20_000, 'two steps started');
    const cancel = await runWeft(['cancel', runId], ws.dir);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ runId, status: 'cancelled' });
    // The cancel is committed: from here on the server may finish the (at most 2) steps it had
    // sent, but starts none. A step start is a write, and a write to an ended run is a no-op
    // that the server sees at once, so this bound holds however late its periodic check comes
    // (the old code went on starting items until that check; under load, for long).
    const atCancel = ws.records().length;
    for (let i = 0; (await httpCall(server.url, 'GET', `/runs/${runId}`)).json.items.running !== 0; i++) {
      expect(i, 'an item still running after the cancel').toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const settled = ws.records().length;
    expect(settled).toBeLessThanOrEqual(atCancel + 2);
    const status = await httpCall(server.url, 'GET', `/runs/${runId}`);
    expect(status.json).toMatchObject({ status: 'cancelled' });
    const { success, failed, cancelled } = status.json.items as Record<string, number>;
    expect(success + cancelled + failed).toBe(n);
    // Every item whose step never reached the component was cancelled (not run, not failed).
    expect(cancelled).toBeGreaterThanOrEqual(n - settled);
    expect(settled).toBeLessThan(n);
  }, 40_000);

  it('aborts the server\'s in-flight component call ($/cancelRequest reaches the component)', async () => {
    const runId = await submit('hang.yaml', [{}]);
    await until(() => ws.records().some((r) => r.started), 20_000, 'the component started');
    expect((await runWeft(['cancel', runId], ws.dir)).code).toBe(0);
    await until(() => ws.records().some((r) => r.aborted), 5_000, 'the component was aborted');
  }, 30_000);

  it('`weft cancel --purge` of a running run leaves the server working: its next runs succeed, health stays healthy', async () => {
    // 200 items of 300 ms, two at a time (30 s): the run is still going when a `weft cancel` started under load lands.
    const runId = await submit('records.yaml', Array.from({ length: 200 }, (_, n) => ({ n })), 2);
    await until(() => ws.records().length >= 2, 20_000, 'two steps started');
    const purge = await runWeft(['cancel', runId, '--purge'], ws.dir);
    expect(purge.code, purge.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 800)); // the in-flight steps finish and write to a purged run
    const next = await httpCall(server.url, 'POST', '/runs', {
      body: { flow: flowIn('slow.yaml'), inputs: [{ ms: 1, n: 1 }, { ms: 1, n: 2 }], wait: true },
    });
    expect(next.json).toMatchObject({ status: 'success', items: { success: 2 } });
    expect((await httpCall(server.url, 'GET', '/health')).json).toEqual({ status: 'healthy' });
    expect((await httpCall(server.url, 'GET', `/runs/${runId}`)).json).toMatchObject({ status: 'cancelled' });
  }, 30_000);

  it('`weft cancel --purge` of a finished run keeps its status', async () => {
    const res = await httpCall(server.url, 'POST', '/runs', {
      body: { flow: flowIn('slow.yaml'), inputs: [{ ms: 1, n: 1 }], wait: true },
    });
    expect(res.json.status).toBe('success');
    const purge = await runWeft(['cancel', res.json.runId, '--purge'], ws.dir);
    expect(purge.code, purge.stderr).toBe(0);
    expect(JSON.parse(purge.stdout)).toMatchObject({ status: 'success' });
    expect((await httpCall(server.url, 'GET', `/runs/${res.json.runId}`)).json).toMatchObject({ status: 'success' });
  }, 30_000);
});
