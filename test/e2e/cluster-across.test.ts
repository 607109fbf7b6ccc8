import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { clusterWorkspace, componentPid, maxOverlap, workerJoined, type ComponentRecord } from '../helpers/cluster-workspace.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';
import { readEventStream, type StreamedEvent } from '../helpers/read-event-stream.js';
import { runWeft, until, type WeftProcess } from '../helpers/weft-process.js';
import { startWeftServer, type WeftServer } from '../helpers/weft-server.js';

warnIfNoPostgres('the cross-process cluster e2e');
const shared = postgresAvailable ? sharedPostgres() : undefined;

type Workspace = ReturnType<typeof clusterWorkspace>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runIdOf = (p: WeftProcess) => /weft: run (\S+) started/.exec(p.stderr())?.[1];
const jsonl = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n');

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe.skipIf(!postgresAvailable)('cluster: sub-runs, cancel, human input and event streams across weft processes', () => {
  const running: WeftProcess[] = [];
  const servers: WeftServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop('SIGKILL');
    for (const p of running.splice(0)) { p.child.kill('SIGKILL'); await p.exited; }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const workspace = async () => {
    const ws = clusterWorkspace(await shared!.database());
    dirs.push(ws.dir);
    return ws;
  };
  /** Workers of `capacity` each, once all have joined. */
  const workers = async (ws: Workspace, n: number, capacity: number) => {
    const started = Array.from({ length: n }, () => ws.start(['worker', '--capacity', String(capacity)]));
    running.push(...started);
    await until(() => started.every(workerJoined), 30_000, `${n} workers joined`);
    return started;
  };
  /** `weft serve` on the workspace: capacity 0 in its config, so it serves and executes nothing. */
  const serve = async (ws: Workspace) => {
    const s = await startWeftServer(ws.dir, [], ws.env);
    servers.push(s);
    return s;
  };

  it('sub-runs nested 3 deep, maxConcurrency 1, on workers of capacity 1: a wait holds no slot; a parent keeping its slot has its sub-run run by another process', async () => {
    const ws = await workspace();
    const pool = await workers(ws, 3, 1);
    const pids = new Set(pool.map(componentPid));
    // hold_ms 0: each level waits in runs/submit wait (its freed slot usually takes the sub-run
    // itself, so the chain tends to stay on one process). 300: each level keeps its slot 300 ms
    // after submitting (its own process is full), then waits in runs/get wait.
    for (const hold of [0, 300]) {
      writeFileSync(join(ws.dir, 'nest.jsonl'), jsonl([{ depth: 3, hold_ms: hold }, { depth: 3, hold_ms: hold }]));
      const submit = ws.start(['run', 'nest.yaml', '--input-file', 'nest.jsonl', '--max-concurrency', '1', '--output', 'jsonl']);
      running.push(submit);
      expect(await submit.exited, submit.stderr()).toBe(0);
      const top = runIdOf(submit)!;
      interface Nested { depth?: number; child?: Nested }
      const values = submit.stdout().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { value: Nested }).value);
      const chainOf = (v: Nested | undefined): number[] => (v?.depth !== undefined ? [v.depth, ...chainOf(v.child)] : []);
      expect(values.map(chainOf)).toEqual([[3, 2, 1, 0], [3, 2, 1, 0]]);

      const records = ws.records().filter((r) => r.kind === 'nest');
      const byRun = new Map<string, ComponentRecord[]>();
      for (const r of records) byRun.set(r.run, [...(byRun.get(r.run) ?? []), r]);
      const topRecords = byRun.get(top) ?? [];
      expect(topRecords.map((r) => r.item).sort()).toEqual([0, 1]);
      // maxConcurrency 1 of the top run held though its items wait (a waiting item still counts for its run).
      expect(maxOverlap(topRecords as Array<{ start: number; end: number }>)).toBe(1);
      for (const root of topRecords) {
        const chain = [root];
        while (chain[chain.length - 1].child) chain.push(...(byRun.get(chain[chain.length - 1].child!) ?? []));
        expect(chain.map((r) => r.depth), `hold ${hold}`).toEqual([3, 2, 1, 0]);
        for (const r of chain) expect(pids.has(r.pid), `executed by a worker: ${r.pid}`).toBe(true);
        // Four executions open at once on three processes of capacity 1: the waiting ones held no slot
        // (if they did, the fourth level could never start).
        expect(maxOverlap(chain as Array<{ start: number; end: number }>)).toBe(4);
        // A parent that kept its slot left its sub-run to another process.
        if (hold > 0) for (let d = 1; d < chain.length; d++) expect(chain[d].pid, `depth ${chain[d].depth} beside its parent`).not.toBe(chain[d - 1].pid);
      }
    }
  }, 60_000);

  it('weft cancel from another process ends a run executed by two workers: calls in flight aborted on both, nothing starts after', async () => {
    const ws = await workspace();
    const [a, b] = await workers(ws, 2, 2);
    const pids = [componentPid(a), componentPid(b)];
    writeFileSync(join(ws.dir, 'hold.jsonl'), jsonl(Array.from({ length: 20 }, (_, item) => ({ item, ms: 30_000 }))));
    const submit = ws.start(['run', 'hold.yaml', '--input-file', 'hold.jsonl', '--max-concurrency', '4']);
    running.push(submit);
    const starts = () => ws.records().filter((r) => r.kind === 'start');
    await until(() => starts().length === 4, 20_000, 'four calls in flight');
    expect(new Set(starts().map((r) => r.pid))).toEqual(new Set(pids));
    const runId = runIdOf(submit)!;

    const cancelled = await runWeft(['cancel', runId], ws.dir, ws.env);
    const cancelledAt = performance.timeOrigin + performance.now();
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ runId, status: 'cancelled' });
    // The workers see the end the store has and abort their component calls (they would run 30 s).
    await until(() => ws.records().filter((r) => r.kind === 'aborted').length === 4, 10_000, 'the four calls aborted');
    const aborted = ws.records().filter((r) => r.kind === 'aborted');
    expect(new Set(aborted.map((r) => r.pid))).toEqual(new Set(pids));
    expect(aborted.map((r) => r.item).sort()).toEqual(starts().map((r) => r.item).sort());
    // weft run, waiting on a third process, ends with the cancelled status (exit 1: not a success).
    expect(await submit.exited, submit.stderr()).toBe(1);
    expect(JSON.parse(submit.stdout())).toMatchObject({ runId, status: 'cancelled', items: { cancelled: 20, success: 0 } });
    // No item started after the cancel (16 were still pending), now or a while later.
    await sleep(1000);
    expect(starts()).toHaveLength(4);
    for (const s of starts()) expect(s.at).toBeLessThan(cancelledAt);
    expect(ws.records().filter((r) => r.kind === 'end')).toEqual([]);
  }, 60_000);

  it('human input POSTed to weft serve reaches the component waiting for it on a worker', async () => {
    const ws = await workspace();
    const [a] = await workers(ws, 1, 2);
    const server = await serve(ws);
    const flow: unknown = parseYaml(readFileSync(join(ws.dir, 'ask.yaml'), 'utf8'));
    const created = await post(`${server.url}/runs`, { flow, inputs: [{ item: 0 }, { item: 1 }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const runId = created.body.runId as string;
    await until(() => ws.records().filter((r) => r.kind === 'asking').length === 2, 20_000, 'both items asking');
    // The step's prompt is journaled before the run shows it waiting: wait for the server to see it.
    const awaiting = async () => (await readEventStream(`${server.url}/runs/${runId}/events`, {
      stopWhen: (events) => events.filter((e) => e.type === 'step_awaiting_input').length === 2,
    })).events.filter((e) => e.type === 'step_awaiting_input');
    const prompts = await awaiting();
    expect(prompts.map((e) => e.itemIndex).sort()).toEqual([0, 1]);

    // A wrong answer is checked against the schema by the process that got it.
    const bad = await post(`${server.url}/runs/${runId}/events`, { itemIndex: 0, stepId: 'ask', value: { nope: 1 } });
    expect(bad.status).toBe(400);
    for (const item of [1, 0]) {
      const sent = await post(`${server.url}/runs/${runId}/events`, { itemIndex: item, stepId: 'ask', value: { answer: `yes ${item}` } });
      expect(sent, `answer ${item}`).toMatchObject({ status: 200, body: { status: 'sent' } });
    }
    const res = await fetch(`${server.url}/runs/${runId}?wait=true&includeResults=true&timeoutSecs=20`);
    const status = await res.json() as { status: string; results: Array<{ result: { value: { answer: string; pid: number } } }> };
    expect(status.status).toBe('success');
    const worker = componentPid(a);
    expect(status.results.map((r) => r.result.value)).toEqual([{ answer: 'yes 0', pid: worker }, { answer: 'yes 1', pid: worker }]);
    const answered = ws.records().filter((r) => r.kind === 'answered');
    expect(answered.map((r) => [r.item, r.pid, r.value]).sort()).toEqual([[0, worker, { answer: 'yes 0' }], [1, worker, { answer: 'yes 1' }]]);
    // Each was asked once: the answer reached the call that waited, not a re-run of the step.
    expect(ws.records().filter((r) => r.kind === 'asking')).toHaveLength(2);
  }, 60_000);

  it('an SSE reader on weft serve follows a run executed by two workers, in order, resuming after reconnects without gaps or repeats', async () => {
    const ws = await workspace();
    const [a, b] = await workers(ws, 2, 2);
    const server = await serve(ws);
    const flow: unknown = parseYaml(readFileSync(join(ws.dir, 'flow.yaml'), 'utf8'));
    const created = await post(`${server.url}/runs`, { flow, inputs: Array.from({ length: 40 }, (_, item) => ({ item, ms: 80 })), maxConcurrency: 4 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const runId = created.body.runId as string;
    const url = `${server.url}/runs/${runId}/events`;
    const runStatus = async () => ((await (await fetch(`${server.url}/runs/${runId}`)).json()) as { status: string }).status;

    // Readers following it whole meanwhile: several, as each races this process's own view of the run's end.
    const whole = Array.from({ length: 6 }, () => readEventStream(url));
    const first = await readEventStream(url, { stopWhen: (events) => events.filter((e) => e.type === 'item_completed').length >= 5 });
    expect(await runStatus()).toBe('running');
    const second = await readEventStream(url, {
      lastEventId: first.events[first.events.length - 1].seq,
      stopWhen: (events) => events.filter((e) => e.type === 'item_completed').length >= 10,
    });
    expect(await runStatus()).toBe('running');
    const third = await readEventStream(url, { since: second.events[second.events.length - 1].seq });
    const parts = [first, second, third];
    for (const part of parts) expect(part.ids).toEqual(part.events.map((e) => String(e.seq)));
    const all: StreamedEvent[] = parts.flatMap((p) => p.events);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all[all.length - 1].type).toBe('run_completed');
    expect(all.filter((e) => e.type === 'item_completed').map((e) => e.itemIndex).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // The same as the journal read whole afterwards, and as each reader that followed it whole.
    const replay = await readEventStream(url);
    expect(replay.events).toEqual(all);
    for (const read of await Promise.all(whole)) expect(read.events.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
    // Executed on both workers, none of it on the server.
    const execs = ws.executions();
    expect(new Set(execs.map((e) => e.pid))).toEqual(new Set([componentPid(a), componentPid(b)]));
  }, 60_000);
});
