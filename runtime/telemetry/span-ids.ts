import { randomFillSync } from 'node:crypto';

/** A span's place in a trace, as the wire carries it: 32 and 16 lower-case hex digits. */
export interface TraceParent { traceId: string; spanId: string }

const POOL = Buffer.alloc(8 * 512);
let offset = POOL.length;

/**
 * A fresh random span id (16 hex). Drawn from a pooled random buffer: one getrandom per
 * 512 ids, since every step attempt takes one whether tracing is on or not.
 */
export function randomSpanId(): string {
  for (;;) {
    if (offset >= POOL.length) { randomFillSync(POOL); offset = 0; }
    const id = POOL.toString('hex', offset, offset + 8);
    offset += 8;
    if (id !== '0000000000000000') return id; // all zeros is W3C's "invalid"
  }
}

/** A run's own trace id: its UUID without dashes, so a trace is found from a run id (Stepflow's tests expect the same). */
export function traceIdOfRun(runId: string): string {
  const hex = runId.replace(/-/g, '').toLowerCase();
  return isTraceId(hex) ? hex : randomSpanId() + randomSpanId();
}

export const isTraceId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{32}$/.test(s) && !/^0+$/.test(s);
export const isSpanId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{16}$/.test(s) && !/^0+$/.test(s);

/** The trace and span ids of an `observability` object, when both are valid (a server may echo anything). */
export function parentOf(observability: { trace_id?: string | null; span_id?: string | null } | null | undefined): TraceParent | undefined {
  const traceId = observability?.trace_id?.toLowerCase();
  const spanId = observability?.span_id?.toLowerCase();
  return isTraceId(traceId) && isSpanId(spanId) ? { traceId, spanId } : undefined;
}

/** A W3C `traceparent` header (`00-<trace>-<span>-<flags>`), or undefined when it is not one. */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value?.trim().toLowerCase() ?? '');
  if (!m || m[1] === 'ff') return undefined;
  return parentOf({ trace_id: m[2], span_id: m[3] });
}
