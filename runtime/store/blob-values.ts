import { blobIdOfText, canonicalJson } from '../../protocol/index.js';
import type { BlobId, BlobType } from '../../protocol/index.js';

/** A value ready to store: its id, and either canonical JSON text or raw bytes. */
export type PreparedBlob =
  | { id: BlobId; type: 'data' | 'flow'; text: string; name?: string; description?: string }
  | { id: BlobId; type: 'binary'; bytes: Uint8Array };

/**
 * Computes a blob's id and storable form. JSON blobs are kept as their canonical text
 * (so the id is recomputable and a read always yields a fresh copy); binary blobs are
 * copied, so a caller reusing its buffer cannot change what was stored.
 */
export function prepareBlob(data: unknown, type: BlobType): PreparedBlob {
  if (type === 'binary') {
    const bytes = toBytes(data);
    return { id: blobIdOfText(bytes), type, bytes };
  }
  if (type !== 'data' && type !== 'flow') throw new TypeError(`unknown blob type ${JSON.stringify(type)} (expected data, flow or binary)`);
  const text = canonicalJson(data);
  const prepared: PreparedBlob = { id: blobIdOfText(text), type, text };
  if (type === 'flow' && data !== null && typeof data === 'object') {
    const { name, description } = data as { name?: unknown; description?: unknown };
    if (typeof name === 'string') prepared.name = name;
    if (typeof description === 'string') prepared.description = description;
  }
  return prepared;
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return new Uint8Array(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  throw new TypeError(`a binary blob must be a Uint8Array or ArrayBuffer, got ${data === null ? 'null' : typeof data}`);
}
