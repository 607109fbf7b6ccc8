import { createHash } from 'node:crypto';
import type { BlobId } from './types/blob.js';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units, as RFC 8785), no
 * whitespace, `undefined` members dropped. The same value always gives the same text,
 * whatever order its keys were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export const BLOB_ID_PREFIX = 'sha256:';
const HEX64 = /^[0-9a-f]{64}$/;

/** `sha256:` + hex SHA-256 of the value's canonical JSON. */
export function blobIdOf(value: unknown): BlobId {
  return blobIdOfText(canonicalJson(value));
}

export function blobIdOfText(canonical: string | Uint8Array): BlobId {
  return `${BLOB_ID_PREFIX}${createHash('sha256').update(canonical).digest('hex')}` as BlobId;
}

/** Accepts `sha256:<hex>` or bare 64-hex (any case); returns the prefixed form, or undefined if malformed. */
export function normalizeBlobId(id: unknown): BlobId | undefined {
  if (typeof id !== 'string') return undefined;
  const hex = (id.startsWith(BLOB_ID_PREFIX) ? id.slice(BLOB_ID_PREFIX.length) : id).toLowerCase();
  return HEX64.test(hex) ? (`${BLOB_ID_PREFIX}${hex}` as BlobId) : undefined;
}
