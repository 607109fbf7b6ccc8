import { describe, expect, it } from 'vitest';
import { typecheckAsUser } from '../helpers/typecheck.js';

// The SDK handler's input is typed from its inputSchema (issue #18 §1), checked with the
// TypeScript compiler against the built declarations, as a user's project sees them.

describe('SDK handler input types', () => {
  it('types input from an inline inputSchema: required, optional, arrays, enums; misuse is a type error', () => {
    const errors = typecheckAsUser(`
import { createServer } from 'weft/sdk';
createServer()
  .component('double', {
    inputSchema: {
      type: 'object', required: ['x', 'tags'],
      properties: { x: { type: 'number' }, note: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, mode: { enum: ['a', 'b'] } },
    },
  }, async (input) => {
    const y: number = input.x * 2;
    const first: string = input.tags[0];
    const note: string | undefined = input.note;
    const mode: 'a' | 'b' | undefined = input.mode;
    const wrong: string = input.x;
    input.nope;
    return { y, first, note, mode, wrong };
  });
`);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^line 14: Type 'number' is not assignable to type 'string'/);
    expect(errors[1]).toMatch(/^line 15: Property 'nope' does not exist on type/);
  });

  it('an annotated parameter wins (the documented generic), and no schema leaves input untyped as before', () => {
    const errors = typecheckAsUser(`
import { createServer, defineComponent } from 'weft/sdk';
interface Order { id: string; qty: number }
createServer()
  .component('order', { inputSchema: { type: 'object' } }, async (input: Order) => input.qty + 1)
  .component('free', {}, async (input) => input.anything.goes)
  .register(defineComponent('typed', { inputSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } }, (input) => input.n.toFixed()));
export const n: string = defineComponent('bad', { inputSchema: { type: 'string' } }, (input) => input.toUpperCase()).path;
createServer().component('mismatch', { inputSchema: { type: 'string' } }, (input) => input * 2);
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^line 9: The left-hand side of an arithmetic operation/);
  });
});
