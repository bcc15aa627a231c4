// Tests for RFC 8785 canonicalisation, using the RFC's own examples.
import { describe, expect, it } from 'vitest';
import { ManifestError } from './errors.ts';
import { canonicalizeJcs } from './jcs.ts';
import { parseStrictJson } from './strict-json.ts';

function fromIeee754(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalizeJcs', () => {
  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", ' +
        '"1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", ' +
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    const canonical = canonicalizeJcs(input);
    expect(canonical).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts an astral key after U+FB33-style BMP keys only by code unit, not code point', () => {
    // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB33 although its code point is larger.
    expect(canonicalizeJcs({ '\ufb33': 1, '\ud83d\ude00': 2 })).toBe('{"\ud83d\ude00":2,"\ufb33":1}');
  });

  it('reproduces the RFC 8785 section 3.2.2 example', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalizeJcs(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serialises IEEE 754 %s as %s (RFC 8785 appendix B)', (hex, expected) => {
    expect(canonicalizeJcs(fromIeee754(hex))).toBe(expected);
  });

  it('escapes strings minimally, as JSON.stringify does', () => {
    expect(canonicalizeJcs('\u0000\u001f\u007f"\\/\b\f\n\r\t\u2028é😀')).toBe(
      '"\\u0000\\u001f\u007f\\"\\\\/\\b\\f\\n\\r\\t\u2028é😀"',
    );
  });

  it('drops whitespace and nests arrays and objects', () => {
    expect(canonicalizeJcs({ b: [1, { d: null, c: 'x' }], a: {} })).toBe(
      '{"a":{},"b":[1,{"c":"x","d":null}]}',
    );
  });

  it('accepts the null-prototype objects parseStrictJson returns, including a __proto__ key', () => {
    const value = parseStrictJson('{"z": 1, "__proto__": {"b": true, "a": false}}');
    expect(canonicalizeJcs(value)).toBe('{"__proto__":{"a":false,"b":true},"z":1}');
  });

  it('is a fixed point: canonicalising canonical JSON changes nothing', () => {
    const once = canonicalizeJcs(JSON.parse('{ "b" : [ 1 , "\\u00e9" ], "a" : { "y": 2, "x": 1 } }'));
    expect(canonicalizeJcs(JSON.parse(once))).toBe(once);
  });

  it.each([
    ['NaN', Number.NaN, '$'],
    ['Infinity', { a: [Number.POSITIVE_INFINITY] }, '$.a[0]'],
    ['undefined', { a: undefined }, '$.a'],
    ['a function', [() => 1], '$[0]'],
    ['a bigint', { n: 1n }, '$.n'],
    ['a Date', { d: new Date(0) }, '$.d'],
    ['a Map', new Map(), '$'],
    ['a lone surrogate in a value', { s: '\ud800' }, '$.s'],
    ['a lone surrogate in a key', { '\udc00': 1 }, '$["\\udc00"]'],
    ['undefined in an array', [1, undefined, 3], '$[1]'],
  ])('refuses %s, naming the path', (_label, value, path) => {
    try {
      canonicalizeJcs(value);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).code).toBe('MANIFEST_JSON');
      expect((err as ManifestError).message.startsWith(`${path}: cannot canonicalise`)).toBe(true);
    }
  });

  it('refuses a cycle', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalizeJcs(cyclic)).toThrow(/\$\.self: cannot canonicalise: .*cycle/);
  });

  it('allows the same object twice when it is not its own ancestor', () => {
    const shared = { a: 1 };
    expect(canonicalizeJcs([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });
});
