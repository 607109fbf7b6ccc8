import { describe, expect, it } from 'vitest';
import { applyPath, JsonPathError, NOT_FOUND, parsePath } from '../../protocol/json-path.js';

describe('parsePath (flows.md §5.1)', () => {
  it.each([
    ['', []],
    ['$', []],
    ['  $  ', []],
    ['name', ['name']],
    ['a.b', ['a.b']],
    ['$.a.b', ['a', 'b']],
    ['$[0]', [0]],
    ['$["a b"]', ['a b']],
    ["$['a']", ['a']],
    ['$.a[0].b', ['a', 0, 'b']],
    ['$[ 2 ]', [2]],
    ['$.*', ['*']],
    ['$..a', ['a']],
  ])('parses %j as %j', (text, segments) => {
    expect(parsePath(text).segments).toEqual(segments);
  });

  it('writes canonical text for messages', () => {
    expect(parsePath('output').text).toBe('$.output');
    expect(parsePath('a.b').text).toBe('$["a.b"]');
    expect(parsePath('$.a[0]["b c"]').text).toBe('$.a[0]["b c"]');
  });

  it.each([
    ['$field', /Invalid character 'f' at position 1 .*Expected '\.' or '\['/],
    ['$.a[0', /Unclosed '\['/],
    ['$[abc]', /Invalid index 'abc'/],
    ['$[-1]', /Invalid index '-1'/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePath(text)).toThrow(JsonPathError);
    expect(() => parsePath(text)).toThrow(message);
  });
});

describe('applyPath', () => {
  const value = { a: { b: [10, { c: 'x' }] }, 'a.b': 1, n: null };

  it('walks fields and indexes', () => {
    expect(applyPath(value, parsePath('$.a.b[1].c'))).toBe('x');
    expect(applyPath(value, parsePath('a.b'))).toBe(1);
    expect(applyPath(value, parsePath('$'))).toBe(value);
    expect(applyPath(value, parsePath('$.n'))).toBeNull();
  });

  it('reports not found for missing keys, fields of non-objects and indexes of non-arrays', () => {
    expect(applyPath(value, parsePath('$.zz'))).toBe(NOT_FOUND);
    expect(applyPath(value, parsePath('$.a.b[5]'))).toBe(NOT_FOUND);
    expect(applyPath(value, parsePath('$.a.b.c'))).toBe(NOT_FOUND);
    expect(applyPath(value, parsePath('$.a[0]'))).toBe(NOT_FOUND);
    expect(applyPath('text', parsePath('$.length'))).toBe(NOT_FOUND);
    expect(applyPath(value, parsePath('$.n.x'))).toBe(NOT_FOUND);
  });
});
