import type pg from 'pg';
import { StoreError } from './store-error.js';

export interface PostgresMigration { version: number; name: string; sql: string }

/**
 * The schema in the `weft` schema of the database (so weft's tables never meet an
 * application's own), as steps applied in order on open; `weft.schema_migrations` records
 * each. Never edit a released step: append a new one.
 */
export const PG_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'blobs',
    sql: `
      CREATE TABLE weft.blobs (
        id text PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('data', 'flow', 'binary')),
        data bytea NOT NULL,            -- canonical JSON (UTF-8) for data and flow, raw bytes for binary
        name text,
        description text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX blobs_flows ON weft.blobs (created_at) WHERE type = 'flow';
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;

/** Any constant: the advisory lock that serializes migrations of one database. */
const MIGRATION_LOCK = 0x77656674;

/**
 * Brings the database's weft schema up to `migrations`' last version in one transaction,
 * under an advisory lock, so processes opening a new database at once migrate it once.
 * A database migrated by a newer weft is refused untouched.
 */
export async function migratePostgres(pool: pg.Pool, location: string, migrations: readonly PostgresMigration[] = PG_MIGRATIONS): Promise<void> {
  const latest = migrations[migrations.length - 1].version;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS weft');
    await client.query(`CREATE TABLE IF NOT EXISTS weft.schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM weft.schema_migrations');
    const version = rows[0].v;
    if (version > latest) {
      throw new StoreError(location, 'newer_schema',
        `has weft schema version ${version}, newer than this weft supports (${latest}); upgrade weft or point it at another database.`);
    }
    for (const m of migrations) {
      if (m.version <= version) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO weft.schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof StoreError) throw error;
    throw new StoreError(location, 'open', `could not create or upgrade weft's schema: ${(error as Error).message}`, { cause: error });
  } finally {
    client.release();
  }
}
