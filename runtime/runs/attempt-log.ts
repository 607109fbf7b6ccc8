import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { StateStore } from '../store/state-store.js';

/** One step attempt: run id, item index, step id, attempt. */
type Entry = [string, number, string, number];

/** The file is emptied after a commit once it holds this much (a truncate per commit would cost more than the writes). */
const TRUNCATE_AT = 1 << 20;

/** The logs open in this process: any other file with this process's pid is a dead predecessor's (a container's pid 1). */
const open = new Set<string>();

/**
 * Step attempts written ahead of their requests, so that a component can be called while
 * the commit that journals the attempt runs beside it. A kill never repeats an attempt
 * number because the attempt reached the OS (a plain append, no fsync) before the
 * request left the process: a plugin calls `writeAhead` right before writing (the
 * NDJSON writer's flush). Lines a commit has journaled are no longer needed; the file
 * is emptied after a commit once it reaches TRUNCATE_AT. One
 * file per process and run manager, beside the database; `recoverAttemptLogs` folds the
 * files of dead processes into the journal before their runs resume.
 */
export class AttemptLog {
  private fd: number | undefined;
  /** Attempts added since the last writeAhead, as lines. */
  private buffer = '';
  /** Bytes written since the file was last emptied (all journaled once a commit follows). */
  private size = 0;

  constructor(readonly path: string) {
    open.add(path);
  }

  add(runId: string, itemIndex: number, stepId: string, attempt: number): void {
    this.buffer += `${JSON.stringify([runId, itemIndex, stepId, attempt])}\n`;
  }

  /**
   * Before requests leave the process: every attempt added so far reaches the OS. Throws
   * on an I/O error, keeping the attempts (the caller commits them instead).
   */
  writeAhead(): void {
    if (this.buffer === '') return;
    this.fd ??= openSync(this.path, 'a');
    this.size += this.buffer.length; // counted first: a partial write leaves lines too
    writeSync(this.fd, this.buffer);
    this.buffer = '';
  }

  /**
   * After a commit that journaled every attempt added before it: none is needed any more.
   * The lines stay until the file reaches TRUNCATE_AT; recovery skips attempts the
   * journal already has.
   */
  committed(): void {
    this.buffer = '';
    if (this.size < TRUNCATE_AT) return;
    try {
      ftruncateSync(this.fd!, 0); // O_APPEND: the next write starts the file again
      this.size = 0;
    } catch {
      // Left as it is: only recovery reads it.
    }
  }

  /** At close, after the last commit; `remove` unless that commit failed (the file is then recovered later). */
  close(remove: boolean): void {
    open.delete(this.path);
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (remove) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }
}

/** The attempt log of a process (its pid, so that others can tell whether it is alive) for a database file. */
export function attemptLogPath(databasePath: string, pid: number, ownerId: string): string {
  return `${databasePath}-attempts-${pid}-${ownerId}`;
}

/**
 * Journals the attempts that dead processes wrote ahead but never committed: each
 * raises its step's attempt (a step start, as if journaled) and marks a pending item
 * running, so that resuming runs it again with the next attempt. Then the file goes.
 * Files of live processes are left alone. Returns how many files were folded in.
 */
export function recoverAttemptLogs(databasePath: string, state: StateStore): number {
  const prefix = `${basename(databasePath)}-attempts-`;
  let names: string[];
  try {
    names = readdirSync(dirname(databasePath)).filter((name) => name.startsWith(prefix));
  } catch {
    return 0;
  }
  let folded = 0;
  for (const name of names) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    const path = join(dirname(databasePath), name);
    if (!Number.isInteger(pid) || open.has(path) || (pid !== process.pid && isAlive(pid))) continue;
    const entries = readEntries(path);
    const at = new Date().toISOString();
    state.transaction(() => {
      for (const [runId, itemIndex, stepId, attempt] of entries) {
        const item = state.getItem(runId, itemIndex);
        if (!item) continue; // purged, or another store's run
        const journaled = state.listSteps(runId, itemIndex).find((s) => s.stepId === stepId);
        if (journaled && journaled.attempt >= attempt) continue;
        if (item.status === 'pending') state.setItemStatus(runId, itemIndex, 'running');
        state.startStep(runId, itemIndex, stepId, attempt, at);
      }
    });
    unlinkSync(path);
    folded++;
  }
  return folded;
}

function readEntries(path: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      entries.push(JSON.parse(line) as Entry);
    } catch {
      // A line cut short by the kill: its request was never written either.
    }
  }
  return entries;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
