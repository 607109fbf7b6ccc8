import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../protocol/index.js';
import { runWeft } from '../helpers/weft-process.js';

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: reader
steps:
  - id: read
    component: /builtin/load_file
    input: {path: {$input: path}}
output: {$step: read, path: data}
`;

// A Stepflow project: the config at its root, flows in a folder below, weft's store in .weft/.
describe('/builtin/load_file in a project layout (weft run with the SQLite store)', () => {
  let base: string;
  let root: string;
  let results: RunStatus['results'];
  const paths = () => [
    'local.json', '../../data/shared.json', './../sub/local.json',
    '../../../outside.json', join(base, 'outside.json'), 'link-out.json',
    '../../.weft/weft.db', '.weft/anything.json', '../../stepflow-config.yml',
  ];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'weft-load-root-'));
    root = join(base, 'project');
    mkdirSync(join(root, 'flows', 'sub', '.weft'), { recursive: true });
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'stepflow-config.yml'), 'plugins:\n  builtin: {type: builtin}\nroutes:\n  "/builtin/{component}": [{plugin: builtin}]\n');
    writeFileSync(join(root, 'flows', 'sub', 'flow.yaml'), FLOW);
    writeFileSync(join(root, 'flows', 'sub', 'local.json'), '{"where": "beside the flow"}');
    writeFileSync(join(root, 'flows', 'sub', '.weft', 'anything.json'), '{"where": "a .weft folder"}');
    writeFileSync(join(root, 'data', 'shared.json'), '{"where": "the project data folder"}');
    writeFileSync(join(base, 'outside.json'), '{"where": "outside the project"}');
    symlinkSync(join(base, 'outside.json'), join(root, 'flows', 'sub', 'link-out.json'));
    // A first run creates .weft/weft.db at the project root (the cwd), with this run's data.
    expect((await runWeft(['run', 'flows/sub/flow.yaml', '--input', '{"path":"local.json"}'], root)).code).toBe(0);
    const inputs = join(base, 'inputs.jsonl');
    writeFileSync(inputs, paths().map((path) => JSON.stringify({ path })).join('\n'));
    const r = await runWeft(['run', 'flows/sub/flow.yaml', '--input-file', inputs], root);
    results = (JSON.parse(r.stdout) as RunStatus).results;
  });
  afterAll(() => { rmSync(base, { recursive: true, force: true }); });

  const outcome = (i: number) => results![i].result as { outcome: string; value?: { where: string }; error?: { kind: string; message: string } };

  it("reads a relative path from the flow's directory, and `..` while it stays inside the project root", () => {
    expect(outcome(0)).toMatchObject({ outcome: 'success', value: { where: 'beside the flow' } });
    expect(outcome(1)).toMatchObject({ outcome: 'success', value: { where: 'the project data folder' } });
    expect(outcome(2)).toMatchObject({ outcome: 'success', value: { where: 'beside the flow' } });
  });

  it('refuses paths and symlinks that leave the root', () => {
    for (const i of [3, 4]) expect(outcome(i).error).toMatchObject({ kind: 'INVALID_INPUT', message: expect.stringContaining(`is outside the project root ${root}`) });
    expect(outcome(5).error).toMatchObject({ kind: 'INVALID_INPUT', message: expect.stringContaining('resolves through a symlink') });
  });

  it("never reads weft's store (.weft/, anywhere) or the config file", () => {
    for (const i of [6, 7]) expect(outcome(i).error).toMatchObject({ kind: 'INVALID_INPUT', message: expect.stringContaining("is inside a .weft directory (weft's own state)") });
    expect(outcome(8).error).toMatchObject({ kind: 'INVALID_INPUT', message: expect.stringContaining("is weft's config or store") });
  });
});
