import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/api/runtime.js';
import { openStore } from '../../runtime/store/open-store.js';
import type { Store } from '../../runtime/store/state-store.js';
import { configWithServers, FLOW_SCHEMA } from '../helpers/runtime-fixture.js';
import { until } from '../helpers/weft-process.js';

// Issue 12, guarantee 5: a second awaitInput in one step got the first one's answer; the
// run's paused count never went down for a waiting call that timed out or whose server
// crashed (the run showed `paused` while it ran); an inputs/await with a schema that is
// not JSON Schema was accepted, and every answer then failed (HTTP 500) forever; every
// awaitInput read all of the run's events to look for an earlier answer.
const config = configWithServers({ cb: 'sdk-callback-server.mjs', slow: { script: 'sdk-callback-server.mjs', timeoutSecs: 1 } });
const ask = (component: string, extra: Record<string, unknown> = {}) => ({
  schema: FLOW_SCHEMA, steps: [{ id: 'ask', component, input: { $input: '$' }, ...extra }], output: { $step: 'ask' },
});

describe('human input is exact (real SDK server, SQLite store)', () => {
  const dirs: string[] = [];
  const open: Runtime[] = [];
  afterEach(async () => {
    for (const rt of open.splice(0)) await rt.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dbPath = () => { const dir = mkdtempSync(join(tmpdir(), 'weft-12-input-')); dirs.push(dir); return join(dir, 'weft.db'); };
  const runtime = async (path: string, store?: Store) => {
    const rt = await Runtime.open({ config, store: store ?? { type: 'sqlite', path } });
    open.push(rt);
    return rt;
  };
  const awaiting = async (rt: Runtime, runId: string) => (await rt.runs.listEvents(runId)).filter((e) => e.type === 'step_awaiting_input').length;

  it('a second awaitInput in one step waits for its own answer, also after a restart between the two', async () => {
    const path = dbPath();
    let rt = await runtime(path);
    const run = await rt.submit(await rt.putFlow(ask('/cb/ask')), [{ times: 2 }]);
    await until(async () => (await awaiting(rt, run.id)) === 1, 20_000, 'the first question');
    await rt.sendInput(run.id, 0, 'ask', 'first');
    await until(async () => (await awaiting(rt, run.id)) === 2, 20_000, 'the second question');
    await rt.close(); // abandoned while the second question waits: resumable
    open.splice(0);

    rt = await runtime(path);
    expect(rt.resumed).toEqual([run.id]);
    // The re-run step asks both again: the first is answered from the journal, the second waits.
    await until(async () => (await awaiting(rt, run.id)) === 3, 20_000, 'the second question, asked again');
    // The run turns paused in the commit after the question's event: wait for it, then check nothing runs.
    await until(async () => (await rt.store.state.getRun(run.id))?.status === 'paused', 20_000, 'the run paused on the second question');
    expect((await rt.store.state.getRun(run.id))!.items).toMatchObject({ paused: 1, running: 0 });
    await rt.sendInput(run.id, 0, 'ask', 'second');
    const done = await (await rt.getRun(run.id)).wait();
    expect(done.results?.[0]?.result).toMatchObject({ outcome: 'success', value: { answers: ['first', 'second'] } });
  }, 60_000);

  it('a waiting call whose step timed out stops counting: the run runs on, not paused, with no item paused', async () => {
    const rt = await runtime(dbPath());
    const flow = {
      schema: FLOW_SCHEMA,
      steps: [
        { id: 'ask', component: '/slow/ask', input: { times: 1 }, onError: { action: 'useDefault' as const, defaultValue: { answers: ['timed out'] } } },
        { id: 'after', component: '/cb/ask', input: { sleep_ms: 1500, after: { $step: 'ask' } } },
      ],
      output: { ask: { $step: 'ask' }, after: { $step: 'after' } },
    };
    const run = await rt.submit(await rt.putFlow(flow), [{}]);
    await until(async () => (await rt.store.state.listSteps(run.id, 0)).some((s) => s.stepId === 'after'), 30_000, 'the step after the timed-out question');
    const status = (await rt.store.state.getRun(run.id))!;
    expect(status.status).toBe('running');
    expect(status.items).toMatchObject({ paused: 0, running: 1 });
    expect(await run.wait()).toMatchObject({ status: 'success', results: [{ result: { value: { ask: { answers: ['timed out'] } } } }] });
  }, 60_000);

  it('a waiting call whose server crashed stops counting: the retry\'s question is the one waiting, the other item runs, the run is not paused', async () => {
    const rt = await runtime(dbPath());
    const run = await rt.submit(await rt.putFlow(ask('/cb/ask')), [{ times: 1, crash_once: true }, { sleep_ms: 3000 }], { maxConcurrency: 2 });
    await until(async () => (await awaiting(rt, run.id)) === 2, 30_000, 'the question asked again after the crash');
    await new Promise((r) => setTimeout(r, 200)); // let a (wrong) pause be written
    const status = (await rt.store.state.getRun(run.id))!;
    expect(status.status).toBe('running'); // item 1 still sleeps
    expect(status.items).toMatchObject({ paused: 1, running: 1 });
    await rt.sendInput(run.id, 0, 'ask', 'after the crash');
    const done = await run.wait();
    expect(done.results?.[0]?.result).toMatchObject({ outcome: 'success', value: { answers: ['after the crash'], attempt: 2 } });
  }, 60_000);

  it('an inputs/await whose schema is not JSON Schema is refused at the call: the step fails saying so, nothing pauses', async () => {
    const rt = await runtime(dbPath());
    const run = await rt.submit(await rt.putFlow(ask('/cb/ask')), [{ times: 1, schema: { type: 'no-such-type' } }]);
    const done = await run.wait();
    expect(done.status).toBe('failed');
    expect(JSON.stringify(done.results?.[0]?.result)).toMatch(/not a valid JSON Schema/);
    expect(await awaiting(rt, run.id)).toBe(0);
  }, 30_000);

  it('looking up an earlier answer reads the step\'s journal, not the run\'s events', async () => {
    const store = openStore({ type: 'sqlite', path: dbPath() });
    const eventReads: string[] = [];
    const listEvents = store.state.listEvents.bind(store.state);
    store.state.listEvents = (runId, since, limit) => { eventReads.push(runId); return listEvents(runId, since, limit); };
    const rt = await runtime('', store);
    const run = await rt.submit(await rt.putFlow(ask('/builtin/await_input', {})), [{ prompt: 'ok?' }, { prompt: 'ok?' }]);
    await until(async () => (await rt.store.state.getRun(run.id))?.items.paused === 2, 20_000, 'both items paused');
    await rt.sendInput(run.id, 0, 'ask', 1);
    await rt.sendInput(run.id, 1, 'ask', 2);
    expect((await run.wait()).status).toBe('success');
    expect(eventReads).toEqual([]);
  }, 30_000);
});
