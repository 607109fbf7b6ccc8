import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { success } from '../../../protocol/index.js';
import { AttemptLog, attemptLogPath, recoverAttemptLogs } from '../../../runtime/runs/attempt-log.js';
import { SqliteStore } from '../../../runtime/store/sqlite-store.js';
import { FLOW_SCHEMA, configWithServers, openTestRuntime } from '../../helpers/runtime-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { runRecord } from '../store/store-contract.js';

const dir = tempDir('weft-attempt-log-');
let n = 0;
const at = '2024-01-01T00:00:00.000Z';

/** A pid that belonged to a process of this host and is gone now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

const line = (entry: unknown[]) => `${JSON.stringify(entry)}\n`;

describe('AttemptLog', () => {
  it('appends attempts on writeAhead, empties the file after a commit once it holds 1 MiB, and removes it at a clean close', () => {
    const path = join(dir, `log-${n++}`);
    const log = new AttemptLog(path);
    log.add('r', 0, 'a', 1);
    expect(existsSync(path)).toBe(false); // nothing written before writeAhead
    log.writeAhead();
    log.add('r', 1, 'a', 2);
    log.writeAhead();
    const two = line(['r', 0, 'a', 1]) + line(['r', 1, 'a', 2]);
    expect(readFileSync(path, 'utf8')).toBe(two);
    log.add('r', 2, 'a', 1);
    log.committed(); // journaled before it was ever written ahead: never written
    log.writeAhead();
    expect(readFileSync(path, 'utf8')).toBe(two); // small: kept (recovery skips what the journal has)
    const long = 'x'.repeat(100_000);
    for (let i = 0; i < 11; i++) log.add('r', 3, long, i + 1);
    log.writeAhead();
    expect(readFileSync(path).length).toBeGreaterThan(1 << 20);
    log.committed();
    expect(readFileSync(path, 'utf8')).toBe('');
    log.add('r', 4, 'a', 1);
    log.writeAhead();
    expect(readFileSync(path, 'utf8')).toBe(line(['r', 4, 'a', 1])); // after the truncation, from the start
    log.close(true);
    expect(existsSync(path)).toBe(false);
  });

  it('keeps the file at close when the last commit failed', () => {
    const path = join(dir, `log-${n++}`);
    const log = new AttemptLog(path);
    log.add('r', 0, 'a', 1);
    log.writeAhead();
    log.close(false);
    expect(readFileSync(path, 'utf8')).toBe(line(['r', 0, 'a', 1]));
  });
});

describe('recoverAttemptLogs', () => {
  const open: SqliteStore[] = [];
  afterEach(() => { for (const s of open.splice(0)) s.close(); });

  function storeWithRun() {
    const path = join(dir, `store-${n++}.db`);
    const store = new SqliteStore({ path });
    open.push(store);
    const s = store.state;
    s.transaction(() => {
      s.createRun(runRecord('r'));
      s.addItems('r', 0, [{}, {}, {}, {}]);
      // item 1: step a failed at attempt 2 (a retry was started after it); item 2: a at attempt 2, finished.
      s.setItemStatus('r', 1, 'running');
      s.startStep('r', 1, 'a', 2, at);
      s.finishStep('r', 1, 'a', 2, { outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'boom' } }, at);
      s.setItemStatus('r', 2, 'running');
      s.startStep('r', 2, 'a', 2, at);
      s.finishStep('r', 2, 'a', 2, success(2), at);
      s.finishItem('r', 2, success(2), at);
    });
    return { path, store };
  }

  it("journals a dead process's attempts that the journal lacks, marks their items running, and removes the file", () => {
    const { path, store } = storeWithRun();
    const file = attemptLogPath(path, deadPid(), 'gone');
    writeFileSync(file, [
      line(['r', 0, 'a', 1]), // a pending item whose first attempt was sent
      line(['r', 1, 'a', 3]), // a retry after the journaled failure of attempt 2
      line(['r', 2, 'a', 1]), // older than what is journaled: ignored
      line(['ghost', 0, 'a', 1]), // a run this store does not have: ignored
      '["r",3,"a"', // cut short by the kill: its request was never written
    ].join(''));
    expect(recoverAttemptLogs(path, store.state)).toBe(1);
    expect(existsSync(file)).toBe(false);
    const s = store.state;
    expect(s.getItem('r', 0)!.status).toBe('running');
    expect(s.listSteps('r', 0)).toMatchObject([{ stepId: 'a', attempt: 1, state: 'running' }]);
    expect(s.listSteps('r', 1)).toMatchObject([{ stepId: 'a', attempt: 3, state: 'running' }]);
    expect(s.listSteps('r', 2)).toMatchObject([{ stepId: 'a', attempt: 2, state: 'success' }]);
    expect(s.getItem('r', 2)!.status).toBe('success');
    expect(s.getItem('r', 3)!.status).toBe('pending');
    expect(s.getRun('r')!.items).toMatchObject({ pending: 1, running: 2, success: 1 });
  });

  it("leaves the logs of live processes alone, and recovers a dead predecessor's that had this process's pid", () => {
    const { path, store } = storeWithRun();
    const live = new AttemptLog(attemptLogPath(path, process.pid, 'this-one'));
    live.add('r', 0, 'a', 7);
    live.writeAhead();
    const parent = attemptLogPath(path, process.ppid, 'parent');
    writeFileSync(parent, line(['r', 0, 'a', 8]));
    const predecessor = attemptLogPath(path, process.pid, 'before-a-restart'); // e.g. pid 1 in a container
    writeFileSync(predecessor, line(['r', 3, 'a', 4]));
    expect(recoverAttemptLogs(path, store.state)).toBe(1);
    expect(existsSync(predecessor)).toBe(false);
    expect(existsSync(live.path)).toBe(true);
    expect(existsSync(parent)).toBe(true);
    expect(store.state.listSteps('r', 3)).toMatchObject([{ stepId: 'a', attempt: 4 }]);
    expect(store.state.listSteps('r', 0)).toEqual([]);
    live.close(true);
  });
});

describe('RunManager with an attempt log it cannot write', () => {
  it('commits the attempts before the requests instead, and the run succeeds', async () => {
    const fx = await openTestRuntime(configWithServers({ sdk: 'sdk-echo-server.mjs' }));
    try {
      const { owner } = fx.rt.runs;
      const logPath = attemptLogPath(join(fx.dir, 'weft.db'), owner.pid, owner.id);
      mkdirSync(logPath); // opening it for appending fails with EISDIR
      const flowId = await fx.rt.putFlow({
        schema: FLOW_SCHEMA, name: 'echo', steps: [{ id: 'e', component: '/sdk/echo', input: { $input: '$' } }], output: { $step: 'e' },
      });
      const status = await fx.rt.run(flowId, Array.from({ length: 20 }, (_, i) => ({ i })), { maxConcurrency: 4 });
      expect(status.status).toBe('success');
      expect(status.results!.map((r) => (r.result as { value: { attempt: number } }).value.attempt)).toEqual(Array(20).fill(1));
      const steps = fx.rt.store.state.listSteps(status.runId);
      expect(steps).toHaveLength(20);
      expect(steps.every((s) => s.attempt === 1 && s.state === 'success')).toBe(true);
      expect(statSync(logPath).isDirectory()).toBe(true); // nothing was written in its place
    } finally {
      await fx.close();
    }
  });
});
