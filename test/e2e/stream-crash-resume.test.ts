import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../runtime/store/open-store.js';
import type { RunEvent } from '../../runtime/store/state-store.js';
import { fixtureServerPath } from '../helpers/spawn-sdk-server.js';
import { runWeft, startWeft, until } from '../helpers/weft-process.js';

// A real `weft run` killed with SIGKILL while a step streams; `weft resume` re-runs the step
// (attempt 2). The chunks committed before the kill stay, marked attempt 1, and the retry's
// chunks continue the stream's numbering: one gapless sequence, the same for every reader.

const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`);

function outputs(dir: string, runId: string): RunEvent[] {
  const store = openStore({ type: 'sqlite', path: join(dir, '.weft', 'weft.db') });
  try {
    return store.state.listEvents(runId).filter((e) => e.type === 'step_output');
  } finally {
    store.close();
  }
}

describe('streamed output across a runtime crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-stream-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the chunks of the killed attempt and continues the numbering after weft resume', async () => {
    writeFileSync(join(dir, 'weft.config.yml'), `plugins:
  s: {type: stepflow, transport: stdio, command: node, args: [${JSON.stringify(fixtureServerPath('streaming-server.mjs'))}]}
routes:
  "/s/{component}": [{plugin: s}]
`);
    writeFileSync(join(dir, 'flow.yaml'), `schema: https://stepflow.org/schemas/v1/flow.json
name: words
steps:
  - {id: gen, component: /s/words, input: {$input: "$"}}
output: {$step: gen}
`);
    const p = startWeft(['run', 'flow.yaml', '--input', JSON.stringify({ text: WORDS.join(' '), delayMs: 50 })], dir);
    await until(() => /run ([0-9a-f-]{36}) started/.test(p.stderr()), 20_000, 'run id on stderr');
    const runId = /run ([0-9a-f-]{36}) started/.exec(p.stderr())![1];
    await until(() => outputs(dir, runId).length >= 5, 20_000, 'five chunks committed');
    p.child.kill('SIGKILL');
    await p.exited;
    const before = outputs(dir, runId);
    expect(before.length).toBeLessThan(WORDS.length);

    const resumed = await runWeft(['resume', runId], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = outputs(dir, runId);
    // What was committed before the kill is unchanged, and comes first.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(before.every((e) => e.attempt === 1)).toBe(true);
    expect(after.map((e) => e.data!.index)).toEqual(after.map((_, i) => i));
    const retry = after.slice(before.length);
    expect(retry.every((e) => e.attempt === 2)).toBe(true);
    expect(retry.map((e) => e.data!.chunk)).toEqual(WORDS);
    // The CLI reader replays the same sequence.
    const printed = await runWeft(['events', runId, '--types', 'step_output'], dir);
    expect(printed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as RunEvent).seq)).toEqual(after.map((e) => e.seq));
  });
});
