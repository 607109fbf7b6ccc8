import { describe, expect, it } from 'vitest';
import { failure, success } from '../../../protocol/index.js';
import type { FlowResult } from '../../../protocol/index.js';
import { evaluate, needs, parseExpr } from '../../../runtime/flow/value-expr.js';
import type { EvalEnv, ExprIssue } from '../../../runtime/flow/value-expr.js';

const STEPS = ['a', 'b', 'c'];
const stepIndex = new Map(STEPS.map((id, i) => [id, i]));
const parse = (raw: unknown) => {
  const issues: ExprIssue[] = [];
  const e = parseExpr(raw, 'x', stepIndex, issues);
  expect(issues).toEqual([]);
  return e;
};
const env = (results: (FlowResult | undefined)[] = [], extra: Partial<EvalEnv> = {}): EvalEnv =>
  ({ input: { name: 'n', nested: { v: 1 }, list: [5], t: true, f: false, z: 0 }, results, variables: undefined, variableDefaults: new Map(), ...extra });
const ev = (raw: unknown, e: EvalEnv = env()) => evaluate(parse(raw), e);
const failedA = failure('COMPONENT_FAILED', 'boom');

describe('value expressions (flows.md §5)', () => {
  it('scalars, arrays and plain objects are themselves; strings are not interpolated', () => {
    expect(ev('$input')).toEqual(success('$input'));
    expect(ev(3)).toEqual(success(3));
    expect(ev(null)).toEqual(success(null));
    expect(ev({ a: [1, { $foo: 2 }] })).toEqual(success({ a: [1, { $foo: 2 }] }));
  });

  it('$literal returns its value unevaluated', () => {
    expect(ev({ $literal: { $step: 'a' } })).toEqual(success({ $step: 'a' }));
  });

  it('$input reads the whole input or a path, and fails on a missing path', () => {
    expect(ev({ $input: '$' }).outcome).toBe('success');
    expect(ev({ $input: '' })).toEqual(success(env().input));
    expect(ev({ $input: 'name' })).toEqual(success('n'));
    expect(ev({ $input: '$.nested.v' })).toEqual(success(1));
    expect(ev({ $input: '$.list[0]' })).toEqual(success(5));
    expect(ev({ $input: '$.missing' })).toEqual(failure('EXPRESSION_FAILURE', 'Input path $.missing not found'));
  });

  it('$step returns the result, applies path, propagates failures unchanged and nulls through paths', () => {
    const e = env([success({ out: { x: 1 } }), failedA, success(null)]);
    expect(ev({ $step: 'a' }, e)).toEqual(success({ out: { x: 1 } }));
    expect(ev({ $step: 'a', path: 'out' }, e)).toEqual(success({ x: 1 }));
    expect(ev({ $step: 'a', path: '$.out.x' }, e)).toEqual(success(1));
    expect(ev({ $step: 'a', path: 'nope' }, e)).toEqual(failure('EXPRESSION_FAILURE', 'Path $.nope not found'));
    expect(ev({ $step: 'b', path: 'out' }, e)).toBe(failedA);
    expect(ev({ $step: 'c', path: '$.deep.er' }, e)).toEqual(success(null));
  });

  it('$if: only false, null and a failed condition are falsy; else defaults to null', () => {
    const e = env([failedA]);
    for (const truthy of [true, 0, '', [], {}, 'x']) {
      expect(ev({ $if: { $literal: truthy }, then: 'T', else: 'E' }, e)).toEqual(success('T'));
    }
    expect(ev({ $if: false, then: 'T', else: 'E' }, e)).toEqual(success('E'));
    expect(ev({ $if: null, then: 'T', else: 'E' }, e)).toEqual(success('E'));
    expect(ev({ $if: { $step: 'a' }, then: 'T', else: 'E' }, e)).toEqual(success('E'));
    expect(ev({ $if: { $input: '$.nothing' }, then: 'T' }, e)).toEqual(success(null));
  });

  it('$coalesce: first non-null success; a failure stops the scan; all null → null', () => {
    const e = env([failedA, success(null), success(7)]);
    expect(ev({ $coalesce: [null, { $step: 'b' }, { $step: 'c' }, 9] }, e)).toEqual(success(7));
    expect(ev({ $coalesce: [null, { $step: 'a' }, 9] }, e)).toBe(failedA);
    expect(ev({ $coalesce: [null, { $step: 'b', path: 'x' }] }, e)).toEqual(success(null));
    expect(ev({ $coalesce: [] }, e)).toEqual(success(null));
  });

  it('objects and arrays fail with their first failing part, in key order', () => {
    const e = env([failedA]);
    expect(ev({ k1: { $input: '$.nope' }, k2: { $step: 'a' } }, e)).toEqual(failure('EXPRESSION_FAILURE', 'Input path $.nope not found'));
    expect(ev([1, { $step: 'a' }, { $input: '$.nope' }], e)).toBe(failedA);
    expect(ev({ k: [{ $input: 'name' }] }, e)).toEqual(success({ k: ['n'] }));
  });

  it('checks expression keys in Stepflow order: $literal, $if, $coalesce, $step, $input, $variable', () => {
    const e = env([success('A')]);
    expect(ev({ $literal: 1, $step: 'a' }, e)).toEqual(success(1));
    expect(ev({ $step: 'a', $input: 'name' }, e)).toEqual(success('A'));
    expect(ev({ $input: 'name', $variable: 'v' }, e)).toEqual(success('n'));
    expect(ev({ $coalesce: [2], $step: 'a' }, e)).toEqual(success(2));
  });

  it('$variable: supplied value, then schema default, then inline default, else failure', () => {
    const defaults = new Map<string, unknown>([['fromSchema', 'S'], ['obj', { k: 1 }]]);
    const e = env([success('A')], { variables: { supplied: { deep: 'D' }, fromSchema: 'override' }, variableDefaults: defaults });
    expect(ev({ $variable: 'supplied' }, e)).toEqual(success({ deep: 'D' }));
    expect(ev({ $variable: '$.supplied.deep' }, e)).toEqual(success('D'));
    expect(ev({ $variable: 'fromSchema' }, e)).toEqual(success('override'));
    expect(ev({ $variable: '$.obj.k' }, e)).toEqual(success(1));
    expect(ev({ $variable: 'missing', default: { $step: 'a' } }, e)).toEqual(success('A'));
    expect(ev({ $variable: '$.obj.nope', default: 'fallback' }, e)).toEqual(success('fallback'));
    expect(ev({ $variable: 'missing' }, e)).toEqual(failure('EXPRESSION_FAILURE', 'Undefined variable: missing'));
    expect(ev({ $variable: '$.obj.nope' }, e)).toEqual(failure('EXPRESSION_FAILURE', 'Variable path $.obj.nope not found'));
  });

  it('reports malformed expressions with their path', () => {
    const issues: ExprIssue[] = [];
    parseExpr({ a: { $if: true }, b: { $coalesce: 1 }, c: { $input: '$x' }, d: { $step: 'a', path: '$[' }, e: { $step: 3 } }, 'steps[0].input', stepIndex, issues);
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['steps[0].input.a', '`$if` requires a `then` expression'],
      ['steps[0].input.b.$coalesce', '`$coalesce` must be an array of expressions'],
      ['steps[0].input.c.$input', "Invalid character 'x' at position 1 in path '$x'. Expected '.' or '['"],
      ['steps[0].input.d.path', "Unclosed '[' at position 1 in path '$['"],
      ['steps[0].input.e.$step', '`$step` must be a step id (a string)'],
    ]);
  });
});

describe('needs (lazy, flows.md §7)', () => {
  const n = (raw: unknown, results: (FlowResult | undefined)[] = []) => needs(parse(raw), env(results), STEPS);

  it('a $step needs its step until it has finished', () => {
    expect(n({ x: { $step: 'a' }, y: [{ $step: 'b' }] })).toEqual(['a', 'b']);
    expect(n({ $step: 'a' }, [success(1)])).toEqual([]);
  });

  it('$if needs only its condition, then only the branch taken', () => {
    const e = { $if: { $step: 'a' }, then: { $step: 'b' }, else: { $step: 'c' } };
    expect(n(e)).toEqual(['a']);
    expect(n(e, [success(true)])).toEqual(['b']);
    expect(n(e, [success(false)])).toEqual(['c']);
    expect(n(e, [failedA])).toEqual(['c']);
  });

  it('$coalesce needs elements one at a time and stops at non-null or failure', () => {
    const e = { $coalesce: [{ $step: 'a' }, { $step: 'b' }, { $step: 'c' }] };
    expect(n(e)).toEqual(['a']);
    expect(n(e, [success(null)])).toEqual(['b']);
    expect(n(e, [success(1)])).toEqual([]);
    expect(n(e, [failedA])).toEqual([]);
  });

  it('a $variable default is needed only when the variable does not resolve', () => {
    expect(n({ $variable: 'v', default: { $step: 'a' } })).toEqual(['a']);
    expect(needs(parse({ $variable: 'v', default: { $step: 'a' } }), env([], { variables: { v: 1 } }), STEPS)).toEqual([]);
  });
});
