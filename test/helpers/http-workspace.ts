import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunsServerConfig } from './runs-server-config.js';

export interface HttpWorkspace {
  dir: string;
  /** Lines the /runs/* components appended (see runs-server.mjs). */
  records(): Array<Record<string, unknown>>;
  cleanup(): void;
}

const SCHEMA = 'schema: https://stepflow.org/schemas/v1/flow.json';

/** Flow files written into every workspace, by file name. */
export const HTTP_FLOWS = {
  'slow.yaml': `${SCHEMA}
name: slow
description: sleeps per item, then doubles
steps:
  - id: nap
    component: /runs/sleep
    input: {ms: {$input: ms}, value: {$input: n}}
  - id: echo
    component: /runs/echo
    input: {napped: {$step: nap, path: value}}
output: {$step: echo}
`,
  'ask.yaml': `${SCHEMA}
name: ask
description: asks a human for a name, then greets
steps:
  - id: ask
    component: /builtin/await_input
    input:
      prompt: What is your name?
      schema: {type: object, required: [name], properties: {name: {type: string, minLength: 1}}}
  - id: greet
    component: /runs/echo
    input: {hello: {$step: ask, path: "$.value.name"}}
output: {$step: greet}
`,
  'hang.yaml': `${SCHEMA}
name: hang
description: waits until cancelled
steps:
  - id: wait
    component: /runs/hang
    input: {}
output: {$step: wait}
`,
};

/** A temp dir with weft.config.yml (builtins + runs-server.mjs) and the flows above. */
export function httpWorkspace(): HttpWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'weft-http-'));
  const record = join(dir, 'record.jsonl');
  writeFileSync(record, '');
  writeRunsServerConfig(dir, record);
  for (const [name, text] of Object.entries(HTTP_FLOWS)) writeFileSync(join(dir, name), text);
  return {
    dir,
    records: () => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
