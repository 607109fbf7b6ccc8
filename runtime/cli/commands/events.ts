import { WeftClient } from '../../client/weft-client.js';
import { RUN_EVENT_TYPES, eventPredicate } from '../../api/event-filter.js';
import type { EventFilter } from '../../api/event-filter.js';
import type { RunEvent, RunEventType } from '../../store/state-store.js';
import { openRuntime, type CommonOptions } from '../open-runtime.js';
import { EXIT, UsageError } from '../usage-error.js';
import type { CliIo } from '../print-status.js';

export interface EventsOptions extends CommonOptions {
  follow?: boolean;
  since?: string;
  types?: string;
  stream?: string;
  item?: string;
  chunks?: boolean;
  url?: string;
  token?: string;
}

/**
 * `weft events RUN_ID`: the run's events, one JSON object per line (NDJSON), from the
 * store, or from a `weft serve` with `--url`. `--follow` keeps printing live ones until
 * the run ends; `--chunks` prints only streamed chunks, text as it is.
 */
export async function eventsCommand(runId: string, opts: EventsOptions, io: CliIo): Promise<number> {
  const since = nonNegative(opts.since, '--since') ?? 0;
  const filter: EventFilter = {
    ...(opts.types ? { types: eventTypes(opts.types) } : {}),
    ...(opts.chunks ? { types: ['step_output'] as RunEventType[] } : {}),
    ...(opts.stream !== undefined ? { stream: opts.stream } : {}),
    ...(opts.item !== undefined ? { itemIndex: nonNegative(opts.item, '--item')! } : {}),
  };
  const print = (event: RunEvent) => io.stdout.write(opts.chunks ? chunkText(event) : `${JSON.stringify(event)}\n`);
  const url = opts.url;
  if (url !== undefined) {
    if (!opts.follow) throw new UsageError('--url reads the live event stream: add --follow (or read the store without --url)');
    const token = opts.token ?? (process.env.WEFT_TOKEN || undefined);
    const client = new WeftClient({ url, ...(token ? { token } : {}) });
    for await (const event of client.events(runId, { since, ...filter })) print(event as RunEvent);
    return EXIT.ok;
  }
  const rt = await openRuntime(opts, undefined, { startPlugins: false });
  try {
    let run;
    try {
      run = await rt.getRun(runId);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (opts.follow) {
      for await (const event of run.events({ since, ...filter })) print(event);
    } else {
      const keep = eventPredicate(filter);
      for (const event of await rt.runs.listEvents(runId, since)) if (!keep || keep(event)) print(event);
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}

/** A chunk as `--chunks` prints it: text as it is, JSON and bytes (base64) one per line. */
function chunkText(event: RunEvent): string {
  const d = event.data as { encoding?: string; chunk?: unknown } | undefined;
  if (d?.encoding === 'text') return String(d.chunk);
  return `${JSON.stringify(d?.chunk ?? null)}\n`;
}

function eventTypes(list: string): RunEventType[] {
  const types = list.split(',').map((t) => t.trim());
  const unknown = types.filter((t) => !(RUN_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new UsageError(`--types: unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}; known: ${RUN_EVENT_TYPES.join(', ')}`);
  return types as RunEventType[];
}

function nonNegative(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}
