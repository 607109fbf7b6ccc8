import type { BlobId, BlobType } from '../../protocol/index.js';
import type { FlowSummary, StoredBlob } from './blob-store.js';
import type { ItemRecord, ItemState, ListRunsFilter, RunEvent, RunOwner, RunRecord, StepRecord } from './state-store.js';
import type { CommitReceipt, StoreBatch } from './store-batch.js';

/**
 * The asynchronous, batch-shaped store: what a store on another machine (PostgreSQL) can
 * honour. Writes arrive as one batch per group commit and answer one promise, settled
 * when the batch is durable; reads are pages. A backend is this interface and nothing
 * else: memory and SQLite implement it through `asyncStateStore` over their synchronous
 * form, PostgreSQL directly.
 */
export interface AsyncStateStore {
  /**
   * Applies every write of `batch` in one transaction; resolves once it survives a process
   * kill (and a power cut unless the receipt has `synced`). Rejects, applying nothing, if a
   * write is refused: a StoreError when the store itself fails, any other error for data.
   */
  commit(batch: StoreBatch): Promise<CommitReceipt>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(filter?: ListRunsFilter): Promise<RunRecord[]>;
  listUnfinishedRuns(): Promise<RunRecord[]>;
  findSubRun(parentRunId: string, subflowKey: string): Promise<RunRecord | undefined>;
  getItem(runId: string, itemIndex: number): Promise<ItemRecord | undefined>;
  listItems(runId: string, opts?: { fromIndex?: number; limit?: number; statuses?: ItemState[] }): Promise<ItemRecord[]>;
  listResults(runId: string, order: 'byIndex' | 'byCompletion', opts?: { offset?: number; limit?: number }): Promise<ItemRecord[]>;
  listSteps(runId: string, itemIndex?: number): Promise<StepRecord[]>;
  /** Events of one run with seq > `sinceSeq` (seqs count per run, from 1). */
  listEvents(runId: string, sinceSeq?: number, limit?: number): Promise<RunEvent[]>;

  claimRun(runId: string, owner: RunOwner): Promise<boolean>;
  releaseRuns(ownerId: string): Promise<void>;
}

export interface AsyncBlobStore {
  putBlob(data: unknown, type: BlobType): Promise<BlobId>;
  getBlob(id: string): Promise<StoredBlob | undefined>;
  listFlows(): Promise<FlowSummary[]>;
}

export interface AsyncStore { blobs: AsyncBlobStore; state: AsyncStateStore; close(): Promise<void>; readonly location: string }
