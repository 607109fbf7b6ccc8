import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { failure, success } from '../../../protocol/index.js';
import type { FlowResult } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';

type FileFormat = 'json' | 'yaml' | 'text';
interface LoadFileInput { path: string; format?: FileFormat }

const inside = (dir: string, target: string): boolean => {
  const rel = relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

function formatFromExtension(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return 'text';
}

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * `/load_file`, confined to `workingDirectory` (the config's): a flow must not read
 * arbitrary files of the machine it runs on. Both the path as written and the file it
 * really is (after symlinks) must lie inside the directory.
 */
export function createLoadFile(workingDirectory: string): BuiltinComponent<LoadFileInput> {
  return {
    component: '/load_file',
    description: 'Read a JSON, YAML or text file inside the working directory (format from the extension unless given).',
    input_schema: {
      type: 'object',
      required: ['path'],
      properties: {
        path: { type: 'string', minLength: 1, description: 'Relative to the working directory.' },
        format: { enum: ['json', 'yaml', 'text'] },
      },
    },
    output_schema: {
      type: 'object',
      required: ['data', 'metadata'],
      properties: {
        data: {},
        metadata: {
          type: 'object',
          required: ['resolved_path', 'size_bytes', 'format'],
          properties: {
            resolved_path: { type: 'string' },
            size_bytes: { type: 'integer', minimum: 0 },
            format: { enum: ['json', 'yaml', 'text'] },
          },
        },
      },
    },
    async run(input): Promise<FlowResult> {
      const where = `builtin /load_file: "${input.path}"`;
      const root = resolve(workingDirectory);
      const lexical = resolve(root, input.path);
      if (!inside(root, lexical)) {
        return failure('INVALID_INPUT', `${where} is outside the working directory ${root}`, { path: input.path });
      }
      let real: string;
      let text: string;
      let size: number;
      try {
        real = await realpath(lexical);
        if (!inside(await realpath(root), real)) {
          return failure('INVALID_INPUT', `${where} resolves through a symlink to ${real}, outside the working directory ${root}`, { path: input.path });
        }
        const info = await stat(real);
        if (!info.isFile()) return failure('COMPONENT_FAILED', `${where} is not a regular file`, { path: input.path });
        size = info.size;
        text = await readFile(real, 'utf8');
      } catch (err) {
        return codeOf(err) === 'ENOENT'
          ? failure('COMPONENT_FAILED', `${where}: no such file (looked for ${lexical})`, { path: input.path })
          : failure('COMPONENT_FAILED', `${where}: ${(err as Error).message}`, { path: input.path });
      }
      const format = input.format ?? formatFromExtension(lexical);
      let data: unknown;
      try {
        // `yaml` follows YAML 1.2 (core schema): timestamps stay strings, as in Stepflow.
        data = format === 'json' ? JSON.parse(text) : format === 'yaml' ? parseYaml(text) : text;
      } catch (err) {
        return failure('COMPONENT_FAILED', `${where}: not valid ${format.toUpperCase()}: ${(err as Error).message}`, { path: input.path, format });
      }
      return success({ data, metadata: { resolved_path: real, size_bytes: size, format } });
    },
  };
}
