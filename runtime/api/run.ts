import type { ItemResult, ResultOrder, RunStatus } from '../../protocol/index.js';
import { isTerminalRunState } from '../../protocol/index.js';
import type { RunEvent } from '../store/state-store.js';
import type { RunEvent as PublicRunEvent, StepOutput } from './run-event-types.js';
import type { RunManager } from '../runs/run-manager.js';
import type { StepOutputData } from '../runs/run-outputs.js';
import { eventPredicate, filterEvents } from './event-filter.js';
import type { EventFilter } from './event-filter.js';

/** Results per page of `resultPages` by default. */
const RESULT_PAGE = 1000;

/** One chunk a step streamed, as `run.readable` / `getReadable()` yield it. */
export interface StreamChunk {
  /** The event's sequence number (a cursor for `events({since})`). */
  seq: number;
  /** Its position in its stream, from 0 (what `startIndex` counts). */
  index: number;
  stream: string;
  itemIndex: number;
  stepId: string;
  /** The step attempt that emitted it: chunks of an attempt that was later abandoned (crash, retry) keep theirs. */
  attempt: number;
  encoding: StepOutputData['encoding'];
  /** A string for text, a Uint8Array for bytes, the value for JSON. */
  chunk: unknown;
  at: string;
}

export interface ReadableOptions {
  /** Chunks from this index of their stream on (default 0). */
  startIndex?: number;
  /** One stream only (default: every stream). */
  stream?: string;
  /** One item's chunks only. */
  itemIndex?: number;
}

/**
 * A handle on one run, started here or elsewhere (same store). Every method reads the
 * store, so a handle stays valid across restarts.
 */
export class Run {
  /** @hidden Made by Runtime (submit, getRun, fork), not by users. */
  constructor(readonly id: string, private readonly runs: RunManager) {}

  /** Current status, without results. */
  status(): Promise<RunStatus> {
    return this.runs.get({ runId: this.id });
  }

  /**
   * Resolves when the run has finished (or after `timeoutSecs`), with its results by index;
   * `results: false` leaves them out (read a big run's with `resultPages`).
   */
  wait(opts: { timeoutSecs?: number; resultOrder?: ResultOrder; results?: boolean } = {}): Promise<RunStatus> {
    return this.runs.get({
      runId: this.id, wait: true, includeResults: opts.results ?? true, resultOrder: opts.resultOrder ?? 'byIndex',
      ...(opts.timeoutSecs !== undefined ? { timeoutSecs: opts.timeoutSecs } : {}),
    });
  }

  /** The finished items' results. */
  async results(opts: { order?: ResultOrder } = {}): Promise<NonNullable<RunStatus['results']>> {
    const status = await this.runs.get({ runId: this.id, includeResults: true, resultOrder: opts.order ?? 'byIndex' });
    return status.results ?? [];
  }

  /**
   * The finished items' results by index, `pageSize` (default 1000) at a time: the same
   * items as `results()`, without ever holding more than one page of them.
   */
  async *resultPages(opts: { pageSize?: number } = {}): AsyncGenerator<ItemResult[], void, undefined> {
    const pageSize = opts.pageSize ?? RESULT_PAGE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
    for (let from = 0; ;) {
      const page = await this.runs.resultPage(this.id, from, pageSize);
      if (page.length > 0) yield page;
      if (page.length < pageSize) return;
      from = page[page.length - 1].itemIndex + 1;
    }
  }

  cancel(opts: { purge?: boolean } = {}): Promise<RunStatus> {
    return this.runs.cancel(this.id, opts);
  }

  /**
   * Every event of the run in order — those already persisted, then live ones — ending
   * after `run_completed`. Any number of readers may iterate at once; `since` resumes;
   * `types`, `stream` and `itemIndex` narrow (EventFilter).
   */
  events(opts: EventFilter & { since?: number } = {}): AsyncIterableIterator<PublicRunEvent> {
    // The store's loose records, as the typed union (what the run manager writes for each type).
    return filterEvents(runEvents(this.runs, this.id, opts.since ?? 0), eventPredicate(opts)) as unknown as AsyncIterableIterator<PublicRunEvent>;
  }

  /** Every chunk the run's steps stream, persisted then live, ending when the run ends. */
  get readable(): ReadableStream<StreamChunk> {
    return this.getReadable();
  }

  /**
   * The chunks the run's steps stream (step_output events), those persisted first, then
   * live ones, closing when the run ends: every reader, early or late, gets the same ones
   * in the same order.
   */
  getReadable(opts: ReadableOptions = {}): ReadableStream<StreamChunk> {
    const events = this.events({ ...opts, types: ['step_output'] });
    return new ReadableStream<StreamChunk>({
      async pull(controller) {
        const r = await events.next();
        if (r.done) controller.close();
        else controller.enqueue(toStreamChunk(r.value as StepOutput));
      },
      async cancel() { await events.return?.(); },
    }, { highWaterMark: 0 });
  }
}

function toStreamChunk(event: StepOutput): StreamChunk {
  const d = event.data;
  return {
    seq: event.seq, index: d.index, stream: d.stream, itemIndex: event.itemIndex!, stepId: event.stepId!, attempt: event.attempt!,
    encoding: d.encoding, chunk: d.encoding === 'base64' ? new Uint8Array(Buffer.from(d.chunk as string, 'base64')) : d.chunk, at: event.at,
  };
}

const POLL_MS = 200;

/** Replays persisted events after `since`, then follows live ones until the run completes. */
export function runEvents(runs: RunManager, runId: string, since: number): AsyncIterableIterator<RunEvent> {
  const queue: RunEvent[] = [];
  let wake: (() => void) | undefined;
  let last = since;
  let done = false;
  // Subscribe before reading the backlog, then drop duplicates by seq: no gap, no repeat.
  const unlisten = runs.events.onRun(runId, (event) => {
    queue.push(event);
    wake?.();
  });
  // Another process's commits (a cluster) come as hints: then the store is read again.
  const unwatch = runs.watchRun(runId, () => wake?.());
  const unsubscribe = () => { unlisten(); unwatch(); };
  let backlogRead = false;
  const finishedAlready = async () => {
    const status = (await runs.storeState.getRun(runId))?.status;
    return status !== undefined && isTerminalRunState(status);
  };

  const iterator: AsyncIterableIterator<RunEvent> = {
    [Symbol.asyncIterator]() { return iterator; },
    async next(): Promise<IteratorResult<RunEvent>> {
      for (;;) {
        if (done) return { value: undefined, done: true };
        if (!backlogRead) {
          // Read once durable (RunManager.durable); live events queued meanwhile are either
          // in it or newer, and repeats are dropped by seq below.
          backlogRead = true;
          await runs.durable();
          queue.unshift(...await runs.storeState.listEvents(runId, since));
        }
        const event = queue.shift();
        if (event) {
          if (event.seq <= last) continue;
          // A live event past a gap: in a cluster the events between were committed by other
          // processes (this one tells only its own, e.g. run_completed when it sees the run
          // end): read them from the store first, or they would be skipped as older than it.
          if (event.seq > last + 1 && !runs.executesAlone(runId)) {
            await runs.durable();
            const between = (await runs.storeState.listEvents(runId, last)).filter((e) => e.seq < event.seq);
            if (between.length > 0) { queue.unshift(...between, event); continue; }
          }
          last = event.seq;
          if (event.type === 'run_completed') { done = true; unsubscribe(); }
          return { value: event, done: false };
        }
        if (!runs.executesAlone(runId)) {
          // Not executed by this process alone (finished, or run by others too): read the store.
          // Status first: the terminal status commits with run_completed, so if it is
          // terminal now, the events read next include the end.
          await runs.durable();
          const finished = await finishedAlready();
          const rest = await runs.storeState.listEvents(runId, last);
          if (rest.length > 0) { queue.push(...rest); continue; }
          if (finished) { done = true; unsubscribe(); return { value: undefined, done: true }; }
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (!runs.executesAlone(runId)) setTimeout(resolve, POLL_MS).unref();
        });
        wake = undefined;
      }
    },
    async return(): Promise<IteratorResult<RunEvent>> {
      done = true;
      unsubscribe();
      wake?.();
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
