import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { runWeft } from '../helpers/weft-process.js';

// The README's Quick start, exactly: the example batch runs on the embedded SQLite store.
const ROOT = resolve(import.meta.dirname, '../..');

describe('examples/enrich (the README Quick start)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'weft-example-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('runs the batch: 18 items succeed, the 2 invalid ones fail on their own', async () => {
    const r = await runWeft(['run', join(ROOT, 'examples/enrich/flow.yaml'), '--input-file', join(ROOT, 'examples/enrich/inputs.jsonl')], cwd);
    expect(r.code, r.stderr).toBe(1);
    const status = JSON.parse(r.stdout) as RunStatus;
    expect(status.items).toMatchObject({ total: 20, success: 18, failed: 2 });
    const failed = status.results!.filter((x) => x.status === 'failed');
    expect(failed.map((x) => x.itemIndex)).toEqual([18, 19]);
    expect(failed.every((x) => x.result!.outcome === 'failed' && x.result!.error.kind === 'INVALID_INPUT' && x.result!.error.code === 500)).toBe(true);
    const gold = status.results!.find((x) => (x.result as { value?: { outreach?: unknown } }).value?.outreach);
    expect(gold, 'a gold customer gets outreach messages').toBeDefined();
  });

  it("passes the flow's own test cases", async () => {
    const r = await runWeft(['test', join(ROOT, 'examples/enrich/flow.yaml')], cwd);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^3 passed, 0 failed$/);
  });
});
