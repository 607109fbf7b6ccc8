import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

const POOL_BYTES = 16 * 256;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;
let lastMs = -Infinity;
let seq = 0;

/**
 * A new run id: a UUIDv7, in creation order as uuid's own v7() makes them (a counter seeded
 * at random each millisecond), but its random bytes come from a pool filled 256 ids at a
 * time: v7() asks crypto.getRandomValues for every id, ~9 µs on the runs/submit path.
 */
export function newRunId(): string {
  if (offset === POOL_BYTES) { randomFillSync(pool); offset = 0; }
  const random = pool.subarray(offset, offset += 16);
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((random[6] & 0x7f) << 24) | (random[7] << 16) | (random[8] << 8) | random[9];
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return uuidv7({ random, msecs: lastMs, seq });
}
