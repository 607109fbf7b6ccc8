// A PostgreSQL server for the bench's _pg figures: WEFT_DATABASE_URL when set, else a
// throwaway cluster from Debian's binaries (initdb + postgres, as the postgres user when
// run as root; Unix socket in a temp dir; fsync on, as a real server), removed after.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

function binDir() {
  if (process.env.WEFT_PG_BIN) return process.env.WEFT_PG_BIN;
  const root = '/usr/lib/postgresql';
  const v = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))).sort((a, b) => b - a)[0] : undefined;
  return v ? join(root, v, 'bin') : undefined;
}

/** `{ url, stop() }`, or undefined (with the reason) when there is no server to use. */
export async function benchPostgres() {
  if (process.env.WEFT_DATABASE_URL) return { url: process.env.WEFT_DATABASE_URL, stop: async () => {} };
  const bin = binDir();
  if (!bin) return { reason: 'no PostgreSQL binaries (apt-get install postgresql) and no WEFT_DATABASE_URL' };
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-pg-'));
  const root = userInfo().uid === 0;
  const as = (cmd, argv) => (root ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', join(bin, cmd), ...argv]] : [join(bin, cmd), argv]);
  if (root) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres']).stdout), Number(spawnSync('id', ['-g', 'postgres']).stdout));
  const init = spawnSync(...as('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']), { encoding: 'utf8' });
  if (init.status !== 0) return { reason: `initdb failed: ${init.stderr}` };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(...as('postgres', ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=']), { stdio: 'ignore' });
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  for (let i = 0; ; i++) {
    const c = new pg.Client({ connectionString: url });
    try { await c.connect(); await c.end(); break; } catch (error) {
      if (i > 300 || server.exitCode !== null) return { reason: `postgres did not start: ${error.message}` };
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    stop: async () => {
      await new Promise((done) => { server.once('exit', done); server.kill('SIGINT'); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
