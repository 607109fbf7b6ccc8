import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NotificationType, RequestType, createMessageConnection } from 'vscode-jsonrpc/node';
import type { Message } from 'vscode-jsonrpc/node';
import { NdjsonMessageReader, NdjsonMessageWriter } from '../../protocol/index.js';

/** A stream that records each underlying write (what would be one write(2) on a pipe). */
function recordingStream() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) { writes.push(chunk.toString()); callback(); },
    writev(chunks, callback) { writes.push(chunks.map((c) => String(c.chunk)).join('')); callback(); },
  });
  return { stream, writes };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('NdjsonMessageWriter', () => {
  it('writes one compact JSON object per line', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    await writer.write({ jsonrpc: '2.0', id: 1, result: { text: 'two\nlines', nested: { a: [1, 2] } } } as Message);
    await tick();
    expect(writes.join('')).toBe('{"jsonrpc":"2.0","id":1,"result":{"text":"two\\nlines","nested":{"a":[1,2]}}}\n');
  });

  it('always sends params on requests and notifications ({} when absent), never on responses', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    await writer.write({ jsonrpc: '2.0', id: 1, method: 'components/list' } as Message);
    await writer.write({ jsonrpc: '2.0', method: 'initialized' } as Message);
    await writer.write({ jsonrpc: '2.0', id: 1, result: null } as Message);
    await tick();
    expect(writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'components/list', params: {} },
      { jsonrpc: '2.0', method: 'initialized', params: {} },
      { jsonrpc: '2.0', id: 1, result: null },
    ]);
  });

  it('coalesces the messages of one tick into a single write', async () => {
    const { stream, writes } = recordingStream();
    const writer = new NdjsonMessageWriter(stream);
    for (let id = 1; id <= 5; id++) void writer.write({ jsonrpc: '2.0', id, result: id } as Message);
    await tick();
    expect(writes).toHaveLength(1);
    expect(writes[0].split('\n').filter(Boolean)).toHaveLength(5);
    void writer.write({ jsonrpc: '2.0', id: 6, result: 6 } as Message);
    await tick();
    expect(writes).toHaveLength(2);
  });

  it('keeps order when the stream applies backpressure', async () => {
    const received: string[] = [];
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) { received.push(chunk.toString()); setTimeout(callback, 1); },
    });
    const writer = new NdjsonMessageWriter(slow);
    const writes: Promise<void>[] = [];
    for (let id = 1; id <= 50; id++) {
      writes.push(writer.write({ jsonrpc: '2.0', id, result: 'x'.repeat(20) } as Message));
      if (id % 10 === 0) await tick();
    }
    await Promise.all(writes);
    await new Promise((resolve) => slow.end(resolve));
    const ids = received.join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('carries a vscode-jsonrpc request and response both ways', async () => {
    const aToB = new PassThrough();
    const bToA = new PassThrough();
    const a = createMessageConnection(new NdjsonMessageReader(bToA), new NdjsonMessageWriter(aToB));
    const b = createMessageConnection(new NdjsonMessageReader(aToB), new NdjsonMessageWriter(bToA));
    const Add = new RequestType<{ x: number; y: number }, { sum: number }, void>('test/add');
    const Ping = new NotificationType<Record<string, never>>('test/ping');
    const pinged = new Promise<unknown>((resolve) => b.onNotification(Ping, resolve));
    b.onRequest(Add, ({ x, y }) => ({ sum: x + y }));
    a.listen();
    b.listen();
    expect(await a.sendRequest(Add, { x: 2, y: 3 })).toEqual({ sum: 5 });
    await a.sendNotification(Ping, {});
    expect(await pinged).toEqual({});
    a.dispose();
    b.dispose();
  });
});
