import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { WEFT_BIN } from '../helpers/weft-process.js';

// Every input and result of every run sits in .weft/weft.db: with the usual umask 022 the
// folder, the database and its WAL were created readable by every user of the machine.
describe('the SQLite store and .weft/', () => {
  it('are created readable by their owner only, whatever the umask', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'flow.yaml'), 'schema: https://stepflow.org/schemas/v1/flow.json\nsteps: []\noutput: {echo: {$input: x}}\n');
    const run = spawnSync('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, WEFT_BIN, 'run', 'flow.yaml', '--input', '{"x":1}'],
      { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const mode = (path: string) => (statSync(join(dir, path)).mode & 0o777).toString(8);
    expect(mode('.weft')).toBe('700');
    expect(mode('.weft/weft.db')).toBe('600');
    // The WAL and shared-memory files exist while the store is open; SQLite keeps them after a
    // WAL-mode close only if it could not checkpoint, so open it again from a second process.
    const holder = spawnSync(process.execPath, ['-e', `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(join(dir, '.weft/weft.db'))});
      db.pragma('journal_mode = WAL');
      db.prepare('CREATE TABLE IF NOT EXISTS t19 (x)').run();
      const fs = require('fs');
      process.stdout.write(['-wal', '-shm'].map((s) => (fs.statSync(db.name + s).mode & 0o777).toString(8)).join(' '));
      db.close();`], { cwd: process.cwd(), encoding: 'utf8' });
    expect(holder.stderr).toBe('');
    expect(holder.stdout).toBe('600 600');
  });
});
