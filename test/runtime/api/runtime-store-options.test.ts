import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../../runtime/api/runtime.js';
import type { SqliteStore } from '../../../runtime/store/sqlite-store.js';
import type { InProcessStore } from '../../../runtime/store/async-state-adapter.js';

// The config's stateStore reaches the store Runtime.open creates: durability (full by
// default: every commit fsynced before it is acknowledged, so a power cut loses nothing
// acknowledged) and path.
describe('Runtime.open store options from the config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-store-opts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const open = (stateStore?: Record<string, unknown>) => Runtime.open({
    config: { workingDirectory: dir, plugins: { builtin: { type: 'builtin' } }, routes: {}, ...(stateStore ? { stateStore: stateStore as never } : {}) },
    cwd: dir, resume: false,
  });

  /** Whether a deferred commit waits for an fsync of this store's. */
  const syncsDeferredCommits = (store: SqliteStore): boolean => {
    store.transaction(() => store.putBlob({ probe: Math.random() }, 'data'), { deferSync: true });
    return store.synced() !== undefined;
  };

  it('defaults to SQLite at .weft/weft.db with durability full', async () => {
    const rt = await open();
    try {
      expect(rt.store.location).toBe(join(dir, '.weft', 'weft.db'));
      const store = (rt.store as InProcessStore).inProcess as SqliteStore;
      expect(store.durability).toBe('full');
      expect(syncsDeferredCommits(store)).toBe(true);
    } finally { await rt.close(); }
  });

  it('honours durability: normal and a relative path from the config', async () => {
    const rt = await open({ type: 'sqlite', path: 'custom/runs.db', durability: 'normal' });
    try {
      expect(rt.store.location).toBe(join(dir, 'custom', 'runs.db'));
      const store = (rt.store as InProcessStore).inProcess as SqliteStore;
      expect(store.durability).toBe('normal');
      expect(syncsDeferredCommits(store)).toBe(false);
    } finally { await rt.close(); }
  });
});
