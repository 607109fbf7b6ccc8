import type { FlowError, FlowResult } from '../../protocol/index.js';
import type { OpenRunState, RunEvent, RunRecord, TerminalRunState } from './state-store.js';
import type { ClaimedItem, ClaimRequest } from './cluster-store.js';

/** One write of a group commit; the same writes as `StateStore`'s methods, as data. */
export type StoreWrite =
  | { op: 'createRun'; run: RunRecord }
  | { op: 'addItems'; runId: string; startIndex: number; inputs: readonly unknown[] }
  | { op: 'setRunStatus'; runId: string; status: OpenRunState }
  | { op: 'terminate'; runId: string; status: TerminalRunState; at: string; error?: FlowError }
  | { op: 'purgeRun'; runId: string }
  | { op: 'setItemStatus'; runId: string; itemIndex: number; status: 'pending' | 'running' | 'paused' }
  | { op: 'finishItem'; runId: string; itemIndex: number; result: FlowResult; completedAt: string }
  | { op: 'cancelItems'; runId: string; completedAt: string }
  | { op: 'startStep'; runId: string; itemIndex: number; stepId: string; attempt: number; at: string }
  | { op: 'finishStep'; runId: string; itemIndex: number; stepId: string; attempt: number; result: FlowResult; at: string }
  | { op: 'awaitStepInput'; runId: string; itemIndex: number; stepId: string; prompt: { prompt: string; schema?: unknown }; at: string }
  | { op: 'answerStepInput'; runId: string; itemIndex: number; stepId: string; n: number; value: unknown }
  | { op: 'appendEvent'; event: Omit<RunEvent, 'seq'> };

/**
 * Everything one group commit writes, in the order it was written: step starts and
 * results, item status changes and results, run status changes, events. A store applies
 * a batch atomically and as if in this order (it may merge writes that commute, e.g. the
 * last status of an item wins), with `StateStore`'s rules: writes to a terminal run are
 * no-ops, so those after a `terminate` of their run are dropped. Built with the same calls
 * as `StateStore`'s writes.
 */
export class StoreBatch {
  readonly writes: StoreWrite[] = [];
  /**
   * A shared store: also claim up to `max` pending items for this executor in the same
   * transaction (the commit of finished items takes the next ones; an idle executor commits
   * a batch with nothing but its claim). Stores of one process ignore it.
   */
  claim?: ClaimRequest;
  /**
   * With `claim`: called inside the transaction once its claimed items are known, before it
   * commits; the writes it answers (those items' first step starts) commit with the claim,
   * so an item needs no commit of its own between its claim and its first request. Called
   * for one attempt at most: a store that retries the batch after calling it retries it
   * without `claim` and without this (the caller learns it from the receipt's `claimed`).
   */
  started?: (claimed: ClaimedItem[]) => Promise<StoreWrite[]>;

  get size(): number { return this.writes.length; }

  createRun(run: RunRecord): this { return this.push({ op: 'createRun', run }); }
  addItems(runId: string, startIndex: number, inputs: readonly unknown[]): this { return this.push({ op: 'addItems', runId, startIndex, inputs }); }
  setRunStatus(runId: string, status: OpenRunState): this { return this.push({ op: 'setRunStatus', runId, status }); }
  terminate(runId: string, status: TerminalRunState, at: string, error?: FlowError): this {
    return this.push({ op: 'terminate', runId, status, at, ...(error ? { error } : {}) });
  }
  purgeRun(runId: string): this { return this.push({ op: 'purgeRun', runId }); }
  setItemStatus(runId: string, itemIndex: number, status: 'pending' | 'running' | 'paused'): this { return this.push({ op: 'setItemStatus', runId, itemIndex, status }); }
  finishItem(runId: string, itemIndex: number, result: FlowResult, completedAt: string): this { return this.push({ op: 'finishItem', runId, itemIndex, result, completedAt }); }
  cancelItems(runId: string, completedAt: string): this { return this.push({ op: 'cancelItems', runId, completedAt }); }
  startStep(runId: string, itemIndex: number, stepId: string, attempt: number, at: string): this { return this.push({ op: 'startStep', runId, itemIndex, stepId, attempt, at }); }
  finishStep(runId: string, itemIndex: number, stepId: string, attempt: number, result: FlowResult, at: string): this {
    return this.push({ op: 'finishStep', runId, itemIndex, stepId, attempt, result, at });
  }
  awaitStepInput(runId: string, itemIndex: number, stepId: string, prompt: { prompt: string; schema?: unknown }, at: string): this {
    return this.push({ op: 'awaitStepInput', runId, itemIndex, stepId, prompt, at });
  }
  answerStepInput(runId: string, itemIndex: number, stepId: string, n: number, value: unknown): this {
    return this.push({ op: 'answerStepInput', runId, itemIndex, stepId, n, value });
  }
  appendEvent(event: Omit<RunEvent, 'seq'>): this { return this.push({ op: 'appendEvent', event }); }

  private push(write: StoreWrite): this { this.writes.push(write); return this; }
}

/**
 * What a commit answers: the seq of each `appendEvent` of the batch, in batch order (0 for
 * one dropped because its run is terminal), and the `run_completed` event of each
 * `terminate` (undefined when the run had already ended). `synced`, from a store that
 * shares one fsync among many commits (SQLite), settles once the batch also survives a
 * power cut; absent when the commit already does (PostgreSQL, memory).
 */
export interface CommitReceipt {
  seqs: number[];
  ended: Array<RunEvent | undefined>;
  synced?: Promise<void>;
  /** A shared store (cluster): the `run_completed` of runs this batch ended because their last item finished. */
  completed?: RunEvent[];
  /** The items the batch's `claim` took (running, held by this executor). */
  claimed?: ClaimedItem[];
}
