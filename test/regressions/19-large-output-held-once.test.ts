import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { writeStatus } from '../../runtime/api/write-status.js';
import { printStatus } from '../../runtime/cli/print-status.js';
import type { CliIo } from '../../runtime/cli/print-status.js';

// A success result carries its value under both `value` and `result` (the seed's name and
// Stepflow's SDK's), so printing the status as one string held every output twice: a 50 MB
// output took `weft run` to 784 MB. The text is now written in pieces, each value once.
function capture(): { io: CliIo; chunks: string[] } {
  const chunks: string[] = [];
  const sink = { write: (text: string) => { chunks.push(text); return true; } } as unknown as NodeJS.WritableStream;
  return { io: { stdout: sink, stderr: sink } as CliIo, chunks };
}

function status(results: RunStatus['results']): RunStatus {
  return {
    runId: 'r', flowId: 'sha256:00', status: 'success',
    items: { total: results!.length, pending: 0, running: 0, success: results!.length, completed: results!.length, failed: 0, cancelled: 0 },
    createdAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:01.000Z', results,
  } as RunStatus;
}
const ok = (itemIndex: number, value: unknown) => ({ itemIndex, status: 'completed', result: { outcome: 'success', value, result: value } });

describe('printing a run status with a large result', () => {
  it('never holds the value twice in one string, and prints exactly JSON.stringify(status, null, 2)', async () => {
    const big = 'x'.repeat(3_000_000);
    const st = status([ok(0, { text: big })] as RunStatus['results']);
    const { io, chunks } = capture();
    await printStatus(st, io);
    expect(chunks.join('')).toBe(`${JSON.stringify(st, null, 2)}\n`);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(2 * big.length);
  });

  it('prints every shape of result as before', async () => {
    const st = status([
      ok(0, { a: [1, { b: 'two\nlines' }], c: null }), ok(1, 'plain'), ok(2, [[], {}, [3]]), ok(3, 0),
      { itemIndex: 4, status: 'failed', result: { outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: '"@@weft-value-0@@"' } } },
      { itemIndex: 5, status: 'running' },
      ok(6, { nested: { deeper: { deepest: ['@@weft-value-1@@'] } } }),
    ] as RunStatus['results']);
    const { io, chunks } = capture();
    await printStatus(st, io);
    expect(chunks.join('')).toBe(`${JSON.stringify(st, null, 2)}\n`);
  });

  it('compact, as the HTTP server sends it: the same text as JSON.stringify(status)', () => {
    const big = 'y'.repeat(3_000_000);
    const st = status([ok(0, { text: big, n: [1, 2] }), ok(1, 'two')] as RunStatus['results']);
    const chunks: string[] = [];
    writeStatus(st, (text) => chunks.push(text), 0);
    expect(chunks.join('')).toBe(JSON.stringify(st));
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(2 * big.length);
  });
});
