/** A content-addressed blob id: `sha256:` + 64 lowercase hex digits. */
export type BlobId = string & { readonly __brand?: 'BlobId' };

/** `data` and `flow` are JSON; `binary` holds bytes (stored as MessagePack). */
export type BlobType = 'data' | 'flow' | 'binary';

export const BLOB_TYPES: readonly BlobType[] = ['data', 'flow', 'binary'];
