import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from '../helpers/http-call.js';
import { parsePrometheus, prometheusParser } from '../helpers/prometheus-parser.js';
import { SERVERS_DIR } from '../helpers/runtime-fixture.js';
import { until } from '../helpers/weft-process.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

const TOKEN = 'tok-3f9c1e77-never-in-logs';
const WRONG = 'tok-wrong-0b7d-never-in-logs';

// What an operator tailing `weft serve` sees (stdout is a pipe here: JSON lines) and
// what a Prometheus scrape of /metrics gets, from the real CLI over real HTTP.
describe('weft serve logs and metrics', () => {
  let dir: string;
  let server: WeftServer;
  const lines = () => server.proc.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const requestLines = (status: number, path: string) => lines().filter((l) => l.status === status && l.path === path);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-logs-'));
    writeFileSync(join(dir, 'weft.config.yml'), [
      'plugins:',
      '  builtin: {type: builtin}',
      `  broken: {type: stepflow, transport: stdio, command: ${process.execPath}, args: [${join(SERVERS_DIR, 'list-fails-server.mjs')}]}`,
      'routes:',
      '  "/builtin/{*component}": [{plugin: builtin}]',
      '  "/broken/{component}": [{plugin: broken}]',
    ].join('\n'));
    server = await startWeftServer(dir, ['--token', TOKEN]);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes JSON lines: the start, each request, a 400 and a 500 with their reasons, and run state changes', async () => {
    const ok = await httpCall(server.url, 'GET', '/runs', { token: TOKEN });
    expect(ok.status).toBe(200);
    const bad = await httpCall(server.url, 'POST', '/runs', { token: TOKEN, body: { inputs: 'not an array' } });
    expect(bad.status).toBe(400);
    const broken = await httpCall(server.url, 'GET', '/components', { token: TOKEN });
    expect(broken.status).toBe(500);
    const run = await httpCall(server.url, 'POST', '/runs', {
      token: TOKEN,
      body: { flow: { schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'put', steps: [{ id: 'p', component: '/builtin/put_blob', input: { data: { $input: '$' }, blob_type: 'data' } }], output: { $step: 'p' } }, inputs: [{ a: 1 }, { a: 2 }], wait: true },
    });
    expect(run.status).toBe(200);
    await until(() => requestLines(200, '/runs').some((l) => l.method === 'POST'), 5000, 'the POST /runs line');

    const all = lines();
    expect(all.find((l) => String(l.msg).includes('listening on'))).toMatchObject({ level: 30, url: server.url, auth: true });
    expect(all.find((l) => String(l.msg).includes('component server started'))).toMatchObject({ level: 30, plugin: 'broken', serverPid: expect.any(Number) });
    expect(requestLines(200, '/runs').find((l) => l.method === 'GET')).toMatchObject({ level: 30, route: '/runs', ms: expect.any(Number) });

    const four = requestLines(400, '/runs');
    expect(four).toHaveLength(1);
    expect(four[0]).toMatchObject({ level: 40, method: 'POST', route: '/runs', reason: expect.stringContaining('inputs') });
    expect(four[0].reason).toBe(bad.json.error.message);

    const five = requestLines(500, '/components');
    expect(five).toHaveLength(1);
    expect(five[0]).toMatchObject({ level: 50, method: 'GET', reason: expect.stringContaining('listing is broken on purpose') });

    const runId = run.json.runId as string;
    const states = all.filter((l) => l.runId === runId).map((l) => l.status ?? 'created');
    expect(states).toEqual(['created', 'running', 'success']);
  });

  it('never logs the token, and logs each failed authentication with its reason', async () => {
    expect((await httpCall(server.url, 'GET', '/runs')).status).toBe(401);
    expect((await httpCall(server.url, 'GET', '/runs', { token: WRONG })).status).toBe(401);
    await until(() => requestLines(401, '/runs').length === 2, 5000, 'two 401 lines');
    expect(requestLines(401, '/runs').map((l) => l.reason)).toEqual([expect.stringContaining('authentication required'), 'invalid bearer token']);
    const everything = server.proc.stdout() + server.proc.stderr();
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(WRONG);
    expect(everything.toLowerCase()).not.toContain('"authorization"');
  });

  const parser = prometheusParser();
  it.skipIf('skip' in parser)(`serves /metrics behind the token, in a text format Prometheus's parser reads (${'skip' in parser ? parser.skip : 'prometheus_client'})`, async () => {
    expect((await httpCall(server.url, 'GET', '/metrics')).status).toBe(401);
    const scrape = await httpCall(server.url, 'GET', '/metrics', { token: TOKEN });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheus((parser as { path: string }).path, scrape.text).map((f) => [f.name, f]));
    // prometheus_client names a counter's family without its _total.
    const sample = (family: string, name: string, labels: Record<string, string> = {}) =>
      families.get(family)?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(sample('weft_runs_created', 'weft_runs_created_total')).toBe(1);
    expect(sample('weft_runs_finished', 'weft_runs_finished_total', { status: 'success' })).toBe(1);
    expect(sample('weft_items_started', 'weft_items_started_total')).toBe(2);
    expect(sample('weft_items_finished', 'weft_items_finished_total', { outcome: 'success' })).toBe(2);
    expect(sample('weft_items_pending', 'weft_items_pending')).toBe(0);
    expect(sample('weft_runs_active', 'weft_runs_active', { status: 'running' })).toBe(0);
    expect(families.get('weft_step_duration_seconds')?.type).toBe('histogram');
    expect(sample('weft_step_duration_seconds', 'weft_step_duration_seconds_count', { component: '/builtin/put_blob', outcome: 'success' })).toBe(2);
    expect(sample('weft_store_commit_seconds', 'weft_store_commit_seconds_count')).toBeGreaterThan(0);
    expect(families.get('weft_component_server_restarts')?.type).toBe('counter');
  });
});
