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
