import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './usage-error.js';

/**
 * Item inputs from `--input JSON` or `--input-file FILE`: `.json` (one input, or an array
 * = a batch), `.jsonl` (one item per line; blank lines skipped), `.yaml`/`.yml` (like .json).
 */
export function readInputs(opts: { input?: string; inputFile?: string }): unknown[] {
  if (opts.input !== undefined && opts.inputFile !== undefined) throw new UsageError('give either --input or --input-file, not both');
  if (opts.input !== undefined) return [parseJson(opts.input, '--input')];
  if (opts.inputFile === undefined) return [{}];
  const file = opts.inputFile;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--input-file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') {
    const items: unknown[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      items.push(parseJson(line, `${file}:${i + 1}`));
    });
    return items;
  }
  const value = ext === '.yaml' || ext === '.yml' ? parseYamlText(text, file) : parseJson(text, file);
  return Array.isArray(value) ? value : [value];
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
