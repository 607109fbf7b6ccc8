import type pg from 'pg';
import { StoreError } from './store-error.js';
import { inTransaction } from './in-transaction.js';

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
  {
    // Run state as reference/scale-out.md §4.2 sketches it (integer run keys, counters on
    // the run row, per-run event seqs, events packed one row per run and commit), so that
    // several processes can later claim items without reshaping the tables. JSON columns
    // are \`json\`, not \`jsonb\`: a value reads back with the key order it was written with.
    version: 2,
    name: 'run_state',
    sql: `
      CREATE TABLE weft.runs (
        run_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        flow_id text NOT NULL, flow_name text, flow_label text,
        status text NOT NULL,
        created_at text NOT NULL, completed_at text, error json,
        parent_run_id text, parent_item_index int, parent_step_id text, subflow_key text,
        root_run_id text NOT NULL, depth int NOT NULL, max_concurrency int,
        fork_of_run_id text, fork_from_step text,
        items_total int NOT NULL DEFAULT 0, items_pending int NOT NULL DEFAULT 0,
        items_running int NOT NULL DEFAULT 0, items_paused int NOT NULL DEFAULT 0,
        items_success int NOT NULL DEFAULT 0, items_failed int NOT NULL DEFAULT 0,
        items_cancelled int NOT NULL DEFAULT 0,
        next_event_seq bigint NOT NULL DEFAULT 0,
        next_completion int NOT NULL DEFAULT 0
      ) WITH (fillfactor = 50);             -- the counters change with every commit: room for HOT updates
      CREATE INDEX runs_open ON weft.runs (run_key) WHERE status IN ('pending', 'running', 'paused');
      CREATE INDEX runs_status ON weft.runs (status);
      CREATE INDEX runs_parent ON weft.runs (parent_run_id, subflow_key);

      CREATE TABLE weft.run_params (run_key bigint PRIMARY KEY, overrides json, variables json);

      CREATE TABLE weft.items (
        run_key bigint NOT NULL, item_index int NOT NULL,
        status text NOT NULL, input json NOT NULL, result json,
        completed_at text, completion_seq int,
        PRIMARY KEY (run_key, item_index)
      ) WITH (fillfactor = 70);
      CREATE INDEX items_completion ON weft.items (run_key, completion_seq) WHERE completion_seq IS NOT NULL;

      CREATE TABLE weft.steps (
        run_key bigint NOT NULL, item_index int NOT NULL, step_id text NOT NULL,
        attempt int NOT NULL, state text NOT NULL, result json,
        started_at text NOT NULL, finished_at text, prompt json,
        PRIMARY KEY (run_key, item_index, step_id)
      );

      -- events: a JSON array of [type, at, item_index, step_id, attempt, data] per event, seqs first_seq..last_seq
      CREATE TABLE weft.event_batches (
        run_key bigint NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL, events json NOT NULL,
        PRIMARY KEY (run_key, first_seq)
      );

      CREATE TABLE weft.run_owners (
        run_key bigint PRIMARY KEY, owner_id text NOT NULL, pid int NOT NULL, host text NOT NULL,
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX run_owners_owner ON weft.run_owners (owner_id);
    `,
  },
  {
    // Issue 12: the config blob and working directory a run was submitted with; a step's
    // human answers; the owner process's start time (a reused pid is not its owner).
    version: 3,
    name: 'run_config_step_answers_owner_start',
    sql: `
      ALTER TABLE weft.runs ADD COLUMN config_id text, ADD COLUMN working_directory text;
      ALTER TABLE weft.steps ADD COLUMN answers json;
      ALTER TABLE weft.run_owners ADD COLUMN process_start text;
    `,
  },
  {
    // Issue 15: several processes share the work. Each process start is an executor with
    // a lease (heartbeat on the database clock); items carry their holder and how many
    // times they were claimed; a run records who created it, whether its creation is
    // complete (`sealed`: only then may its last item end it), an optional pin to its
    // creator, and where claims resume scanning its items.
    version: 4,
    name: 'executors_item_claims',
    sql: `
      CREATE TABLE weft.executors (
        id text PRIMARY KEY, host text NOT NULL, pid int NOT NULL, process_start text,
        role text NOT NULL, capacity int NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(), heartbeat_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'alive' CHECK (status IN ('alive', 'stopping', 'dead')),
        ended_at timestamptz
      );
      CREATE INDEX executors_alive ON weft.executors (heartbeat_at) WHERE status = 'alive';
      -- Not indexed: an index on owner (or on items_pending of runs) would make every claim
      -- and every counter change a non-HOT update. Items by owner are found through the open
      -- runs (runs_open) and their primary key.
      ALTER TABLE weft.items ADD COLUMN owner text, ADD COLUMN attempt int NOT NULL DEFAULT 0;
      ALTER TABLE weft.runs ADD COLUMN creator text, ADD COLUMN affinity text,
        ADD COLUMN sealed boolean NOT NULL DEFAULT true, ADD COLUMN claim_cursor int NOT NULL DEFAULT 0;
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
  try {
    await inTransaction(pool, (client) => migrate(client, location, migrations, latest));
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(location, 'open', `could not create or upgrade weft's schema: ${(error as Error).message}`, { cause: error });
  }
}

/** The migrations not applied yet, in order, under the advisory lock (inside migratePostgres's transaction). */
async function migrate(client: pg.PoolClient, location: string, migrations: readonly PostgresMigration[], latest: number): Promise<void> {
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
}
