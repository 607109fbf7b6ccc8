import type pg from 'pg';
import { normalizeBlobId } from '../../protocol/index.js';
import type { BlobId, BlobType } from '../../protocol/index.js';
import type { FlowSummary, StoredBlob } from './blob-store.js';
import { prepareBlob } from './blob-values.js';

/**
 * Blobs in `weft.blobs`. Content-addressed, so any process may write one at any time:
 * `ON CONFLICT DO NOTHING`, except that JSON first stored as `data` and later put as a
 * `flow` becomes a flow (listable, and newest).
 */
export class PostgresBlobStore {
  constructor(private readonly pool: pg.Pool) {}

  async putBlob(data: unknown, type: BlobType): Promise<BlobId> {
    const p = prepareBlob(data, type);
    if (p.type === 'binary') {
      await this.pool.query('INSERT INTO weft.blobs (id, type, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [p.id, p.type, Buffer.from(p.bytes)]);
    } else if (p.type === 'data') {
      await this.pool.query('INSERT INTO weft.blobs (id, type, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [p.id, p.type, Buffer.from(p.text)]);
    } else {
      await this.pool.query(
        `INSERT INTO weft.blobs (id, type, data, name, description) VALUES ($1, 'flow', $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET type = 'flow', name = EXCLUDED.name, description = EXCLUDED.description, created_at = clock_timestamp()
         WHERE weft.blobs.type = 'data'`,
        [p.id, Buffer.from(p.text), p.name ?? null, p.description ?? null]);
    }
    return p.id;
  }

  async getBlob(id: string): Promise<StoredBlob | undefined> {
    const blobId = normalizeBlobId(id);
    if (!blobId) return undefined;
    const { rows } = await this.pool.query<{ type: BlobType; data: Buffer }>('SELECT type, data FROM weft.blobs WHERE id = $1', [blobId]);
    if (rows.length === 0) return undefined;
    const { type, data } = rows[0];
    return { id: blobId, type, data: type === 'binary' ? new Uint8Array(data) : JSON.parse(data.toString('utf8')) };
  }

  async listFlows(): Promise<FlowSummary[]> {
    const { rows } = await this.pool.query<{ id: BlobId; name: string | null; description: string | null; created_at: Date }>(
      `SELECT id, name, description, created_at FROM weft.blobs WHERE type = 'flow' ORDER BY created_at DESC, id`);
    return rows.map((r) => ({
      flowId: r.id,
      createdAt: r.created_at.toISOString(),
      ...(r.name !== null ? { name: r.name } : {}),
      ...(r.description !== null ? { description: r.description } : {}),
    }));
  }
}
