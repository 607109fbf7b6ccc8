import type Database from 'better-sqlite3';
import { StoreError } from './store-error.js';
import { upgradeStoredFlowErrors } from './upgrade-flow-errors.js';

/** Written to the file header (`PRAGMA application_id`): "weft" in ASCII. */
export const WEFT_APPLICATION_ID = 0x77656674;

/** A step is SQL, or a function for rewrites SQL cannot express (JSON nested in JSON). */
export interface Migration { version: number; name: string; sql?: string; up?: (db: Database.Database) => void }

/**
 * The schema, as a list of steps applied in order on open; `PRAGMA user_version` holds
 * the last one applied and `weft_schema` records when each was. Never edit a released
 * step: append a new one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create_schema',
    sql: `
      CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        data BLOB NOT NULL,          -- canonical JSON text (data, flow) or MessagePack bytes (binary)
        name TEXT,
        description TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX blobs_flows ON blobs (created_at) WHERE type = 'flow';

      -- Small, often-rewritten row: the item counters change with every item.
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        flow_id TEXT NOT NULL,
        flow_name TEXT,
        flow_label TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        completed_at TEXT,
        error_json TEXT,
        parent_run_id TEXT,
        parent_item_index INTEGER,
        parent_step_id TEXT,
        subflow_key TEXT,
        root_run_id TEXT NOT NULL,
        depth INTEGER NOT NULL,
        max_concurrency INTEGER,
        fork_of_run_id TEXT,
        fork_from_step TEXT,
        items_total INTEGER NOT NULL DEFAULT 0,
        items_pending INTEGER NOT NULL DEFAULT 0,
        items_running INTEGER NOT NULL DEFAULT 0,
        items_paused INTEGER NOT NULL DEFAULT 0,
        items_success INTEGER NOT NULL DEFAULT 0,
        items_failed INTEGER NOT NULL DEFAULT 0,
        items_cancelled INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX runs_status ON runs (status);
      CREATE INDEX runs_parent ON runs (parent_run_id, subflow_key);

      -- Written once per run and possibly large: kept out of the runs row so that
      -- counter updates do not rewrite it.
      CREATE TABLE run_params (
        run_id TEXT PRIMARY KEY,
        overrides_json TEXT,
        variables_json TEXT
      );

      CREATE TABLE items (
        run_id TEXT NOT NULL,
        item_index INTEGER NOT NULL,
        status TEXT NOT NULL,
        input_json TEXT NOT NULL,
        result_json TEXT,
        completed_at TEXT,
        completion_seq INTEGER,
        PRIMARY KEY (run_id, item_index)
      );
      CREATE INDEX items_completion ON items (run_id, completion_seq) WHERE completion_seq IS NOT NULL;

      -- The runs row's counters follow every item status change, whichever statement
      -- makes it (one item, or all of a run's open items at once on cancel).
      CREATE TRIGGER items_count AFTER UPDATE OF status ON items WHEN OLD.status <> NEW.status
      BEGIN
        UPDATE runs SET
          items_pending = items_pending + (NEW.status = 'pending') - (OLD.status = 'pending'),
          items_running = items_running + (NEW.status = 'running') - (OLD.status = 'running'),
          items_paused = items_paused + (NEW.status = 'paused') - (OLD.status = 'paused'),
          items_success = items_success + (NEW.status = 'success') - (OLD.status = 'success'),
          items_failed = items_failed + (NEW.status = 'failed') - (OLD.status = 'failed'),
          items_cancelled = items_cancelled + (NEW.status = 'cancelled') - (OLD.status = 'cancelled')
        WHERE id = NEW.run_id;
      END;

      CREATE TABLE steps (
        run_id TEXT NOT NULL,
        item_index INTEGER NOT NULL,
        step_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        result_json TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        prompt_json TEXT,
        PRIMARY KEY (run_id, item_index, step_id)
      );

      -- seq = rowid (max + 1). Not AUTOINCREMENT, which costs a second write per event:
      -- purgeRun keeps a placeholder at the high-water mark instead, so seqs never go back.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        item_index INTEGER,
        step_id TEXT,
        attempt INTEGER,
        data_json TEXT
      );
      CREATE INDEX events_run ON events (run_id, seq);

      CREATE TABLE run_owners (
        run_id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
      );
      CREATE INDEX run_owners_owner ON run_owners (owner_id);
    `,
  },
  {
    // The store keeps the counters itself, one runs UPDATE per run and transaction instead
    // of one per item status change; prev_status lets an item UPDATE return the status it
    // replaced (RETURNING shows the new row).
    version: 2,
    name: 'counters_without_trigger_steps_without_rowid',
    sql: `
      DROP TRIGGER items_count;
      ALTER TABLE items ADD COLUMN prev_status TEXT;

      -- One b-tree instead of a rowid table plus its primary-key index: a step's start and
      -- finish dirty half the pages.
      CREATE TABLE steps_v2 (
        run_id TEXT NOT NULL,
        item_index INTEGER NOT NULL,
        step_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        result_json TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        prompt_json TEXT,
        PRIMARY KEY (run_id, item_index, step_id)
      ) WITHOUT ROWID;
      INSERT INTO steps_v2 SELECT run_id, item_index, step_id, attempt, state, result_json, started_at, finished_at, prompt_json FROM steps;
      DROP TABLE steps;
      ALTER TABLE steps_v2 RENAME TO steps;
    `,
  },
  {
    // Run state keyed by an integer run key instead of the run id's 36 characters, and
    // events stored as one row per run and transaction: a JSON array of
    // [seq, type, at, item_index, step_id, attempt, data_json]. A group commit of a batch
    // appends ~4 events per item; one row per batch, and small keys in the item and step
    // b-trees, write a fraction of the statements and WAL pages. Seqs come from event_seq,
    // so a purge needs no placeholder row to keep them from going back.
    version: 3,
    name: 'run_keys_event_batches',
    sql: `
      CREATE TABLE runs_v3 (
        run_key INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        flow_id TEXT NOT NULL,
        flow_name TEXT,
        flow_label TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        completed_at TEXT,
        error_json TEXT,
        parent_run_id TEXT,
        parent_item_index INTEGER,
        parent_step_id TEXT,
        subflow_key TEXT,
        root_run_id TEXT NOT NULL,
        depth INTEGER NOT NULL,
        max_concurrency INTEGER,
        fork_of_run_id TEXT,
        fork_from_step TEXT,
        items_total INTEGER NOT NULL DEFAULT 0,
        items_pending INTEGER NOT NULL DEFAULT 0,
        items_running INTEGER NOT NULL DEFAULT 0,
        items_paused INTEGER NOT NULL DEFAULT 0,
        items_success INTEGER NOT NULL DEFAULT 0,
        items_failed INTEGER NOT NULL DEFAULT 0,
        items_cancelled INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO runs_v3 SELECT rowid, id, flow_id, flow_name, flow_label, status, created_at, completed_at, error_json,
        parent_run_id, parent_item_index, parent_step_id, subflow_key, root_run_id, depth, max_concurrency, fork_of_run_id,
        fork_from_step, items_total, items_pending, items_running, items_paused, items_success, items_failed, items_cancelled
        FROM runs ORDER BY rowid;

      CREATE TABLE items_v3 (
        run_key INTEGER NOT NULL,
        item_index INTEGER NOT NULL,
        status TEXT NOT NULL,
        input_json TEXT NOT NULL,
        result_json TEXT,
        completed_at TEXT,
        completion_seq INTEGER,
        prev_status TEXT,
        PRIMARY KEY (run_key, item_index)
      );
      INSERT INTO items_v3 SELECT r.rowid, i.item_index, i.status, i.input_json, i.result_json, i.completed_at, i.completion_seq, i.prev_status
        FROM items i JOIN runs r ON r.id = i.run_id;

      CREATE TABLE steps_v3 (
        run_key INTEGER NOT NULL,
        item_index INTEGER NOT NULL,
        step_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        result_json TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        prompt_json TEXT,
        PRIMARY KEY (run_key, item_index, step_id)
      ) WITHOUT ROWID;
      INSERT INTO steps_v3 SELECT r.rowid, s.item_index, s.step_id, s.attempt, s.state, s.result_json, s.started_at, s.finished_at, s.prompt_json
        FROM steps s JOIN runs r ON r.id = s.run_id;

      CREATE TABLE event_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT INTO event_seq (id, seq) VALUES (1, COALESCE((SELECT MAX(seq) FROM events), 0));
      CREATE TABLE event_batches (
        run_key INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        events_json TEXT NOT NULL,
        PRIMARY KEY (run_key, first_seq)
      ) WITHOUT ROWID;
      INSERT INTO event_batches (run_key, first_seq, last_seq, events_json)
        SELECT r.rowid, e.seq, e.seq, json_array(json_array(e.seq, e.type, e.at, e.item_index, e.step_id, e.attempt, e.data_json))
        FROM events e JOIN runs r ON r.id = e.run_id;

      DROP TABLE events;
      DROP TABLE steps;
      DROP TABLE items;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      ALTER TABLE items_v3 RENAME TO items;
      ALTER TABLE steps_v3 RENAME TO steps;
      CREATE INDEX runs_status ON runs (status);
      CREATE INDEX runs_parent ON runs (parent_run_id, subflow_key);
      CREATE INDEX items_completion ON items (run_key, completion_seq) WHERE completion_seq IS NOT NULL;
    `,
  },
  {
    // FlowError.code became an integer (Stepflow's numbering, which its SDK decodes), with
    // the former string code kept as `kind`.
    version: 4,
    name: 'flow_error_integer_codes',
    up: upgradeStoredFlowErrors,
  },
  {
    // Issue 12: a run references the config blob and working directory it was submitted
    // with (resume and fork from anywhere); a step keeps its human answers (looked up by
    // step, not by scanning the run's events); an owner record names its process's start
    // time (a reused pid is not its owner).
    version: 5,
    name: 'run_config_step_answers_owner_start',
    sql: `
      ALTER TABLE runs ADD COLUMN config_id TEXT;
      ALTER TABLE runs ADD COLUMN working_directory TEXT;
      ALTER TABLE steps ADD COLUMN answers_json TEXT;
      ALTER TABLE run_owners ADD COLUMN process_start TEXT;
    `,
    up: answersFromEvents,
  },
];

/** The answers an earlier schema kept only as `input_received` events (one per step then: answer 0). */
function answersFromEvents(db: Database.Database): void {
  const batches = db.prepare<[], { run_key: number; events_json: string }>(
    `SELECT run_key, events_json FROM event_batches WHERE events_json LIKE '%"input_received"%'`).all();
  const answer = db.prepare('UPDATE steps SET answers_json = ? WHERE run_key = ? AND item_index = ? AND step_id = ? AND answers_json IS NULL');
  for (const { run_key, events_json } of batches) {
    for (const [, type, , itemIndex, stepId, , dataJson] of JSON.parse(events_json) as unknown[][]) {
      if (type !== 'input_received' || itemIndex === null || stepId === null) continue;
      const value = dataJson === null ? null : (JSON.parse(dataJson as string) as { value?: unknown }).value ?? null;
      answer.run(JSON.stringify([{ n: 0, value }]), run_key, itemIndex, stepId);
    }
  }
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

interface FileState { applicationId: number; version: number; tables: string[] }

function inspect(db: Database.Database): FileState {
  return {
    applicationId: db.pragma('application_id', { simple: true }) as number,
    version: db.pragma('user_version', { simple: true }) as number,
    tables: db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[],
  };
}

/** Refuses a file of another application, or one written by a newer weft; reads only. */
export function checkStoreFile(db: Database.Database, location: string): void {
  const { applicationId, version, tables } = inspect(db);
  if ((applicationId !== 0 && applicationId !== WEFT_APPLICATION_ID) || (!tables.includes('weft_schema') && tables.length > 0)) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
    throw new StoreError(location, 'foreign',
      `is an SQLite database of another application${tables.length ? ` (tables: ${shown})` : ''}, not a weft store; ` +
      'weft leaves it untouched. Point the store at another file (--store / stateStore.path).');
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(location, 'newer_schema',
      `has schema version ${version}, newer than this weft supports (${SCHEMA_VERSION}); upgrade weft or use another store file.`);
  }
}

/**
 * Brings a checked store file's schema up to date. Runs under a write lock and re-reads
 * the version there, so two processes opening a new file at once migrate it once.
 */
export function migrate(db: Database.Database): void {
  if (inspect(db).version === SCHEMA_VERSION) return;
  db.transaction(() => {
    const { version, tables } = inspect(db);
    if (!tables.includes('weft_schema')) {
      db.exec('CREATE TABLE weft_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      db.pragma(`application_id = ${WEFT_APPLICATION_ID}`);
    }
    const record = db.prepare('INSERT INTO weft_schema (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      if (m.sql) db.exec(m.sql);
      m.up?.(db);
      record.run(m.version, m.name, new Date().toISOString());
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
