import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Runtime } from '../../../runtime/api/runtime.js';
import type { StreamChunk } from '../../../runtime/api/run.js';
import type { RunEvent } from '../../../runtime/store/state-store.js';
import { FLOW_SCHEMA, configWithServers, openTestRuntime } from '../../helpers/runtime-fixture.js';

const oneStep = (component: string, input: unknown = { $input: '$' }) => ({
  schema: FLOW_SCHEMA, name: component.replace(/\W/g, '_'),
  steps: [{ id: 'gen', component, input }],
  output: { $step: 'gen' },
});

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream as unknown as AsyncIterable<T>) out.push(c);
  return out;
}

const chunkKey = (c: StreamChunk) => `${c.seq}|${c.itemIndex}|${c.stepId}|${c.attempt}|${c.stream}|${c.index}|${JSON.stringify(c.chunk)}`;

describe('streamed step output (issue 17)', () => {
  it('persists chunks from a real stdio server as step_output events before the step completes, numbered per stream, in every encoding', async () => {
    for (const framing of ['ndjson', 'content-length']) {
      const config = configWithServers({ s: 'streaming-server.mjs' });
      Object.assign(config.plugins.s, { framing });
      (config.plugins.s as { args: string[] }).args.push('--framing', framing);
      const fx = await openTestRuntime(config);
      try {
        const run = await fx.rt.submit(await fx.rt.putFlow(oneStep('/s/mixed')), [{}]);
        expect((await run.wait()).results?.[0].result).toMatchObject({ outcome: 'success', value: 'ok' });
        const events: RunEvent[] = [];
        for await (const e of run.events()) events.push(e);
        const outputs = events.filter((e) => e.type === 'step_output');
        expect(outputs.map((e) => [e.itemIndex, e.stepId, e.attempt, e.data])).toEqual([
          [0, 'gen', 1, { stream: 'default', index: 0, encoding: 'text', chunk: 'text' }],
          [0, 'gen', 1, { stream: 'raw', index: 0, encoding: 'base64', chunk: 'AAH+/w==' }],
          [0, 'gen', 1, { stream: 'default', index: 1, encoding: 'json', chunk: { json: [1, 2] } }],
        ]);
        const completed = events.find((e) => e.type === 'step_completed')!;
        expect(outputs.every((e) => e.seq < completed.seq)).toBe(true);
        const raw = await readAll(run.getReadable({ stream: 'raw' }));
        expect(raw.map((c) => c.chunk)).toEqual([new Uint8Array([0, 1, 254, 255])]);
        expect((await readAll(run.getReadable({ stream: 'default', startIndex: 1 }))).map((c) => c.chunk)).toEqual([{ json: [1, 2] }]);
      } finally {
        await fx.close();
      }
    }
  });

  it('gives two concurrent readers, a late reader and a reader after a restart the same chunks in the same order', async () => {
    const fx = await openTestRuntime(configWithServers({ s: 'streaming-server.mjs' }));
    const text = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    let flowId;
    let runId: string;
    let first: StreamChunk[];
    try {
      flowId = await fx.rt.putFlow(oneStep('/s/words'));
      const run = await fx.rt.submit(flowId, [{ text, delayMs: 3 }, { text, delayMs: 2, stream: 'other' }], { maxConcurrency: 2 });
      runId = run.id;
      const [a, b] = await Promise.all([readAll(run.readable), readAll(run.getReadable())]);
      const late = await readAll(run.readable);
      first = a;
      expect(a).toHaveLength(60);
      expect(a.map(chunkKey)).toEqual(b.map(chunkKey));
      expect(late.map(chunkKey)).toEqual(a.map(chunkKey));
      // Each item's words arrive in order; each stream is numbered 0..29.
      for (const [item, stream] of [[0, 'default'], [1, 'other']] as const) {
        const mine = a.filter((c) => c.itemIndex === item);
        expect(mine.map((c) => c.chunk)).toEqual(text.split(' '));
        expect(mine.map((c) => [c.stream, c.index])).toEqual(mine.map((_, i) => [stream, i]));
      }
      expect((await readAll(run.getReadable({ itemIndex: 1 }))).map(chunkKey)).toEqual(a.filter((c) => c.itemIndex === 1).map(chunkKey));
    } finally {
      await fx.rt.close();
    }
    // The same store, opened again by a new runtime: the replay is identical.
    const rt = await Runtime.open({ config: configWithServers({}), store: { type: 'sqlite', path: join(fx.dir, 'weft.db') }, cwd: fx.dir });
    try {
      expect((await readAll((await rt.getRun(runId)).readable)).map(chunkKey)).toEqual(first.map(chunkKey));
    } finally {
      await rt.close();
      await fx.close();
    }
  });

  it('keeps the chunks of an attempt that crashed mid-stream, marked with attempt 1, and continues the numbering in the retry', async () => {
    const fx = await openTestRuntime(configWithServers({ s: 'streaming-server.mjs' }));
    try {
      const run = await fx.rt.submit(await fx.rt.putFlow(oneStep('/s/crash_mid_stream')), [{ before: 5, after: 3 }]);
      const chunks = readAll(run.readable);
      expect((await run.wait()).results?.[0].result).toMatchObject({ outcome: 'success', value: { attempt: 2 } });
      expect((await chunks).map((c) => [c.attempt, c.index, c.chunk])).toEqual([
        [1, 0, 'a1-0'], [1, 1, 'a1-1'], [1, 2, 'a1-2'], [1, 3, 'a1-3'], [1, 4, 'a1-4'],
        [2, 5, 'a2-0'], [2, 6, 'a2-1'], [2, 7, 'a2-2'],
      ]);
      const started: RunEvent[] = [];
      for await (const e of run.events({ types: ['step_started'] })) started.push(e);
      expect(started.map((e) => e.attempt)).toEqual([1, 2]);
    } finally {
      await fx.close();
    }
  });

  it('shows a chunk to a live reader while its step is still running', async () => {
    const fx = await openTestRuntime(configWithServers({ s: 'streaming-server.mjs' }));
    const release = join(fx.dir, 'release');
    try {
      const run = await fx.rt.submit(await fx.rt.putFlow(oneStep('/s/gated')), [{ release }]);
      const reader = run.readable.getReader();
      const first = await reader.read();
      expect(first.value?.chunk).toBe('first');
      // The component is blocked until `release` exists: the step cannot have completed.
      expect(existsSync(release)).toBe(false);
      expect((await run.status()).items.running).toBe(1);
      writeFileSync(release, '');
      expect((await reader.read()).value?.chunk).toBe('second');
      expect((await reader.read()).done).toBe(true);
      expect((await run.wait()).status).toBe('success');
    } finally {
      await fx.close();
    }
  });

  it('persists 2,000 chunks written through ctx.writable in order, whatever the window', async () => {
    for (const window of ['1', '64']) {
      const config = configWithServers({ s: 'streaming-server.mjs' });
      (config.plugins.s as { args: string[] }).args.push('--window', window);
      const fx = await openTestRuntime(config);
      try {
        const run = await fx.rt.submit(await fx.rt.putFlow(oneStep('/s/flood')), [{ n: 2000 }]);
        const chunks = await readAll(run.readable);
        expect(chunks.map((c) => c.chunk)).toEqual(Array.from({ length: 2000 }, (_, i) => ({ i })));
        expect(chunks.map((c) => c.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      } finally {
        await fx.close();
      }
    }
  });

  it('fails the step, not the runtime, when a chunk breaks a limit, naming the limit', async () => {
    const fx = await openTestRuntime(configWithServers({ s: 'streaming-server.mjs' }, { maxChunkBytes: 50, maxChunksPerStep: 5, maxStreamBytesPerRun: 300 }));
    try {
      const flowId = await fx.rt.putFlow(oneStep('/s/emit_many'));
      const cases = [
        { input: { n: 1, bytes: 51 }, error: /output limit exceeded: step "gen" of item 0 .*an output chunk of 51 bytes exceeds limits\.maxChunkBytes \(50\)/, persisted: 0 },
        { input: { n: 20, bytes: 1, holdMs: 5000 }, error: /more than limits\.maxChunksPerStep \(5\) output chunks/, persisted: 5 },
      ];
      for (const c of cases) {
        const run = await fx.rt.submit(flowId, [c.input]);
        const result = (await run.wait()).results?.[0].result;
        expect(result).toMatchObject({ outcome: 'failed', error: { code: 500, kind: 'COMPONENT_FAILED' } });
        expect((result as { error: { message: string } }).error.message).toMatch(c.error);
        expect(await readAll(run.readable)).toHaveLength(c.persisted);
      }
      // Bytes per run: items share the run's budget (300 bytes: six chunks of 50).
      const run = await fx.rt.submit(flowId, [{ n: 4, bytes: 50 }, { n: 4, bytes: 50 }], { maxConcurrency: 1 });
      const results = (await run.wait()).results!;
      expect(results[0].result).toMatchObject({ outcome: 'success' });
      expect(results[1].result).toMatchObject({ outcome: 'failed' });
      expect((results[1].result as { error: { message: string } }).error.message).toMatch(/limits\.maxStreamBytesPerRun \(300 bytes\)/);
      expect(await readAll(run.readable)).toHaveLength(6);
      // The runtime carries on.
      const ok = await fx.rt.submit(flowId, [{ n: 2, bytes: 10 }]);
      expect((await ok.wait()).status).toBe('success');
    } finally {
      await fx.close();
    }
  });

  it("refuses a chunk emitted after the step ended: the run's stream stays empty and the server keeps working", async () => {
    const fx = await openTestRuntime(configWithServers({ s: 'streaming-server.mjs' }));
    try {
      const flowId = await fx.rt.putFlow(oneStep('/s/late'));
      const run = await fx.rt.submit(flowId, [{}]);
      expect((await run.wait()).status).toBe('success');
      const again = await fx.rt.submit(flowId, [{}]);
      expect((await again.wait()).status).toBe('success');
      expect(await readAll(run.readable)).toEqual([]);
    } finally {
      await fx.close();
    }
  });

  it('takes outputs/emit from a server without the SDK: drops a chunk of another attempt and an invalid one, and acknowledges all four', async () => {
    const fx = await openTestRuntime(configWithServers({ raw: 'raw-server.mjs' }));
    try {
      const run = await fx.rt.submit(await fx.rt.putFlow(oneStep('/raw/stream')), [{}]);
      expect((await run.wait()).results?.[0].result).toMatchObject({ outcome: 'success', value: { taken: 4 } });
      expect((await readAll(run.readable)).map((c) => [c.stream, c.index, c.attempt, c.chunk])).toEqual([
        ['default', 0, 1, 'one'], ['two', 0, 1, { n: 2 }],
      ]);
    } finally {
      await fx.close();
    }
  });
});
