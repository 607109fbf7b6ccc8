// The baseline scripts of ../shared/bench/baselines and the bench-only peers of bench/peers/
// (DBOS), each run from a cached copy with its own node_modules: copied to
// <tmpdir>/<prefix>-<hash of its package-lock.json>, `npm ci` once there. Neither is a
// dependency of weft, and nothing is installed into the repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_DIR, REPO_DIR } from './common.mjs';

export const SHARED_BASELINES = resolve(REPO_DIR, '..', 'shared', 'bench', 'baselines');

/** The ready-to-run copy's directory, or undefined (with the reason) when the shared folder is missing. */
export function prepareBaselines(log) {
  if (!existsSync(join(SHARED_BASELINES, 'package-lock.json'))) {
    return { reason: `no baselines at ${SHARED_BASELINES}: weft figures are printed with baseline: null` };
  }
  return { dir: installCached(SHARED_BASELINES, 'weft-bench-baselines', log, process.env.WEFT_BENCH_BASELINES_CACHE) };
}

/** bench/peers/<name> installed (once per lock file) in a temp dir: that dir. Throws when `npm ci` fails. */
export function preparePeer(name, log) {
  return installCached(join(BENCH_DIR, 'peers', name), `weft-bench-peer-${name}`, log);
}

/** Copies `src` (without node_modules) to <tmpdir>/<prefix>-<lock hash> (or `dir`) and runs `npm ci` there the first time. */
export function installCached(src, prefix, log, dir) {
  const hash = createHash('sha256').update(readFileSync(join(src, 'package-lock.json'))).digest('hex').slice(0, 12);
  dir ??= join(tmpdir(), `${prefix}-${hash}`);
  // Scripts are copied on every run (cheap, and picks up edits); node_modules is kept.
  cpSync(src, dir, { recursive: true, force: true, filter: (p) => !p.includes('node_modules') });
  makeWritable(dir);
  const marker = join(dir, 'node_modules', '.weft-bench-installed');
  if (!existsSync(marker)) {
    log(`# installing ${src} dependencies in ${dir} (once)`);
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(marker, hash);
  }
  return dir;
}

function makeWritable(dir) {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) makeWritable(p); else chmodSync(p, 0o644);
  }
}
