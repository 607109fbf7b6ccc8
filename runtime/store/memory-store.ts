import { normalizeBlobId } from '../../protocol/index.js';
import type { BlobId, BlobType, FlowError, FlowResult, RunState } from '../../protocol/index.js';
import type { BlobStore, FlowSummary, StoredBlob } from './blob-store.js';
import { prepareBlob } from './blob-values.js';
import { ParentRunEnded } from './parent-run-ended.js';
import { mayTakeOver } from './run-ownership.js';
import type {
  ItemCounts, ItemRecord, ItemState, ListRunsFilter, OpenRunState, RunEvent, RunOwner, RunRecord, StateStore, StepRecord, Store,
  TerminalRunState,
} from './state-store.js';

interface MemoryBlob { type: BlobType; text?: string; bytes?: Uint8Array; name?: string; description?: string; createdAt: string }

interface MemoryItem { status: ItemState; input: unknown; result?: FlowResult; completedAt?: string; completionSeq?: number }

interface MemoryRun {
  record: RunRecord;
  items: (MemoryItem | undefined)[];
  /** Item indexes in completion order: entry k holds completion seq k + 1 (stale once an item finishes again). */
  completions: number[];
  steps: Map<number, Map<string, StepRecord>>;
  events: RunEvent[];
  /** Seqs count per run. */
  lastEventSeq: number;
}

const UNFINISHED: ReadonlySet<RunState> = new Set(['pending', 'running', 'paused']);
const OPEN_ITEM: ReadonlySet<ItemState> = new Set(['pending', 'running', 'paused']);

/**
 * Values are copied on the way in and out, so neither side can change the other's.
 * Plain objects and arrays (all that JSON holds) are copied by hand: several times
 * faster than structuredClone for the small results of the hot path.
 */
function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copy) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value); // Date, bytes, Map…
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
  return out as T;
}

/**
 * Blobs and run state in Maps, for `--store memory` and tests; the baseline the SQLite
 * store is measured against, so it does nothing beyond bookkeeping and isolation.
 * `transaction(fn)` only runs `fn`: there is no rollback if `fn` throws (nothing here
 * is durable, and callers treat a throwing store as broken anyway).
 */
export class MemoryStore implements BlobStore, StateStore, Store {
  readonly location = 'memory';
  readonly blobs: BlobStore = this;
  readonly state: StateStore = this;

  private readonly blobMap = new Map<BlobId, MemoryBlob>();
  private readonly flowIds: BlobId[] = [];
  private readonly runs = new Map<string, MemoryRun>();
  /** Runs in creation order (newest last). */
  private readonly runOrder: MemoryRun[] = [];
  private readonly subRuns = new Map<string, MemoryRun>();
  private readonly owners = new Map<string, RunOwner>();

  // ---- blobs ------------------------------------------------------------------------

  putBlob(data: unknown, type: BlobType): BlobId {
    const prepared = prepareBlob(data, type);
    const existing = this.blobMap.get(prepared.id);
    if (existing) {
      // The same JSON stored as `data` earlier becomes a flow now: it must be listable and runnable.
      if (prepared.type === 'flow' && existing.type === 'data') {
        existing.type = 'flow';
        existing.createdAt = new Date().toISOString();
        if (prepared.name !== undefined) existing.name = prepared.name;
        if (prepared.description !== undefined) existing.description = prepared.description;
        this.flowIds.push(prepared.id);
      }
      return prepared.id;
    }
    const createdAt = new Date().toISOString();
    if (prepared.type === 'binary') {
      this.blobMap.set(prepared.id, { type: 'binary', bytes: prepared.bytes, createdAt });
    } else {
      this.blobMap.set(prepared.id, { type: prepared.type, text: prepared.text, name: prepared.name, description: prepared.description, createdAt });
      if (prepared.type === 'flow') this.flowIds.push(prepared.id);
    }
    return prepared.id;
  }

  getBlob(id: string): StoredBlob | undefined {
    const blobId = normalizeBlobId(id);
    const blob = blobId && this.blobMap.get(blobId);
    if (!blobId || !blob) return undefined;
    const data = blob.type === 'binary' ? new Uint8Array(blob.bytes!) : JSON.parse(blob.text!);
    return { id: blobId, type: blob.type, data };
  }

  listFlows(): FlowSummary[] {
    const flows: FlowSummary[] = [];
    for (let i = this.flowIds.length - 1; i >= 0; i--) {
      const flowId = this.flowIds[i];
      const blob = this.blobMap.get(flowId)!;
      flows.push({ flowId, createdAt: blob.createdAt, ...optional('name', blob.name), ...optional('description', blob.description) });
    }
    return flows;
  }

  // ---- runs -------------------------------------------------------------------------

  transaction<T>(fn: () => T): T {
    return fn();
  }

  synced(): undefined { return undefined; }

  createRun(run: RunRecord): void {
    if (this.runs.has(run.runId)) throw new Error(`run ${run.runId} already exists`);
    const parent = run.parentRunId === undefined ? undefined : this.runs.get(run.parentRunId)?.record;
    if (parent && !UNFINISHED.has(parent.status)) throw new ParentRunEnded(parent.runId, parent.status);
    // Counters start at zero whatever the record says: addItems and the item methods keep them.
    const record: RunRecord = { ...copy(run), items: zeroCounts() };
    const entry: MemoryRun = { record, items: [], completions: [], steps: new Map(), events: [], lastEventSeq: 0 };
    this.runs.set(run.runId, entry);
    this.runOrder.push(entry);
    if (run.parentRunId !== undefined && run.subflowKey !== undefined) {
      // The newest run with a key wins: a retry replaces a failed sub-run under the same key.
      this.subRuns.set(subRunKey(run.parentRunId, run.subflowKey), entry);
    }
  }

  addItems(runId: string, startIndex: number, inputs: readonly unknown[]): void {
    const run = this.run(runId);
    for (let i = 0; i < inputs.length; i++) {
      if (run.items[startIndex + i] !== undefined) throw new Error(`item ${startIndex + i} of run ${runId} already exists`);
    }
    for (let i = 0; i < inputs.length; i++) run.items[startIndex + i] = { status: 'pending', input: copy(inputs[i]) };
    run.record.items.total += inputs.length;
    run.record.items.pending += inputs.length;
  }

  getRun(runId: string): RunRecord | undefined {
    const run = this.runs.get(runId);
    return run && copy(run.record);
  }

  listRuns(filter: ListRunsFilter = {}): RunRecord[] {
    const { status, parentRunId, flowId, flowName, offset = 0, limit = Infinity } = filter;
    const out: RunRecord[] = [];
    let skipped = 0;
    for (let i = this.runOrder.length - 1; i >= 0 && out.length < limit; i--) {
      const r = this.runOrder[i].record;
      if (status !== undefined && r.status !== status) continue;
      if ((flowId !== undefined && r.flowId !== flowId) || (flowName !== undefined && r.flowName !== flowName)) continue;
      if (parentRunId === null ? r.parentRunId !== undefined : parentRunId !== undefined && r.parentRunId !== parentRunId) continue;
      if (skipped++ < offset) continue;
      out.push(copy(r));
    }
    return out;
  }

  listUnfinishedRuns(): RunRecord[] {
    return this.runOrder.filter((r) => UNFINISHED.has(r.record.status)).map((r) => copy(r.record));
  }

  findSubRun(parentRunId: string, subflowKey: string): RunRecord | undefined {
    const run = this.subRuns.get(subRunKey(parentRunId, subflowKey));
    return run && copy(run.record);
  }

  setRunStatus(runId: string, status: OpenRunState): void {
    const record = this.open(runId)?.record;
    if (!record) return;
    record.status = status;
    delete record.completedAt;
    delete record.error;
  }

  terminate(runId: string, status: TerminalRunState, at: string, error?: FlowError): RunEvent | undefined {
    if (!this.open(runId)) return undefined;
    this.cancelItems(runId, at);
    const record = this.run(runId).record;
    record.status = status;
    record.completedAt = at;
    if (error === undefined) delete record.error;
    else record.error = copy(error);
    return this.appendTerminal({ runId, type: 'run_completed', at, data: { status } });
  }

  purgeRun(runId: string): void {
    const run = this.run(runId);
    const at = new Date().toISOString();
    this.terminate(runId, 'cancelled', at);
    run.items = [];
    run.completions = [];
    run.steps.clear();
    run.events = [];
  }

  // ---- items ------------------------------------------------------------------------

  setItemStatus(runId: string, itemIndex: number, status: 'pending' | 'running' | 'paused'): void {
    const run = this.open(runId);
    if (!run) return;
    const item = this.item(run, runId, itemIndex);
    moveCount(run.record.items, item.status, status);
    item.status = status;
    // Back to unfinished: it is no longer a result.
    item.result = undefined;
    item.completedAt = undefined;
    item.completionSeq = undefined;
  }

  finishItem(runId: string, itemIndex: number, result: FlowResult, completedAt: string): void {
    const run = this.open(runId);
    if (!run) return;
    const item = this.item(run, runId, itemIndex);
    const status = result.outcome === 'success' ? 'success' : 'failed';
    moveCount(run.record.items, item.status, status);
    item.status = status;
    item.result = copy(result);
    item.completedAt = completedAt;
    run.completions.push(itemIndex);
    item.completionSeq = run.completions.length;
  }

  cancelItems(runId: string, completedAt: string): void {
    const run = this.open(runId);
    if (!run) return;
    for (let i = 0; i < run.items.length; i++) {
      const item = run.items[i];
      if (!item || !OPEN_ITEM.has(item.status)) continue;
      moveCount(run.record.items, item.status, 'cancelled');
      item.status = 'cancelled';
      item.completedAt = completedAt;
      run.completions.push(i);
      item.completionSeq = run.completions.length;
    }
  }

  getItem(runId: string, itemIndex: number): ItemRecord | undefined {
    const item = this.runs.get(runId)?.items[itemIndex];
    return item && itemRecord(runId, itemIndex, item);
  }

  listItems(runId: string, opts: { fromIndex?: number; limit?: number; statuses?: ItemState[] } = {}): ItemRecord[] {
    const run = this.runs.get(runId);
    if (!run) return [];
    const { fromIndex = 0, limit = Infinity } = opts;
    const statuses = opts.statuses && new Set(opts.statuses);
    const out: ItemRecord[] = [];
    for (let i = Math.max(0, fromIndex); i < run.items.length && out.length < limit; i++) {
      const item = run.items[i];
      if (item && (!statuses || statuses.has(item.status))) out.push(itemRecord(runId, i, item));
    }
    return out;
  }

  listResults(runId: string, order: 'byIndex' | 'byCompletion', opts: { offset?: number; limit?: number } = {}): ItemRecord[] {
    const run = this.runs.get(runId);
    if (!run) return [];
    const { offset = 0, limit = Infinity } = opts;
    const out: ItemRecord[] = [];
    let skipped = 0;
    const take = (index: number, item: MemoryItem | undefined, seq?: number): boolean => {
      if (!item || item.completionSeq === undefined || (seq !== undefined && item.completionSeq !== seq)) return true;
      if (skipped++ >= offset) out.push(itemRecord(runId, index, item));
      return out.length < limit;
    };
    if (order === 'byIndex') {
      for (let i = 0; i < run.items.length && take(i, run.items[i]); i++);
    } else {
      for (let k = 0; k < run.completions.length && take(run.completions[k], run.items[run.completions[k]], k + 1); k++);
    }
    return out;
  }

  // ---- step journal -----------------------------------------------------------------

  startStep(runId: string, itemIndex: number, stepId: string, attempt: number, at: string): void {
    const steps = this.stepsOf(runId, itemIndex);
    if (!steps) return;
    const answers = steps.get(stepId)?.answers;
    steps.set(stepId, { runId, itemIndex, stepId, attempt, state: 'running', startedAt: at, ...(answers ? { answers } : {}) });
  }

  finishStep(runId: string, itemIndex: number, stepId: string, attempt: number, result: FlowResult, at: string): void {
    const steps = this.stepsOf(runId, itemIndex);
    if (!steps) return;
    const prev = steps.get(stepId);
    const startedAt = prev?.startedAt ?? at;
    const state = result.outcome === 'success' ? 'success' : 'failed';
    steps.set(stepId, { runId, itemIndex, stepId, attempt, state, result: copy(result), startedAt, finishedAt: at, ...(prev?.answers ? { answers: prev.answers } : {}) });
  }

  awaitStepInput(runId: string, itemIndex: number, stepId: string, prompt: { prompt: string; schema?: unknown }, at: string): void {
    const steps = this.stepsOf(runId, itemIndex);
    if (!steps) return;
    const prev = steps.get(stepId);
    steps.set(stepId, {
      runId, itemIndex, stepId, attempt: prev?.attempt ?? 1, state: 'awaiting_input', startedAt: prev?.startedAt ?? at, prompt: copy(prompt),
      ...(prev?.answers ? { answers: prev.answers } : {}),
    });
  }

  answerStepInput(runId: string, itemIndex: number, stepId: string, n: number, value: unknown): void {
    const step = this.stepsOf(runId, itemIndex)?.get(stepId);
    if (!step) return;
    step.answers = [...(step.answers ?? []).filter((a) => a.n !== n), { n, value: copy(value) }];
  }

  listSteps(runId: string, itemIndex?: number): StepRecord[] {
    const run = this.runs.get(runId);
    if (!run) return [];
    const indexes = itemIndex === undefined ? [...run.steps.keys()].sort((a, b) => a - b) : [itemIndex];
    const out: StepRecord[] = [];
    for (const i of indexes) {
      const steps = run.steps.get(i);
      if (!steps) continue;
      for (const stepId of [...steps.keys()].sort()) out.push(copy(steps.get(stepId)!));
    }
    return out;
  }

  // ---- events -----------------------------------------------------------------------

  appendEvent(event: Omit<RunEvent, 'seq'>): number {
    return this.open(event.runId) ? this.appendTerminal(event).seq : 0;
  }

  /** Appends without the terminal check (terminate's own run_completed). */
  private appendTerminal(event: Omit<RunEvent, 'seq'>): RunEvent {
    const run = this.run(event.runId);
    const seq = ++run.lastEventSeq;
    const stored: RunEvent = { seq, runId: event.runId, type: event.type, at: event.at };
    if (event.itemIndex !== undefined) stored.itemIndex = event.itemIndex;
    if (event.stepId !== undefined) stored.stepId = event.stepId;
    if (event.attempt !== undefined) stored.attempt = event.attempt;
    if (event.data !== undefined) stored.data = copy(event.data);
    run.events.push(stored);
    return copy(stored);
  }

  listEvents(runId: string, sinceSeq = 0, limit = Infinity): RunEvent[] {
    const events = this.runs.get(runId)?.events;
    if (!events) return [];
    // Seqs ascend within a run: binary-search the first one after `sinceSeq`.
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (events[mid].seq <= sinceSeq) lo = mid + 1;
      else hi = mid;
    }
    return events.slice(lo, lo + Math.min(limit, events.length)).map(copy);
  }

  // ---- ownership --------------------------------------------------------------------

  claimRun(runId: string, owner: RunOwner): boolean {
    const holder = this.owners.get(runId);
    if (holder && !mayTakeOver(holder, owner)) return false;
    this.owners.set(runId, { id: owner.id, pid: owner.pid, host: owner.host, ...(owner.started ? { started: owner.started } : {}) });
    return true;
  }

  releaseRuns(ownerId: string): void {
    for (const [runId, holder] of this.owners) if (holder.id === ownerId) this.owners.delete(runId);
  }

  close(): void {
    // Nothing to flush; the data goes with the process.
  }

  // ---- helpers ----------------------------------------------------------------------

  private run(runId: string): MemoryRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`unknown run ${runId}`);
    return run;
  }

  /** The run if it is not terminal (undefined: writes to it are no-ops); throws for an unknown run. */
  private open(runId: string): MemoryRun | undefined {
    const run = this.run(runId);
    return UNFINISHED.has(run.record.status) ? run : undefined;
  }

  private item(run: MemoryRun, runId: string, itemIndex: number): MemoryItem {
    const item = run.items[itemIndex];
    if (!item) throw new Error(`unknown item ${itemIndex} of run ${runId}`);
    return item;
  }

  /** The steps of an item of an unfinished run (undefined: the run is terminal). */
  private stepsOf(runId: string, itemIndex: number): Map<string, StepRecord> | undefined {
    const run = this.open(runId);
    if (!run) return undefined;
    let steps = run.steps.get(itemIndex);
    if (!steps) run.steps.set(itemIndex, (steps = new Map()));
    return steps;
  }
}

export function zeroCounts(): ItemCounts {
  return { total: 0, pending: 0, running: 0, paused: 0, success: 0, failed: 0, cancelled: 0 };
}

function moveCount(counts: ItemCounts, from: ItemState, to: ItemState): void {
  counts[from]--;
  counts[to]++;
}

function itemRecord(runId: string, itemIndex: number, item: MemoryItem): ItemRecord {
  const record: ItemRecord = { runId, itemIndex, status: item.status, input: copy(item.input) };
  if (item.result !== undefined) record.result = copy(item.result);
  if (item.completedAt !== undefined) record.completedAt = item.completedAt;
  if (item.completionSeq !== undefined) record.completionSeq = item.completionSeq;
  return record;
}

const subRunKey = (parentRunId: string, subflowKey: string): string => `${parentRunId}\u0000${subflowKey}`;

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
