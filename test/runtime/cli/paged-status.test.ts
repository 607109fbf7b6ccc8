import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult, RunStatus } from '../../../protocol/index.js';
import { Runtime } from '../../../runtime/api/runtime.js';
import { loadConfig } from '../../../runtime/api/load-config.js';
import type { Run } from '../../../runtime/api/run.js';
import { writeStatus, writeStatusPages } from '../../../runtime/api/write-status.js';
import { OUTPUT_FORMATS, printStatus, type CliIo, type OutputFormat } from '../../../runtime/cli/print-status.js';
import { runWeft } from '../../helpers/weft-process.js';

// `weft run` no longer holds every result to print the final status: it waits without them
// and prints them page by page. The text must be exactly what the whole status printed:
// here against JSON.stringify of the status with every result, for each --output, on runs
// of a real component server (some items failing) journaled in SQLite.

const ECHO_SERVER = resolve(import.meta.dirname, '../../fixtures/servers/sdk-echo-server.mjs');
const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: double
steps:
  - id: double
    component: /echo/double
    input: {x: {$input: x}}
output: {$step: double}
`;
const CONFIG = `plugins:
  echo:
    type: stepflow
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(ECHO_SERVER)}]
routes:
  "/echo/{component}":
    - plugin: echo
`;

/** Every 5th item fails its input schema (x must be a number). */
const inputs = (n: number) => Array.from({ length: n }, (_, i) => (i % 5 === 3 ? { x: `no ${i}` } : { x: i }));

/** What each --output printed when the CLI held the whole status (today's writers, before paging). */
function expected(full: RunStatus, output: OutputFormat, summary: string): string {
  const compact = (full.results ?? []).map(({ itemIndex, status, result }) => ({
    itemIndex, status,
    ...(result?.outcome === 'success' ? { outcome: 'success', value: result.value } : result ? { outcome: result.outcome, error: result.error } : {}),
  }));
  if (output === 'status') return `${JSON.stringify(full, null, 2)}\n`;
  if (output === 'summary') return `${summary}\n`;
  if (output === 'jsonl') return compact.map((item) => `${JSON.stringify(item)}\n`).join('');
  const { results: _results, ...rest } = full;
  return `${JSON.stringify({ ...rest, results: compact })}\n`;
}

function capture(): { io: CliIo; text: () => string } {
  const chunks: string[] = [];
  const sink = { write: (text: string) => { chunks.push(text); return true; } } as unknown as NodeJS.WritableStream;
  return { io: { stdout: sink, stderr: sink } as CliIo, text: () => chunks.join('') };
}

/** The pages as read, their sizes noted. */
async function* noting(pages: AsyncIterable<ItemResult[]>, sizes: number[]): AsyncGenerator<ItemResult[]> {
  for await (const page of pages) { sizes.push(page.length); yield page; }
}

describe('printing a final status page by page', () => {
  let dir: string;
  let rt: Runtime;
  let run: Run;
  let full: RunStatus;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-paged-'));
    writeFileSync(join(dir, 'flow.yaml'), FLOW);
    writeFileSync(join(dir, 'weft.config.yml'), CONFIG);
    writeFileSync(join(dir, 'in.jsonl'), inputs(2300).map((input) => `${JSON.stringify(input)}\n`).join(''));
    rt = await Runtime.open({ config: loadConfig(join(dir, 'weft.config.yml')), cwd: dir, resume: false });
    run = await rt.submit(await rt.putFlow(join(dir, 'flow.yaml')), inputs(23));
    full = await run.wait();
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits without results when asked, and pages hold what results() holds', async () => {
    expect(full.status).toBe('failed');
    expect(full.items).toMatchObject({ total: 23, success: 19, failed: 4 });
    const bare = await run.wait({ results: false });
    expect(bare.results).toBeUndefined();
    const { results: _results, ...rest } = full;
    expect(bare).toEqual(rest);

    const sizes: number[] = [];
    const paged: ItemResult[] = [];
    for await (const page of noting(run.resultPages({ pageSize: 4 }), sizes)) paged.push(...page);
    expect(sizes).toEqual([4, 4, 4, 4, 4, 3]);
    expect(paged).toEqual(full.results);
    expect(paged.filter((r) => r.status === 'failed').map((r) => r.itemIndex)).toEqual([3, 8, 13, 18]);
    // A last page that is exactly full ends the pages without an empty one.
    const exact: number[] = [];
    for await (const _page of noting(run.resultPages({ pageSize: 23 }), exact));
    expect(exact).toEqual([23]);
  });

  it.each(OUTPUT_FORMATS)('prints --output %s byte for byte as the whole status did, from pages of 4', async (output) => {
    const bare = await run.wait({ results: false });
    const sizes: number[] = [];
    const { io, text } = capture();
    const code = await printStatus(bare, io, output, { results: noting(run.resultPages({ pageSize: 4 }), sizes), summary: 'weft: run done' });
    expect(code).toBe(1);
    expect(text()).toBe(expected(full, output, 'weft: run done'));
    if (output !== 'summary') expect(sizes).toEqual([4, 4, 4, 4, 4, 3]);
    if (output === 'status') {
      const whole: string[] = [];
      writeStatus(full, (t) => whole.push(t));
      expect(text()).toBe(whole.join(''));
    }
  });

  it('puts the results before a run error, as runs/get does, indented or compact', async () => {
    const failed = { ...full, error: { code: 'STORE_FAILED', message: 'the value is nested too deeply' } } as RunStatus;
    const { results, ...bare } = failed;
    for (const space of [2, 0]) {
      const out: string[] = [];
      await writeStatusPages(bare as RunStatus, (async function* () { yield results!.slice(0, 10); yield []; yield results!.slice(10); })(), (t) => out.push(t), space);
      expect(out.join('')).toBe(`${JSON.stringify(failed, null, space)}${space ? '\n' : ''}`);
    }
    // No pages: an empty array, still before the error.
    const none: string[] = [];
    await writeStatusPages(bare as RunStatus, (async function* () { /* no pages */ })(), (t) => none.push(t));
    expect(none.join('')).toBe(`${JSON.stringify({ ...failed, results: [] }, null, 2)}\n`);
  });

  it.each(OUTPUT_FORMATS)('weft run --output %s of 2,300 items (three pages) prints what the whole status printed', async (output) => {
    const { code, stdout, stderr } = await runWeft(['run', 'flow.yaml', '--input-file', 'in.jsonl', ...(output === 'status' ? [] : ['--output', output])], dir);
    expect(code).toBe(1);
    const runId = /weft: run (\S+) started/.exec(stderr)![1];
    const whole = await (await rt.getRun(runId)).wait();
    expect(whole.items).toMatchObject({ total: 2300, success: 1840, failed: 460 });
    const summary = stderr.trim().split('\n').find((line) => line.startsWith(`weft: run ${runId} failed:`))!;
    expect(stdout).toBe(expected(whole, output, summary));
  }, 60_000);

  it('weft runs get --results prints them page by page, the same text', async () => {
    const { stdout, stderr } = await runWeft(['run', 'flow.yaml', '--input-file', 'in.jsonl', '--output', 'summary'], dir);
    const runId = /weft: run (\S+) started/.exec(stderr)![1];
    const got = await runWeft(['runs', 'get', runId, '--results'], dir);
    expect(stdout).not.toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toBe(`${JSON.stringify(await (await rt.getRun(runId)).wait(), null, 2)}\n`);
    const bare = await runWeft(['runs', 'get', runId], dir);
    expect(bare.stdout).toBe(`${JSON.stringify(await (await rt.getRun(runId)).wait({ results: false }), null, 2)}\n`);
  }, 60_000);
});
