import type pg from 'pg';
import type { AsyncStore } from './async-state-store.js';
import { connectPostgres, type PostgresConnectOptions } from './postgres-connect.js';
import { PostgresBlobStore } from './postgres-blob-store.js';
import { migratePostgres } from './postgres-migrations.js';
import { PostgresStateStore } from './postgres-state-store.js';

/** Blobs and run state in a PostgreSQL database (schema `weft`), migrated on open. */
export class PostgresStore implements AsyncStore {
  readonly blobs: PostgresBlobStore;
  readonly state: PostgresStateStore;
  private closed = false;

  private constructor(private readonly pool: pg.Pool, readonly location: string) {
    this.blobs = new PostgresBlobStore(pool);
    this.state = new PostgresStateStore(pool, location);
  }

  /** Connects (retrying a server that is not up yet), and brings the schema up to date. */
  static async open(url: string, options: PostgresConnectOptions = {}): Promise<PostgresStore> {
    const { pool, location } = await connectPostgres(url, options);
    try {
      await migratePostgres(pool, location);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresStore(pool, location);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.state.cluster.close();
    await this.pool.end();
  }
}
