import { describe, expect, it } from 'vitest';
import { evaluate, parseExpr } from '../../runtime/flow/value-expr.js';

// Constant folding once turned `{data: {$literal: X}}` into the literal object itself,
// `$literal` wrapper included, so /builtin/put_blob received no flow.
describe('a $literal nested in an otherwise constant expression', () => {
  const env = { input: {}, steps: [], variables: new Map(), stepIds: [] } as unknown as Parameters<typeof evaluate>[1];

  it('is unwrapped inside an object', () => {
    const issues: unknown[] = [];
    const expr = parseExpr({ blob_type: 'flow', data: { $literal: { steps: [{ input: { $input: 'x' } }] } } }, 'input', new Map(), issues as never);
    expect(evaluate(expr, env)).toEqual({ outcome: 'success', result: { blob_type: 'flow', data: { steps: [{ input: { $input: 'x' } }] } } });
  });

  it('is unwrapped inside an array', () => {
    const expr = parseExpr([1, { $literal: { $step: 'a' } }], 'input', new Map(), []);
    expect(evaluate(expr, env)).toEqual({ outcome: 'success', result: [1, { $step: 'a' }] });
  });
});
