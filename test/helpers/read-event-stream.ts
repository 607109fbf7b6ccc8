import { createParser } from 'eventsource-parser';

export interface StreamedEvent { seq: number; type: string; itemIndex?: number; stepId?: string; data?: Record<string, unknown> }
export interface StreamRead { status: number; contentType: string; events: StreamedEvent[]; ids: string[]; heartbeats: number }

/**
 * Reads `GET /runs/:id/events` raw, as SSE (checking `id:` = seq and `event:` = type)
 * or NDJSON, until the server closes it or `stopWhen` says so.
 */
export async function readEventStream(url: string, opts: {
  format?: 'sse' | 'ndjson'; since?: number; lastEventId?: number; token?: string;
  /** Extra query parameters (`types`, `stream`, `itemIndex`). */
  query?: Record<string, string>;
  stopWhen?: (events: StreamedEvent[], heartbeats: number) => boolean;
} = {}): Promise<StreamRead> {
  const q = new URLSearchParams();
  if (opts.format) q.set('format', opts.format);
  if (opts.since !== undefined) q.set('since', String(opts.since));
  for (const [k, v] of Object.entries(opts.query ?? {})) q.set(k, v);
  const headers: Record<string, string> = {};
  if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const abort = new AbortController();
  const res = await fetch(`${url}${q.size ? `?${q}` : ''}`, { headers, signal: abort.signal });
  const out: StreamRead = { status: res.status, contentType: res.headers.get('content-type') ?? '', events: [], ids: [], heartbeats: 0 };
  if (!res.ok) { await res.text(); return out; }
  const sse = createParser({
    onEvent(m) {
      const e = JSON.parse(m.data) as StreamedEvent;
      if (m.event !== e.type) throw new Error(`SSE event: ${m.event} != data.type ${e.type}`);
      out.ids.push(m.id ?? '');
      out.events.push(e);
    },
    onComment(c) { if (c.trim() === 'heartbeat') out.heartbeats++; },
  });
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      if (opts.format === 'ndjson') {
        buffer += text;
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines.filter(Boolean)) {
          const e = JSON.parse(line) as StreamedEvent;
          if (e.type === 'heartbeat') out.heartbeats++;
          else out.events.push(e);
        }
      } else sse.feed(text);
      if (opts.stopWhen?.(out.events, out.heartbeats)) { abort.abort(); break; }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  }
  return out;
}
