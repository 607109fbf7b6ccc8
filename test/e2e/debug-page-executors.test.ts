import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/chromium.js';
import { clusterWorkspace } from '../helpers/cluster-workspace.js';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace } from '../helpers/http-workspace.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';
import { until, type WeftProcess } from '../helpers/weft-process.js';

// Executors and where items run, over HTTP and on the debug page: two `weft worker`
// processes and a `weft serve` on a real PostgreSQL execute a run of a real component
// server, read by a real browser (Debian's Chromium); and the same server on SQLite,
// where there are no executors.

warnIfNoPostgres('the debug-page executors e2e');
if (!hasChromium) console.warn(`skipping the debug-page executors tests: ${CHROMIUM} is not installed (apt-get install chromium)`);
const shared = postgresAvailable ? sharedPostgres() : undefined;
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const HOST = hostname();

const WORK_FLOW = {
  schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'cluster-work',
  steps: [{ id: 'work', component: '/cluster/work', input: { item: { $input: 'item' }, ms: { $input: 'ms' } } }],
  output: { $step: 'work' },
};

interface Executor { id: string; role: string; host: string; pid: number; status: string; heartbeatAt: string; endedAt?: string; holding: number; capacity: number }
interface Holder { executorId: string; host: string; pid: number; items: number }
interface Item { itemIndex: number; status: string; executorId?: string; attempt?: number }

let browser: Browser | undefined;
const errors: string[] = [];
beforeAll(async () => { if (hasChromium) browser = await launchChromium(); });
afterAll(async () => { await browser?.close(); });

async function openRun(url: string, runId: string): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/#run=${runId}`);
  await page.locator('#run-id', { hasText: runId }).waitFor();
  return page;
}

/** `120 ms ago`, `1.3 s ago` → milliseconds (the page's own format, see run-view.js duration). */
function agoMs(text: string): number {
  const m = /^([\d.]+) (ms|s) ago$/.exec(text.trim());
  if (!m) throw new Error(`not a short age: "${text}"`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

describe.skipIf(!postgresAvailable || !hasChromium)('executors on a PostgreSQL store', () => {
  const running: WeftProcess[] = [];
  let server: WeftServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (server) await server.stop('SIGKILL');
    for (const p of running.splice(0)) { p.child.kill('SIGKILL'); await p.exited; }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GET /executors lists the server and both workers with the items they hold; the page shows them and where each item runs', async () => {
    const ws = clusterWorkspace(await shared!.database()); // capacity 0: weft serve executes nothing
    dir = ws.dir;
    const workers = [0, 1].map(() => ws.start(['worker', '--capacity', '2']));
    running.push(...workers);
    await until(() => workers.every((w) => /executing runs of/.test(w.stdout())), 30_000, 'both workers joined');
    server = await startWeftServer(ws.dir, [], ws.env);
    const call = <T = any>(path: string) => httpCall<T>(server!.url, 'GET', path);
    const pids = workers.map((w) => w.child.pid!);
    const servePid = server.proc.child.pid!;

    // 120 items of 300 ms on 2 × 2 slots: about 9 s, every slot busy throughout.
    const submitted = await httpCall(server.url, 'POST', '/runs', { body: { flow: WORK_FLOW, inputs: Array.from({ length: 120 }, (_, item) => ({ item, ms: 300 })) } });
    expect(submitted.status, submitted.text).toBe(201);
    const runId = submitted.json.runId as string;

    // (a) over HTTP
    let executors: Executor[] = [];
    await until(async () => {
      ({ executors } = (await call<{ executors: Executor[] }>('/executors')).json);
      return pids.every((pid) => (executors.find((e) => e.pid === pid)?.holding ?? 0) > 0);
    }, 20_000, 'both workers holding items');
    const live = executors.filter((e) => e.status === 'alive');
    expect(live.map((e) => [e.role, e.host, e.pid]).sort()).toEqual([['serve', HOST, servePid], ['worker', HOST, pids[0]], ['worker', HOST, pids[1]]].sort());
    for (const e of live.filter((x) => x.role === 'worker')) {
      expect(e).toMatchObject({ capacity: 2 });
      expect(e.holding).toBeGreaterThan(0);
      expect(e.holding).toBeLessThanOrEqual(2);
    }
    expect(live.find((e) => e.role === 'serve')).toMatchObject({ capacity: 0, holding: 0 });
    const idOf = new Map(live.map((e) => [e.pid, e.id]));

    const holders = (await call<{ executors: Holder[] }>(`/runs/${runId}/executors`)).json.executors;
    expect(holders.length).toBeGreaterThan(0);
    for (const h of holders) expect(h.executorId).toBe(idOf.get(h.pid));
    expect(holders.every((h) => pids.includes(h.pid) && h.host === HOST && h.items >= 1 && h.items <= 2)).toBe(true);
    const runningItems = (await call<{ items: Item[] }>(`/runs/${runId}/items?status=running`)).json.items;
    expect(runningItems.length).toBeGreaterThan(0);
    for (const it of runningItems) expect([idOf.get(pids[0]), idOf.get(pids[1])]).toContain(it.executorId);
    expect((await call(`/runs/${runId}/items/${runningItems[0].itemIndex}`)).json).toMatchObject({ status: expect.any(String), executorId: expect.any(String), attempt: 1 });

    // (b) in the browser, while the run goes on
    const page = await openRun(server.url, runId);
    await page.locator('#executors-panel').waitFor({ state: 'visible' });
    const row = (pid: number) => page.locator(`#executors tr[data-executor="${idOf.get(pid)}"]`);
    for (const [pid, role] of [[pids[0], 'worker'], [pids[1], 'worker'], [servePid, 'serve']] as const) {
      const cells = await row(pid).locator('td').allTextContents();
      expect(cells.slice(0, 4).map((c) => c.trim())).toEqual([idOf.get(pid)!.slice(-8), role, `${HOST}:${pid}`, 'alive']);
      expect(agoMs(cells[4])).toBeLessThan(2000); // heartbeats every 100 ms
    }
    await expect.poll(async () => Number(await row(pids[0]).locator('td.held').textContent()) > 0 && Number(await row(pids[1]).locator('td.held').textContent()) > 0, { timeout: 10_000 }).toBe(true);
    expect(await row(servePid).locator('td.held').textContent()).toBe('0');

    // The run says where its items execute: both workers, host:pid × items held.
    const holdersShown = async () => {
      const text = (await page.locator('#run-holders').textContent()) ?? '';
      const m = /^executing on (\S+) × [12] (\S+) × [12]$/.exec(text);
      return m ? [m[1], m[2]].sort() : text;
    };
    await expect.poll(holdersShown, { timeout: 10_000 }).toEqual(pids.map((pid) => `${HOST}:${pid}`).sort());
    // Each running item of the page names the worker holding it.
    const runningRow = page.locator('#items tr[data-item]', { has: page.locator('td:nth-child(2) .cell', { hasText: 'running' }) }).first();
    await runningRow.waitFor();
    const heldBy = runningRow.locator('td.executor-cell span');
    expect(pids.map((pid) => `${HOST}:${pid}`)).toContain(await heldBy.textContent());
    expect([idOf.get(pids[0]), idOf.get(pids[1])]).toContain(await heldBy.getAttribute('data-executor'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'debug-page-executors.png'), fullPage: true });

    // Once the run has ended nothing holds its items; each item says which worker ran it,
    // the one whose component server recorded running it (an independent record).
    await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('#run-holders').isHidden()).toBe(true);
    const componentOf = new Map(workers.map((w) => [Number(readFileSync(`/proc/${w.child.pid}/task/${w.child.pid}/children`, 'utf8').trim().split(/\s+/)[0]), w.child.pid!]));
    const ranBy = new Map(ws.executions().map((e) => [e.item, componentOf.get(e.pid)]));
    const shown = await page.locator('#items tr[data-item]').evaluateAll((rows) => rows.map((r) => [Number(r.getAttribute('data-item')), r.querySelector('td.executor-cell span')?.textContent ?? ''] as const));
    expect(shown.length).toBe(50);
    for (const [item, where] of shown) expect(where, `item ${item}`).toBe(`${HOST}:${ranBy.get(item)}`);
    await page.locator('#items tr[data-item="3"]').click();
    await expect.poll(() => page.locator('#item-executor').textContent()).toBe(`ran on ${HOST}:${ranBy.get(3)}`);

    // A worker that leaves (SIGTERM) stays listed as stopping, with its end instead of a heartbeat.
    workers[1].child.kill('SIGTERM');
    expect(await workers[1].exited).toBe(0);
    expect((await call<{ executors: Executor[] }>('/executors')).json.executors.find((e) => e.pid === pids[1])).toMatchObject({ status: 'stopping', holding: 0, endedAt: expect.any(String) });
    await expect.poll(() => row(pids[1]).locator('.badge').textContent(), { timeout: 10_000 }).toBe('stopping');
    expect(await row(pids[1]).locator('td:nth-child(5)').textContent()).toMatch(/^ended [\d.]+ (ms|s) ago$/);
    expect(await page.locator('#executors-summary').textContent()).toBe('2 alive · 0 items held');
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);
});

describe.skipIf(!hasChromium)('executors on a SQLite store', () => {
  it('GET /executors is an empty list, a run has no holders, and the page shows no Executors panel nor executor column', async () => {
    const ws = httpWorkspace();
    const server = await startWeftServer(ws.dir);
    try {
      const executors = await httpCall(server.url, 'GET', '/executors');
      expect([executors.status, executors.json]).toEqual([200, { executors: [] }]);
      const flow = { schema: WORK_FLOW.schema, name: 'naps', steps: [{ id: 'nap', component: '/runs/sleep', input: { ms: 200, value: { $input: 'n' } } }], output: { $step: 'nap' } };
      const run = await httpCall(server.url, 'POST', '/runs', { body: { flow, inputs: [{ n: 1 }, { n: 2 }] } });
      const runId = run.json.runId as string;
      expect((await httpCall(server.url, 'GET', `/runs/${runId}/executors`)).json).toEqual({ executors: [] });
      const unknown = await httpCall(server.url, 'GET', '/runs/no-such-run/executors');
      expect([unknown.status, unknown.json.error.message]).toEqual([404, 'run not found: no-such-run']);

      const page = await openRun(server.url, runId);
      await page.locator('#run-status', { hasText: 'success' }).waitFor({ timeout: 15_000 });
      expect(await page.locator('#items tr[data-item]').count()).toBe(2);
      expect(await page.locator('#items th').allTextContents()).toEqual(['item', 'status', 'nap', 'result / error']);
      expect(await page.locator('#executors-panel').isHidden()).toBe(true);
      expect(await page.locator('#run-holders').isHidden()).toBe(true);
      expect((await httpCall(server.url, 'GET', `/runs/${runId}/items`)).json.items.map((i: Item) => i.executorId)).toEqual([undefined, undefined]);
      await page.close();
      expect(errors).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
      ws.cleanup();
    }
  }, 60_000);
});
