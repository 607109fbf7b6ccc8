import type { BlobId, BlobType } from '../../protocol/index.js';

export interface StoredBlob {
  id: BlobId;
  type: BlobType;
  /** JSON value for `data`/`flow`; a Uint8Array for `binary`. */
  data: unknown;
}

export interface FlowSummary { flowId: BlobId; name?: string; description?: string; createdAt: string }

/**
 * Content-addressed blobs. Ids are `sha256:` + SHA-256 of the canonical JSON (for
 * `binary`: of the raw bytes). Inputs accept bare 64-hex ids. Synchronous: both
 * backends (memory, better-sqlite3) are in-process.
 */
export interface BlobStore {
  /** Idempotent: the same value (any key order) gives the same id and one stored copy. */
  putBlob(data: unknown, type: BlobType): BlobId;
  /** undefined when unknown or malformed. */
  getBlob(id: string): StoredBlob | undefined;
  /** Flow blobs, newest first, with the flow's name/description. */
  listFlows(): FlowSummary[];
}
