import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { WEFT_BIN } from '../helpers/weft-process.js';

// `weft run ... | head` and `weft run ... > /dev/full` crashed with an uncaught error's stack
// trace. Now: one line on stderr and exit code 3.
function workspace(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'flow.yaml'), 'schema: https://stepflow.org/schemas/v1/flow.json\nsteps: []\noutput: {echo: {$input: x}}\n');
  // Enough results that the output is far bigger than a pipe's buffer.
  writeFileSync(join(dir, 'inputs.jsonl'), Array.from({ length: 3000 }, (_, i) => JSON.stringify({ x: `item ${i} ${'x'.repeat(100)}` })).join('\n'));
  return dir;
}
const weft = `"${process.execPath}" "${WEFT_BIN}" run flow.yaml --input-file inputs.jsonl --store memory`;

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('weft: run '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('a CLI whose stdout cannot be written', () => {
  it('piped into head: one line about EPIPE, exit 3', () => {
    const dir = workspace();
    const res = spawnSync('/bin/bash', ['-c', `${weft} 2>err.txt | head -c 10 >/dev/null; exit \${PIPESTATUS[0]}`], { cwd: dir, encoding: 'utf8' });
    expect(existsSync(join(dir, 'err.txt'))).toBe(true);
    const stderr = spawnSync('cat', ['err.txt'], { cwd: dir, encoding: 'utf8' }).stdout;
    expectOneLine(stderr, /^weft: cannot write to stdout: its reader closed the pipe \(EPIPE\).*the output is incomplete$/);
    expect(res.status).toBe(3);
  });

  it('written to a full disk (/dev/full): one line about ENOSPC, exit 3', () => {
    const dir = workspace();
    const res = spawnSync('/bin/bash', ['-c', `${weft} >/dev/full`], { cwd: dir, encoding: 'utf8' });
    expectOneLine(res.stderr, /^weft: cannot write to stdout: no space left on device \(ENOSPC\); the output is incomplete$/);
    expect(res.status).toBe(3);
  });
});
