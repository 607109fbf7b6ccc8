import { describe, expect, it } from 'vitest';
import { GroupSync } from '../../../runtime/store/group-sync.js';

/** A sync whose calls are logged and finish when the test says so. */
function controlledSync() {
  const log: string[] = [];
  const finish: Array<(error?: Error) => void> = [];
  const sync = new GroupSync(() => {
    log.push(`start ${finish.length}`);
    return new Promise<void>((resolve, reject) => { finish.push((e) => (e ? reject(e) : resolve())); });
  });
  return { sync, log, finish };
}

describe('GroupSync', () => {
  it('covers a request made during a sync with the next sync, shared by all such requests', async () => {
    const { sync, log, finish } = controlledSync();
    const first = sync.request();
    const settled: string[] = [];
    void first.then(() => settled.push('first'));
    const second = sync.request();
    const third = sync.request();
    expect(second).toBe(third); // one queued sync for both
    void second.then(() => settled.push('second'));
    expect(log).toEqual(['start 0']); // at most one at a time
    finish[0]();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(settled).toEqual(['first']); // the running sync began before the second request
    expect(log).toEqual(['start 0', 'start 1']);
    finish[1]();
    await second;
    expect(settled).toEqual(['first', 'second']);
    expect(sync.idle).toBeUndefined();
  });

  it('rejects the waiting requests when a sync fails, and starts afresh on the next request', async () => {
    const { sync, finish } = controlledSync();
    const first = sync.request();
    const queued = sync.request();
    finish[0](new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    await expect(queued).rejects.toThrow('EIO');
    const again = sync.request();
    finish[1]();
    await expect(again).resolves.toBeUndefined();
  });
});
