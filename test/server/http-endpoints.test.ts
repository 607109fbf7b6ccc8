import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { readEventStream } from '../helpers/read-event-stream.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';
import { runWeft } from '../helpers/weft-process.js';
import { storeBackends } from '../helpers/store-backends.js';

// Every endpoint of `weft serve`, against a real server process on a real SQLite store and
// on a real PostgreSQL database.

describe.each(storeBackends('the HTTP suite'))('on $name', (backend) => {
  let ws: HttpWorkspace;
  let server: WeftServer;
  let url: string;
  const call = (method: string, path: string, body?: unknown, contentType?: string) =>
    httpCall(url, method, path, { ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const flowText = (name: string) => readFileSync(join(ws.dir, name), 'utf8');

  beforeAll(async () => {
    ws = httpWorkspace();
    server = await startWeftServer(ws.dir, ['--body-limit', '65536'], await backend.env());
    url = server.url;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    ws?.cleanup();
  });

  async function storeFlow(name: string): Promise<string> {
    const res = await call('POST', '/flows', flowText(name), 'application/yaml');
    expect(res.status).toBe(201);
    return res.json.flowId as string;
  }

  describe('weft serve: endpoints', () => {
    it('answers /health and prints its URL', async () => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await call('GET', '/health')).toMatchObject({ status: 200, json: { status: 'healthy' } });
    });

    it('stores flows given as YAML or JSON under one content address, and lists them', async () => {
      const fromYaml = await storeFlow('slow.yaml');
      expect(fromYaml).toMatch(/^sha256:[0-9a-f]{64}$/);
      const fromJson = await call('POST', '/flows', parseYaml(flowText('slow.yaml')));
      expect(fromJson).toMatchObject({ status: 201, json: { flowId: fromYaml } });

      const list = await call('GET', '/flows');
      expect(list.json.flows).toContainEqual(expect.objectContaining({ flowId: fromYaml, name: 'slow', description: 'sleeps per item, then doubles' }));
      const one = await call('GET', `/flows/${fromYaml}`);
      expect(one.status).toBe(200);
      expect(one.json.flow.steps.map((s: { id: string }) => s.id)).toEqual(['nap', 'echo']);
      expect((await call('GET', `/flows/sha256:${'0'.repeat(64)}`)).status).toBe(404);
      expect((await call('GET', '/flows/not-an-id')).json.error.message).toMatch(/not a blob id/);
    });

    it('rejects an invalid flow with 400 and every diagnostic', async () => {
      const bad = await call('POST', '/flows', { schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'bad', steps: [{ id: 'a', component: '/nowhere/x', input: { $step: 'ghost' } }], output: { $step: 'a' } });
      expect(bad.status).toBe(400);
      const paths = bad.json.error.data.diagnostics.map((d: { path: string }) => d.path);
      expect(paths).toContain('steps[0].component');
      expect(bad.json.error.message).toMatch(/no route/);
      const yaml = await call('POST', '/flows', 'steps: [unclosed', 'application/yaml');
      expect(yaml.status).toBe(400);
      expect(yaml.json.error.message).toMatch(/not valid YAML/);
    });

    it('starts runs by flow id, by name or inline; 201 at once, 200 when waited', async () => {
      const flowId = await storeFlow('slow.yaml');
      const started = await call('POST', '/runs', { flowId, inputs: [{ ms: 0, n: 1 }, { ms: 0, n: 2 }], maxConcurrency: 1, flowLabel: 'first' });
      expect(started.status).toBe(201);
      expect(started.json).toMatchObject({ flowId, flowName: 'slow', flowLabel: 'first', items: { total: 2 } });

      const waited = await call('POST', '/runs', { flowId: 'slow', inputs: [{ ms: 0, n: 7 }], wait: true });
      expect(waited.status).toBe(200);
      expect(waited.json.status).toBe('success');
      expect(waited.json.results[0].result.value).toEqual({ napped: 7 });

      const inline = await call('POST', '/runs', { flow: parseYaml(flowText('slow.yaml')), inputs: [{ ms: 0, n: 3 }], wait: true });
      expect(inline).toMatchObject({ status: 200, json: { flowId, status: 'success' } });

      // A failure carries Stepflow's integer code and weft's kind beside it.
      const missing = await call('POST', '/runs', { flowId, inputs: [{ ms: 0 }], wait: true });
      expect(missing.json.results[0].result).toEqual({ outcome: 'failed', error: { code: 1, kind: 'EXPRESSION_FAILURE', message: 'Input path $.n not found' } });
    });

    it('answers bad run bodies with 400 naming the field', async () => {
      const flowId = await storeFlow('slow.yaml');
      const cases: Array<[unknown, RegExp]> = [
        [{ flowId }, /body\.inputs: must have required property/],
        [{ flowId, inputs: {} }, /body\.inputs: must be array/],
        [{ flowId, inputs: [], maxConcurrency: 0 }, /body\.maxConcurrency: must be >= 1/],
        [{ flowId, inputs: [], bogus: 1 }, /body\.bogus: must NOT have additional properties/],
        [{ flowId, flow: {}, inputs: [] }, /body\.flowId: give either flowId .* or flow/],
        [{ inputs: [] }, /body\.flowId: give either/],
        [{ flow: { steps: 'no' }, inputs: [] }, /body\.flow: steps/],
      ];
      for (const [body, message] of cases) {
        const res = await call('POST', '/runs', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.error.message).toMatch(message);
      }
      const malformed = await call('POST', '/runs', '{"flowId": ', 'application/json');
      expect(malformed.status).toBe(400);
      expect((await call('POST', '/runs', { flowId: `sha256:${'1'.repeat(64)}`, inputs: [] })).status).toBe(404);
      expect((await call('POST', '/runs', { flowId: 'no-such-flow', inputs: [] })).status).toBe(404);
    });

    it('lists runs newest first, paged, filtered by status', async () => {
      const flowId = await storeFlow('slow.yaml');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await call('POST', '/runs', { flowId, inputs: [{ ms: 0, n: i }], wait: true })).json.runId);
      const page1 = await call('GET', '/runs?limit=2');
      expect(page1.json.runs.map((r: { runId: string }) => r.runId)).toEqual([ids[2], ids[1]]);
      expect(page1.json).toMatchObject({ limit: 2, offset: 0, nextOffset: 2 });
      const page2 = await call('GET', '/runs?limit=2&offset=2');
      expect(page2.json.runs[0].runId).toBe(ids[0]);
      const ok = await call('GET', '/runs?status=success&limit=1000');
      expect(ok.json.runs.length).toBeGreaterThanOrEqual(3);
      expect(ok.json.runs.every((r: { status: string }) => r.status === 'success')).toBe(true);
      const bad = await call('GET', '/runs?status=done');
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/query\.status: must be equal to one of the allowed values/);
    });

    it('gets a run with results in either order; 202 when a wait times out; 404 for an unknown run', async () => {
      const flowId = await storeFlow('slow.yaml');
      const run = (await call('POST', '/runs', { flowId, inputs: [{ ms: 1500, n: 0 }, { ms: 0, n: 1 }] })).json;
      const early = await call('GET', `/runs/${run.runId}?wait=true&timeoutSecs=0.1`);
      expect(early.status).toBe(202);
      expect(['pending', 'running']).toContain(early.json.status);
      const done = await call('GET', `/runs/${run.runId}?wait=true&includeResults=true&resultOrder=byCompletion`);
      expect(done.status).toBe(200);
      expect(done.json.status).toBe('success');
      expect(done.json.results.map((r: { itemIndex: number }) => r.itemIndex)).toEqual([1, 0]);
      const byIndex = await call('GET', `/runs/${run.runId}?includeResults=true`);
      expect(byIndex.json.results.map((r: { itemIndex: number }) => r.itemIndex)).toEqual([0, 1]);
      expect((await call('GET', `/runs/${run.runId}?resultOrder=random`)).json.error.message).toMatch(/query\.resultOrder/);
      expect((await call('GET', '/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    });

    it('forks a run from a step: a new run that finishes', async () => {
      const flowId = await storeFlow('slow.yaml');
      const source = (await call('POST', '/runs', { flowId, inputs: [{ ms: 0, n: 5 }], wait: true })).json;
      const fork = await call('POST', `/runs/${source.runId}/fork`, { fromStep: 'echo' });
      expect(fork.status).toBe(201);
      expect(fork.json.runId).not.toBe(source.runId);
      const done = await call('GET', `/runs/${fork.json.runId}?wait=true&includeResults=true`);
      expect(done.json.results[0].result.value).toEqual({ napped: 5 });
      expect((await call('POST', `/runs/${source.runId}/fork`, {})).json.error.message).toMatch(/body\.fromStep/);
      expect((await call('POST', `/runs/${source.runId}/fork`, { fromStep: 'nope' })).status).toBe(400);
    });

    it('stores and reads blobs', async () => {
      const put = await call('POST', '/blobs', { data: { hello: ['world', 1] } });
      expect(put.status).toBe(201);
      expect(put.json.blobId).toMatch(/^sha256:/);
      expect((await call('GET', `/blobs/${put.json.blobId}`)).json).toEqual({ blobId: put.json.blobId, blobType: 'data', data: { hello: ['world', 1] } });
      expect((await call('GET', `/blobs/sha256:${'2'.repeat(64)}`)).status).toBe(404);
      expect((await call('POST', '/blobs', { value: 1 })).json.error.message).toMatch(/body\.data: must have required property/);
      expect((await call('POST', '/blobs', { data: {}, blobType: 'flow' })).json.error.message).toMatch(/body\.blobType/);
    });

    it('lists components with their route paths', async () => {
      const res = await call('GET', '/components');
      const paths = res.json.components.map((c: { path: string }) => c.path);
      expect(paths).toEqual(expect.arrayContaining(['/builtin/await_input', '/runs/sleep', '/runs/echo']));
    });

    it('refuses bodies over the limit with 413, and unknown endpoints with 404', async () => {
      const big = await call('POST', '/blobs', { data: 'x'.repeat(100_000) });
      expect(big.status).toBe(413);
      expect(big.json.error.message).toMatch(/too large/);
      expect((await call('GET', '/nope')).status).toBe(404);
    });

    it('answers input for a step that is not waiting with 409, for an unknown run with 404', async () => {
      const flowId = await storeFlow('slow.yaml');
      const run = (await call('POST', '/runs', { flowId, inputs: [{ ms: 0, n: 1 }], wait: true })).json;
      expect((await call('POST', `/runs/${run.runId}/events`, { itemIndex: 0, stepId: 'nap', value: 1 })).status).toBe(409);
      expect((await call('POST', '/runs/00000000-0000-0000-0000-000000000000/events', { itemIndex: 0, stepId: 'nap', value: 1 })).status).toBe(404);
      const bad = await call('POST', `/runs/${run.runId}/events`, { itemIndex: -1, stepId: 'nap' });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/body\.itemIndex: must be >= 0/);
      expect(bad.json.error.message).toMatch(/body\.value: must have required property/);
    });

    it('cancels a running run: its component is aborted and its stream ends with run_completed', async () => {
      const flowId = await storeFlow('hang.yaml');
      // Counted before submitting: the workspace's record file is shared by this file's tests.
      const count = (key: string) => ws.records().filter((r) => r[key] && r.step === 'wait').length;
      const startedBefore = count('started');
      const abortedBefore = count('aborted');
      const run = (await call('POST', '/runs', { flowId, inputs: [{}] })).json;
      await readEventStream(`${url}/runs/${run.runId}/events`, { stopWhen: (es) => es.some((e) => e.type === 'step_started') });
      // The component must be running, not merely requested, for the abort to reach it (a
      // request cancelled before the server dispatches it is dropped there).
      for (let i = 0; i < 200 && count('started') === startedBefore; i++) await new Promise((r) => setTimeout(r, 25));
      expect(count('started')).toBe(startedBefore + 1);
      const cancelled = await call('POST', `/runs/${run.runId}/cancel`, {});
      expect(cancelled.json).toMatchObject({ status: 'cancelled', purged: false, items: { cancelled: 1 } });
      const stream = await readEventStream(`${url}/runs/${run.runId}/events`);
      expect(stream.events.at(-1)).toMatchObject({ type: 'run_completed', data: { status: 'cancelled' } });
      for (let i = 0; i < 200 && count('aborted') === abortedBefore; i++) await new Promise((r) => setTimeout(r, 25));
      expect(count('aborted')).toBe(abortedBefore + 1);
    });
  });
});

describe('weft serve: auth', () => {
  it('with --token, every endpoint but /health and the page needs the bearer token', async () => {
    const w = httpWorkspace();
    const s = await startWeftServer(w.dir, ['--token', 's3cret']);
    try {
      expect((await httpCall(s.url, 'GET', '/health')).status).toBe(200);
      expect((await httpCall(s.url, 'GET', '/')).status).toBe(200);
      const anonymous = await httpCall(s.url, 'GET', '/flows');
      expect(anonymous.status).toBe(401);
      expect(anonymous.json.error.message).toMatch(/Authorization: Bearer/);
      expect((await httpCall(s.url, 'GET', '/flows', { token: 'wrong' })).status).toBe(401);
      expect((await httpCall(s.url, 'GET', '/flows', { token: 's3cret' })).status).toBe(200);
      expect((await httpCall(s.url, 'POST', '/blobs', { body: { data: 1 } })).status).toBe(401);
      expect((await httpCall(s.url, 'GET', '/runs/x/events')).status).toBe(401);
      expect((await httpCall(s.url, 'GET', '/executors')).status).toBe(401);
      expect((await httpCall(s.url, 'GET', '/runs/x/executors')).status).toBe(401);
      expect((await httpCall(s.url, 'GET', '/executors', { token: 's3cret' })).json).toEqual({ executors: [] });
      expect((await httpCall(s.url, 'GET', '/components', { token: 's3cret' })).status).toBe(200);
    } finally {
      expect(await s.stop()).toBe(0);
      w.cleanup();
    }
  });

  it('refuses a non-loopback host without a token; takes the token from WEFT_TOKEN', async () => {
    const w = httpWorkspace();
    try {
      const refused = await runWeft(['serve', '--host', '0.0.0.0', '--port', '0'], w.dir, { WEFT_TOKEN: '' });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token.*--token/s);
      const s = await startWeftServer(w.dir, ['--host', '0.0.0.0'], { WEFT_TOKEN: 'from-env' });
      try {
        const local = s.url.replace('0.0.0.0', '127.0.0.1');
        expect((await httpCall(local, 'GET', '/runs')).status).toBe(401);
        expect((await httpCall(local, 'GET', '/runs', { token: 'from-env' })).status).toBe(200);
      } finally {
        expect(await s.stop()).toBe(0);
      }
    } finally {
      w.cleanup();
    }
  });
});
