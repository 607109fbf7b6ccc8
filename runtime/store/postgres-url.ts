import { StoreError } from './store-error.js';

/** The parts of a PostgreSQL URL that name the server, for messages (never the password). */
export interface PostgresTarget { host: string; port: string; database: string; user: string }

/**
 * Checks a `postgres://` / `postgresql://` URL and returns where it points. libpq's forms
 * are accepted: `postgres://user:pw@host:5432/db`, and a Unix socket directory as
 * `postgres://user@/db?host=/run/postgresql`.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  const shown = JSON.stringify(url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@'));
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new StoreError(shown, 'open', 'is not a PostgreSQL URL: expected postgres://user:password@host:5432/database (or postgres://user@/database?host=/socket/dir)');
  }
  let parsed: URL;
  try {
    // An empty host (socket in `?host=`) is valid for libpq but not for WHATWG URL.
    parsed = new URL(url.replace(/^postgres(?:ql)?:\/\/([^/?#]*@)?(?=[/?#]|$)/i, (_m, auth: string | undefined) => `postgres://${auth ?? ''}localhost`));
  } catch {
    throw new StoreError(shown, 'open', 'is not a valid URL: expected postgres://user:password@host:5432/database');
  }
  const socketDir = parsed.searchParams.get('host');
  return {
    host: socketDir ?? (parsed.hostname || 'localhost'),
    port: parsed.searchParams.get('port') ?? (parsed.port || '5432'),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
    user: decodeURIComponent(parsed.username) || process.env.PGUSER || 'postgres',
  };
}

/** `postgres://user@host:port/db`: the store's location in messages and `Store.location`. */
export function describePostgresTarget(t: PostgresTarget): string {
  return `postgres://${t.user}@${t.host}:${t.port}/${t.database}`;
}
