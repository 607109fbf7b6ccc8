import pg from 'pg';
import { StoreError } from './store-error.js';
import { describePostgresTarget, parsePostgresUrl } from './postgres-url.js';

export interface PostgresConnectOptions {
  /** How long a server that does not answer yet is retried, with backoff (default 10 s). */
  retryForMs?: number;
  /** Pool size (default 4). */
  maxConnections?: number;
  /** Told before each wait for a server that does not answer yet (e.g. to say so on stderr). */
  onRetry?: (delayMs: number, error: Error) => void;
}

/** Connection errors worth retrying: the server is not (yet) there or is starting up. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '57P03']);

/**
 * A pool connected to `url`, checked with one round trip. A server that is down at start
 * is retried with exponential backoff (100 ms up to 2 s) for `retryForMs`; then, and for
 * a wrong URL, an unknown host, a refused login or a missing database, a StoreError names
 * the server and says what to check.
 */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<{ pool: pg.Pool; location: string }> {
  const target = parsePostgresUrl(url);
  const location = describePostgresTarget(target);
  const retryForMs = options.retryForMs ?? 10_000;
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 4, connectionTimeoutMillis: 5_000 });
  // An idle client whose server went away must not crash the process; the next query fails instead.
  pool.on('error', () => undefined);
  // Nor a checked-out one (a commit's transaction, a sweep): pg-pool drops its own error
  // listener while a client is out, and a server restart then emitted an unhandled 'error'
  // that killed the process. The query in flight, if any, still fails and is retried.
  pool.on('connect', (client) => { client.on('error', () => undefined); });
  const deadline = Date.now() + retryForMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      const client = await pool.connect();
      client.release();
      return { pool, location };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const transient = TRANSIENT.has(code) || /Connection terminated|timeout/i.test((error as Error).message);
      if (transient && Date.now() + delay < deadline) {
        options.onRetry?.(delay, error as Error);
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      await pool.end().catch(() => undefined);
      throw connectError(location, target.host, error as Error & { code?: string }, transient ? retryForMs : undefined);
    }
  }
}

function connectError(location: string, host: string, error: Error & { code?: string }, retriedMs: number | undefined): StoreError {
  const cause = { cause: error };
  switch (error.code) {
    case '28P01': case '28000':
      return new StoreError(location, 'auth', `login refused (${error.message}): check the user and password in the URL`, cause);
    case '3D000':
      return new StoreError(location, 'open', `${error.message}: create it (createdb) or name another database in the URL`, cause);
    case 'ENOTFOUND': case 'EAI_AGAIN':
      return new StoreError(location, 'unavailable', `unknown host ${JSON.stringify(host)}: check the host in the URL`, cause);
  }
  const waited = retriedMs !== undefined ? ` after retrying for ${(retriedMs / 1000).toFixed(1)} s` : '';
  return new StoreError(location, 'unavailable',
    `no PostgreSQL server answers at ${host}${waited} (${error.message}): is it running, and are the host and port right?`, cause);
}
