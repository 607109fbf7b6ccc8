import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

// A web page in the user's browser could drive `weft serve` at its loopback default: DNS
// rebinding (any Host accepted), cross-site "simple" POSTs (text/plain bodies accepted,
// Origin ignored), and a bodyless POST ?purge=true deleted a finished run's results.
// Requests go through node:http because fetch will not send a forged Host header.

interface Answer { status: number; json: any; text: string }

let ws: HttpWorkspace;
let server: WeftServer;
let port: number;

function send(method: string, path: string, opts: { host?: string; origin?: string; type?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}` };
    if (opts.origin) headers.origin = opts.origin;
    if (opts.type) headers['content-type'] = opts.type;
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        let json: any;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const json = (method: string, path: string, body: unknown, extra: { host?: string; origin?: string } = {}) =>
  send(method, path, { ...extra, type: 'application/json', body: JSON.stringify(body) });

beforeAll(async () => {
  ws = httpWorkspace();
  server = await startWeftServer(ws.dir, ['--allowed-host', 'weft.internal']);
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.stop();
  ws?.cleanup();
});

const flowYaml = () => readFileSync(join(ws.dir, 'slow.yaml'), 'utf8');

describe('weft serve refuses what a foreign web page can send', () => {
  it('answers only to loopback names and addresses and --allowed-host (DNS rebinding)', async () => {
    const rebound = await send('GET', '/runs', { host: 'attacker.example' });
    expect(rebound.status).toBe(403);
    expect(rebound.json.error.message).toMatch(/Host "attacker\.example" is not a name this server answers to.*--allowed-host/);
    expect((await send('GET', '/runs', { host: `attacker.example:${port}` })).status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', '[::1]', `weft.internal:${port}`]) {
      expect((await send('GET', '/runs', { host })).status, host).toBe(200);
    }
  });

  it('refuses text/plain, form and bodyless POSTs (the kinds a page sends without a preflight)', async () => {
    const flow = flowYaml();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await send('POST', '/flows', { type, body: flow });
      expect(res.status, type).toBe(415);
      expect(res.json.error.message).toMatch(/needs a body with Content-Type: application\/json/);
    }
    expect((await send('POST', '/flows', { type: 'text/plain', body: JSON.stringify({ steps: [] }) })).status).toBe(415);
    expect((await send('POST', '/flows', { type: 'application/yaml', body: flow })).status).toBe(201);
    expect((await send('POST', '/runs/whatever/cancel')).status).toBe(415);
  });

  it('refuses a state-changing request from another Origin, and takes one from its own', async () => {
    const flowId = (await send('POST', '/flows', { type: 'application/yaml', body: flowYaml() })).json.flowId;
    const body = { flowId, inputs: [{ ms: 0, n: 1 }], wait: true };
    const foreign = await json('POST', '/runs', body, { origin: 'http://attacker.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.json.error.message).toMatch(/Origin "http:\/\/attacker\.example" is not this server's own/);
    expect((await json('POST', '/runs', body, { origin: 'null' })).status).toBe(403);
    expect((await json('POST', '/runs', body, { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await json('POST', '/runs', body)).status).toBe(200); // curl and scripts send no Origin
  });

  it('purges a run only when the body asks for it', async () => {
    const flowId = (await send('POST', '/flows', { type: 'application/yaml', body: flowYaml() })).json.flowId;
    const run = (await json('POST', '/runs', { flowId, inputs: [{ ms: 0, n: 2 }], wait: true })).json;
    expect(run.status).toBe('success');
    const byQuery = await json('POST', `/runs/${run.runId}/cancel?purge=true`, {});
    expect(byQuery.status).toBe(400);
    expect(byQuery.json.error.message).toMatch(/purging is asked in the body, \{"purge": true\}/);
    const plain = await json('POST', `/runs/${run.runId}/cancel`, {});
    expect(plain.json).toMatchObject({ purged: false });
    const kept = await send('GET', `/runs/${run.runId}?includeResults=true`);
    expect(kept.json.results).toHaveLength(1);
    const purged = await json('POST', `/runs/${run.runId}/cancel`, { purge: true });
    expect(purged.json).toMatchObject({ purged: true });
  });

  it('refuses a body nested deeper than the limit with 400 naming it, JSON or YAML', async () => {
    for (const depth of [5_000, 200_000]) {
      const deep = `{"flowId":"x","inputs":[${'['.repeat(depth)}${']'.repeat(depth)}]}`;
      const res = await send('POST', '/runs', { type: 'application/json', body: deep });
      expect(res.status, String(depth)).toBe(400);
      expect(res.json.error.message).toBe('the request body nests deeper than 256 levels (limits.maxJsonDepth)');
    }
    const yaml = await send('POST', '/flows', { type: 'application/yaml', body: `steps: ${'['.repeat(3000)}${']'.repeat(3000)}\n` });
    expect(yaml.status).toBe(400);
    expect(yaml.json.error.message).toMatch(/nests deeper than 256 levels \(limits\.maxJsonDepth\)/);
    // Still alive, and a value as deep as the limit is fine.
    const ok = await json('POST', '/blobs', { data: JSON.parse(`${'['.repeat(250)}${']'.repeat(250)}`) });
    expect(ok.status).toBe(201);
  });
});

describe('weft serve --token-file', () => {
  it('keeps the token out of the process list, its output and its errors', async () => {
    const secret = 's3cret-token-19-abcdef';
    const dir = ws.dir;
    writeFileSync(join(dir, 'token'), `${secret}\n`, { mode: 0o600 });
    const guarded = await startWeftServer(dir, ['--token-file', 'token', '--store', 'memory']);
    try {
      const pid = guarded.proc.child.pid!;
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(secret);
      const base = guarded.url;
      expect((await fetch(`${base}/runs`)).status).toBe(401);
      const wrong = await fetch(`${base}/runs`, { headers: { authorization: 'Bearer not-it' } });
      expect(wrong.status).toBe(401);
      const wrongText = await wrong.text();
      expect(wrongText).not.toContain(secret);
      expect(wrongText).not.toContain('not-it');
      expect((await fetch(`${base}/runs`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
      expect(guarded.proc.stdout() + guarded.proc.stderr()).not.toContain(secret);
    } finally {
      await guarded.stop();
    }
    // The environment variable works the same, and is not in the process list either.
    const byEnv = await startWeftServer(dir, ['--store', 'memory'], { WEFT_TOKEN: secret });
    try {
      expect(readFileSync(`/proc/${byEnv.proc.child.pid!}/cmdline`, 'utf8')).not.toContain(secret);
      expect((await fetch(`${byEnv.url}/runs`)).status).toBe(401);
      expect((await fetch(`${byEnv.url}/runs`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    } finally {
      await byEnv.stop();
    }
  });
});
