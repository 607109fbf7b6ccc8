import { createParser } from 'eventsource-parser';
import type { WeftEvent } from './client-types.js';
import { WeftHttpError } from './weft-http-error.js';

export interface FollowOptions {
  /** Start after this sequence number (0: from the first event). */
  since?: number;
  signal?: AbortSignal;
  /** Give up after this long without a successful connection (default 60 s). */
  reconnectTimeoutMs?: number;
  /** Only these event types (`?types=`). */
  types?: readonly string[];
  /** Only this stream's chunks (`?stream=`). */
  stream?: string;
  /** Only this item's events and the run's own (`?itemIndex=`). */
  itemIndex?: number;
}

export interface FollowTransport {
  /** Opens the SSE stream; `lastEventId` goes out as Last-Event-ID. */
  open(lastEventId: number, signal: AbortSignal): Promise<Response>;
  /** True when the run has finished (asked after a stream ends without run_completed). */
  isFinished(): Promise<boolean>;
}

/**
 * Follows a run's SSE stream until `run_completed`. A dropped connection (server
 * restart, proxy timeout) is retried with Last-Event-ID = the last seq seen, so no event
 * is repeated or missed; 4xx answers are not retried.
 */
export async function* followEvents(transport: FollowTransport, opts: FollowOptions = {}): AsyncGenerator<WeftEvent, void, undefined> {
  let last = opts.since ?? 0;
  let retryMs = 250;
  let failingSince: number | undefined;
  let finalPass = false;
  const giveUpMs = opts.reconnectTimeoutMs ?? 60_000;
  const local = new AbortController();
  const onAbort = () => local.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let res: Response | undefined;
      try {
        res = await transport.open(last, local.signal);
      } catch (error) {
        if (local.signal.aborted) return;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > giveUpMs) throw new Error(`event stream: cannot reconnect for ${giveUpMs} ms: ${(error as Error).message}`, { cause: error });
        await sleep(retryMs, local.signal);
        retryMs = Math.min(retryMs * 2, 2000);
        continue;
      }
      if (!res.ok) {
        if (res.status >= 500) {
          await res.body?.cancel();
          failingSince ??= Date.now();
          if (Date.now() - failingSince > giveUpMs) throw new WeftHttpError(res.status, `event stream: server error ${res.status}`);
          await sleep(retryMs, local.signal);
          continue;
        }
        const body = await res.json().catch(() => undefined) as { error?: { message?: string; code?: number } } | undefined;
        throw new WeftHttpError(res.status, body?.error?.message ?? `event stream: HTTP ${res.status}`, body?.error?.code);
      }
      failingSince = undefined;
      retryMs = 250;
      const queue: WeftEvent[] = [];
      const parser = createParser({
        onEvent(message) {
          if (!message.event || message.event === 'error') return;
          queue.push(JSON.parse(message.data) as WeftEvent);
        },
      });
      let completed = false;
      try {
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          while (queue.length > 0) {
            const event = queue.shift()!;
            if (event.seq <= last) continue;
            last = event.seq;
            yield event;
            if (event.type === 'run_completed') { completed = true; return; }
          }
        }
      } catch {
        if (local.signal.aborted) return;
        // The connection dropped mid-stream: reconnect below.
      }
      if (completed || finalPass) return;
      // The stream ended without run_completed: the server went away, or the run's events
      // were purged. A finished run gets one more pass to drain what is left.
      try {
        finalPass = await transport.isFinished();
      } catch (error) {
        if (error instanceof WeftHttpError && error.status === 404) throw error;
      }
      if (!finalPass) await sleep(retryMs, local.signal);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    local.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
