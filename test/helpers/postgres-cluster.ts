import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';

/** Debian's PostgreSQL binaries (package `postgresql`, newest version installed); override with WEFT_PG_BIN. */
export const PG_BIN = process.env.WEFT_PG_BIN ?? newestDebianBin();

function newestDebianBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0] ?? '15', 'bin');
}
const hasBinaries = existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'postgres'));

if (!hasBinaries && process.env.CI === 'true') {
  throw new Error(`PostgreSQL binaries not found in ${PG_BIN}: under CI=true the PostgreSQL suites must run (.ci/run installs the postgresql package)`);
}

/** True when the PostgreSQL suites can run here; otherwise they skip with one warning line. */
export const postgresAvailable = hasBinaries;
let warned = false;
export function warnIfNoPostgres(suite: string): void {
  if (postgresAvailable || warned) return;
  warned = true;
  console.warn(`skipping ${suite} on PostgreSQL: no initdb/postgres in ${PG_BIN} (apt-get install postgresql, or set WEFT_PG_BIN)`);
}

/**
 * A throwaway PostgreSQL cluster: `initdb` into a temp dir, the server a direct child of
 * this process (so a SIGKILL leaves no zombie holding postmaster.pid), listening only on a
 * Unix socket in that dir. Root may not run postgres, so as root both run as `postgres`.
 */
export class PostgresCluster {
  private child: ChildProcess | undefined;
  private nextDb = 0;

  private constructor(readonly dir: string, readonly port: number) {}

  static async start(): Promise<PostgresCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'weft-pg-'));
    const asRoot = userInfo().uid === 0;
    if (asRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
    const cluster = new PostgresCluster(dir, await freePort());
    const init = spawnSync(...cluster.command('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']), { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
    await cluster.startServer();
    return cluster;
  }

  /** Connection URL of database `db` over the Unix socket. */
  url(db = 'postgres', user = 'postgres'): string {
    return `postgres://${user}@/${db}?host=${encodeURIComponent(this.dir)}&port=${this.port}`;
  }

  /** A new, empty database; returns its URL. */
  async createDatabase(): Promise<string> {
    const name = `weft_test_${this.nextDb++}`;
    await this.sql(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** Runs one statement as the superuser against `db`. */
  async sql(text: string, db = 'postgres'): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.url(db) });
    await client.connect();
    try { return await client.query(text); } finally { await client.end(); }
  }

  /**
   * Stops the server, leaving the data directory for `startServer`: `fast` (SIGINT: clients
   * disconnected, a checkpoint) or `immediate` (SIGQUIT: no checkpoint, WAL recovery at start).
   */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((done) => { child.once('exit', () => done()); child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT'); });
  }

  /** SIGKILLs the server (a crash: no shutdown checkpoint); `startServer` then recovers from the WAL. */
  async killServer(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((done) => { child.once('exit', () => done()); child.kill('SIGKILL'); });
  }

  async startServer(): Promise<void> {
    const args = ['-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=', '-c', 'fsync=on'];
    const [cmd, argv] = this.command('postgres', args);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => { if (log.length < 10_000) log += chunk.toString(); });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited at start: ${log}`);
      try { await this.sql('SELECT 1'); return; } catch (error) {
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections in 15 s: ${(error as Error).message}\n${log}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  async stop(): Promise<void> {
    await this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private command(bin: string, args: string[]): [string, string[]] {
    const path = join(PG_BIN, bin);
    if (userInfo().uid !== 0) return [path, args];
    return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', path, ...args]];
  }
}

function uidOf(user: string): number { return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim()); }
function gidOf(user: string): number { return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim()); }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * One cluster for the calling test file, started on first use and stopped after the
 * file: `database()` gives each test a fresh, empty database of it.
 */
export function sharedPostgres(): { database(): Promise<string> } {
  let started: Promise<PostgresCluster> | undefined;
  afterAll(async () => { if (started) await (await started).stop(); });
  return {
    async database() {
      started ??= PostgresCluster.start();
      return (await started).createDatabase();
    },
  };
}
