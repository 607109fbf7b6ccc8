import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_SCHEMA, configWithServers, openTestRuntime } from '../../helpers/runtime-fixture.js';
import { until } from '../../helpers/weft-process.js';

const approval = {
  schema: FLOW_SCHEMA, name: 'approval',
  steps: [{ id: 'ask', component: '/builtin/await_input', input: { prompt: 'Approve?' } }],
  output: { $step: 'ask' },
};

const warnings: Error[] = [];
const onWarning = (warning: Error) => { warnings.push(warning); };
afterEach(() => { process.off('warning', onWarning); warnings.length = 0; });

describe('human input on many items of one run', () => {
  it('pauses them all on the run\'s one signal without a MaxListeners warning, and cancelling drops their waiters', async () => {
    process.on('warning', onWarning);
    const fx = await openTestRuntime(configWithServers({}), { store: 'memory' });
    try {
      const flowId = await fx.rt.putFlow(approval);
      const run = await fx.rt.submit(flowId, Array.from({ length: 12 }, (_, i) => ({ i })));
      await until(async () => (await fx.rt.runs.storeState.getRun(run.id))?.items.paused === 12, 10_000, '12 paused items');
      expect((await run.cancel()).status).toBe('cancelled');
      await expect(fx.rt.sendInput(run.id, 0, 'ask', true)).rejects.toThrow(/is not waiting for input/);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      await fx.close();
    }
  });
});
