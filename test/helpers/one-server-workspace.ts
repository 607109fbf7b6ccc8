import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVERS_DIR } from './runtime-fixture.js';

/**
 * Writes `dir/weft.config.yml` with one stdio plugin (a fixture server under `/<name>/...`)
 * and `dir/flow.yaml` with one step calling `/<name>/<component>` on the item's input.
 */
export function writeOneServerWorkspace(dir: string, o: { name: string; server: string; component: string; env?: Record<string, string>; limits?: string }): void {
  writeFileSync(join(dir, 'weft.config.yml'), [
    'plugins:',
    `  ${o.name}:`,
    '    type: stepflow',
    '    transport: stdio',
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(join(SERVERS_DIR, o.server))}]`,
    ...(o.env ? [`    env: ${JSON.stringify(o.env)}`] : []),
    'routes:',
    `  "/${o.name}/{component}": [{plugin: ${o.name}}]`,
    ...(o.limits ? [`limits: ${o.limits}`] : []),
  ].join('\n'));
  writeFileSync(join(dir, 'flow.yaml'), [
    'schema: https://stepflow.org/schemas/v1/flow.json',
    'steps:',
    `  - {id: step, component: /${o.name}/${o.component}, input: {$input: "$"}}`,
    'output: {$step: step}',
  ].join('\n'));
}
