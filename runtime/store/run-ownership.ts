import type { RunOwner } from './state-store.js';

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
 * Whether `claimant` may take a run held by `holder`: it is its own, or the holder's
 * process is gone from this host. A holder on another host cannot be checked, so it
 * keeps the run (never two live processes on one run).
 */
export function mayTakeOver(holder: RunOwner, claimant: RunOwner): boolean {
  if (holder.id === claimant.id) return true;
  if (holder.host !== claimant.host) return false;
  if (holder.pid === claimant.pid) return false; // another owner in this very process is alive
  return !isProcessAlive(holder.pid);
}
