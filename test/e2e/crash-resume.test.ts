import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import type { AsyncStore } from '../../runtime/store/async-state-store.js';
import { openAsyncStore } from '../../runtime/store/open-async-store.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { writeRunsServerConfig } from '../helpers/runs-server-config.js';
import { runWeft as runWeftIn, startWeft as startWeftIn, until, type WeftProcess } from '../helpers/weft-process.js';

// Durability, proven the way Temporal/DBOS/Restate prove it: a real `weft run` process
// is killed with SIGKILL mid-run (several times), `weft resume` finishes the run, and a
// component that records every execution shows what ran again and with which attempt.

interface Execution { item: number; step: string; attempt: number; pid: number }

function workspace(flow: string, items: unknown[]): { dir: string; record: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-crash-'));
  const record = join(dir, 'record.jsonl');
  writeFileSync(record, '');
  writeRunsServerConfig(dir, record);
  writeFileSync(join(dir, 'flow.yaml'), flow);
  writeFileSync(join(dir, 'items.jsonl'), items.map((i) => JSON.stringify(i)).join('\n'));
  return { dir, record };
}

const executions = (record: string): Execution[] =>
  readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Execution).filter((e) => e.step !== undefined);

/**
 * Where the weft processes of a test keep their state: the default SQLite file of the
 * workspace, or a fresh PostgreSQL database (WEFT_DATABASE_URL).
 */
interface Backend { env: Record<string, string>; open(dir: string): Promise<AsyncStore> }

/** (item, step) keys whose result was journaled when the process died, read from the store. */
async function journaledSteps(store: AsyncStore, runId: string): Promise<Set<string>> {
  try {
    return new Set((await store.state.listSteps(runId)).filter((s) => s.state === 'success').map((s) => `${s.itemIndex}:${s.stepId}`));
  } finally {
    await store.close();
  }
}

/** The recorded `item` numbers whose sub-run step was journaled when the process died. */
async function journaledChildItems(store: AsyncStore, runId: string): Promise<Set<number>> {
  try {
    const done = new Set<number>();
    for (const child of await store.state.listRuns({ parentRunId: runId, limit: 10_000 })) {
      const input = (await store.state.getItem(child.runId, 0))?.input as { item: number } | undefined;
      if (input && (await store.state.listSteps(child.runId, 0)).some((s) => s.state === 'success')) done.add(input.item);
    }
    return done;
  } finally {
    await store.close();
  }
}

const runIdOf = (p: WeftProcess) => /run ([0-9a-f-]{36}) started/.exec(p.stderr())?.[1];

const TWO_STEPS = `schema: https://stepflow.org/schemas/v1/flow.json
name: recorded
steps:
  - id: first
    component: /runs/record
    input: {item: {$input: item}, ms: {$input: ms}}
  - id: second
    component: /runs/record
    input: {item: {$step: first, path: item}, ms: {$input: ms}}
output: {first: {$step: first}, second: {$step: second}}
`;

const HANGING_STEP = `schema: https://stepflow.org/schemas/v1/flow.json
name: hanging
steps:
  - id: first
    component: /runs/record
    input: {item: {$input: item}, hang_attempt: 1}
output: {$step: first}
`;

warnIfNoPostgres('the crash-resume e2e');
const pg = postgresAvailable ? sharedPostgres() : undefined;
const sqlite: Backend = { env: {}, open: (dir) => openAsyncStore({ type: 'sqlite', path: join(dir, '.weft', 'weft.db') }) };
const BACKENDS = [{ name: 'SQLite' }, ...(pg ? [{ name: 'PostgreSQL' }] : [])];

describe.each(BACKENDS)('crash and resume ($name)', ({ name }) => {
  let dir: string | undefined;
  let backend: Backend = sqlite;
  beforeEach(async () => {
    if (name !== 'PostgreSQL') return;
    const url = await pg!.database();
    backend = { env: { WEFT_DATABASE_URL: url }, open: () => openAsyncStore({ type: 'postgres', url }) };
  });
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = undefined; });
  const startWeft = (args: string[], cwd: string) => startWeftIn(args, cwd, backend.env);
  const runWeft = (args: string[], cwd: string) => runWeftIn(args, cwd, backend.env);

  it('finishes a run killed 5 times at random points, re-running only the steps in flight', async () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ item: i, ms: 30 }));
    const ws = workspace(TWO_STEPS, items);
    dir = ws.dir;
    const maxConcurrency = 8;
    let p = startWeft(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', String(maxConcurrency)], ws.dir);
    await until(() => runIdOf(p) !== undefined, 20_000, 'run id on stderr');
    const runId = runIdOf(p)!;
    const kills: { at: number; journaled: Set<string> }[] = [];
    for (let k = 0; k < 5; k++) {
      const target = executions(ws.record).length + 15 + Math.floor(Math.random() * 40);
      await until(() => executions(ws.record).length >= target, 30_000, `kill ${k + 1}: ${target} executions`);
      p.child.kill('SIGKILL');
      await p.exited;
      kills.push({ at: executions(ws.record).length, journaled: await journaledSteps(await backend.open(ws.dir), runId) });
      p = startWeft(['resume', runId], ws.dir);
    }
    const code = await p.exited;
    expect(code, p.stderr()).toBe(0);
    const status = JSON.parse(p.stdout()) as RunStatus;
    expect(status.status).toBe('success');
    expect(status.items).toMatchObject({ total: 200, success: 200, failed: 0 });

    // Every item has exactly one result.
    expect(status.results!.map((r) => r.itemIndex)).toEqual(items.map((_, i) => i));

    const all = executions(ws.record);
    const byKey = new Map<string, number[]>();
    for (const e of all) byKey.set(`${e.item}:${e.step}`, [...(byKey.get(`${e.item}:${e.step}`) ?? []), e.attempt]);
    expect(byKey.size).toBe(400);
    // Attempts keep counting across crashes: strictly increasing, never back to 1. An attempt
    // is journaled *before* its request is written, so a kill in between leaves a number the
    // component never saw (e.g. [2]): gaps are possible, repeats and resets are not.
    for (const [key, attempts] of byKey) {
      expect(attempts[0], key).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < attempts.length; i++) expect(attempts[i], key).toBeGreaterThan(attempts[i - 1]);
    }
    // Attempts journaled but never delivered happen only at a kill, at most one per slot.
    const skipped = [...byKey.values()].reduce((n, a) => n + (a[a.length - 1] - a.length), 0);
    expect(skipped).toBeLessThanOrEqual(kills.length * maxConcurrency);
    // What was journaled before a kill never ran again after it.
    for (const kill of kills) {
      const after = all.slice(kill.at).filter((e) => kill.journaled.has(`${e.item}:${e.step}`));
      expect(after).toEqual([]);
    }
    // Only steps in flight at a kill ran again: at most maxConcurrency per kill.
    const rerun = [...byKey.values()].filter((a) => a.length > 1).reduce((n, a) => n + a.length - 1, 0);
    expect(rerun).toBeLessThanOrEqual(kills.length * maxConcurrency);
    // The figures of this kill loop, for the record (what the issue notes quote).
    console.info(`kill loop: ${kills.length} SIGKILLs at ${kills.map((k) => k.at).join(', ')} executions; ` +
      `${all.length} executions for 400 steps; ${rerun} steps ran again (bound ${kills.length * maxConcurrency}); ${skipped} attempt numbers skipped`);
    // Item results carry the attempt that produced them: the last one the component saw.
    for (const r of status.results!) {
      const v = (r.result as { value: { second: { attempt: number }; first: { attempt: number } } }).value;
      expect(v.second.attempt).toBe(byKey.get(`${r.itemIndex}:second`)!.at(-1));
      expect(v.first.attempt).toBe(byKey.get(`${r.itemIndex}:first`)!.at(-1));
    }
  }, 120_000);

  it('re-attaches a waiting parent to its sub-run after a kill instead of submitting it twice', async () => {
    const flow = `schema: https://stepflow.org/schemas/v1/flow.json
name: parent
steps:
  - id: child_flow
    component: /builtin/put_blob
    input:
      blob_type: flow
      data:
        $literal:
          schema: https://stepflow.org/schemas/v1/flow.json
          name: child
          steps:
            - id: work
              component: /runs/record
              input: {item: {$input: item}, ms: {$input: ms}}
          output: {$step: work}
  - id: spawn
    component: /runs/spawn_child
    input:
      flow_id: {$step: child_flow, path: blob_id}
      key: {$input: key}
      inputs: [{item: {$input: item}, ms: {$input: ms}}]
output: {$step: spawn}
`;
    const items = Array.from({ length: 40 }, (_, i) => ({ item: i, ms: 60, key: `child-${i}` }));
    const ws = workspace(flow, items);
    dir = ws.dir;
    const p = startWeft(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '4'], ws.dir);
    await until(() => runIdOf(p) !== undefined, 20_000, 'run id');
    const runId = runIdOf(p)!;
    await until(() => executions(ws.record).length >= 10, 30_000, '10 child executions');
    p.child.kill('SIGKILL');
    await p.exited;
    const at = executions(ws.record).length;
    const journaled = await journaledChildItems(await backend.open(ws.dir), runId);
    const resumed = await runWeft(['resume', runId], ws.dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const status = JSON.parse(resumed.stdout) as RunStatus;
    expect(status.status).toBe('success');
    expect(status.results).toHaveLength(40);

    // One sub-run per parent item: the re-executed parent step found its sub-run by subflowKey.
    const store = await backend.open(ws.dir);
    try {
      const children = await store.state.listRuns({ parentRunId: runId, limit: 1000 });
      expect(children).toHaveLength(40);
      expect(new Set(children.map((c) => c.subflowKey)).size).toBe(40);
      expect(children.every((c) => c.status === 'success')).toBe(true);
    } finally {
      await store.close();
    }
    const all = executions(ws.record);
    const counts = new Map<number, number>();
    for (const e of all) counts.set(e.item, (counts.get(e.item) ?? 0) + 1);
    expect(counts.size).toBe(40);
    expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(4);
    // Child steps journaled before the kill did not run again; the ones in flight ran with attempt 2.
    expect(all.slice(at).filter((e) => journaled.has(e.item))).toEqual([]);
    for (const e of all.slice(at)) {
      const before = all.slice(0, at).filter((b) => b.item === e.item);
      // Re-executed with a higher attempt (+1, or more if a journaled attempt never reached it).
      if (before.length > 0) expect(e.attempt, `item ${e.item}`).toBeGreaterThan(Math.max(...before.map((b) => b.attempt)));
    }
  }, 120_000);

  it('keeps counting attempts across a kill during a transport retry (resumes at 3, not 1)', async () => {
    const flow = `schema: https://stepflow.org/schemas/v1/flow.json
name: retry
steps:
  - id: flaky
    component: /runs/record
    input: {item: 0, fail_attempt: 1, hang_attempt: 2}
output: {$step: flaky}
`;
    const ws = workspace(flow, [{}]);
    dir = ws.dir;
    const p = startWeft(['run', 'flow.yaml', '--input', '{}'], ws.dir);
    await until(() => runIdOf(p) !== undefined, 20_000, 'run id');
    const runId = runIdOf(p)!;
    // Attempt 1 crashes the server; the runtime restarts it and retries: attempt 2 hangs.
    await until(() => executions(ws.record).some((e) => e.attempt === 2), 30_000, 'attempt 2');
    p.child.kill('SIGKILL');
    await p.exited;
    const resumed = await runWeft(['resume', runId], ws.dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const status = JSON.parse(resumed.stdout) as RunStatus;
    expect(status.results![0].result).toMatchObject({ outcome: 'success', value: { attempt: 3 } });
    expect(executions(ws.record).map((e) => e.attempt)).toEqual([1, 2, 3]);
  }, 60_000);

  it('a resume of a run another live process executes: refused on SQLite, joins the work on PostgreSQL', async () => {
    // Its steps hang until the process is killed: however slowly `weft resume` starts on a
    // loaded machine, the run is still being executed when it looks (with steps that took
    // 100 ms, the run could finish first, and resume then rightly printed its result).
    // Items 0 and 1 hang in their first attempt (2 and 3, never started by the first process, do not hang).
    const ws = workspace(HANGING_STEP.replace('hang_attempt: 1', 'hang_attempt: {$input: hang}'), Array.from({ length: 4 }, (_, i) => ({ item: i, hang: i < 2 ? 1 : 0 })));
    dir = ws.dir;
    const p = startWeft(['run', 'flow.yaml', '--input-file', 'items.jsonl', '--max-concurrency', '2'], ws.dir);
    await until(() => runIdOf(p) !== undefined && existsSync(ws.record) && executions(ws.record).length >= 2, 20_000, 'run started');
    if (name === 'PostgreSQL') {
      // A cluster: the second process joins the first instead of refusing. Once the first is
      // killed, its items come back to the queue (its pid is gone from this host) and the
      // second runs them again (attempt 2 does not hang) and prints the run's final status.
      const second = startWeft(['resume', runIdOf(p)!], ws.dir);
      await until(() => /resuming run/.test(second.stderr()), 20_000, 'the second process joined');
      expect(executions(ws.record).length).toBe(2); // maxConcurrency 2 holds across both processes
      p.child.kill('SIGKILL');
      await p.exited;
      expect(await second.exited, second.stderr()).toBe(0);
      const status = JSON.parse(second.stdout()) as RunStatus;
      expect(status).toMatchObject({ status: 'success', items: { total: 4, success: 4 } });
      const all = executions(ws.record);
      expect(new Set(all.map((e) => e.pid)).size).toBe(2);
      return;
    }
    const second = await runWeft(['resume', runIdOf(p)!], ws.dir);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/being executed by another weft process/);
    p.child.kill('SIGKILL');
    await p.exited;
  }, 60_000);
});
