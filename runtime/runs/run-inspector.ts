import type { FlowError, FlowResult } from '../../protocol/index.js';
import { isTerminalRunState } from '../../protocol/index.js';
import type { LoadedFlow } from '../flow/load-flow.js';
import { evaluate } from '../flow/value-expr.js';
import type { ItemCounts, ItemRecord, ItemState, RunEvent, RunEventType, RunRecord, StepRecord, StepState } from '../store/state-store.js';
import type { AsyncStateStore } from '../store/async-state-store.js';

/** A step of one item as the debug page shows it; `pending`: not started yet, `not_run`: the item ended without it. */
export type StepView = {
  stepId: string;
  component: string;
  state: StepState | 'pending' | 'not_run';
  attempt?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** The input the step was called with, recomputed from the item's input and the journaled results it reads. */
  input?: unknown;
  /** Why `input` could not be recomputed (a value expression that fails, as the executor's would). */
  inputError?: FlowError;
  output?: unknown;
  error?: FlowError;
  prompt?: { prompt: string; schema?: unknown };
};

export interface ItemSummary {
  itemIndex: number;
  status: ItemState;
  input: unknown;
  result?: FlowResult;
  completedAt?: string;
  /**
   * A shared store (PostgreSQL): the executor that claimed the item last, which holds it
   * while it runs or is paused and ran it once it has finished; `attempt` counts its claims
   * (more than one: an executor died or left holding it).
   */
  executorId?: string;
  attempt?: number;
  /** Each started step's state, by step id. */
  steps: Record<string, StepState>;
}

export interface ItemPage { items: ItemSummary[]; counts: ItemCounts; nextFrom?: number }
export interface ItemDetail extends Omit<ItemSummary, 'steps'> { steps: StepView[] }

/** How many items are in each state at one step, over the whole run. */
export interface StepCounts {
  stepId: string;
  component: string;
  pending: number; running: number; awaiting_input: number; success: number; failed: number;
  /** The items that ended without reaching this step. */
  not_run: number;
}

export interface EventPageQuery {
  /** `newest` (default) pages backwards from the end, `oldest` forwards from the start. */
  order?: 'newest' | 'oldest';
  /** A `next` from an earlier page: events before it (newest) or after it (oldest). */
  cursor?: number;
  limit?: number;
  types?: readonly RunEventType[];
  itemIndex?: number;
  stepId?: string;
}
export interface EventPage { events: RunEvent[]; next?: number }

const WINDOW = 500;
/** Events one page request reads at most: a sparse filter over a huge log returns a short page and a cursor. */
const MAX_SCAN = 20_000;
const CACHED_RUNS = 64;

/**
 * Read-only views of one run for the debug page: items in pages, one item with its steps,
 * counts per step, and the event log paged either way and filtered. Reads only the store
 * (any process's runs); a finished run is immutable, so its step counts are kept.
 */
export class RunInspector {
  private readonly finishedCounts = new Map<string, StepCounts[]>();

  constructor(
    private readonly state: AsyncStateStore,
    private readonly loadFlow: (flowId: string, overrides: unknown) => Promise<LoadedFlow>,
  ) {}

  async items(run: RunRecord, opts: { from?: number; limit?: number; statuses?: ItemState[] } = {}): Promise<ItemPage> {
    const limit = opts.limit ?? 50;
    const page = await this.state.listItems(run.runId, { fromIndex: opts.from ?? 0, limit: limit + 1, ...(opts.statuses ? { statuses: opts.statuses } : {}) });
    const items: ItemSummary[] = [];
    for (const item of page.slice(0, limit)) {
      const steps: Record<string, StepState> = {};
      for (const s of await this.state.listSteps(run.runId, item.itemIndex)) steps[s.stepId] = s.state;
      items.push({ ...summary(item), steps });
    }
    return { items, counts: run.items, ...(page.length > limit ? { nextFrom: page[limit].itemIndex } : {}) };
  }

  async item(run: RunRecord, item: ItemRecord): Promise<ItemDetail> {
    const loaded = await this.loadFlow(run.flowId, run.overrides);
    const journal = new Map((await this.state.listSteps(run.runId, item.itemIndex)).map((s) => [s.stepId, s]));
    // What the executor's expressions saw: this run's journaled results, else a fork source's.
    const results: (FlowResult | undefined)[] = loaded.steps.map((s) => journal.get(s.id)?.result);
    if (run.forkOf) {
      for (const s of await this.state.listSteps(run.forkOf.runId, item.itemIndex)) {
        const i = loaded.stepIndex.get(s.stepId);
        if (i !== undefined && results[i] === undefined && s.result) results[i] = s.result;
      }
    }
    const env = { input: item.input, results, variables: run.variables, variableDefaults: loaded.variableDefaults };
    const ended = isTerminalItem(item.status);
    const steps = loaded.steps.map((step): StepView => {
      const record = journal.get(step.id);
      const base = { stepId: step.id, component: step.component };
      if (!record) return { ...base, state: ended ? 'not_run' : 'pending' };
      const input = evaluate(step.input, env);
      return {
        ...base, ...stepFields(record),
        ...(input.outcome === 'success' ? { input: input.result } : { inputError: input.error }),
      };
    });
    return { ...summary(item), steps };
  }

  async stepCounts(run: RunRecord): Promise<StepCounts[]> {
    const kept = this.finishedCounts.get(run.runId);
    if (kept) return kept;
    const loaded = await this.loadFlow(run.flowId, run.overrides);
    const counts = new Map(loaded.steps.map((s) => [s.id, { stepId: s.id, component: s.component, pending: 0, running: 0, awaiting_input: 0, success: 0, failed: 0, not_run: 0 }]));
    for (const s of await this.state.listSteps(run.runId)) {
      const c = counts.get(s.stepId);
      if (c) c[s.state]++;
    }
    const ended = run.items.success + run.items.failed + run.items.cancelled;
    const out = [...counts.values()];
    for (const c of out) {
      // Items that never started the step: still to come while their item is open.
      const unstarted = run.items.total - (c.running + c.awaiting_input + c.success + c.failed);
      c.not_run = Math.max(0, Math.min(unstarted, ended - c.success - c.failed));
      c.pending = unstarted - c.not_run;
    }
    if (isTerminalRunState(run.status)) {
      if (this.finishedCounts.size >= CACHED_RUNS) this.finishedCounts.delete(this.finishedCounts.keys().next().value as string);
      this.finishedCounts.set(run.runId, out);
    }
    return out;
  }

  async events(runId: string, q: EventPageQuery = {}): Promise<EventPage> {
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    const types = q.types ? new Set<string>(q.types) : undefined;
    const keep = (e: RunEvent) => (!types || types.has(e.type))
      && (q.itemIndex === undefined || e.itemIndex === q.itemIndex)
      && (q.stepId === undefined || e.stepId === q.stepId);
    const out: RunEvent[] = [];
    let scanned = 0;
    if (q.order === 'oldest') {
      let after = q.cursor ?? 0;
      for (;;) {
        const batch = await this.state.listEvents(runId, after, WINDOW);
        for (const e of batch) {
          after = e.seq;
          scanned++;
          if (keep(e) && out.push(e) === limit) return { events: out, next: e.seq };
        }
        if (batch.length < WINDOW) return { events: out };
        if (scanned >= MAX_SCAN) return { events: out, next: after };
      }
    }
    let before = q.cursor ?? (await this.lastSeq(runId)) + 1;
    while (before > 1) {
      const from = Math.max(0, before - 1 - WINDOW);
      const window = await this.eventsBetween(runId, from, before);
      for (let i = window.length - 1; i >= 0; i--) {
        const e = window[i];
        scanned++;
        if (keep(e) && out.push(e) === limit) return { events: out, ...(e.seq > 1 ? { next: e.seq } : {}) };
      }
      before = from + 1;
      if (scanned >= MAX_SCAN && before > 1) return { events: out, next: before };
    }
    return { events: out };
  }

  /** Events with `from < seq < to`, in order. */
  private async eventsBetween(runId: string, from: number, to: number): Promise<RunEvent[]> {
    const out: RunEvent[] = [];
    for (let after = from; after < to - 1;) {
      const batch = await this.state.listEvents(runId, after, Math.min(WINDOW, to - 1 - after));
      for (const e of batch) {
        if (e.seq >= to) return out;
        out.push(e);
      }
      if (batch.length === 0 || batch.at(-1)!.seq >= to - 1) return out;
      after = batch.at(-1)!.seq;
    }
    return out;
  }

  /** The run's last event seq, found with O(log n) one-event reads (the store offers no count). */
  private async lastSeq(runId: string): Promise<number> {
    const has = async (seq: number) => (await this.state.listEvents(runId, seq - 1, 1)).length > 0;
    if (!(await has(1))) return 0;
    let lo = 1, hi = 2;
    while (await has(hi)) { lo = hi; hi *= 2; }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await has(mid)) lo = mid; else hi = mid;
    }
    return (await this.state.listEvents(runId, lo - 1, 1))[0].seq;
  }
}

function summary(item: ItemRecord): Omit<ItemSummary, 'steps'> {
  return {
    itemIndex: item.itemIndex, status: item.status, input: item.input,
    ...(item.result ? { result: item.result } : {}),
    ...(item.completedAt ? { completedAt: item.completedAt } : {}),
    ...(item.owner ? { executorId: item.owner } : {}),
    ...(item.attempt ? { attempt: item.attempt } : {}),
  };
}

function stepFields(s: StepRecord): Omit<StepView, 'stepId' | 'component'> {
  const finished = s.finishedAt !== undefined;
  return {
    state: s.state, attempt: s.attempt, startedAt: s.startedAt,
    ...(finished ? { finishedAt: s.finishedAt, durationMs: Date.parse(s.finishedAt!) - Date.parse(s.startedAt) } : {}),
    ...(s.result?.outcome === 'success' ? { output: s.result.result } : {}),
    ...(s.result?.outcome === 'failed' ? { error: s.result.error } : {}),
    ...(s.prompt ? { prompt: s.prompt } : {}),
  };
}

function isTerminalItem(status: ItemState): boolean {
  return status === 'success' || status === 'failed' || status === 'cancelled';
}
