import { ErrorCodes, ProtocolError, blobIdOf, normalizeBlobId } from '../../protocol/index.js';
import type { BlobId, BlobType } from '../../protocol/index.js';
import type { CallerContext, RuntimeContext } from '../../runtime/plugins/runtime-context.js';

/**
 * A RuntimeContext backed by a Map, for plugin tests. The real blob store (runtime/store)
 * and RunManager are written concurrently by other engineers; this stand-in keeps the
 * plugin tests independent of them. It records every caller it was handed.
 */
export class MapRuntimeContext implements RuntimeContext {
  readonly blobs = new Map<BlobId, { data: unknown; blobType: BlobType }>();
  readonly callers: CallerContext[] = [];

  async putBlob(data: unknown, type: BlobType, caller?: CallerContext): Promise<BlobId> {
    this.record(caller);
    const id = blobIdOf(data);
    this.blobs.set(id, { data, blobType: type });
    return id;
  }

  async getBlob(id: string, caller?: CallerContext): Promise<{ data: unknown; blobType: BlobType }> {
    this.record(caller);
    const blob = this.blobs.get(normalizeBlobId(id) ?? (id as BlobId));
    if (!blob) throw new ProtocolError(ErrorCodes.BlobNotFound, `blob "${id}" not found`, { blob_id: id });
    return blob;
  }

  submitRun(): Promise<never> { return Promise.reject(new Error('runs are not available in this test')); }
  getRun(): Promise<never> { return Promise.reject(new Error('runs are not available in this test')); }
  awaitInput(): Promise<never> { return Promise.reject(new Error('inputs are not available in this test')); }

  private record(caller: CallerContext | undefined): void {
    if (caller) this.callers.push(caller);
  }
}
