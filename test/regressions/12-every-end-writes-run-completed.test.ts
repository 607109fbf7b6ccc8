import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/api/runtime.js';
import { configWithServers, FLOW_SCHEMA } from '../helpers/runtime-fixture.js';
import { tempDir } from '../helpers/temp-dir.js';

// Issue 12, guarantee 1: the paths that end a run other than its normal end (failRun, a
// resume that cannot continue) wrote no run_completed, so on('runCompleted') never fired
// and event streams ended without it. Every end now goes through one terminate().
describe('every way a run ends writes its run_completed event (SQLite store, real SDK server)', () => {
  const open: Runtime[] = [];
  afterEach(async () => { for (const rt of open.splice(0)) await rt.close(); });
  const config = configWithServers({ runs: 'runs-server.mjs' });
  const hang = { schema: FLOW_SCHEMA, steps: [{ id: 'wait', component: '/runs/hang', input: {} }], output: { $step: 'wait' } };

  it('a run that cannot be resumed (its flow is gone) ends failed with run_completed, and runCompleted fires', async () => {
    const dir = tempDir();
    const path = join(dir, 'weft.db');
    const first = await Runtime.open({ config, store: { type: 'sqlite', path }, cwd: dir });
    const flowId = await first.putFlow(hang);
    const run = await first.submit(flowId, [{}]);
    await first.close(); // abandoned: resumable
    const db = new Database(path);
    db.prepare('DELETE FROM blobs WHERE id = ?').run(flowId);
    db.close();

    const second = await Runtime.open({ config, store: { type: 'sqlite', path }, cwd: dir, resume: false });
    open.push(second);
    const completed: string[] = [];
    second.on('runCompleted', (e) => completed.push(`${e.runId}:${e.status}`));
    expect((await second.runs.resumeAll()).resumed).toEqual([]);
    await second.runs.durable();
    await new Promise((r) => setTimeout(r, 50));
    const status = await second.runs.get({ runId: run.id });
    expect(status.status).toBe('failed');
    expect((status as { error?: { message: string } }).error?.message).toMatch(/cannot resume run/);
    const events = await second.runs.listEvents(run.id);
    expect(events.at(-1)).toMatchObject({ type: 'run_completed', data: { status: 'failed' } });
    expect(completed).toEqual([`${run.id}:failed`]);
    expect(status.items).toMatchObject({ total: 1, cancelled: 1, running: 0, pending: 0 });
  });
});
