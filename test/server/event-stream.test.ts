import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeftClient } from '../../runtime/client/index.js';
import { httpCall } from '../helpers/http-call.js';
import { HTTP_FLOWS, httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { readEventStream, type StreamedEvent } from '../helpers/read-event-stream.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';
import { storeBackends } from '../helpers/store-backends.js';

// GET /runs/:id/events against a real server: persisted, sequenced, any number of readers.

describe.each(storeBackends('the event-stream suite'))('on $name', (backend) => {
  let ws: HttpWorkspace;
  let server: WeftServer;
  let flowId: string;

  beforeAll(async () => {
    ws = httpWorkspace();
    server = await startWeftServer(ws.dir, ['--heartbeat', '0.05'], await backend.env());
    flowId = (await httpCall(server.url, 'POST', '/flows', { body: HTTP_FLOWS['slow.yaml'], contentType: 'application/yaml' })).json.flowId;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    ws?.cleanup();
  });

  const submit = async (inputs: unknown[], extra: object = {}) =>
    (await httpCall(server.url, 'POST', '/runs', { body: { flowId, inputs, ...extra } })).json.runId as string;
  const seqs = (events: StreamedEvent[]) => events.map((e) => e.seq);
  const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

  describe('run event streams', () => {
    it('two concurrent readers (SSE and NDJSON) both see every event, in order, and the stream closes after the end', async () => {
      const runId = await submit([0, 1, 2, 3].map((n) => ({ ms: 150, n })), { maxConcurrency: 2 });
      const url = `${server.url}/runs/${runId}/events`;
      const [sse, ndjson] = await Promise.all([readEventStream(url), readEventStream(url, { format: 'ndjson' })]);
      expect(sse.status).toBe(200);
      expect(sse.contentType).toMatch(/^text\/event-stream/);
      expect(ndjson.contentType).toMatch(/^application\/x-ndjson/);
      expect(sse.events.length).toBeGreaterThan(10);
      expect(seqs(sse.events)).toEqual(seqs(ndjson.events));
      expect(increasing(seqs(sse.events))).toBe(true);
      expect(sse.ids).toEqual(seqs(sse.events).map(String));
      expect(sse.events[0].type).toBe('run_created');
      expect(sse.events.at(-1)).toMatchObject({ type: 'run_completed', data: { status: 'success' } });
      expect(sse.events.filter((e) => e.type === 'item_completed').map((e) => e.itemIndex).sort()).toEqual([0, 1, 2, 3]);
      // A reader that arrives after the end gets the same log.
      const late = await readEventStream(url);
      expect(late.events).toEqual(sse.events);
    });

    it('resumes after ?since=N or Last-Event-ID without repeating or skipping', async () => {
      const runId = await submit([{ ms: 0, n: 1 }, { ms: 0, n: 2 }], { wait: true });
      const url = `${server.url}/runs/${runId}/events`;
      const all = (await readEventStream(url)).events;
      const cut = all[4].seq;
      const bySince = await readEventStream(url, { since: cut, format: 'ndjson' });
      expect(bySince.events).toEqual(all.slice(5));
      const byHeader = await readEventStream(url, { lastEventId: cut });
      expect(byHeader.events).toEqual(all.slice(5));
      expect((await readEventStream(url, { since: all.at(-1)!.seq })).events).toEqual([]);
      const bad = await httpCall(server.url, 'GET', `/runs/${runId}/events?since=-1`);
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/query\.since/);
      expect((await httpCall(server.url, 'GET', '/runs/00000000-0000-0000-0000-000000000000/events')).status).toBe(404);
    });

    it('sends heartbeats on an idle stream and lets the reader leave at any time', async () => {
      const hang = (await httpCall(server.url, 'POST', '/flows', { body: HTTP_FLOWS['hang.yaml'], contentType: 'application/yaml' })).json.flowId;
      const runId = (await httpCall(server.url, 'POST', '/runs', { body: { flowId: hang, inputs: [{}] } })).json.runId;
      const url = `${server.url}/runs/${runId}/events`;
      const sse = await readEventStream(url, { stopWhen: (_e, beats) => beats >= 2 });
      const nd = await readEventStream(url, { format: 'ndjson', stopWhen: (_e, beats) => beats >= 2 });
      expect(sse.heartbeats).toBeGreaterThanOrEqual(2);
      expect(nd.heartbeats).toBeGreaterThanOrEqual(2);
      expect(sse.events.some((e) => e.type === 'step_started')).toBe(true);
      await httpCall(server.url, 'POST', `/runs/${runId}/cancel`);
    });

    it('the client iterates the stream and its `since` resumes', async () => {
      const client = new WeftClient({ url: server.url });
      const run = await client.submit({ flowId, inputs: [{ ms: 50, n: 1 }] });
      const seen = [];
      for await (const e of client.events(run.runId)) seen.push(e);
      expect(seen.at(-1)?.type).toBe('run_completed');
      const rest = [];
      for await (const e of client.events(run.runId, { since: seen[2].seq })) rest.push(e);
      expect(rest).toEqual(seen.slice(3));
    });
  });
});
