import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantee 2: a commit that fails because of one run's data failed every later
// run of the process (GroupCommit stopped for good), while /health said healthy:
// (a) a purge while a component then called ctx.awaitInput → "unknown item" forever;
// (b) a 5,000-deep component output → "Maximum call stack size exceeded" forever.
// A real storage failure (SQLITE_FULL) also stopped commits until a restart.
const flow = (component: string, input: Record<string, unknown>) => ({
  schema: FLOW_SCHEMA, steps: [{ id: 'work', component, input }], output: { $step: 'work' },
});

describe('one run\'s failure never poisons the process (real SDK server, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>>;
  beforeEach(async () => { fx = await openTestRuntime(configWithServers({ cb: 'sdk-callback-server.mjs', raw: 'raw-server.mjs' })); });
  afterEach(async () => { await fx.close(); });

  /**
   * Listens before a submit (whose answer comes once the run is started, maybe after its
   * first step_started was told); the function resolves once a step of that run started.
   */
  const stepsStarted = (): ((runId: string) => Promise<void>) => {
    const runs = new Set<string>();
    const wake = new Set<() => void>();
    const off = fx.rt.on('progress', (e) => {
      if (e.type !== 'step_started') return;
      runs.add(e.runId);
      for (const w of wake) w();
    });
    return (runId) => new Promise<void>((resolve) => {
      const check = () => { if (runs.has(runId)) { wake.delete(check); off(); resolve(); } };
      wake.add(check);
      check();
    });
  };

  const later = async () => ({ again: await fx.rt.run(await fx.rt.putFlow(flow('/cb/deep', { depth: 3 })), [{}, {}]) });

  it('a purge while a component later calls awaitInput: the call is refused, later runs work', async () => {
    const flowId = await fx.rt.putFlow(flow('/cb/late_await_input', { ms: 400 }));
    const started = stepsStarted();
    const run = await fx.rt.submit(flowId, [{}, {}]);
    await started(run.id);
    const cancelled = await fx.rt.cancel(run.id, { purge: true });
    expect(cancelled.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 800)); // the components now call inputs/await
    const { again } = await later();
    expect(again.status).toBe('success');
    expect(again.results!.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(fx.rt.health()).toEqual({ status: 'healthy' });
    await expect(fx.rt.runs.get({ runId: run.id })).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('a 5,000-deep component output fails its run clearly; other and later runs work, health stays true', async () => {
    const completed: string[] = [];
    fx.rt.on('runCompleted', (e) => completed.push(`${e.runId}:${e.status}`));
    const deep = await fx.rt.submit(await fx.rt.putFlow(flow('/raw/deep', { depth: 5000 })), [{}]);
    const alongside = await fx.rt.submit(await fx.rt.putFlow(flow('/cb/deep', { depth: 2 })), [{}, {}, {}]);
    const failed = await deep.wait();
    expect((await alongside.wait()).status).toBe('success');
    const { again } = await later();
    expect(again.status).toBe('success');
    expect(failed.status).toBe('failed');
    // The step or the run says what went wrong (nested too deeply / a limit), naming no other run.
    const error = JSON.stringify([(failed as { error?: unknown }).error, failed.results?.[0]?.result]);
    expect(error).toMatch(/nested too deeply|depth/i);
    expect(fx.rt.health()).toEqual({ status: 'healthy' });
    expect(completed).toContain(`${deep.id}:failed`);
  });

  it('a full disk fails the run it hits; once space is freed new runs work without a restart', async () => {
    const store = fx.sqlite!;
    const bigFlow = await fx.rt.putFlow(flow('/cb/big', { bytes: 300_000 }));
    const small = await fx.rt.putFlow(flow('/cb/deep', { depth: 1 }));
    store.pragma(`max_page_count = ${store.pragma('page_count') as number}`);
    const full = await fx.rt.run(bigFlow, [{}]);
    expect(full.status).toBe('failed');
    expect(JSON.stringify(full)).toMatch(/disk is full/);
    store.pragma('max_page_count = 1073741823');
    const after = await fx.rt.run(small, [{}]);
    expect(after.status).toBe('success');
    expect(fx.rt.health()).toEqual({ status: 'healthy' });
  });

  it('health says unhealthy, with the reason, while the store refuses writes, and healthy once commits succeed', async () => {
    const store = fx.sqlite!;
    const slow = await fx.rt.putFlow(flow('/raw/sleep', { ms: 300 }));
    const started = stepsStarted();
    const run = await fx.rt.submit(slow, [{}]);
    await started(run.id);
    store.pragma('query_only = ON'); // every write now fails as the store's own failure
    await run.wait();
    expect(fx.rt.health()).toMatchObject({ status: 'unhealthy', error: expect.stringMatching(/cannot be written|readonly/i) });
    store.pragma('query_only = OFF');
    expect((await fx.rt.run(await fx.rt.putFlow(flow('/cb/deep', { depth: 1 })), [{}])).status).toBe('success');
    expect(fx.rt.health()).toEqual({ status: 'healthy' });
  });
});
