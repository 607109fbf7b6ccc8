import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftClient, WeftHttpError, type WeftEvent } from '../../runtime/client/index.js';
import { httpCall } from '../helpers/http-call.js';
import { httpWorkspace, type HttpWorkspace } from '../helpers/http-workspace.js';
import { readEventStream } from '../helpers/read-event-stream.js';
import { freePort, startWeftServer, type WeftServer } from '../helpers/weft-server.js';
import { runWeft } from '../helpers/weft-process.js';

// `weft serve` stopped and started again on the same store and port, while a client
// follows a run: runs continue, the reader reconnects with Last-Event-ID and sees the end.

let ws: HttpWorkspace | undefined;
let servers: WeftServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  servers = [];
  ws?.cleanup();
  ws = undefined;
});

async function serve(port: number, args: string[] = []): Promise<WeftServer> {
  const s = await startWeftServer(ws!.dir, ['--port', String(port), ...args]);
  servers.push(s);
  return s;
}

async function take(events: AsyncGenerator<WeftEvent>, until: (e: WeftEvent) => boolean, into: WeftEvent[]): Promise<void> {
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error(`stream ended before the awaited event; saw ${into.map((e) => e.type).join(', ')}`);
    into.push(next.value);
    if (until(next.value)) return;
  }
}

describe('weft serve across restarts', () => {
  it('a reader following a run reconnects after the server restarts mid-run and sees the run finish', async () => {
    ws = httpWorkspace();
    const port = await freePort();
    const first = await serve(port);
    const client = new WeftClient({ url: first.url });
    const { flowId } = await client.putFlow(readFileSync(join(ws!.dir, 'slow.yaml'), 'utf8'));
    const run = await client.submit({ flowId, inputs: [0, 1, 2, 3, 4, 5].map((n) => ({ ms: 300, n })), maxConcurrency: 2 });

    const seen: WeftEvent[] = [];
    const events = client.events(run.runId);
    await take(events, (e) => e.type === 'item_completed', seen);
    expect(await first.stop('SIGTERM')).toBe(0);
    servers = [];
    const second = await serve(port);
    expect(second.proc.stdout()).toMatch(new RegExp(`resumed 1 unfinished run\\(s\\): ${run.runId}`));
    await take(events, (e) => e.type === 'run_completed', seen);
    expect((await events.next()).done).toBe(true);

    expect(seen.at(-1)).toMatchObject({ type: 'run_completed', data: { status: 'success' } });
    const seqs = seen.map((e) => e.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
    // Nothing missed: the reader's log is the persisted log.
    const persisted = (await readEventStream(`${second.url}/runs/${run.runId}/events`)).events;
    expect(seen).toEqual(persisted);
    const final = await client.getRun(run.runId, { includeResults: true });
    expect(final.results!.map((r) => r.result)).toEqual([0, 1, 2, 3, 4, 5].map((n) => expect.objectContaining({ value: { napped: n } })));
  });

  it('human input: pause, reject a value by schema, survive a kill while paused, resume on a valid value', async () => {
    ws = httpWorkspace();
    const port = await freePort();
    const first = await serve(port);
    const client = new WeftClient({ url: first.url });
    const { flowId } = await client.putFlow(readFileSync(join(ws.dir, 'ask.yaml'), 'utf8'));
    const run = await client.submit({ flowId, inputs: [{}] });

    const seen: WeftEvent[] = [];
    const events = client.events(run.runId);
    await take(events, (e) => e.type === 'step_awaiting_input', seen);
    expect(seen.at(-1)).toMatchObject({ itemIndex: 0, stepId: 'ask', data: { prompt: 'What is your name?', schema: { required: ['name'] } } });
    await take(events, (e) => e.type === 'run_status' && e.data?.status === 'paused', seen);
    expect((await client.getRun(run.runId)).status).toBe('paused');

    // Killed while paused: nothing was shut down cleanly.
    await first.stop('SIGKILL');
    servers = [];
    await serve(port);
    // The step runs again (next attempt) and asks again.
    await take(events, (e) => e.type === 'step_awaiting_input', seen);
    const restarted = seen.filter((e) => e.type === 'step_started' && e.stepId === 'ask').map((e) => e.attempt);
    expect(restarted).toEqual([1, 2]);

    const bad = await client.sendInput(run.runId, 0, 'ask', { name: 42 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(WeftHttpError);
    expect((bad as WeftHttpError).status).toBe(400);
    expect((bad as WeftHttpError).data).toEqual({ issues: [expect.objectContaining({ path: 'value.name', rule: 'type' })] });
    expect((await client.getRun(run.runId)).status).toBe('paused');

    expect(await client.sendInput(run.runId, 0, 'ask', { name: 'Ada' })).toMatchObject({ status: 'sent' });
    await take(events, (e) => e.type === 'run_completed', seen);
    expect(seen.filter((e) => e.type === 'input_received').map((e) => e.data)).toEqual([{ value: { name: 'Ada' } }]);
    const final = await client.getRun(run.runId, { includeResults: true });
    expect(final.status).toBe('success');
    expect(final.results![0].result).toMatchObject({ value: { hello: 'Ada' } });
  });

  it('cancel with purge deletes results and events; the component is aborted', async () => {
    ws = httpWorkspace();
    const s = await serve(0);
    const client = new WeftClient({ url: s.url });
    const { flowId } = await client.putFlow(readFileSync(join(ws.dir, 'hang.yaml'), 'utf8'));
    const run = await client.submit({ flowId, inputs: [{}, {}] });
    const seen: WeftEvent[] = [];
    const events = client.events(run.runId);
    await take(events, (e) => e.type === 'step_started', seen);
    // Both components must be running (not just requested) for the abort to reach them:
    // a request cancelled before the server dispatched it is dropped there instead.
    for (let i = 0; i < 200 && ws.records().filter((r) => r.started).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(ws.records().filter((r) => r.started)).toHaveLength(2);
    const cancelled = await client.cancel(run.runId, { purge: true });
    expect(cancelled).toMatchObject({ status: 'cancelled', purged: true });
    // The follower ends (its run is over) even though the log is gone.
    for await (const e of events) seen.push(e);
    expect((await readEventStream(`${s.url}/runs/${run.runId}/events`)).events).toEqual([]);
    const after = await client.getRun(run.runId, { includeResults: true });
    expect(after.status).toBe('cancelled');
    expect(after.results).toEqual([]);
    const aborted = async () => ws!.records().filter((r) => r.aborted).length;
    for (let i = 0; i < 100 && (await aborted()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await aborted()).toBe(2);
    expect((await httpCall(s.url, 'GET', `/runs/${run.runId}`)).status).toBe(200);
  });

  it('weft submit starts a run on the server from a flow file and --wait prints the results', async () => {
    ws = httpWorkspace();
    const s = await serve(0, ['--token', 'tok']);
    const res = await runWeft(['submit', 'slow.yaml', '--url', s.url, '--token', 'tok', '--input', '{"ms": 0, "n": 4}', '--wait'], ws.dir);
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({ status: 'success', flowName: 'slow' });
    expect(status.results[0].result.value).toEqual({ napped: 4 });
    const byName = await runWeft(['submit', 'slow', '--url', s.url, '--input', '{"ms": 0, "n": 1}'], ws.dir, { WEFT_TOKEN: 'tok' });
    expect(byName.code).toBe(0);
    expect(JSON.parse(byName.stdout).runId).toMatch(/^[0-9a-f-]{36}$/);
    const denied = await runWeft(['submit', 'slow', '--url', s.url, '--input', '{}'], ws.dir, { WEFT_TOKEN: '' });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/401|authentication required/);
  });
});
