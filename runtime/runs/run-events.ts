import type { RunEvent } from '../store/state-store.js';

export type RunEventListener = (event: RunEvent) => void;

/**
 * Fans committed run events out to live listeners: per run (event streams, Run.events())
 * and global (rt.on('progress')). Events reach listeners only after they are persisted,
 * so a reader that reconnects with `since` never sees an event that could be lost.
 */
export class RunEventHub {
  private readonly byRun = new Map<string, Set<RunEventListener>>();
  private readonly global = new Set<RunEventListener>();

  emit(event: RunEvent): void {
    const listeners = this.byRun.get(event.runId);
    if (listeners) for (const l of [...listeners]) safely(l, event);
    for (const l of [...this.global]) safely(l, event);
  }

  onRun(runId: string, listener: RunEventListener): () => void {
    let set = this.byRun.get(runId);
    if (!set) this.byRun.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byRun.delete(runId);
    };
  }

  onAll(listener: RunEventListener): () => void {
    this.global.add(listener);
    return () => this.global.delete(listener);
  }

  /** Whether anyone listens to this run's events (directly or to all runs). */
  hasListeners(runId: string): boolean { return this.byRun.has(runId) || this.global.size > 0; }

  get hasGlobalListeners(): boolean { return this.global.size > 0; }
}

function safely(listener: RunEventListener, event: RunEvent): void {
  try {
    listener(event);
  } catch (error) {
    // A listener's bug must not stop the run or the other listeners.
    console.error(`weft: run event listener threw: ${(error as Error).message}`);
  }
}
