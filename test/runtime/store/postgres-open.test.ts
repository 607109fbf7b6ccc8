import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobIdOf, success } from '../../../protocol/index.js';
import { connectPostgres } from '../../../runtime/store/postgres-connect.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, migratePostgres } from '../../../runtime/store/postgres-migrations.js';
import { PostgresBlobStore } from '../../../runtime/store/postgres-blob-store.js';
import { PostgresStore } from '../../../runtime/store/postgres-store.js';
import { StoreBatch } from '../../../runtime/store/store-batch.js';
import { StoreError } from '../../../runtime/store/store-error.js';
import { PostgresCluster, postgresAvailable, warnIfNoPostgres } from '../../helpers/postgres-cluster.js';
import { runRecord } from './store-contract.js';

const databaseOf = (url: string) => new URL(url.replace('@/', '@localhost/')).pathname.slice(1);

warnIfNoPostgres('the PostgreSQL connection and migration tests');

async function storeError(p: Promise<unknown>): Promise<StoreError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe.skipIf(!postgresAvailable)('PostgreSQL: connecting, migrations, blobs', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => { cluster = await PostgresCluster.start(); });
  afterAll(async () => { await cluster?.stop(); });

  async function migrated(): Promise<{ url: string; pool: import('pg').Pool; location: string }> {
    const url = await cluster.createDatabase();
    const { pool, location } = await connectPostgres(url);
    await migratePostgres(pool, location);
    return { url, pool, location };
  }

  it('creates the schema in an empty database, records each version, and opening again changes nothing', async () => {
    const { pool, location } = await migrated();
    const versions = await pool.query('SELECT version, name FROM weft.schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    expect(versions.rows.at(-1).version).toBe(PG_SCHEMA_VERSION);
    await migratePostgres(pool, location);
    expect((await pool.query('SELECT count(*)::int AS n FROM weft.schema_migrations')).rows[0].n).toBe(PG_MIGRATIONS.length);
    await pool.end();
  });

  it('upgrades a database of the previous schema version, keeping what it holds', async () => {
    const url = await cluster.createDatabase();
    const old = await connectPostgres(url);
    await migratePostgres(old.pool, old.location, PG_MIGRATIONS.slice(0, -1));
    const flowId = await new PostgresBlobStore(old.pool).putBlob({ name: 'kept', steps: [] }, 'flow');
    await old.pool.end();

    const store = await PostgresStore.open(url);
    try {
      expect((await store.blobs.getBlob(flowId))?.data).toEqual({ name: 'kept', steps: [] });
      const versions = await cluster.sql('SELECT version FROM weft.schema_migrations ORDER BY version', databaseOf(url));
      expect(versions.rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
      await store.state.commit(new StoreBatch().createRun(runRecord('r', { flowId, configId: flowId, workingDirectory: '/w' })).addItems('r', 0, [1]));
      expect(await store.state.getRun('r')).toMatchObject({ items: { total: 1 }, configId: flowId, workingDirectory: '/w' });
      await store.state.commit(new StoreBatch().startStep('r', 0, 's', 1, 't').answerStepInput('r', 0, 's', 0, { ok: 1 }));
      expect((await store.state.listSteps('r', 0))[0].answers).toEqual([{ n: 0, value: { ok: 1 } }]);
    } finally {
      await store.close();
    }
  });

  it('keeps every acknowledged commit when the server is killed', async () => {
    const url = await cluster.createDatabase();
    const store = await PostgresStore.open(url);
    await store.state.commit(new StoreBatch().createRun(runRecord('r')).addItems('r', 0, [1, 2]));
    await store.state.commit(new StoreBatch().setItemStatus('r', 0, 'running').finishItem('r', 0, success(1), 't')
      .appendEvent({ runId: 'r', type: 'item_completed', at: 't', itemIndex: 0 }));
    await cluster.killServer();
    await store.close().catch(() => undefined);
    await cluster.startServer();
    const reopened = await PostgresStore.open(url);
    try {
      expect((await reopened.state.getRun('r'))?.items).toMatchObject({ total: 2, pending: 1, success: 1 });
      expect((await reopened.state.listEvents('r')).map((e) => e.seq)).toEqual([1]);
    } finally {
      await reopened.close();
    }
  });

  it('migrates two processes opening a new database at once exactly once', async () => {
    const url = await cluster.createDatabase();
    const a = await connectPostgres(url); const b = await connectPostgres(url);
    await Promise.all([migratePostgres(a.pool, a.location), migratePostgres(b.pool, b.location)]);
    expect((await a.pool.query('SELECT count(*)::int AS n FROM weft.schema_migrations')).rows[0].n).toBe(PG_MIGRATIONS.length);
    await a.pool.end(); await b.pool.end();
  });

  it('refuses a database whose weft schema is newer than this code, naming both versions, and leaves it alone', async () => {
    const { pool, location } = await migrated();
    await pool.query(`INSERT INTO weft.schema_migrations (version, name) VALUES (${PG_SCHEMA_VERSION + 1}, 'from_the_future')`);
    const error = await storeError(migratePostgres(pool, location));
    expect(error.reason).toBe('newer_schema');
    expect(error.message).toContain(`version ${PG_SCHEMA_VERSION + 1}`);
    expect(error.message).toContain(`supports (${PG_SCHEMA_VERSION})`);
    expect(error.message).toContain(location);
    expect((await pool.query('SELECT count(*)::int AS n FROM weft.schema_migrations')).rows[0].n).toBe(PG_MIGRATIONS.length + 1);
    await pool.end();
  });

  it('rejects a URL that is not a PostgreSQL URL, saying what one looks like', async () => {
    const error = await storeError(connectPostgres('mysql://localhost/db'));
    expect(error.reason).toBe('open');
    expect(error.message).toMatch(/expected postgres:\/\/user:password@host:5432\/database/);
  });

  it('names the database when it does not exist', async () => {
    const error = await storeError(connectPostgres(cluster.url('no_such_db'), { retryForMs: 0 }));
    expect(error.message).toContain('no_such_db');
    expect(error.message).toContain('createdb');
  });

  it('says the login was refused for a wrong password, without showing the password', async () => {
    await cluster.sql(`CREATE ROLE alice LOGIN PASSWORD 'right'`);
    // Password authentication for alice, ahead of the cluster's `trust` lines.
    const hba = join(cluster.dir, 'data', 'pg_hba.conf');
    writeFileSync(hba, `local all alice scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await cluster.sql('SELECT pg_reload_conf()');
    const url = `postgres://alice:wrong@/postgres?host=${encodeURIComponent(cluster.dir)}&port=${cluster.port}`;
    const error = await storeError(connectPostgres(url, { retryForMs: 0 }));
    expect(error.reason).toBe('auth');
    expect(error.message).toMatch(/login refused .*password authentication failed for user "alice".*check the user and password/);
    expect(error.message).not.toContain('wrong');
    const ok = await connectPostgres(url.replace(':wrong@', ':right@'), { retryForMs: 0 });
    await ok.pool.end();
  });

  it('retries a server that is down at start with backoff, then names the host', async () => {
    const down = `postgres://postgres@/postgres?host=${encodeURIComponent(join(cluster.dir, 'nowhere'))}&port=${cluster.port}`;
    const delays: number[] = [];
    const error = await storeError(connectPostgres(down, { retryForMs: 3000, onRetry: (ms) => delays.push(ms) }));
    expect(delays.slice(0, 3)).toEqual([100, 200, 400]);
    expect(error.reason).toBe('unavailable');
    expect(error.message).toContain(`no PostgreSQL server answers at ${join(cluster.dir, 'nowhere')} after retrying for 3.0 s`);
  });

  it('connects once a server that was down at start comes up within the retry window', async () => {
    const url = await cluster.createDatabase();
    await cluster.stopServer();
    const connecting = connectPostgres(url, { retryForMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    await cluster.startServer();
    const { pool } = await connecting;
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await pool.end();
  });

  describe('blobs', () => {
    it('stores one copy per content, whatever the key order, and reads back a fresh value', async () => {
      const { pool } = await migrated();
      const blobs = new PostgresBlobStore(pool);
      const a = await blobs.putBlob({ b: 1, a: { d: [1, 2], c: 'x' } }, 'data');
      const [b, c] = await Promise.all([blobs.putBlob({ a: { c: 'x', d: [1, 2] }, b: 1 }, 'data'), blobs.putBlob({ a: { c: 'x', d: [1, 2] }, b: 1 }, 'data')]);
      expect(a).toBe(blobIdOf({ a: { c: 'x', d: [1, 2] }, b: 1 }));
      expect([b, c]).toEqual([a, a]);
      expect((await pool.query('SELECT count(*)::int AS n FROM weft.blobs')).rows[0].n).toBe(1);
      expect(await blobs.getBlob(a.slice('sha256:'.length).toUpperCase())).toEqual({ id: a, type: 'data', data: { a: { c: 'x', d: [1, 2] }, b: 1 } });
      expect(await blobs.getBlob('sha256:' + '0'.repeat(64))).toBeUndefined();
      expect(await blobs.getBlob('nope')).toBeUndefined();
      await pool.end();
    });

    it('lists flows newest first, makes data put again as a flow a flow, and round-trips binary bytes', async () => {
      const { pool } = await migrated();
      const blobs = new PostgresBlobStore(pool);
      const etl = await blobs.putBlob({ name: 'etl', description: 'loads', steps: [] }, 'flow');
      const late = await blobs.putBlob({ name: 'late', steps: [] }, 'data');
      expect((await blobs.listFlows()).map((f) => f.flowId)).toEqual([etl]);
      expect(await blobs.putBlob({ steps: [], name: 'late' }, 'flow')).toBe(late);
      const flows = await blobs.listFlows();
      expect(flows.map((f) => f.name)).toEqual(['late', 'etl']);
      expect(flows[1]).toMatchObject({ flowId: etl, description: 'loads' });
      expect(Date.parse(flows[0].createdAt)).not.toBeNaN();
      const bytes = new Uint8Array([0, 1, 250, 255]);
      const bin = await blobs.putBlob(bytes, 'binary');
      bytes[0] = 9;
      expect(await blobs.getBlob(bin)).toEqual({ id: bin, type: 'binary', data: new Uint8Array([0, 1, 250, 255]) });
      await pool.end();
    });
  });
});
