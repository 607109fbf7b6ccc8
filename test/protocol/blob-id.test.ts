import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BLOB_ID_PREFIX, blobIdOf, blobIdOfText, canonicalJson, normalizeBlobId } from '../../protocol/index.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonicalJson', () => {
  it('gives the same text whatever the key order, at every depth', () => {
    const a = { b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } };
    const b = { a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('keeps array order and nesting', () => {
    expect(canonicalJson([[3, 2], [], [1, [0]]])).toBe('[[3,2],[],[1,[0]]]');
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('writes non-ASCII raw and sorts keys by UTF-16 code units', () => {
    // U+FF5A (ｚ) is above the surrogate pair of 😀 (U+D83D...) in code point order, below it in UTF-16.
    expect(canonicalJson({ 'ｚ': 1, '😀': 2, 'é': 3, z: 4 })).toBe('{"z":4,"é":3,"😀":2,"ｚ":1}');
    expect(canonicalJson('naïve € 日本')).toBe('"naïve € 日本"');
    expect(canonicalJson('quote " backslash \\ newline \n')).toBe('"quote \\" backslash \\\\ newline \\n"');
  });

  it('writes numbers the way JSON.stringify does', () => {
    expect(canonicalJson({ n: [1.0, -0, 0.1, 1e21, 1.5e-7, -42, Number.MAX_SAFE_INTEGER] }))
      .toBe('{"n":[1,0,0.1,1e+21,1.5e-7,-42,9007199254740991]}');
  });

  it('drops undefined members, keeps null, uses toJSON', () => {
    expect(canonicalJson({ a: undefined, b: null, d: new Date(0) })).toBe('{"b":null,"d":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson([undefined])).toBe('[null]');
  });
});

describe('blobIdOf', () => {
  it('is sha256: + hex SHA-256 of the canonical JSON', () => {
    expect(blobIdOf({})).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    const value = { message: 'Hello, blobs!', number: 42 };
    expect(blobIdOf(value)).toBe(`${BLOB_ID_PREFIX}${sha256('{"message":"Hello, blobs!","number":42}')}`);
    expect(blobIdOf(value)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('gives the same id for the same value in any key order, a different id for a different value', () => {
    expect(blobIdOf({ x: 1, y: [1, 2] })).toBe(blobIdOf({ y: [1, 2], x: 1 }));
    expect(blobIdOf({ x: 1, y: [1, 2] })).not.toBe(blobIdOf({ x: 1, y: [2, 1] }));
    expect(blobIdOf('1')).not.toBe(blobIdOf(1));
  });

  it('hashes bytes as given (binary blobs)', () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(blobIdOfText(bytes)).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });
});

describe('normalizeBlobId', () => {
  const hex = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

  it('accepts the prefixed form and a bare 64-hex id, lower-casing', () => {
    expect(normalizeBlobId(`sha256:${hex}`)).toBe(`sha256:${hex}`);
    expect(normalizeBlobId(hex)).toBe(`sha256:${hex}`);
    expect(normalizeBlobId(hex.toUpperCase())).toBe(`sha256:${hex}`);
  });

  it.each([
    ['too short', 'a'.repeat(63)],
    ['too long', 'a'.repeat(65)],
    ['non-hex', 'g'.repeat(64)],
    ['other algorithm', `sha1:${'a'.repeat(64)}`],
    ['prefix only', 'sha256:'],
    ['empty', ''],
    ['whitespace', ` ${'a'.repeat(64)}`],
    ['a number', 42],
    ['null', null],
  ])('rejects a malformed id (%s)', (_label, id) => {
    expect(normalizeBlobId(id)).toBeUndefined();
  });
});
