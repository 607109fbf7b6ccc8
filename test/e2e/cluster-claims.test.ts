import { describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/api/runtime.js';
import { postgresAvailable, sharedPostgres, warnIfNoPostgres } from '../helpers/postgres-cluster.js';

// In a cluster, items are claimed by the commits of earlier results (in passing) and, when
// none is coming, by a claim of its own; the poll is only a backstop. A claim of its own made
// beside a commit of the same run waits for that commit's lock and then reads the run as it
// was (its window still full): it claims nothing, and the run used to stall until the poll.
warnIfNoPostgres('cluster claims');
const shared = postgresAvailable ? sharedPostgres() : undefined;

describe.skipIf(!postgresAvailable)('claims in a cluster (PostgreSQL)', () => {
  it('a batch run never waits for the poll: 3 runs of 600 items finish with the poll at 60 s', async () => {
    const url = await shared!.database();
    const rt = await Runtime.open({
      store: url, role: 'test', resume: false,
      config: {
        workingDirectory: process.cwd(),
        plugins: { builtin: { type: 'builtin' } },
        routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
        cluster: { capacity: 64, pollSecs: 60 },
      },
    });
    try {
      const flowId = await rt.putFlow({
        schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'claims',
        steps: [{ id: 'm', component: '/builtin/create_messages', input: { user_prompt: { $input: '$.q' } } }],
        output: { $step: 'm' },
      });
      for (let r = 0; r < 3; r++) {
        const run = await rt.submit(flowId, Array.from({ length: 600 }, (_, i) => ({ q: `q${i}` })), { maxConcurrency: 64 });
        const status = await run.wait();
        expect(status.items).toMatchObject({ total: 600, success: 600, failed: 0 });
      }
    } finally {
      await rt.close();
    }
  }, 30_000);
});

describe.skipIf(!postgresAvailable)('the commits of a run executed by another process (PostgreSQL)', () => {
  it('a 1-item run costs its creator one commit (created running) and its executor two (the claim that starts it, its result)', async () => {
    const url = await shared!.database();
    const open = (role: string, capacity: number) => Runtime.open({
      store: url, role, resume: false,
      config: {
        workingDirectory: process.cwd(),
        plugins: { builtin: { type: 'builtin' } },
        routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
        // No poll during the test: every claim comes from a hint or a commit.
        cluster: { capacity, pollSecs: 60 },
      },
    });
    const a = await open('creator', 0);
    const b = await open('executor', 8);
    /** Counts the commits a runtime's store makes (every write and claim of a process is one). */
    const counted = (rt: Runtime) => {
      const state = rt.store.state;
      const commit = state.commit.bind(state);
      const counter = { n: 0 };
      state.commit = (batch) => { counter.n++; return commit(batch); };
      return counter;
    };
    try {
      const flowId = await a.putFlow({
        schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'one',
        steps: [{ id: 'm', component: '/builtin/create_messages', input: { user_prompt: { $input: '$.q' } } }],
        output: { $step: 'm' },
      });
      // A first run: B reads the flow and the config, once.
      expect((await (await a.submit(flowId, [{ q: 'warm' }])).wait()).status).toBe('success');
      const onA = counted(a);
      const onB = counted(b);
      const runs = 5;
      for (let r = 0; r < runs; r++) {
        const run = await a.submit(flowId, [{ q: `q${r}` }]);
        const status = await run.wait();
        expect(status.status).toBe('success');
        expect((await a.store.state.getItem(run.id, 0))?.owner).toBe(b.executorId);
      }
      expect(onA.n).toBe(runs);
      expect(onB.n).toBe(2 * runs);
    } finally {
      await b.close();
      await a.close();
    }
  }, 30_000);
});
