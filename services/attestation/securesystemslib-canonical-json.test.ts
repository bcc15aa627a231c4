// Tests for securesystemslib canonical JSON against hand-computed expectations.
import { describe, expect, it } from 'vitest';
import { AttestationError } from '../errors.ts';
import { compareCodePoints, encodeCanonical } from './securesystemslib-canonical-json.ts';

function refusal(value: unknown): AttestationError {
  try {
    encodeCanonical(value);
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationError);
    expect((error as AttestationError).code).toBe('STATEMENT_INVALID');
    return error as AttestationError;
  }
  throw new Error('expected encodeCanonical to throw');
}

describe('encodeCanonical', () => {
  it('sorts keys, uses no whitespace, and writes scalars as Python does', () => {
    const value = { b: 1, a: [true, false, null], c: { z: 'x', y: -3 }, '': 0, e: [], d: {} };
    expect(encodeCanonical(value)).toBe(
      '{"":0,"a":[true,false,null],"b":1,"c":{"y":-3,"z":"x"},"d":{},"e":[]}',
    );
  });

  it('escapes only backslash and double quote; control characters and non-ASCII stay raw', () => {
    const text = 'a"b\\c\n\t\u0001\u007fé€😀/';
    // Built by hand: a " becomes \" and a \ becomes \\, nothing else changes.
    const expected = '"a\\"b\\\\c\n\t\u0001\u007fé€😀/"';
    expect(encodeCanonical(text)).toBe(expected);
    expect(encodeCanonical({ [text]: 1 })).toBe(`{${expected}:1}`);
  });

  it('orders keys by code point, not by UTF-16 code unit', () => {
    // U+FFFF < U+10000 as code points, but JS's default sort puts the surrogate pair (0xD800…) first.
    expect(['\u{10000}', '\uffff'].sort()).toEqual(['\u{10000}', '\uffff']);
    expect(encodeCanonical({ '\u{10000}': 2, '\uffff': 1, B: 0, a: 0 })).toBe(
      '{"B":0,"a":0,"\uffff":1,"\u{10000}":2}',
    );
    expect(compareCodePoints('ab', 'a')).toBe(1);
    expect(compareCodePoints('a', 'ab')).toBe(-1);
    expect(compareCodePoints('é', 'é')).toBe(0);
  });

  it('writes integers, including bigints past 2^53, and -0 as 0', () => {
    expect(encodeCanonical([0, -0, 7, -42, Number.MAX_SAFE_INTEGER, 2n ** 64n])).toBe(
      '[0,0,7,-42,9007199254740991,18446744073709551616]',
    );
  });

  it.each([
    ['a float', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an unsafe integer number', 2 ** 53],
    ['undefined', undefined],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['a function', () => 1],
    ['a lone surrogate', 'x\ud800'],
  ])('refuses %s', (_label, value) => {
    expect(refusal(value).message).toMatch(/^canonical JSON: \$: /);
  });

  it('names the path of the value it refuses', () => {
    expect(refusal({ a: [1, 1.5] }).message).toBe('canonical JSON: $.a[1]: 1.5 is not an integer');
    expect(refusal({ k: undefined }).message).toContain('$.k');
  });

  it('refuses cycles but accepts shared, non-cyclic references', () => {
    const shared = { x: 1 };
    expect(encodeCanonical([shared, shared])).toBe('[{"x":1},{"x":1}]');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refusal(cyclic).message).toContain('refers to itself');
  });
});
