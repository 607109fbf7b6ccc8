import { afterEach, describe, expect, it } from 'vitest';
import { ComponentsExecute, OutputsEmit, OutputsTaken, validatorFor } from '../../protocol/index.js';
import type { ObservabilityContext, OutputsEmitParams } from '../../protocol/index.js';
import { spawnSdkServer } from '../helpers/spawn-sdk-server.js';
import type { SpawnedServer } from '../helpers/spawn-sdk-server.js';
import { until } from '../helpers/weft-process.js';

const servers: SpawnedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const observability: ObservabilityContext = { run_id: 'r1', flow_id: 'sha256:00', step_id: 'gen', item_index: 3 };

/** The test plays the runtime: it records every outputs/emit and decides when to say "taken". */
function start(window: number) {
  const server = spawnSdkServer('streaming-server.mjs', { args: ['--window', String(window)] });
  servers.push(server);
  const emitted: OutputsEmitParams[] = [];
  server.connection.onNotification(OutputsEmit, (params) => { emitted.push(params); });
  const take = (through: number) => server.connection.sendNotification(OutputsTaken, { through });
  return { server, emitted, take };
}

/** Long enough for a server that ignored the window to send more (it writes them in microseconds). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('SDK: ctx.emit and ctx.writable keep a window of chunks not yet taken', () => {
  it('sends at most `window` chunks before the runtime says they were taken, then one more per chunk taken', async () => {
    const { server, emitted, take } = start(3);
    const done = server.connection.sendRequest(ComponentsExecute, { component: '/flood', input: { n: 6 }, attempt: 2, observability });
    await until(() => emitted.length === 3, 10_000, 'three chunks');
    await settle();
    expect(emitted).toHaveLength(3);
    await take(1);
    await until(() => emitted.length === 4, 10_000, 'a fourth chunk');
    await settle();
    expect(emitted).toHaveLength(4);
    await take(4);
    await until(() => emitted.length === 6, 10_000, 'all six');
    // writer.close() waits until every chunk is taken: no answer before that.
    let answered = false;
    void done.then(() => { answered = true; });
    await settle();
    expect(answered).toBe(false);
    await take(6);
    expect(await done).toEqual({ output: { n: 6 } });
    const validate = validatorFor('protocol', 'OutputsEmitParams');
    expect(emitted.map((p) => [p.seq, p.attempt, p.chunk, p.observability.step_id, p.observability.item_index, validate(p)])).toEqual(
      Array.from({ length: 6 }, (_, i) => [i + 1, 2, { i }, 'gen', 3, true]));
  });

  it('with a window of 1, each write resolves only once its own chunk is taken', async () => {
    const { server, emitted, take } = start(1);
    const done = server.connection.sendRequest(ComponentsExecute, { component: '/words', input: { text: 'a b c' }, attempt: 1, observability });
    for (let n = 1; n <= 3; n++) {
      await until(() => emitted.length === n, 10_000, `chunk ${n}`);
      await settle();
      expect(emitted).toHaveLength(n);
      await take(n);
    }
    expect(await done).toEqual({ output: { count: 3 } });
    expect(emitted.map((p) => [p.chunk, p.encoding])).toEqual([['a', 'text'], ['b', 'text'], ['c', 'text']]);
  });

  it('rejects a waiting write when the runtime cancels the execution', async () => {
    const { server, emitted } = start(2);
    const done = server.connection.sendRequest(ComponentsExecute, { component: '/emit_many', input: { n: 10 }, attempt: 1, observability });
    await until(() => emitted.length === 2, 10_000, 'two chunks');
    // Cancelling the request aborts ctx.signal: the blocked emit rejects, the component reports it.
    await server.connection.sendNotification('$/cancelRequest', { id: 0 });
    const answer = await done.then((r) => r, (e: Error) => e);
    expect(JSON.stringify(answer)).toMatch(/cancel/i);
    expect(emitted).toHaveLength(2);
  });
});
