let lastMs = -1;
let lastIso = '';

/** ISO time; formatted once per millisecond (items journal ~5 timestamps each on the hot path). */
export function isoNow(): string {
  return isoAt(Date.now());
}

/** The ISO form of `ms` (epoch milliseconds), with the same once-per-millisecond cache. */
export function isoAt(ms: number): string {
  if (ms !== lastMs) { lastMs = ms; lastIso = new Date(ms).toISOString(); }
  return lastIso;
}
