import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONCURRENCY } from '../../runtime/runs/active-run.js';
import { until } from '../helpers/weft-process.js';
import { configWithServers, FLOW_SCHEMA, openTestRuntime } from '../helpers/runtime-fixture.js';

// Issue 12, guarantee 11. A run without `maxConcurrency` started every item at once: a
// million-item `weft run --input-file` held a million calls in flight. It now gets a
// default window; the handshake timeout (fixed at 60 s) is configurable; a call without
// `timeoutSecs` has no limit, and a cancel still aborts it.
describe('bounded by default (real component servers over stdio, SQLite store)', () => {
  let fx: Awaited<ReturnType<typeof openTestRuntime>> | undefined;
  let dir: string | undefined;
  /** Closes the runtime and removes the record's directory (after each test, and between two runtimes in one). */
  const closeAll = async (): Promise<void> => {
    await fx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    fx = undefined; dir = undefined;
  };
  afterEach(closeAll);

  const hanging = async (n: number, maxConcurrency?: number) => {
    dir = mkdtempSync(join(tmpdir(), 'weft-window-'));
    const record = join(dir, 'record.jsonl');
    writeFileSync(record, '');
    // No timeoutSecs: the calls may take as long as they need.
    fx = await openTestRuntime(configWithServers({ runs: { script: 'runs-server.mjs', env: { WEFT_RECORD: record } } }));
    const flowId = await fx.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'h', component: '/runs/hang', input: {} }], output: { $step: 'h' } });
    const run = await fx.rt.submit(flowId, Array.from({ length: n }, () => ({})), maxConcurrency ? { maxConcurrency } : {});
    const lines = (word: string) => readFileSync(record, 'utf8').split('\n').filter((l) => l.includes(word)).length;
    return { run, started: () => lines('"started"'), aborted: () => lines('"aborted"') };
  };

  it(`a run without maxConcurrency keeps ${DEFAULT_MAX_CONCURRENCY} items in flight, and a cancel aborts calls that have no timeout`, async () => {
    expect(DEFAULT_MAX_CONCURRENCY).toBe(64); // the documented number (README, "Runs, durability and forks")
    const n = DEFAULT_MAX_CONCURRENCY + 36;
    const { run, started, aborted } = await hanging(n);
    await until(() => started() === DEFAULT_MAX_CONCURRENCY, 30_000, 'the window filled');
    // The components never answer: nothing frees a slot, so this is the window, not a moment in it.
    await new Promise((r) => setTimeout(r, 300));
    expect(started()).toBe(DEFAULT_MAX_CONCURRENCY);
    expect((await run.status()).items).toMatchObject({ total: n, running: DEFAULT_MAX_CONCURRENCY, pending: n - DEFAULT_MAX_CONCURRENCY });
    const cancelled = await run.cancel();
    expect(cancelled.items).toMatchObject({ cancelled: n, running: 0 });
    await until(() => aborted() === DEFAULT_MAX_CONCURRENCY, 20_000, 'every call aborted');
    expect(started()).toBe(DEFAULT_MAX_CONCURRENCY);
  }, 60_000);

  it('maxConcurrency overrides the default, above it as below it', async () => {
    for (const window of [3, DEFAULT_MAX_CONCURRENCY + 6]) {
      const { run, started } = await hanging(window + 5, window);
      await until(() => started() === window, 30_000, `window ${window} filled`);
      await new Promise((r) => setTimeout(r, 300));
      expect(started()).toBe(window);
      expect((await run.status()).items).toMatchObject({ running: window, pending: 5 });
      await run.cancel();
      await closeAll();
    }
  }, 60_000);

  it('handshakeTimeoutSecs bounds how long a server may take to answer initialize', async () => {
    const config = configWithServers({});
    // A real process that never answers: it reads nothing and writes nothing.
    config.plugins.mute = { type: 'stepflow', transport: 'stdio', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], handshakeTimeoutSecs: 1 };
    config.routes['/mute/{component}'] = [{ plugin: 'mute' }];
    const startedAt = Date.now();
    const opened = await openTestRuntime(config).then((f) => { fx = f; return undefined; }, (e: Error) => e);
    const error = opened ?? await (async () => {
      const flowId = await fx!.rt.putFlow({ schema: FLOW_SCHEMA, steps: [{ id: 'm', component: '/mute/x', input: {} }], output: { $step: 'm' } });
      const status = await fx!.rt.run(flowId, [{}]);
      return new Error(JSON.stringify(status.results![0].result));
    })();
    expect(error.message).toMatch(/plugin "mute" .* did not answer initialize within 1s/);
    expect(Date.now() - startedAt).toBeLessThan(30_000); // not the 60 s default
  }, 60_000);
});
