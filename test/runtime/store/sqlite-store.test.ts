import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { failure, success, type BlobId } from '../../../protocol/index.js';
import { openStore, pathOfDatabaseUrl } from '../../../runtime/store/open-store.js';
import { MIGRATIONS, SCHEMA_VERSION, WEFT_APPLICATION_ID } from '../../../runtime/store/sqlite-migrations.js';
import { SqliteStore } from '../../../runtime/store/sqlite-store.js';
import type { Store } from '../../../runtime/store/state-store.js';
import { StoreError } from '../../../runtime/store/store-error.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { asyncStore } from '../../../runtime/store/async-state-adapter.js';
import { describeStore, runRecord } from './store-contract.js';
import { neededUnderCi } from '../../helpers/needed-under-ci.js';

/** A store file as weft's schema `version` left it (its migrations applied, nothing later). */
function schemaFile(path: string, version: number): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE weft_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  db.pragma(`application_id = ${WEFT_APPLICATION_ID}`);
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    if (m.sql) db.exec(m.sql);
    m.up?.(db);
    db.prepare('INSERT INTO weft_schema VALUES (?, ?, ?)').run(m.version, m.name, '2024-01-01T00:00:00.000Z');
  }
  db.pragma(`user_version = ${version}`);
  return db;
}
import { describeTransactions } from './transaction-contract.js';

const dir = tempDir('weft-sqlite-store-');
let n = 0;
const freshPath = () => join(dir, `store-${n++}.db`);

describeStore('sqlite', async () => asyncStore(openStore({ type: 'sqlite', path: freshPath() })), { batchesRollBack: true });
describeTransactions('sqlite', () => openStore({ type: 'sqlite', path: freshPath() }), { transactionsRollBack: true });

describe('SqliteStore', () => {
  const open: Store[] = [];
  const openAt = (path: string) => {
    const store = new SqliteStore({ path });
    open.push(store);
    return store;
  };
  afterEach(() => { for (const s of open.splice(0)) s.close(); });

  it('keeps blobs, runs, items, the step journal and events across close and reopen', () => {
    const path = freshPath();
    const first = openAt(path);
    const flowId = first.putBlob({ name: 'etl', steps: [] }, 'flow');
    const bytesId = first.putBlob(new Uint8Array([1, 2, 3]), 'binary');
    first.transaction(() => {
      first.createRun(runRecord('r', { flowId, variables: { v: 1 } }));
      first.addItems('r', 0, [{ x: 1 }, { x: 2 }]);
      first.setItemStatus('r', 0, 'running');
      first.startStep('r', 0, 'double', 1, 't1');
      first.finishStep('r', 0, 'double', 1, success(2), 't2');
      first.finishItem('r', 0, success(2), 't2');
      first.appendEvent({ runId: 'r', type: 'item_completed', at: 't2', itemIndex: 0 });
    });
    first.close();

    const again = openAt(path);
    expect(again.listFlows().map((f) => f.flowId)).toEqual([flowId]);
    expect([...(again.getBlob(bytesId)!.data as Uint8Array)]).toEqual([1, 2, 3]);
    expect(again.getRun('r')).toMatchObject({ flowId, variables: { v: 1 }, items: { total: 2, pending: 1, success: 1 } });
    expect(again.listResults('r', 'byCompletion')).toMatchObject([{ itemIndex: 0, result: success(2), completionSeq: 1 }]);
    expect(again.listSteps('r')).toMatchObject([{ stepId: 'double', attempt: 1, state: 'success', result: success(2) }]);
    expect(again.listEvents('r')).toMatchObject([{ type: 'item_completed', itemIndex: 0 }]);
  });

  it('creates the directory and uses WAL with a versioned schema, migrated once', () => {
    const path = join(dir, 'nested', 'deeper', 'weft.db');
    openAt(path).close();
    openAt(path).close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.pragma('application_id', { simple: true })).toBe(WEFT_APPLICATION_ID);
      expect(raw.prepare('SELECT version, name FROM weft_schema ORDER BY version').all())
        .toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      raw.close();
    }
  });

  it('migrates a schema v1 file (counters by trigger, steps with rowid, an event per row) and keeps its runs, steps, events and counters going', () => {
    const path = freshPath();
    const v1 = new Database(path);
    v1.pragma('journal_mode = WAL');
    v1.exec('CREATE TABLE weft_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    v1.pragma(`application_id = ${WEFT_APPLICATION_ID}`);
    v1.exec(MIGRATIONS[0].sql!);
    v1.prepare('INSERT INTO weft_schema VALUES (1, ?, ?)').run(MIGRATIONS[0].name, '2024-01-01T00:00:00.000Z');
    v1.pragma('user_version = 1');
    v1.exec(`INSERT INTO runs (id, flow_id, status, created_at, root_run_id, depth, items_total, items_pending)
      VALUES ('r', 'sha256:${'a'.repeat(64)}', 'running', '2024-01-01T00:00:00.000Z', 'r', 0, 3, 3)`);
    v1.exec(`INSERT INTO items (run_id, item_index, status, input_json) VALUES ('r', 0, 'pending', '1'), ('r', 1, 'pending', '2'), ('r', 2, 'pending', '3')`);
    v1.exec(`UPDATE items SET status = 'success', result_json = '${JSON.stringify(success(2))}', completed_at = 'x', completion_seq = 1 WHERE item_index = 0`);
    v1.exec(`UPDATE items SET status = 'running' WHERE item_index = 1`);
    v1.exec(`INSERT INTO steps (run_id, item_index, step_id, attempt, state, started_at) VALUES ('r', 1, 'double', 2, 'running', 't')`);
    // Events one row each (v1); seq 9 is the placeholder a purge left at the high-water mark.
    v1.exec(`INSERT INTO events (seq, run_id, type, at, item_index, step_id, attempt, data_json) VALUES
      (1, 'r', 'run_created', 'a', NULL, NULL, NULL, '{"total":3}'), (2, 'r', 'step_started', 'b', 1, 'double', 2, NULL),
      (9, '', 'purged', 'c', NULL, NULL, NULL, NULL)`);
    v1.close();

    const store = openAt(path);
    try {
      expect(store.getRun('r')!.items).toEqual({ total: 3, pending: 1, running: 1, paused: 0, success: 1, failed: 0, cancelled: 0 });
      expect(store.listSteps('r', 1)).toEqual([{ runId: 'r', itemIndex: 1, stepId: 'double', attempt: 2, state: 'running', startedAt: 't' }]);
      expect(store.listEvents('r')).toEqual([
        { seq: 1, runId: 'r', type: 'run_created', at: 'a', data: { total: 3 } },
        { seq: 2, runId: 'r', type: 'step_started', at: 'b', itemIndex: 1, stepId: 'double', attempt: 2 },
      ]);
      expect(store.appendEvent({ runId: 'r', type: 'run_status', at: 'd' })).toBe(3); // seqs count per run: after the run's own newest
      store.transaction(() => {
        store.finishStep('r', 1, 'double', 2, success(4), 'u');
        store.finishItem('r', 1, success(4), 'u');
        store.setItemStatus('r', 2, 'running');
      });
      expect(store.listSteps('r', 1)).toMatchObject([{ attempt: 2, state: 'success', startedAt: 't', finishedAt: 'u', result: success(4) }]);
      expect(store.getItem('r', 1)).toMatchObject({ status: 'success', completionSeq: 2 });
      store.cancelItems('r', 'v');
      expect(store.getRun('r')!.items).toEqual({ total: 3, pending: 0, running: 0, paused: 0, success: 2, failed: 0, cancelled: 1 });
      expect(store.listResults('r', 'byCompletion').map((i) => i.itemIndex)).toEqual([0, 1, 2]);
    } finally {
      store.close();
    }
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).all()).toEqual([]);
      expect(raw.prepare('SELECT version FROM weft_schema ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      raw.close();
    }
  });

  it('migrates a schema v3 file\'s string error codes to integer codes with the kind beside them, and leaves successes alone', () => {
    const path = freshPath();
    const v3 = schemaFile(path, 3);
    const old = (code: unknown, message: string, data?: unknown) => JSON.stringify({ outcome: 'failed', error: { code, message, ...(data ? { data } : {}) } });
    // A success whose value merely looks like an error must come through byte for byte.
    const lookalike = JSON.stringify(success({ error: { code: 'TIMEOUT', message: 'user data' } }));
    v3.exec(`INSERT INTO runs (run_key, id, flow_id, status, created_at, root_run_id, depth, items_total, items_failed, error_json)
      VALUES (1, 'r', 'sha256:${'a'.repeat(64)}', 'failed', 'a', 'r', 0, 3, 2, '{"code":"ORCHESTRATOR_ERROR","message":"gone"}')`);
    const item = v3.prepare('INSERT INTO items (run_key, item_index, status, input_json, result_json) VALUES (1, ?, ?, ?, ?)');
    item.run(0, 'failed', '1', old('INVALID_INPUT', 'bad x', { issues: [1] }));
    item.run(1, 'failed', '2', old(8, 'mock failure'));
    item.run(2, 'success', '3', lookalike);
    v3.prepare(`INSERT INTO steps (run_key, item_index, step_id, attempt, state, result_json, started_at) VALUES (1, 0, 's', 2, 'failed', ?, 't')`)
      .run(old('UNREACHABLE', 'crashed'));
    const events = [[1, 'step_completed', 'b', 0, 's', 2, JSON.stringify({ error: { code: 'UNREACHABLE', message: 'crashed' }, durationMs: 3 })],
      [2, 'item_completed', 'c', 1, null, null, JSON.stringify({ outcome: 'failed', error: { code: 1, message: 'Path $.a not found' } })],
      [3, 'item_completed', 'd', 2, null, null, JSON.stringify({ outcome: 'success' })]];
    v3.prepare('INSERT INTO event_batches VALUES (1, 1, 3, ?)').run(JSON.stringify(events));
    v3.exec('UPDATE event_seq SET seq = 3');
    v3.close();

    const store = openAt(path);
    try {
      expect(store.getRun('r')!.error).toEqual({ code: 500, kind: 'ORCHESTRATOR_ERROR', message: 'gone' });
      expect(store.getItem('r', 0)!.result).toEqual({ outcome: 'failed', error: { code: 500, kind: 'INVALID_INPUT', message: 'bad x', data: { issues: [1] } } });
      expect(store.getItem('r', 1)!.result).toEqual({ outcome: 'failed', error: { code: 8, kind: 'COMPONENT_FAILED', message: 'mock failure' } });
      expect(store.getItem('r', 2)!.result).toEqual(JSON.parse(lookalike));
      expect(store.listSteps('r', 0)[0].result).toEqual(failure('UNREACHABLE', 'crashed'));
      expect(store.listEvents('r').map((e) => e.data)).toEqual([
        { error: { code: 500, kind: 'UNREACHABLE', message: 'crashed' }, durationMs: 3 },
        { outcome: 'failed', error: { code: 1, kind: 'EXPRESSION_FAILURE', message: 'Path $.a not found' } },
        { outcome: 'success' },
      ]);
    } finally {
      store.close();
    }
  });

  it('migrates a schema v4 file: a step answered before keeps its answer (from its input_received event), runs gain config and working directory', () => {
    const path = freshPath();
    const v4 = schemaFile(path, 4);
    v4.exec(`INSERT INTO runs (run_key, id, flow_id, status, created_at, root_run_id, depth, items_total, items_running)
      VALUES (1, 'r', 'sha256:${'a'.repeat(64)}', 'running', 'a', 'r', 0, 2, 2)`);
    v4.exec(`INSERT INTO items (run_key, item_index, status, input_json) VALUES (1, 0, 'running', '1'), (1, 1, 'paused', '2')`);
    v4.exec(`INSERT INTO steps (run_key, item_index, step_id, attempt, state, started_at, prompt_json) VALUES
      (1, 0, 'ask', 1, 'awaiting_input', 't', '{"prompt":"ok?"}'), (1, 1, 'ask', 1, 'awaiting_input', 't', '{"prompt":"ok?"}')`);
    const events = [[1, 'step_awaiting_input', 'b', 0, 'ask', null, JSON.stringify({ prompt: 'ok?' })],
      [2, 'step_awaiting_input', 'b', 1, 'ask', null, JSON.stringify({ prompt: 'ok?' })],
      [3, 'input_received', 'c', 0, 'ask', null, JSON.stringify({ value: { approved: true } })]];
    v4.prepare('INSERT INTO event_batches VALUES (1, 1, 3, ?)').run(JSON.stringify(events));
    v4.exec(`INSERT INTO run_owners (run_id, owner_id, pid, host, heartbeat_at) VALUES ('r', 'o', 1, 'h', 't')`);
    v4.close();

    const store = openAt(path);
    try {
      expect(store.listSteps('r').map((s) => s.answers)).toEqual([[{ n: 0, value: { approved: true } }], undefined]);
      expect(store.getRun('r')).not.toHaveProperty('configId');
      store.createRun(runRecord('r2', { configId: `sha256:${'b'.repeat(64)}` as BlobId, workingDirectory: '/w' }));
      expect(store.getRun('r2')).toMatchObject({ configId: `sha256:${'b'.repeat(64)}`, workingDirectory: '/w' });
    } finally {
      store.close();
    }
  });

  it('keeps a transaction\'s counters, completion seqs and buffered steps out of the file when it rolls back', () => {
    const store = openAt(freshPath());
    try {
      store.createRun(runRecord('r'));
      store.addItems('r', 0, [1, 2]);
      expect(() => store.transaction(() => {
        store.setItemStatus('r', 0, 'running');
        store.startStep('r', 0, 's', 1, 't');
        store.finishItem('r', 0, success(1), 't');
        throw new Error('boom');
      })).toThrow('boom');
      expect(store.getRun('r')!.items).toMatchObject({ pending: 2, running: 0, success: 0 });
      expect(store.listSteps('r')).toEqual([]);
      store.transaction(() => {
        store.setItemStatus('r', 1, 'running');
        expect(store.getRun('r')!.items).toMatchObject({ pending: 1, running: 1 }); // reads in a transaction see its changes
        store.startStep('r', 1, 's', 1, 't');
        expect(store.listSteps('r', 1)).toMatchObject([{ state: 'running' }]);
        store.finishItem('r', 1, success(2), 't');
      });
      expect(store.getItem('r', 1)).toMatchObject({ status: 'success', completionSeq: 1 });
    } finally {
      store.close();
    }
  });

  it('runs SQLite with synchronous=NORMAL and, by default, syncs deferred commits itself', () => {
    const full = openAt(freshPath());
    expect(full.pragma('synchronous')).toBe(1); // the WAL fsync per commit is the store's own
    full.transaction(() => full.createRun(runRecord('a')));
    expect(full.synced()).toBeUndefined(); // an ordinary transaction is durable when it returns
    full.transaction(() => full.createRun(runRecord('b')), { deferSync: true });
    expect(full.synced()).toBeInstanceOf(Promise);
    const normal = new SqliteStore({ path: freshPath(), durability: 'normal' });
    try {
      expect(normal.pragma('synchronous')).toBe(1);
      normal.transaction(() => normal.createRun(runRecord('b')), { deferSync: true });
      expect(normal.synced()).toBeUndefined();
    } finally {
      normal.close();
    }
  });

  it('refuses a file that is not SQLite, naming it, and leaves it untouched', () => {
    const path = join(dir, 'notes.db');
    const content = 'these are my notes, not a database\n'.repeat(50);
    writeFileSync(path, content);
    expect(() => openAt(path)).toThrow(StoreError);
    expect(() => openAt(path)).toThrow(new RegExp(`${escape(path)}: is not an SQLite database`));
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('refuses a directory as the store file, naming it', () => {
    expect(() => openAt(dir)).toThrow(new RegExp(`${escape(dir)}: is a directory`));
  });

  it('refuses a weft file whose pages are corrupt, naming it', () => {
    const path = freshPath();
    const store = openAt(path);
    store.createRun(runRecord('r'));
    store.close();
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 100, 4096); // the schema page, after the 100-byte header
    writeFileSync(path, bytes);
    let error: unknown;
    try { openAt(path); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).reason).toBe('corrupt');
    expect((error as Error).message).toContain(path);
  });

  it('refuses an SQLite file of another application, naming it and its tables, and leaves it untouched', () => {
    const path = join(dir, 'crm.sqlite');
    const other = new Database(path);
    other.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')`);
    other.close();
    const before = readFileSync(path);
    expect(() => openAt(path)).toThrow(new RegExp(`${escape(path)}: is an SQLite database of another application \\(tables: customers\\)`));
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('refuses a store written by a newer weft', () => {
    const path = freshPath();
    openAt(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => openAt(path)).toThrow(new RegExp(`${escape(path)}: has schema version ${SCHEMA_VERSION + 5}, newer than this weft supports`));
  });

  it('fails a write on a full disk with an error naming the store, and keeps what was committed', () => {
    const path = freshPath();
    const store = openAt(path);
    store.transaction(() => {
      store.createRun(runRecord('r'));
      store.addItems('r', 0, [{ kept: true }]);
    });
    // The file may not grow beyond its current size plus a few pages: SQLITE_FULL, as on a full disk.
    store.pragma(`max_page_count = ${(store.pragma('page_count') as number) + 4}`);
    const big = 'x'.repeat(64 * 1024);
    let error: unknown;
    try {
      for (let i = 1; i < 100; i++) store.transaction(() => store.addItems('r', i, [big]));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).reason).toBe('full');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/disk is full/);
    const committed = store.getRun('r')!.items.total;
    store.close();

    const reopened = openAt(path);
    expect(reopened.getItem('r', 0)!.input).toEqual({ kept: true });
    const run = reopened.getRun('r')!;
    expect(run.items.total).toBe(committed);
    expect(reopened.listItems('r')).toHaveLength(committed); // no half-written chunk
  });

  it('applies a transaction\'s item changes together: reads in it see them, an unknown item fails it whole', () => {
    const store = openAt(freshPath());
    store.createRun(runRecord('r'));
    store.addItems('r', 0, [1, 2, 3]);
    store.transaction(() => {
      store.setItemStatus('r', 0, 'running');
      store.setItemStatus('r', 1, 'running');
      store.finishItem('r', 0, success(1), 't1'); // running → success in one transaction: counted once
      expect(store.getItem('r', 0)).toMatchObject({ status: 'success', completionSeq: 1 });
      expect(store.getRun('r')!.items).toMatchObject({ pending: 1, running: 1, success: 1 });
      store.finishItem('r', 1, success(2), 't2');
    });
    expect(store.getRun('r')!.items).toMatchObject({ pending: 1, running: 0, success: 2 });
    expect(store.listResults('r', 'byCompletion').map((i) => [i.itemIndex, i.completionSeq])).toEqual([[0, 1], [1, 2]]);
    expect(() => store.transaction(() => {
      store.setItemStatus('r', 2, 'running');
      store.finishItem('r', 7, success(7), 't3');
    })).toThrow(/unknown item 7 of run r/);
    expect(store.getItem('r', 2)!.status).toBe('pending'); // rolled back with the rest
    expect(store.getRun('r')!.items).toMatchObject({ pending: 1, running: 0, success: 2 });
    expect(() => store.addItems('r', 2, [3, 4])).toThrow(/item 2 of run r already exists/);
    expect(store.getRun('r')!.items.total).toBe(3);
  });

  it('runs 100,000 items added in chunks through the whole journal', () => {
    const store = openAt(freshPath());
    const total = 100_000;
    store.transaction(() => {
      store.createRun(runRecord('big'));
      for (let i = 0; i < total; i += 1000) store.addItems('big', i, Array.from({ length: 1000 }, (_, k) => ({ n: i + k })));
    });
    expect(store.getRun('big')!.items).toMatchObject({ total, pending: total });
    // As the run manager does: one transaction per batch of items, newest pending first read back from the store.
    for (let from = 0; from < total; from += 2000) {
      const batch = store.listItems('big', { fromIndex: from, limit: 2000, statuses: ['pending'] });
      store.transaction(() => {
        for (const item of batch) {
          const i = item.itemIndex;
          store.setItemStatus('big', i, 'running');
          store.appendEvent({ runId: 'big', type: 'item_started', at: 't', itemIndex: i });
          store.startStep('big', i, 'double', 1, 't');
          store.appendEvent({ runId: 'big', type: 'step_started', at: 't', itemIndex: i, stepId: 'double', attempt: 1 });
          const result = i % 10 === 7 ? failure('COMPONENT_FAILED', 'sevens fail') : success((item.input as { n: number }).n * 2);
          store.finishStep('big', i, 'double', 1, result, 't');
          store.appendEvent({ runId: 'big', type: 'step_completed', at: 't', itemIndex: i, stepId: 'double', attempt: 1 });
          store.finishItem('big', i, result, 't');
          store.appendEvent({ runId: 'big', type: 'item_completed', at: 't', itemIndex: i });
        }
      });
    }
    expect(store.getRun('big')!.items).toEqual({ total, pending: 0, running: 0, paused: 0, success: 90_000, failed: 10_000, cancelled: 0 });
    const tail = store.listResults('big', 'byCompletion', { offset: total - 3 });
    expect(tail.map((i) => [i.itemIndex, i.completionSeq])).toEqual([[99_997, 99_998], [99_998, 99_999], [99_999, 100_000]]);
    expect(store.listResults('big', 'byIndex', { offset: 50_000, limit: 1 })[0].result).toEqual(success(100_000));
    expect(store.listEvents('big', 0, 5).map((e) => e.type)).toEqual(['item_started', 'step_started', 'step_completed', 'item_completed', 'item_started']);
    expect(store.listItems('big', { statuses: ['pending', 'running'] })).toEqual([]);
  });

  describe('two processes on one file', () => {
    const childScript = fileURLToPath(new URL('./claim-run-child.mjs', import.meta.url));
    const children: ChildProcess[] = [];
    afterEach(() => { for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });

    /** Starts a node process that claims `runId`; resolves with its answer (the process may stay, holding it). */
    async function claimInChild(path: string, ownerId: string, hold: boolean): Promise<{ child: ChildProcess; claimed: boolean }> {
      const child = spawn(process.execPath, [childScript, path, 'r', ownerId, ...(hold ? ['--hold'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => { out += d; });
      child.stderr!.on('data', (d: Buffer) => { err += d; });
      while (!out.includes('\n')) {
        const [event] = await Promise.race([once(child.stdout!, 'data').then(() => ['data']), once(child, 'exit').then(() => ['exit'])]);
        if (event === 'exit' && !out.includes('\n')) throw new Error(`claim child exited without answering: ${err}`);
      }
      return { child, claimed: (JSON.parse(out.split('\n')[0]) as { claimed: boolean }).claimed };
    }

    it('never lets two live processes hold one run; a killed holder\'s run can be taken over', async () => {
      const path = freshPath();
      const store = openAt(path);
      store.createRun(runRecord('r'));

      const holder = await claimInChild(path, 'process-a', true);
      expect(holder.claimed).toBe(true);
      expect(store.claimRun('r', { id: 'this-process', pid: process.pid, host: hostname() })).toBe(false);
      expect((await claimInChild(path, 'process-b', false)).claimed).toBe(false);

      holder.child.kill('SIGKILL');
      await once(holder.child, 'exit');
      expect((await claimInChild(path, 'process-b', false)).claimed).toBe(true);
    });
  });
});

describe('openStore', () => {
  it('opens SQLite at .weft/weft.db under cwd by default, or memory', () => {
    const cwd = tempDir('weft-open-store-');
    const store = openStore({ cwd });
    try {
      expect(store.location).toBe(join(cwd, '.weft', 'weft.db'));
      expect(existsSync(join(cwd, '.weft', 'weft.db'))).toBe(true);
    } finally {
      store.close();
    }
    for (const type of ['memory', 'inMemory'] as const) {
      const mem = openStore({ type });
      expect(mem.location).toBe('memory');
      mem.close();
    }
  });

  it('accepts Stepflow\'s databaseUrl spellings', () => {
    expect(pathOfDatabaseUrl('sqlite:state/db.sqlite?mode=rwc')).toBe('state/db.sqlite');
    expect(pathOfDatabaseUrl('sqlite://state/db.sqlite')).toBe('state/db.sqlite');
    expect(pathOfDatabaseUrl('sqlite:///abs/db.sqlite')).toBe('/abs/db.sqlite');
    expect(pathOfDatabaseUrl('sqlite::memory:')).toBe(':memory:');
    expect(() => pathOfDatabaseUrl('postgres://db')).toThrow(/sqlite:/);
    const cwd = tempDir('weft-open-url-');
    const store = openStore({ type: 'sqlite', databaseUrl: 'sqlite:state/db.sqlite?mode=rwc', cwd });
    expect(store.location).toBe(join(cwd, 'state', 'db.sqlite'));
    store.close();
    const inMemory = openStore({ type: 'sqlite', databaseUrl: 'sqlite::memory:' });
    expect(inMemory.location).toBe('sqlite::memory:');
    inMemory.state.createRun(runRecord('r'));
    expect(inMemory.state.getRun('r')?.runId).toBe('r');
    inMemory.close();
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Durability `full` is this store's own fdatasync of the WAL: at once for an ordinary
// transaction, on a libuv thread (shared) for a deferSync one. strace shows the system
// calls in order, so the test proves each acknowledgement came after a sync of the WAL.
describe('SqliteStore fsyncs (strace)', () => {
  const childScript = fileURLToPath(new URL('./sync-child.mjs', import.meta.url));
  const strace = neededUnderCi(['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p)), 'no strace in /usr/bin or /bin');

  /** The child's WAL syncs (where each started) and markers, from OPEN to CLOSE, in the order the kernel saw them. */
  async function traceChild(durability: 'full' | 'normal'): Promise<{ events: string[]; out: string }> {
    const path = freshPath();
    const log = `${path}.strace`;
    const child = spawn(strace!, ['-f', '-y', '-e', 'trace=fdatasync,fsync,write', '-o', log, process.execPath, childScript, path, durability],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const events: string[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      // A sync's start: a whole line, or the "<unfinished ...>" half when another thread interleaved.
      if (/\b(fdatasync|fsync)\(\d+<[^>]*-wal>/.test(line)) events.push('sync');
      const marker = /write\(2<[^>]*>, "(OPEN|COMMIT \d+|DEFERRED \d+|ORDINARY|CLOSE)\\n"/.exec(line);
      if (marker) events.push(marker[1]);
    }
    return { events: events.slice(events.indexOf('OPEN'), events.indexOf('CLOSE')), out };
  }

  it.skipIf(!strace)('full: each deferred commit is acknowledged after an fsync of the WAL that began after it; they share fsyncs', async () => {
    const { events, out } = await traceChild('full');
    expect(events[0]).toBe('OPEN');
    for (let k = 0; k < 10; k++) {
      const committed = events.indexOf(`COMMIT ${k}`);
      const acknowledged = events.indexOf(`DEFERRED ${k}`);
      expect(committed).toBeGreaterThan(0);
      expect(acknowledged).toBeGreaterThan(committed);
      expect(events.slice(committed, acknowledged)).toContain('sync');
    }
    const ordinary = events.indexOf('ORDINARY');
    expect(events[ordinary - 1]).toBe('sync'); // an ordinary transaction syncs before it returns
    // Ten deferred commits in one turn share their fsyncs (the first, and one for the other nine).
    const deferredSyncs = events.slice(0, events.indexOf('DEFERRED 9')).filter((e) => e === 'sync').length;
    expect(deferredSyncs).toBeGreaterThanOrEqual(1);
    expect(deferredSyncs).toBeLessThanOrEqual(3);
    expect(JSON.parse(out)).toEqual({ after: 'undefined' }); // nothing left to sync
  });

  it.skipIf(!strace)('normal: no fsync of the WAL per commit', async () => {
    const { events } = await traceChild('normal');
    expect(events.filter((e) => e.startsWith('DEFERRED'))).toHaveLength(10);
    expect(events).toContain('ORDINARY');
    expect(events).not.toContain('sync');
  });
});
