// Helpers of the cluster figures (issue 15): `weft worker` processes started from the built
// CLI, as a user starts them, and a database of their own on the bench's PostgreSQL.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_DIR } from './common.mjs';

const WEFT_BIN = join(REPO_DIR, 'bin', 'weft.js');

/**
 * A fresh database on the server of `url` (dropped by drop()), so executors and runs of
 * earlier figures are not in the way; `url` itself when it may not create one.
 */
export async function freshDatabase(url) {
  const name = `weft_bench_cluster_${process.pid}_${Date.now() % 1e6}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch {
    await admin.end();
    return { url, drop: async () => {} };
  }
  const dbUrl = url.replace(/(postgres(?:ql)?:\/\/[^/]*\/)[^?]*/, `$1${name}`);
  if (dbUrl === url) {
    // A URL without a database path: keep to its default database.
    await admin.query(`DROP DATABASE ${name}`);
    await admin.end();
    return { url, drop: async () => {} };
  }
  return {
    url: dbUrl,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}

/** The cluster section every process of a figure uses (the submitter overrides capacity). */
export function clusterSettings({ leaseTtlSecs = 10, heartbeatSecs = 1, pollSecs = 0.25 } = {}) {
  return { leaseTtlSecs, heartbeatSecs, pollSecs };
}

/**
 * `weft worker --capacity N --store url`, in a directory whose config has only builtins and
 * the cluster section: the runs it claims bring their own config (the submitter's, with the
 * bench component server), started on the first claim.
 */
export function startWorker(url, { capacity = 64, cluster = clusterSettings() } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-worker-'));
  writeFileSync(join(dir, 'weft.config.yml'), [
    'plugins:', '  builtin: {type: builtin}',
    'routes:', '  "/builtin/{*component}": [{plugin: builtin}]',
    `cluster: ${JSON.stringify(cluster)}`,
  ].join('\n'));
  const child = spawn(process.execPath, [WEFT_BIN, 'worker', '--capacity', String(capacity), '--store', url], {
    cwd: dir, env: { ...process.env, WEFT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d) => { out += d.toString(); if (out.length > 1 << 20) out = out.slice(-(1 << 19)); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const worker = {
    child, pid: child.pid, exited, output: () => out,
    /** Resolves once the worker has joined (its executor id), rejects if it exits first. */
    joined: async (ms = 30_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const m = /weft worker: executor (\S+) executing runs of/.exec(out);
        if (m) return m[1];
        if (child.exitCode !== null || Date.now() > end) throw new Error(`weft worker did not join (exit ${child.exitCode}):\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** SIGTERM: a clean leave (its items go back to the queue at once). */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) { child.kill('SIGCONT'); child.kill('SIGTERM'); }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) { child.kill('SIGCONT'); child.kill('SIGKILL'); }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return worker;
}
