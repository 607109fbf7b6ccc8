import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { httpCall } from '../helpers/http-call.js';
import { readEventStream, type StreamedEvent } from '../helpers/read-event-stream.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';
import { runWeft, startWeft } from '../helpers/weft-process.js';

// examples/streaming through the CLI and a real `weft serve`: chunks reach SSE, NDJSON and
// `weft events --follow` readers while the step runs, and replay the same afterwards.
const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/streaming');
const HAIKU = 'An old silent pond, a frog jumps into the pond, splash! Silence again.';

const chunks = (events: StreamedEvent[]) => events.filter((e) => e.type === 'step_output').map((e) => e.data!.chunk);

describe('examples/streaming on the CLI', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'weft-stream-cli-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('runs the flow, then `weft events` prints its chunks from the store', async () => {
    const r = await runWeft(['run', join(EXAMPLE, 'flow.yaml'), '--input', '{"prompt":"a haiku","delayMs":1}'], cwd);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as RunStatus;
    const text = await runWeft(['events', status.runId, '--chunks', '--stream', 'tokens'], cwd);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(HAIKU);
    const all = await runWeft(['events', status.runId, '--types', 'step_output', '--item', '0'], cwd);
    const events = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as StreamedEvent);
    expect(events.map((e) => [e.type, e.data!.stream, e.data!.index])).toEqual([
      ...HAIKU.split(' ').map((_, i) => ['step_output', 'tokens', i]), ['step_output', 'usage', 0],
    ]);
    expect((await runWeft(['events', status.runId, '--types', 'nope'], cwd)).code).toBe(2);
    expect((await runWeft(['events', 'no-such-run'], cwd)).stderr).toMatch(/run not found: no-such-run/);
  });

  it('passes the flow\'s own test case', async () => {
    const r = await runWeft(['test', join(EXAMPLE, 'flow.yaml')], cwd);
    expect(r.stdout.trim().split('\n').at(-1), r.stderr).toBe('1 passed, 0 failed');
  });
});

describe('examples/streaming on weft serve', () => {
  let dir: string;
  let server: WeftServer;
  let flowId: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-stream-http-'));
    server = await startWeftServer(dir, ['--config', join(EXAMPLE, 'weft.config.yml')]);
    flowId = (await httpCall(server.url, 'POST', '/flows', { body: readFileSync(join(EXAMPLE, 'flow.yaml'), 'utf8'), contentType: 'application/yaml' })).json.flowId;
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams the words to SSE, NDJSON and `weft events --follow` readers while the step runs, and replays them the same', async () => {
    // 13 words, 100 ms apart: the step runs for over a second after its first word.
    const runId = (await httpCall(server.url, 'POST', '/runs', { body: { flowId, inputs: [{ prompt: 'haiku', delayMs: 100 }] } })).json.runId as string;
    const url = `${server.url}/runs/${runId}/events`;
    const follower = startWeft(['events', runId, '--follow', '--url', server.url, '--chunks', '--stream', 'tokens'], dir);
    let statusAtFirstChunk: string | undefined;
    const sse = readEventStream(url, {
      query: { types: 'step_output', stream: 'tokens' },
      stopWhen: (events) => {
        if (events.length >= 1 && statusAtFirstChunk === undefined) {
          statusAtFirstChunk = 'pending';
          void httpCall(server.url, 'GET', `/runs/${runId}`).then((r) => { statusAtFirstChunk = r.json.status; });
        }
        return false;
      },
    });
    const [filtered, everything] = await Promise.all([sse, readEventStream(url, { format: 'ndjson' })]);
    expect(await follower.exited, follower.stderr()).toBe(0);
    expect(statusAtFirstChunk).toBe('running');
    expect(filtered.events.every((e) => e.type === 'step_output' && e.data!.stream === 'tokens')).toBe(true);
    expect(chunks(filtered.events).join('')).toBe(HAIKU);
    expect(follower.stdout()).toBe(HAIKU);
    // In the unfiltered log every word comes before the step completes.
    const completed = everything.events.find((e) => e.type === 'step_completed')!;
    const outputs = everything.events.filter((e) => e.type === 'step_output');
    expect(outputs).toHaveLength(14);
    expect(outputs.every((e) => e.seq < completed.seq)).toBe(true);
    // After the end: the same chunks, in the same order, with the same seqs.
    const late = await readEventStream(url, { query: { types: 'step_output', stream: 'tokens' } });
    expect(late.events).toEqual(filtered.events);
    // itemIndex keeps that item's events and the run's own; a bad filter is a 400 naming it.
    const item = await readEventStream(url, { query: { itemIndex: '0', types: 'step_output,run_completed', stream: 'usage' } });
    expect(item.events.map((e) => e.type)).toEqual(['step_output', 'run_completed']);
    const bad = await httpCall(server.url, 'GET', `/runs/${runId}/events?types=step_output,bogus`);
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/types/);
  });
});
