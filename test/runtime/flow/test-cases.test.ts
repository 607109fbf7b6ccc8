import { describe, expect, it } from 'vitest';
import { failure, flowError, success } from '../../../protocol/index.js';
import { matchTestCase, normalizeForTest, ZERO_RUN_ID } from '../../../runtime/flow/test-cases.js';
import type { CaseMatch } from '../../../runtime/flow/test-cases.js';

const message = (m: CaseMatch) => (m.pass ? '' : m.message);

describe('the weft test matcher (flows.md §10)', () => {
  it('normalizes: sorted keys, run_id strings zeroed, backtrace dropped', () => {
    const n = normalizeForTest({ b: 1, a: { run_id: 'abc', backtrace: 'x', keep: [{ run_id: 5 }] } });
    expect(JSON.stringify(n)).toBe(`{"a":{"keep":[{"run_id":5}],"run_id":"${ZERO_RUN_ID}"},"b":1}`);
    expect(matchTestCase({ outcome: 'success', result: { run_id: 'one' } }, success({ run_id: 'two' })).pass).toBe(true);
  });

  it('matches success partially: expected keys must exist and match; arrays need the same length', () => {
    const actual = success({ a: 1, extra: true, list: [{ x: 1, y: 2 }], nested: { k: 'v' } });
    expect(matchTestCase({ outcome: 'success', result: { a: 1, list: [{ x: 1 }] } }, actual).pass).toBe(true);
    expect(message(matchTestCase({ outcome: 'success', result: { a: 2 } }, actual))).toMatch(/^result\.a: expected 2, got 1\n/);
    expect(message(matchTestCase({ outcome: 'success', result: { missing: 1 } }, actual))).toMatch(/^result\.missing: missing \(expected 1\)/);
    expect(message(matchTestCase({ outcome: 'success', result: { list: [] } }, actual))).toMatch(/^result\.list: expected 0 elements, got 1/);
    expect(message(matchTestCase({ outcome: 'success', result: { nested: 'v' } }, actual))).toMatch(/^result\.nested: expected "v", got \{"k":"v"\}/);
  });

  it('fails on an outcome mismatch and on a case without expected output', () => {
    expect(message(matchTestCase({ outcome: 'success', result: 1 }, failure('COMPONENT_FAILED', 'x')))).toMatch(/^expected outcome success, got failed/);
    expect(message(matchTestCase(undefined, success(1)))).toMatch(/^no expected output; actual result:\n\{"outcome":"success","result":1\}/);
  });

  it('compares failures by code and message, and data partially when expected', () => {
    const actual = failure('COMPONENT_FAILED', 'bad', { detail: 1, more: 2 });
    expect(matchTestCase({ outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'bad' } }, actual).pass).toBe(true);
    expect(matchTestCase({ outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'bad', data: { detail: 1 } } }, actual).pass).toBe(true);
    expect(message(matchTestCase({ outcome: 'failed', error: { code: 'TIMEOUT', message: 'bad' } }, actual))).toMatch(/^error\.kind: expected "TIMEOUT", got "COMPONENT_FAILED"/);
    expect(message(matchTestCase({ outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'other' } }, actual))).toMatch(/^error\.message: expected "other", got "bad"/);
    expect(message(matchTestCase({ outcome: 'failed', error: { code: 'COMPONENT_FAILED', message: 'bad', data: { detail: 9 } } }, actual))).toMatch(/^error\.data\.detail: expected 9, got 1/);
    expect(matchTestCase({ outcome: 'failed', error: { code: 8, message: 'error' } }, { outcome: 'failed', error: flowError('COMPONENT_FAILED', 'error', undefined, 8) }).pass).toBe(true);
  });

  it('accepts Stepflow 500 expectations: any step failure code, checked against the named step when results are given', () => {
    const stepFailure = failure('COMPONENT_FAILED', 'No behavior defined for /x on {}');
    const expected = { outcome: 'failed' as const, error: { code: 500, message: 'step "s1" failed', data: { stack: [{ error: 'stepflow-specific' }] } } };
    expect(matchTestCase(expected, stepFailure).pass).toBe(true);
    expect(matchTestCase(expected, stepFailure, { stepResults: new Map([['s1', stepFailure]]) }).pass).toBe(true);
    expect(message(matchTestCase(expected, stepFailure, { stepResults: new Map([['s1', success(1)]]) })))
      .toMatch(/^error: expected the failure of step "s1", got/);
    expect(message(matchTestCase(expected, failure('EXPRESSION_FAILURE', 'Path $.a not found')))).toMatch(/^error\.kind: expected a step failure \(Stepflow's 500\)/);
    expect(matchTestCase({ outcome: 'failed', error: { code: 500, message: 'error routing component' } }, failure('COMPONENT_NOT_FOUND', 'no route')).pass).toBe(true);
  });

  it('accepts the kind as `kind`, as a string `code`, or beside the integer code, as weft prints errors', () => {
    const actual = failure('TIMEOUT', 'slow');
    for (const error of [{ kind: 'TIMEOUT', message: 'slow' }, { code: 'TIMEOUT', message: 'slow' }, { code: 500, kind: 'TIMEOUT', message: 'slow' }]) {
      expect(matchTestCase({ outcome: 'failed', error }, actual), JSON.stringify(error)).toEqual({ pass: true });
    }
    expect(message(matchTestCase({ outcome: 'failed', error: { code: 500, kind: 'CANCELLED', message: 'slow' } }, actual)))
      .toMatch(/^error\.kind: expected "CANCELLED", got "TIMEOUT"/);
    expect(message(matchTestCase({ outcome: 'failed', error: { code: 1, kind: 'TIMEOUT', message: 'slow' } }, actual)))
      .toMatch(/^error\.code: expected 1, got 500 \("TIMEOUT"\)/);
  });

  it('accepts Stepflow expression failure codes 1 and 404 as EXPRESSION_FAILURE', () => {
    const actual = failure('EXPRESSION_FAILURE', 'Path $.a not found');
    expect(matchTestCase({ outcome: 'failed', error: { code: 1, message: 'Path $.a not found' } }, actual).pass).toBe(true);
    expect(matchTestCase({ outcome: 'failed', error: { code: 1, message: 'Path $.a not found' } }, failure('COMPONENT_FAILED', 'Path $.a not found')).pass).toBe(false);
  });
});
