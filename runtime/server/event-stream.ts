import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../api/runtime.js';
import type { RunEvent, RunEventType } from '../store/state-store.js';
import { checkBody } from './check-body.js';

export type StreamFormat = 'sse' | 'ndjson';

interface EventsQuery { since?: string; format?: StreamFormat; types?: string; stream?: string; itemIndex?: string }

/**
 * `GET /runs/:id/events`: the run's persisted events after `since` (or Last-Event-ID),
 * then live ones, closing after `run_completed`; `types`, `stream` and `itemIndex` narrow
 * them (a streamed chunk is a `step_output` event). Any number of readers; each has its
 * own cursor on the store, so none takes events from another. Heartbeats keep proxies
 * and idle clients from dropping the connection.
 */
export class EventStreams {
  private readonly open = new Set<() => void>();

  constructor(private readonly rt: Runtime, private readonly heartbeatMs: number) {}

  async serve(request: FastifyRequest, reply: FastifyReply, runId: string): Promise<void> {
    const query = checkBody<EventsQuery>('EventsQuery', request.query, 'query');
    const run = await this.rt.getRun(runId); // 404 before any byte is sent
    const since = Math.max(Number(query.since ?? 0), Number(headerValue(request.headers['last-event-id']) ?? 0) || 0);
    const accept = headerValue(request.headers.accept) ?? '';
    const format: StreamFormat = query.format ?? (accept.includes('application/x-ndjson') ? 'ndjson' : 'sse');

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (format === 'sse') res.write('retry: 1000\n\n');

    const events = run.events({
      since,
      ...(query.types ? { types: query.types.split(',') as RunEventType[] } : {}),
      ...(query.stream !== undefined ? { stream: query.stream } : {}),
      ...(query.itemIndex !== undefined ? { itemIndex: Number(query.itemIndex) } : {}),
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      this.open.delete(end);
      void events.return?.();
      if (!res.writableEnded) res.end();
    };
    this.open.add(end);
    const heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(format === 'sse' ? ': heartbeat\n\n' : '{"type":"heartbeat"}\n');
    }, this.heartbeatMs);
    heartbeat.unref();
    res.on('close', end);

    try {
      for await (const event of events) {
        if (ended) break;
        if (!res.write(encode(event, format))) await drained(res);
      }
    } catch (error) {
      // The store failed mid-stream: the status line is gone, so say it in the stream.
      if (!res.writableEnded) res.write(format === 'sse' ? `event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n` : `${JSON.stringify({ type: 'error', message: (error as Error).message })}\n`);
    } finally {
      end();
    }
  }

  /** Ends every open stream (server shutdown): clients reconnect with Last-Event-ID. */
  closeAll(): void {
    for (const end of [...this.open]) end();
  }

  get size(): number { return this.open.size; }
}

function encode(event: RunEvent, format: StreamFormat): string {
  const json = JSON.stringify(event);
  return format === 'sse' ? `id: ${event.seq}\nevent: ${event.type}\ndata: ${json}\n\n` : `${json}\n`;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function drained(res: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}
