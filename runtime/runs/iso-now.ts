let lastMs = -1;
let lastIso = '';

/** ISO time; formatted once per millisecond (items journal ~5 timestamps each on the hot path). */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) { lastMs = ms; lastIso = new Date(ms).toISOString(); }
  return lastIso;
}
