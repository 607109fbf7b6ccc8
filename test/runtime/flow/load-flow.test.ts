import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFlow, formatDiagnostics, loadFlowFile, loadFlowText } from '../../../runtime/flow/load-flow.js';
import type { LoadResult } from '../../../runtime/flow/load-flow.js';
import { MockPlugin } from '../../../runtime/plugins/mock-plugin.js';
import { StaticRouter } from '../../helpers/static-router.js';

const HEAD = 'schema: https://stepflow.org/schemas/v1/flow.json\nname: t\ndescription: d\n';
const lines = (r: LoadResult, levels = ['fatal', 'error', 'warning']) =>
  formatDiagnostics(r.diagnostics.filter((d) => levels.includes(d.level)), 'f.yaml').split('\n').filter(Boolean);
const load = (yaml: string, options = {}) => loadFlowText(yaml, { file: 'f.yaml', ...options });

describe('loading flow files', () => {
  it('loads a valid flow with no diagnostics and precomputes its steps', () => {
    const r = load(`${HEAD}steps:\n- id: s1\n  component: /x/y\n  input: {a: {$input: a}}\noutput: {$step: s1}\n`);
    expect(r.ok).toBe(true);
    expect(r.diagnostics).toEqual([]);
    expect(r.flow?.stepIndex.get('s1')).toBe(0);
    expect(r.flow?.steps[0].onError).toEqual({ action: 'fail' });
  });

  it('reads YAML 1.2: an unquoted timestamp stays a string', () => {
    const r = load(`${HEAD}output: 2024-01-01 00:00:00+00:00\n`);
    expect(r.flow?.flow.output).toBe('2024-01-01 00:00:00+00:00');
  });

  it('reads files by extension, JSON included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-flow-'));
    writeFileSync(join(dir, 'f.json'), JSON.stringify({ schema: 'https://stepflow.org/schemas/v1/flow.json', name: 'j', description: 'd', output: 1 }));
    expect((await loadFlowFile(join(dir, 'f.json'))).ok).toBe(true);
    const missing = await loadFlowFile(join(dir, 'nope.yaml'));
    expect(missing.diagnostics[0]).toMatchObject({ level: 'fatal', rule: 'ReadError' });
    writeFileSync(join(dir, 'bad.json'), '{');
    expect((await loadFlowFile(join(dir, 'bad.json'))).diagnostics[0]).toMatchObject({ rule: 'JsonSyntax' });
  });

  it('reports YAML syntax errors with their line', () => {
    const r = load('schema: [unclosed\n');
    expect(r.ok).toBe(false);
    expect(lines(r)[0]).toMatch(/^f\.yaml: line \d+, column \d+: invalid YAML: .* \(YamlSyntax\)$/);
  });

  it('reports schema errors with path and ajv rule', () => {
    expect(lines(load('name: x\n'))).toContain('f.yaml: schema: must have required property \'schema\' (required)');
    expect(lines(load('schema: https://example.com/other\n'))).toEqual(['f.yaml: schema: must be equal to constant: "https://stepflow.org/schemas/v1/flow.json" (const)']);
    const r = load(`${HEAD}steps:\n- id: a\n  component: /x\n- id: b\n  component: /x\n  onError: {action: skip}\n- id: c\n`);
    expect(lines(r)).toEqual([
      'f.yaml: steps[1].onError.action: must be equal to one of the allowed values: ["fail","useDefault","retry"] (enum)',
      'f.yaml: steps[2].component: must have required property \'component\' (required)',
    ]);
    expect(r.flow).toBeUndefined();
  });

  it('reports DuplicateStepId and EmptyStepId as fatal', () => {
    const r = load(`${HEAD}steps:\n- {id: a, component: /x}\n- {id: a, component: /x}\n- {id: '', component: /x}\noutput: {$step: a}\n`);
    expect(r.flow).toBeUndefined();
    expect(lines(r, ['fatal'])).toEqual([
      'f.yaml: steps[1].id: duplicate step id "a" (first defined at steps[0]) (DuplicateStepId)',
      'f.yaml: steps[2].id: step id must not be empty (EmptyStepId)',
    ]);
  });

  it('reports SelfReference and UndefinedStepReference (unknown or later step); output may reference any step', () => {
    const r = load(`${HEAD}steps:
- id: a
  component: /x
  input: {x: {$step: b}, me: {$step: a}}
- id: b
  component: /x
  input: {x: {$step: lode}}
output: {a: {$step: a}, b: {$step: b}, z: {$step: zz}}
`);
    expect(lines(r, ['fatal'])).toEqual([
      'f.yaml: steps[0].input.x: step "b" is defined later (steps[1]); a step may only reference earlier steps (UndefinedStepReference)',
      'f.yaml: steps[0].input.me: step "a" references itself (SelfReference)',
      'f.yaml: steps[1].input.x: unknown step "lode" (UndefinedStepReference)',
      'f.yaml: output.z: unknown step "zz" (UndefinedStepReference)',
    ]);
  });

  it('reports malformed expressions as InvalidReferenceExpression', () => {
    const r = load(`${HEAD}output:\n  a: {$if: true}\n  b: {$coalesce: {x: 1}}\n  c: {$input: $field}\n`);
    expect(lines(r, ['fatal'])).toEqual([
      'f.yaml: output.a: `$if` requires a `then` expression (InvalidReferenceExpression)',
      'f.yaml: output.b.$coalesce: `$coalesce` must be an array of expressions (InvalidReferenceExpression)',
      "f.yaml: output.c.$input: Invalid character 'f' at position 1 in path '$field'. Expected '.' or '[' (InvalidReferenceExpression)",
    ]);
  });

  it('reports InvalidComponent and, with a router, NoRoute as errors that still leave an executable flow', () => {
    const router = new StaticRouter({ '/mock/': new MockPlugin('mock', { type: 'mock', components: {} }) });
    const r = load(`${HEAD}steps:\n- {id: a, component: eval}\n- {id: b, component: /python/udf}\n- {id: c, component: /mock/x}\noutput: [{$step: a}, {$step: b}, {$step: c}]\n`, { router });
    expect(r.ok).toBe(false);
    expect(r.flow).toBeDefined();
    expect(lines(r, ['error'])).toEqual([
      'f.yaml: steps[0].component: component "eval" must be a path starting with "/" (InvalidComponent)',
      'f.yaml: steps[1].component: no route in the configuration matches component "/python/udf" (NoRoute)',
    ]);
  });

  it('reports UndefinedVariable unless declared, supplied or given an inline default', () => {
    const yaml = `${HEAD}schemas:
  type: object
  properties:
    variables:
      type: object
      properties: {declared: {type: string}}
output:
  a: {$variable: declared}
  b: {$variable: $.withDefault.x, default: 1}
  c: {$variable: $.api_key.v}
`;
    expect(lines(load(yaml), ['error'])).toEqual([
      'f.yaml: output.c: undefined variable "api_key": declare it in schemas.properties.variables or give an inline default (UndefinedVariable)',
    ]);
    expect(load(yaml, { variablesProvided: ['api_key'] }).ok).toBe(true);
  });

  it('warns about unused steps, missing name/description and unknown keys without blocking', () => {
    const r = load(`schema: https://stepflow.org/schemas/v1/flow.json
inputSchema: {type: object}
steps:
- id: unused
  component: /x
  outputSchema: null
- id: side
  component: /x
  mustExecute: true
  onError: {action: fail, defaultValue: 1}
output: 1
`);
    expect(r.ok).toBe(true);
    expect(lines(r, ['warning'])).toEqual([
      'f.yaml: (root): the flow has no `name` (MissingFlowName)',
      'f.yaml: (root): the flow has no `description` (MissingFlowDescription)',
      'f.yaml: inputSchema: unknown key "inputSchema" is ignored (UnknownKey)',
      'f.yaml: steps[0].outputSchema: unknown key "outputSchema" is ignored (UnknownKey)',
      'f.yaml: steps[1].onError.defaultValue: unknown key "defaultValue" is ignored (UnknownKey)',
      'f.yaml: steps[0]: step "unused" is used neither by `output` nor by another step and will never run (UnreachableStep)',
      'f.yaml: steps[1]: step "side" is used neither by `output` nor by another step (it runs only because of mustExecute) (UnreachableStep)',
    ]);
  });

  it('validates flow literals nested in step inputs (InvalidSubflowLiteral)', () => {
    const r = load(`${HEAD}steps:
- id: put
  component: /builtin/put_blob
  input:
    data:
      $literal:
        schema: https://stepflow.org/schemas/v1/flow.json
        steps:
        - {id: inner, component: create_messages}
        output: {$step: missing}
output: {$step: put}
`);
    expect(r.flow).toBeDefined();
    expect(lines(r, ['error'])).toEqual([
      'f.yaml: steps[0].input.data.$literal.steps[0].component: nested flow: component "create_messages" must be a path starting with "/" (InvalidComponent) (InvalidSubflowLiteral)',
      'f.yaml: steps[0].input.data.$literal.output: nested flow: unknown step "missing" (UndefinedStepReference) (InvalidSubflowLiteral)',
    ]);
  });

  it('computes variable defaults from the variables schema (flows.md §6)', () => {
    const r = analyzeFlow({
      schema: 'https://stepflow.org/schemas/v1/flow.json',
      schemas: { properties: { variables: { type: 'object', required: ['req'], properties: {
        explicit: { type: 'string', default: 'x' }, s: { type: 'string' }, n: { type: 'integer' }, b: { type: 'boolean' },
        nl: { type: ['string', 'null'] }, req: { type: 'string' }, obj: { type: 'object' },
      } } } },
    });
    expect([...r.flow!.variableDefaults]).toEqual([['explicit', 'x'], ['s', ''], ['n', 0], ['b', false], ['nl', null]]);
  });
});
