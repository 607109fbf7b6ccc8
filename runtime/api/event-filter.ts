import type { RunEvent, RunEventType } from '../store/state-store.js';

/** Every event type, in the order a run usually produces them. */
export const RUN_EVENT_TYPES = [
  'run_created', 'run_status', 'item_started', 'step_started', 'step_output', 'step_awaiting_input', 'input_received',
  'sub_run_created', 'step_completed', 'step_failed', 'item_completed', 'run_completed',
] as const satisfies readonly RunEventType[];

/** Which events of a run a reader wants; every field narrows, an absent one keeps all. */
export interface EventFilter {
  /** Only these types. */
  types?: readonly RunEventType[];
  /** Only this stream's chunks (step_output); other events are not affected. */
  stream?: string;
  /** Only this item's events, and the run's own (run_created, run_status, run_completed). */
  itemIndex?: number;
  /** Only chunks whose index in their stream is at least this; other events are not affected. */
  startIndex?: number;
}

/** The filter as a predicate; undefined when it keeps everything (no per-event call then). */
export function eventPredicate(filter: EventFilter): ((event: RunEvent) => boolean) | undefined {
  const { types, stream, itemIndex, startIndex } = filter;
  if (!types && stream === undefined && itemIndex === undefined && !startIndex) return undefined;
  const typeSet = types ? new Set<string>(types) : undefined;
  return (event) => {
    if (typeSet && !typeSet.has(event.type)) return false;
    if (itemIndex !== undefined && event.itemIndex !== undefined && event.itemIndex !== itemIndex) return false;
    if (event.type === 'step_output' && (stream !== undefined || startIndex)) {
      const data = event.data as { stream?: string; index?: number } | undefined;
      if (stream !== undefined && data?.stream !== stream) return false;
      if (startIndex && (data?.index ?? 0) < startIndex) return false;
    }
    return true;
  };
}

/** The events of `source` that `keep` accepts (all of them when it is undefined). */
export function filterEvents(source: AsyncIterableIterator<RunEvent>, keep: ((event: RunEvent) => boolean) | undefined): AsyncIterableIterator<RunEvent> {
  if (!keep) return source;
  const iterator: AsyncIterableIterator<RunEvent> = {
    [Symbol.asyncIterator]() { return iterator; },
    async next() {
      for (;;) {
        const r = await source.next();
        if (r.done || keep(r.value)) return r;
      }
    },
    return: () => source.return?.() ?? Promise.resolve({ value: undefined, done: true }),
  };
  return iterator;
}
