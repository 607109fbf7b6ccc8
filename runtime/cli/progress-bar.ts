import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Runtime } from '../api/runtime.js';

/**
 * A progress bar on stderr for a multi-item run — only on a terminal, so logs and
 * pipes get nothing but the final JSON. Returns a function that stops it.
 */
export function showProgress(rt: Runtime, runId: string, total: number, stderr: Writable & { isTTY?: boolean }): () => void {
  if (!stderr.isTTY) return () => {};
  const bar = new cliProgress.SingleBar({
    stream: stderr,
    format: 'weft {bar} {value}/{total} items | {rate} items/s | ETA {eta_formatted} | {failed} failed | {duration_formatted}',
    etaBuffer: 50,
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  const started = Date.now();
  let done = 0; let failed = 0;
  bar.start(total, 0, { rate: '0', failed: 0 });
  const off = rt.on('progress', (e) => {
    if (e.runId !== runId || e.type !== 'item_completed') return;
    done++;
    if ((e.data as { outcome?: string } | undefined)?.outcome === 'failed') failed++;
    const secs = (Date.now() - started) / 1000;
    bar.update(done, { rate: secs > 0 ? (done / secs).toFixed(0) : '0', failed });
  });
  return () => { off(); bar.stop(); };
}
