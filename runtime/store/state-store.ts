import type { BlobId, FlowError, FlowResult, RunState } from '../../protocol/index.js';
import type { BlobStore } from './blob-store.js';

export type ItemState = 'pending' | 'running' | 'paused' | 'success' | 'failed' | 'cancelled';
export type StepState = 'running' | 'success' | 'failed' | 'awaiting_input';

export interface ItemCounts {
  total: number; pending: number; running: number; paused: number; success: number; failed: number; cancelled: number;
}

export interface RunRecord {
  runId: string;
  flowId: BlobId;
  flowName?: string;
  flowLabel?: string;
  status: RunState;
  createdAt: string;
  completedAt?: string;
  /** Set when a run fails as a whole (e.g. its flow blob is gone), not per item. */
  error?: FlowError;
  /** Nesting: the run, item and step that submitted this one (absent for root runs). */
  parentRunId?: string;
  parentItemIndex?: number;
  parentStepId?: string;
  subflowKey?: string;
  rootRunId: string;
  depth: number;
  maxConcurrency?: number;
  overrides?: unknown;
  variables?: Record<string, unknown>;
  /** Fork: the run whose journaled step results seed this one, and from which step on they are redone. */
  forkOf?: { runId: string; fromStep: string };
  /**
   * What the run needs to continue anywhere: the config (plugins, routes) it was submitted
   * with, as a content-addressed blob, and the working directory its servers ran in.
   */
  configId?: BlobId;
  workingDirectory?: string;
  /** `creator`: only the process that created the run executes its items (a shared store), until that process is declared dead. */
  affinity?: 'creator';
  items: ItemCounts;
}

export interface ItemRecord {
  runId: string;
  itemIndex: number;
  status: ItemState;
  input: unknown;
  result?: FlowResult;
  completedAt?: string;
  /** Monotonic per run: the order items finished in (for resultOrder byCompletion). */
  completionSeq?: number;
  /** A shared store: the executor holding the item now, and how many times it was claimed. */
  owner?: string;
  attempt?: number;
}

/** The journal of one step of one item: its latest attempt and, once finished, its result. */
export interface StepRecord {
  runId: string;
  itemIndex: number;
  stepId: string;
  attempt: number;
  state: StepState;
  result?: FlowResult;
  startedAt: string;
  finishedAt?: string;
  /** For `awaiting_input`: what the human is asked for. */
  prompt?: { prompt: string; schema?: unknown };
  /** Human answers given to this step, the n-th `awaitInput` call of the step getting answer `n`. */
  answers?: StepAnswer[];
}

export interface StepAnswer { n: number; value: unknown }

export type RunEventType =
  | 'run_created' | 'run_status'
  | 'item_started' | 'item_completed'
  | 'step_started' | 'step_completed' | 'step_failed' | 'step_awaiting_input'
  | 'sub_run_created' | 'input_received'
  | 'step_output'
  | 'run_completed';

/** A persisted, sequenced event of one run: the log that event streams replay. */
export interface RunEvent {
  /** Counts per run (1, 2, …, in commit order): `since` and Last-Event-ID are positions in one run's log. */
  seq: number;
  runId: string;
  type: RunEventType;
  at: string;
  itemIndex?: number;
  stepId?: string;
  attempt?: number;
  data?: Record<string, unknown>;
}

export interface ListRunsFilter {
  status?: RunState;
  /** Only runs of this exact flow version. */
  flowId?: string;
  /** Only runs of flows with this name (every version). */
  flowName?: string;
  parentRunId?: string | null;
  limit?: number;
  offset?: number;
}

export type OpenRunState = 'pending' | 'running' | 'paused';
export type TerminalRunState = 'success' | 'failed' | 'cancelled';

/**
 * Runs, items, the step journal and events. All writes are synchronous and cheap;
 * callers group them with `transaction` (one commit per group: "group commit").
 * A write that has returned from a committed `transaction` survives a process kill.
 *
 * A terminal run (success, failed, cancelled) is immutable: every write to it or to its
 * items, steps and events (setRunStatus, item and step changes, appendEvent, terminate)
 * is a no-op, not an error, so a late write from a component, another process or a
 * purge race changes nothing and fails nothing. Writes naming a run that never existed
 * still throw.
 */
export interface StateStore {
  /**
   * Runs `fn` as one transaction. It is durable when this returns, unless `deferSync` is
   * set: then it survives a process kill at once, and a power cut once `synced()` settles.
   */
  transaction<T>(fn: () => T, options?: { deferSync?: boolean }): T;
  /**
   * Settles when every transaction committed so far survives a power cut; `undefined`
   * when they already do (nothing deferred, or a store that does not sync).
   */
  synced(): Promise<void> | undefined;

  // runs
  /**
   * Throws if the id exists, and ParentRunEnded if the run's parent has ended. `run.items` is
   * ignored: counters start at zero and follow the item methods.
   */
  createRun(run: RunRecord): void;
  /** Appends item inputs (status pending) starting at `startIndex`; callers may chunk huge batches. */
  addItems(runId: string, startIndex: number, inputs: readonly unknown[]): void;
  getRun(runId: string): RunRecord | undefined;
  listRuns(filter?: ListRunsFilter): RunRecord[];
  /** Runs whose status is pending, running or paused (for recovery). */
  listUnfinishedRuns(): RunRecord[];
  /** The newest run submitted under `parentRunId` with `subflowKey` (a retry may have replaced a failed one). */
  findSubRun(parentRunId: string, subflowKey: string): RunRecord | undefined;
  /**
   * Moves an unfinished run between open statuses (completedAt and error are cleared).
   * A no-op on a terminal run: a finished run stays finished.
   */
  setRunStatus(runId: string, status: OpenRunState): void;
  /**
   * Ends a run, in one transaction: its open items become cancelled, status, completedAt
   * and error are set, and its `run_completed` event is appended. Returns that event; a
   * no-op returning undefined when the run is already terminal (whoever ended it first wins).
   */
  terminate(runId: string, status: TerminalRunState, at: string, error?: FlowError): RunEvent | undefined;
  /**
   * Deletes a run's items, steps and events (cancel with purge). The run row stays: a
   * finished run keeps its status, an unfinished one is terminated as cancelled first.
   */
  purgeRun(runId: string): void;

  // items (counters in RunRecord.items are kept in step by these)
  setItemStatus(runId: string, itemIndex: number, status: 'pending' | 'running' | 'paused'): void;
  finishItem(runId: string, itemIndex: number, result: FlowResult, completedAt: string): void;
  /** Marks every pending/running/paused item cancelled. */
  cancelItems(runId: string, completedAt: string): void;
  getItem(runId: string, itemIndex: number): ItemRecord | undefined;
  /** Items in index order from `fromIndex` whose status is in `statuses` (all when omitted). */
  listItems(runId: string, opts?: { fromIndex?: number; limit?: number; statuses?: ItemState[] }): ItemRecord[];
  /** Finished items (success, failed, cancelled), by index or by completion order. */
  listResults(runId: string, order: 'byIndex' | 'byCompletion', opts?: { offset?: number; limit?: number }): ItemRecord[];

  // step journal
  startStep(runId: string, itemIndex: number, stepId: string, attempt: number, at: string): void;
  finishStep(runId: string, itemIndex: number, stepId: string, attempt: number, result: FlowResult, at: string): void;
  awaitStepInput(runId: string, itemIndex: number, stepId: string, prompt: { prompt: string; schema?: unknown }, at: string): void;
  /** Records the answer to the step's `n`-th input request (kept across attempts, so a re-run gets it again). */
  answerStepInput(runId: string, itemIndex: number, stepId: string, n: number, value: unknown): void;
  listSteps(runId: string, itemIndex?: number): StepRecord[];

  // events
  /** Appends an event and returns its seq; 0 (and nothing written) when the run is terminal. */
  appendEvent(event: Omit<RunEvent, 'seq'>): number;
  listEvents(runId: string, sinceSeq?: number, limit?: number): RunEvent[];

  // ownership: two processes never run one run at once
  /** True if `owner` now holds the run (it was free, already ours, or its holder is gone). */
  claimRun(runId: string, owner: RunOwner): boolean;
  releaseRuns(ownerId: string): void;

  close(): void;
}

/**
 * A runtime process: `id` unique per process; `pid` and `started` (the process's start
 * time as the host's kernel counts it) let another process on the host tell whether it is
 * still alive, even when its pid has been reused (a container restart as PID 1).
 */
export interface RunOwner { id: string; pid: number; host: string; started?: string }

export interface Store { blobs: BlobStore; state: StateStore; close(): void; readonly location: string }
