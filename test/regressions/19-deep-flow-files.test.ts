import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonTooDeep, yamlTooDeep } from '../../protocol/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runWeft } from '../helpers/weft-process.js';

// A flow file nested a few thousand levels deep overflowed the yaml parser's stack, and
// 3,000 nested `[` made it run out of memory and abort the whole process.
const SCHEMA = 'schema: https://stepflow.org/schemas/v1/flow.json';

describe('flow files nested deeper than limits.maxJsonDepth', () => {
  const cases: Array<[string, string]> = [
    ['flow-style YAML', `${SCHEMA}\nsteps: []\noutput: ${'['.repeat(3000)}${']'.repeat(3000)}\n`],
    ['block YAML', `${SCHEMA}\nsteps: []\noutput:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n')} 1\n`],
    ['compact sequences', `${SCHEMA}\nsteps: []\noutput:\n  ${'- '.repeat(2000)}x\n`],
  ];
  for (const [what, text] of cases) {
    it(`are refused by weft validate with the limit's name: ${what}`, async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'deep.yaml'), text);
      const res = await runWeft(['validate', 'deep.yaml'], dir);
      expect(res.stdout + res.stderr).toMatch(/deep\.yaml: \(root\): the flow nests deeper than 256 levels \(limits\.maxJsonDepth\)/);
      expect(res.stderr).not.toMatch(/Maximum call stack|out of memory|\n\s+at /);
      expect(res.code).toBe(1);
    });
  }

  it('are refused as JSON too; a flow within the limit still validates', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'deep.json'), `{"schema":"https://stepflow.org/schemas/v1/flow.json","steps":[],"output":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    const deep = await runWeft(['validate', 'deep.json'], dir);
    expect(deep.stdout + deep.stderr).toMatch(/the flow nests deeper than 256 levels \(limits\.maxJsonDepth\)/);
    writeFileSync(join(dir, 'ok.yaml'), `${SCHEMA}\nsteps: []\noutput: {$literal: ${'['.repeat(200)}${']'.repeat(200)}}\n`);
    const ok = await runWeft(['validate', 'ok.yaml'], dir);
    expect(ok.stdout + ok.stderr).not.toMatch(/nests deeper/);
    expect(ok.code).toBe(0);
  });

  it('the estimate never counts less than the real depth, and leaves ordinary text alone', () => {
    expect(jsonTooDeep('{"a":"[[[[[[[[[[[[","b":[1,2,{"c":"\\"]]]]"}]}', 3)).toBe(false);
    expect(jsonTooDeep('{"a":[[[1]]]}', 3)).toBe(true);
    expect(yamlTooDeep('a:\n  b:\n    c: 1\n  d: "[[[["\n# [[[[\ne: [1, [2]]\n', 3)).toBe(false);
    expect(yamlTooDeep('a:\n  b:\n    c:\n      d: 1\n', 3)).toBe(true);
    expect(yamlTooDeep('a: [[[1]]]\n', 3)).toBe(true);
    expect(yamlTooDeep('- - - - x\n', 3)).toBe(true);
  });
});
