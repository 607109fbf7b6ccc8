import { readFileSync } from 'node:fs';
import type { RunOwner } from './state-store.js';

/**
 * When the process `pid` of this host started, as the kernel counts it (Linux: field 22
 * of /proc/PID/stat, clock ticks since boot): with the pid, it names one process, so a pid
 * reused by a later process (a container restarted with weft as PID 1 again) is not taken
 * for its predecessor. `dead` for a zombie (killed, not yet reaped by its parent);
 * undefined where /proc cannot tell (another OS: the pid alone is then checked).
 */
export function processStart(pid: number): string | 'dead' | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && hasProc() ? 'dead' : undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return 'dead';
  return fields[19];
}

let procMounted: boolean | undefined;
function hasProc(): boolean {
  if (procMounted === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procMounted = true;
    } catch {
      procMounted = false;
    }
  }
  return procMounted;
}

/** This process's start, as `processStart` reads it for others (undefined where it cannot). */
export const OWN_START: string | undefined = (() => {
  const start = processStart(process.pid);
  return start === 'dead' ? undefined : start;
})();

/** True when `pid` names a live process on this host (EPERM: it exists, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that `holder` names still runs on this host: its pid is alive, is
 * not a zombie, and (when the holder recorded it) started when the holder's did.
 */
export function isOwnerAlive(holder: RunOwner): boolean {
  const start = processStart(holder.pid);
  if (start === 'dead') return false;
  if (holder.started !== undefined && start !== undefined) return start === holder.started;
  return isProcessAlive(holder.pid);
}

/**
 * Whether `claimant` may take a run held by `holder`: it is its own, or the holder's
 * process is gone from this host (even if its pid now names another process, this one
 * included). A holder on another host cannot be checked, so it keeps the run (never two
 * live processes on one run).
 */
export function mayTakeOver(holder: RunOwner, claimant: RunOwner): boolean {
  if (holder.id === claimant.id) return true;
  if (holder.host !== claimant.host) return false;
  if (holder.pid === claimant.pid) {
    // Another owner in this very process is alive, unless the pid is all they share: the
    // holder was an earlier process that had this pid (a restarted container's PID 1).
    return holder.started !== undefined && claimant.started !== undefined && holder.started !== claimant.started;
  }
  return !isOwnerAlive(holder);
}
