import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRunsServerConfig } from '../helpers/runs-server-config.js';
import { WEFT_BIN } from '../helpers/weft-process.js';

// A step's request no longer waits for the commit of its attempt: the attempt is written
// ahead to a plain file (runs/attempt-log.ts), and that is what keeps attempt numbers from
// repeating after a kill. strace shows the system calls of a real `weft run` in order, so
// this proves every execute request left the process after its attempt reached the file.

const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: two steps
steps:
  - id: first
    component: /runs/record
    input: {item: {$input: item}, ms: 0}
  - id: second
    component: /runs/record
    input: {item: {$step: first, path: item}, ms: 0}
output: {$step: second}
`;

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, '\\': 92 };

/** The string argument of a traced write(2), unescaped (C escapes, octal for other bytes). */
function writtenText(line: string): string | undefined {
  const m = /write\(\d+<[^>]*>, "((?:[^"\\]|\\.)*)"/.exec(line);
  if (!m) return undefined;
  const bytes: number[] = [];
  const s = m[1];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') { bytes.push(s.charCodeAt(i)); continue; }
    const octal = /^[0-7]{1,3}/.exec(s.slice(i + 1))?.[0];
    if (octal) { bytes.push(parseInt(octal, 8)); i += octal.length; continue; }
    bytes.push(ESCAPES[s[++i]] ?? s.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('step attempts written ahead (strace)', () => {
  let dir: string | undefined;
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = undefined; });

  it.skipIf(!strace)('writes every execute request after its attempt reached the attempt log; the log is gone after a clean exit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-write-ahead-'));
    const record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    writeRunsServerConfig(dir, record);
    writeFileSync(join(dir, 'flow.yaml'), FLOW);
    writeFileSync(join(dir, 'items.jsonl'), Array.from({ length: 40 }, (_, i) => JSON.stringify({ item: i })).join('\n'));
    const log = join(dir, 'trace.log');
    // Only the runtime's own threads: -f would also trace the component server, whose writes do not matter here.
    const child = spawn(strace!, ['-y', '-s', '1000000', '-e', 'trace=write', '-o', log,
      process.execPath, WEFT_BIN, 'run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '8'], { cwd: dir, stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);

    const writtenAhead = new Set<string>();
    let requests = 0;
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const text = writtenText(line);
      if (text === undefined) continue;
      if (/<[^>]*-attempts-[^>]*>/.test(line)) {
        for (const entry of text.split('\n').filter(Boolean)) writtenAhead.add(entry);
        continue;
      }
      for (const json of text.split('\n').filter(Boolean)) {
        if (!json.includes('"components/execute"')) continue;
        const { params } = JSON.parse(json) as { params: { attempt: number; observability: { run_id: string; item_index: number; step_id: string } } };
        const o = params.observability;
        const entry = JSON.stringify([o.run_id, o.item_index, o.step_id, params.attempt]);
        expect(writtenAhead.has(entry), `request ${entry} written before its attempt`).toBe(true);
        requests++;
      }
    }
    expect(requests).toBe(80); // 40 items × 2 steps, each checked
    expect(readdirSync(join(dir, '.weft')).filter((name) => name.includes('-attempts-'))).toEqual([]);
  }, 60_000);
});
