import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './usage-error.js';

/**
 * Item inputs from `--input JSON` or `--input-file FILE`: `.json` (one input, or an array
 * = a batch), `.jsonl` (one item per line; blank lines skipped), `.yaml`/`.yml` (like .json);
 * `-` reads stdin: one JSON document (an array = a batch), else JSON Lines.
 * Neither flag is a usage error: a silent run of one `{}` item surprised users.
 */
export function readInputs(opts: { input?: string; inputFile?: string }, readStdin: () => string = () => readFileSync(0, 'utf8')): Iterable<unknown> {
  if (opts.input !== undefined && opts.inputFile !== undefined) throw new UsageError('give either --input or --input-file, not both');
  if (opts.input !== undefined) return [parseJson(opts.input, '--input')];
  if (opts.inputFile === undefined) {
    throw new UsageError('no input: give --input JSON (one item, e.g. --input \'{}\') or --input-file FILE (.json, .jsonl, .yaml; - for stdin)');
  }
  const file = opts.inputFile;
  let text: string;
  try {
    text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--input-file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (file === '-') return stdinInputs(text);
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return jsonLines(text, file);
  const value = ext === '.yaml' || ext === '.yml' ? parseYamlText(text, file) : parseJson(text, file);
  return Array.isArray(value) ? value : [value];
}

/** stdin has no extension: one JSON document if it parses as one, else JSON Lines. */
function stdinInputs(text: string): Iterable<unknown> {
  if (text.trim() === '') throw new UsageError('--input-file -: stdin is empty (give one JSON input, an array, or JSON Lines)');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return jsonLines(text, 'stdin');
  }
  return Array.isArray(value) ? value : [value];
}

/**
 * The items of a JSON Lines text, parsed one at a time as the run is created: a
 * million-line file never exists as a million objects at once. A bad line throws a
 * UsageError naming it (the run's creation is then rolled back).
 */
function* jsonLines(text: string, file: string): Generator<unknown> {
  let start = 0;
  for (let line = 1; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() !== '') yield parseJson(raw, `${file}:${line}`);
  }
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON: ${(error as Error).message}`);
  }
}

function parseYamlText(text: string, where: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    throw new UsageError(`${where}: not valid YAML: ${(error as Error).message}`);
  }
}
