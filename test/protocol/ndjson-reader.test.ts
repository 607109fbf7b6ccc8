import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { NdjsonMessageReader } from '../../protocol/index.js';
import type { NdjsonReaderOptions } from '../../protocol/index.js';

function reader(options: Omit<NdjsonReaderOptions, 'onInvalidLine'> = {}) {
  const stream = new PassThrough();
  const messages: Message[] = [];
  const invalid: Array<{ line: string; reason: string }> = [];
  const r = new NdjsonMessageReader(stream, { ...options, onInvalidLine: (line, reason) => invalid.push({ line, reason }) });
  r.listen((message) => messages.push(message));
  return { stream, reader: r, messages, invalid };
}

const request = { jsonrpc: '2.0', id: 1, method: 'components/list', params: {} };

describe('NdjsonMessageReader', () => {
  it('reassembles a message split over several chunks', () => {
    const { stream, messages } = reader();
    const text = `${JSON.stringify(request)}\n`;
    stream.write(text.slice(0, 5));
    stream.write(text.slice(5, 30));
    expect(messages).toEqual([]);
    stream.write(text.slice(30));
    expect(messages).toEqual([request]);
  });

  it('reads several messages from one chunk, in order', () => {
    const { stream, messages } = reader();
    stream.write(`${JSON.stringify({ ...request, id: 1 })}\n${JSON.stringify({ ...request, id: 2 })}\n${JSON.stringify({ ...request, id: 3 })}\n`);
    expect(messages.map((m) => (m as unknown as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('decodes multi-byte UTF-8 split across chunk boundaries', () => {
    const { stream, messages } = reader();
    const message = { jsonrpc: '2.0', id: 'é', method: 'm', params: { text: 'naïve € 😀 日本' } };
    const bytes = Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
    // One byte at a time: every multi-byte sequence is cut.
    for (let i = 0; i < bytes.length; i++) stream.write(bytes.subarray(i, i + 1));
    expect(messages).toEqual([message]);
  });

  it('accepts CRLF line endings', () => {
    const { stream, messages, invalid } = reader();
    stream.write(`${JSON.stringify(request)}\r\n${JSON.stringify({ ...request, id: 2 })}\r\n`);
    expect(messages).toHaveLength(2);
    expect(invalid).toEqual([]);
  });

  it('skips blank and whitespace-only lines silently', () => {
    const { stream, messages, invalid } = reader();
    stream.write(`\n\n  \n\r\n${JSON.stringify(request)}\n\n`);
    expect(messages).toEqual([request]);
    expect(invalid).toEqual([]);
  });

  it('reports a garbage line and goes on reading', () => {
    const { stream, messages, invalid } = reader();
    stream.write(`Traceback (most recent call last):\n${JSON.stringify(request)}\n[1,2]\n42\n`);
    expect(messages).toEqual([request]);
    expect(invalid.map((i) => i.line)).toEqual(['Traceback (most recent call last):', '[1,2]', '42']);
    expect(invalid[0].reason).toMatch(/^not JSON/);
    expect(invalid[1].reason).toBe('not a JSON-RPC message object');
  });

  it('drops an oversized line that arrives in pieces, then reads the next one', () => {
    const { stream, messages, invalid } = reader({ maxLineBytes: 64 });
    const long = JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { pad: 'p'.repeat(200) } });
    for (let i = 0; i < long.length; i += 10) stream.write(long.slice(i, i + 10));
    stream.write(`\n${JSON.stringify(request)}\n`);
    expect(messages).toEqual([request]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0].reason).toBe('line longer than 64 bytes');
  });

  it('drops an oversized line that arrives in one chunk', () => {
    const { stream, messages, invalid } = reader({ maxLineBytes: 64 });
    stream.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { pad: 'p'.repeat(200) } })}\n${JSON.stringify(request)}\n`);
    expect(messages).toEqual([request]);
    expect(invalid.map((i) => i.reason)).toEqual(['line longer than 64 bytes']);
  });

  it('fires onClose when the stream closes', async () => {
    const { stream, reader: r } = reader();
    const closed = new Promise<void>((resolve) => r.onClose(() => resolve()));
    stream.end();
    stream.resume();
    await closed;
  });
});
