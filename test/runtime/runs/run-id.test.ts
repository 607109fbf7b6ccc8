import { describe, expect, it } from 'vitest';
import { newRunId } from '../../../runtime/runs/run-id.js';

describe('newRunId', () => {
  it('makes UUIDv7s in creation order, across refills of its random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newRunId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('puts the creation time in its first 48 bits', () => {
    const before = Date.now();
    const ms = parseInt(newRunId().replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
