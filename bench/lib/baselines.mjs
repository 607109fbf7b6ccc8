// The baseline scripts of ../shared/bench/baselines, run from a cached copy with its own
// node_modules (that folder is read-only and is not part of this project): copied to
// <tmpdir>/weft-bench-baselines-<hash of its package-lock.json>, `npm ci` once there.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_DIR } from './common.mjs';

export const SHARED_BASELINES = resolve(REPO_DIR, '..', 'shared', 'bench', 'baselines');

/** The ready-to-run copy's directory, or undefined (with the reason) when the shared folder is missing. */
export function prepareBaselines(log) {
  if (!existsSync(join(SHARED_BASELINES, 'package-lock.json'))) {
    return { reason: `no baselines at ${SHARED_BASELINES}: weft figures are printed with baseline: null` };
  }
  const hash = createHash('sha256').update(readFileSync(join(SHARED_BASELINES, 'package-lock.json'))).digest('hex').slice(0, 12);
  const dir = process.env.WEFT_BENCH_BASELINES_CACHE ?? join(tmpdir(), `weft-bench-baselines-${hash}`);
  // Scripts are copied on every run (cheap, and picks up edits); node_modules is kept.
  cpSync(SHARED_BASELINES, dir, { recursive: true, force: true, filter: (src) => !src.includes('node_modules') });
  makeWritable(dir);
  const marker = join(dir, 'node_modules', '.weft-bench-installed');
  if (!existsSync(marker)) {
    log(`# installing baseline dependencies in ${dir} (once)`);
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(marker, hash);
  }
  return { dir };
}

function makeWritable(dir) {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) makeWritable(p); else chmodSync(p, 0o644);
  }
}
