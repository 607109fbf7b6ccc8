import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
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

/** Where `/load_file` may read: the project, the flow's own directory, and what stays private. */
export interface LoadFileScope {
  /** The project root (the config file's directory, else the working directory): nothing outside is readable. */
  root: string;
  /** The directory of the flow with this id, when it came from a file: relative paths start there. */
  flowDirectory?: (flowId: string) => string | undefined;
  /** Files never readable (the config file, a store file), beside any `.weft/` directory. */
  privateFiles?: string[];
}

/**
 * `/load_file`, confined to the project root: a flow must not read arbitrary files of the
 * machine it runs on, nor weft's own state (`.weft/`, e.g. every run's data in weft.db) or
 * its config. A relative path starts at the flow's directory (the root when the flow came
 * from no file), and may use `..` while it stays inside the root; both the path as written
 * and the file it really is (after symlinks) must lie inside.
 */
export function createLoadFile(scope: LoadFileScope): BuiltinComponent<LoadFileInput> {
  const root = resolve(scope.root);
  const privateFiles = (scope.privateFiles ?? []).map((f) => resolve(root, f));
  const refused = (path: string, under: string): string | undefined => {
    if (relative(under, path).split(sep).includes('.weft')) return "is inside a .weft directory (weft's own state)";
    if (privateFiles.includes(path)) return "is weft's config or store";
    return undefined;
  };
  return {
    component: '/load_file',
    description: "Read a JSON, YAML or text file inside the project (relative to the flow's directory; format from the extension unless given).",
    input_schema: {
      type: 'object',
      required: ['path'],
      properties: {
        path: { type: 'string', minLength: 1, description: "Relative to the flow's directory; `..` may leave it but not the project root." },
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
    async run(input, request): Promise<FlowResult> {
      const where = `builtin /load_file: "${input.path}"`;
      const flowDir = request.observability.flow_id ? scope.flowDirectory?.(request.observability.flow_id) : undefined;
      const base = flowDir && inside(root, flowDir) ? flowDir : root;
      const lexical = resolve(base, input.path);
      if (!inside(root, lexical)) {
        return failure('INVALID_INPUT', `${where} is outside the project root ${root}`, { path: input.path });
      }
      const hidden = refused(lexical, root);
      if (hidden) return failure('INVALID_INPUT', `${where} ${hidden}: not readable by flows`, { path: input.path });
      let real: string;
      let text: string;
      let size: number;
      try {
        real = await realpath(lexical);
        const realRoot = await realpath(root);
        if (!inside(realRoot, real)) {
          return failure('INVALID_INPUT', `${where} resolves through a symlink to ${real}, outside the project root ${root}`, { path: input.path });
        }
        const hiddenReal = refused(real, realRoot) ?? (privateFiles.length > 0 && (await Promise.all(privateFiles.map((f) => realpath(f).catch(() => f)))).includes(real) ? "is weft's config or store" : undefined);
        if (hiddenReal) return failure('INVALID_INPUT', `${where} ${hiddenReal}: not readable by flows`, { path: input.path });
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
