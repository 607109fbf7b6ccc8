import type { Writable } from 'node:stream';
import type { ItemResult, RunStatus } from '../../protocol/index.js';
import { writeStatus, writeStatusPages } from '../api/write-status.js';
import { EXIT } from './usage-error.js';

/** `--output`: the seed's RunStatus (default), one compact JSON document, one line per item, or counts only. */
export const OUTPUT_FORMATS = ['status', 'json', 'jsonl', 'summary'] as const;
export type OutputFormat = typeof OUTPUT_FORMATS[number];

export interface CliIo { stdout: Writable; stderr: Writable & { isTTY?: boolean } }

export interface PrintOptions {
  /** The results, page by page (`Run.resultPages`); default: `status.results`. */
  results?: AsyncIterable<readonly ItemResult[]>;
  /** The `summary` output's line. */
  summary?: string;
}

/**
 * Prints a final status in one of the `--output` formats and returns the exit code. With
 * `results` pages, only one page is held at a time, so a million-item run prints in flat
 * memory; the text is the same as for a status holding every result.
 */
export async function printStatus(status: RunStatus, io: CliIo, output: OutputFormat = 'status', opts: PrintOptions = {}): Promise<number> {
  const write = (text: string) => { io.stdout.write(text); };
  const pages = opts.results ? drained(opts.results, io.stdout) : fromStatus(status);
  if (output === 'summary') write(`${opts.summary ?? `weft: run ${status.runId} ${status.status}`}\n`);
  else if (output !== 'status') await writeCompact(status, pages, output, write);
  else if (opts.results) await writeStatusPages(status, pages, write);
  else writeStatus(status, write);
  return status.status === 'success' ? EXIT.ok : EXIT.failed;
}

/**
 * `json`: the status with each result once (`value` or `error`), on one line; `jsonl`: one
 * line per item. The seed's RunStatus repeats every value under `value` and `result`.
 */
async function writeCompact(status: RunStatus, pages: AsyncIterable<readonly ItemResult[]>, output: 'json' | 'jsonl', write: (text: string) => void): Promise<void> {
  const line = (item: ItemResult) => JSON.stringify(compactItem(item));
  if (output === 'jsonl') {
    for await (const page of pages) write(page.map((item) => `${line(item)}\n`).join(''));
    return;
  }
  const { results: _results, ...rest } = status;
  // `results` is the last key: the document ends `"results":[]}`, and the items go between the brackets.
  const frame = JSON.stringify({ ...rest, results: [] });
  write(frame.slice(0, -2));
  let first = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    write(`${first ? '' : ','}${page.map(line).join(',')}`);
    first = false;
  }
  write(']}\n');
}

function compactItem({ itemIndex, status, result }: ItemResult): Record<string, unknown> {
  return {
    itemIndex, status,
    ...(result?.outcome === 'success' ? { outcome: 'success', value: result.value } : result ? { outcome: result.outcome, error: result.error } : {}),
  };
}

async function* fromStatus(status: RunStatus): AsyncGenerator<readonly ItemResult[]> {
  yield status.results ?? [];
}

/** Pages as they come, each once stdout has taken the last: a slow reader never makes them pile up. */
async function* drained(pages: AsyncIterable<readonly ItemResult[]>, stdout: Writable): AsyncGenerator<readonly ItemResult[]> {
  for await (const page of pages) {
    if (stdout.writableNeedDrain) await drain(stdout);
    yield page;
  }
}

/** Resolves on `drain`, or when the stream closes or fails (exitOnOutputErrors reports that). */
function drain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) stream.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) stream.on(event, done);
  });
}
