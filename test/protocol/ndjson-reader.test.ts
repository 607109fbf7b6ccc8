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
    expect(invalid[0].reason).toBe('line longer than 64 bytes (limits.maxMessageBytes)');
  });

  it('drops an oversized line that arrives in one chunk', () => {
    const { stream, messages, invalid } = reader({ maxLineBytes: 64 });
    stream.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { pad: 'p'.repeat(200) } })}\n${JSON.stringify(request)}\n`);
    expect(messages).toEqual([request]);
    expect(invalid.map((i) => i.reason)).toEqual(['line longer than 64 bytes (limits.maxMessageBytes)']);
  });

  it('answers an oversized request, in pieces or whole, with an error naming the limit', () => {
    const refused: Array<{ id: string | number; error: { code: number; message: string } }> = [];
    const { stream, messages } = reader({ maxLineBytes: 64, onRefusedRequest: (id, error) => refused.push({ id, error }) });
    const long = JSON.stringify({ jsonrpc: '2.0', id: 'cb-1', method: 'blobs/put', params: { data: 'p'.repeat(300) } });
    for (let i = 0; i < long.length; i += 10) stream.write(long.slice(i, i + 10));
    // id after params: found at the end of the line
    stream.write(`
{"jsonrpc":"2.0","method":"blobs/put","params":{"data":"${'q'.repeat(300)}"},"id":7}
${JSON.stringify(request)}
`);
    expect(messages).toEqual([request]);
    expect(refused).toEqual([
      { id: 'cb-1', error: { code: -32016, message: `blobs/put: the request is ${long.length} bytes, over limits.maxMessageBytes (64)` } },
      { id: 7, error: { code: -32016, message: expect.stringMatching(/^blobs\/put: the request is \d+ bytes, over limits\.maxMessageBytes \(64\)$/) } },
    ]);
  });

  it('turns an oversized response into an error response to its id; nothing to answer without an id', () => {
    const { stream, messages, invalid } = reader({ maxLineBytes: 64 });
    stream.write(`{"jsonrpc":"2.0","id":"w3","result":{"output":"${'x'.repeat(300)}"}}
{"garbage":"${'y'.repeat(300)}"}
`);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 'w3', error: { code: -32016, message: expect.stringMatching(/^the response is \d+ bytes, over limits\.maxMessageBytes \(64\)$/) } }]);
    expect(invalid).toHaveLength(2);
  });

  it('refuses a message nested deeper than maxDepth, answering requests and failing responses', () => {
    const refused: Array<string | number> = [];
    const { stream, messages, invalid } = reader({ maxDepth: 8, onRefusedRequest: (id) => refused.push(id) });
    const deep = `${'['.repeat(20)}${']'.repeat(20)}`;
    stream.write(`{"jsonrpc":"2.0","id":4,"method":"blobs/put","params":{"data":${deep}}}
{"jsonrpc":"2.0","id":"w9","result":${deep}}
`);
    stream.write(`{"jsonrpc":"2.0","id":5,"method":"x","params":{"s":"${'['.repeat(40)}","d":[[[1]]]}}
`); // brackets in a string do not count
    expect(refused).toEqual([4]);
    expect(messages[0]).toEqual({ jsonrpc: '2.0', id: 'w9', error: { code: -32016, message: 'the response nests deeper than 8 levels (limits.maxJsonDepth)' } });
    expect(messages[1]).toMatchObject({ id: 5, method: 'x' });
    expect(invalid.map((i) => i.reason)).toEqual(['line nests deeper than 8 levels (limits.maxJsonDepth)', 'line nests deeper than 8 levels (limits.maxJsonDepth)']);
  });

  it('fires onClose when the stream closes', async () => {
    const { stream, reader: r } = reader();
    const closed = new Promise<void>((resolve) => r.onClose(() => resolve()));
    stream.end();
    stream.resume();
    await closed;
  });
});
