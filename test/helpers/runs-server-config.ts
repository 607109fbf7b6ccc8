import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVERS_DIR } from './runtime-fixture.js';

/**
 * Writes `dir/weft.config.yml`: the builtins plus runs-server.mjs (routed at /runs/...),
 * which appends each execution to `record` — the file tests read to see what ran.
 */
export function writeRunsServerConfig(dir: string, record: string): void {
  writeFileSync(join(dir, 'weft.config.yml'), [
    'plugins:',
    '  builtin: {type: builtin}',
    '  runs:',
    '    type: stepflow',
    '    transport: stdio',
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(join(SERVERS_DIR, 'runs-server.mjs'))}]`,
    `    env: {WEFT_RECORD: ${JSON.stringify(record)}}`,
    'routes:',
    '  "/runs/{component}": [{plugin: runs}]',
    '  "/builtin/{*component}": [{plugin: builtin}]',
  ].join('\n'));
}
