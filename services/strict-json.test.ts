// Tests for the strict JSON reader: what JSON.parse accepts but a boundary must not.
import { describe, expect, it } from 'vitest';
import { ManifestError } from './errors.ts';
import { parseStrictJson } from './strict-json.ts';

function jsonError(text: string, options: { maxDepth?: number } = {}): ManifestError {
  try {
    parseStrictJson(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).code).toBe('MANIFEST_JSON');
    return err as ManifestError;
  }
  throw new Error(`expected ${JSON.stringify(text.slice(0, 80))} to be refused`);
}

describe('parseStrictJson accepts RFC 8259 documents', () => {
  it.each([
    ['null', null],
    ['true', true],
    [' false ', false],
    ['0', 0],
    ['-12', -12],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['-9007199254740991', Number.MIN_SAFE_INTEGER],
    ['"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"', 'a"\\/\b\f\n\r\té😀'],
    ['"raw 😀 é"', 'raw 😀 é'],
    ['[]', []],
    ['[1, [2, [3]], {"a": []}]', [1, [2, [3]], { a: [] }]],
    ['\t\r\n {"a" : 1 , "b":"x"}\n', { a: 1, b: 'x' }],
  ])('%s', (text, expected) => {
    expect(parseStrictJson(text)).toEqual(expected);
  });

  it('returns objects with a null prototype, so inherited names are never found', () => {
    const value = parseStrictJson('{"a": {"b": 1}}') as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.getPrototypeOf(value.a)).toBeNull();
    expect(value.constructor).toBeUndefined();
    expect(value.toString).toBeUndefined();
  });

  it('keeps __proto__ as plain data and never touches Object.prototype', () => {
    const value = parseStrictJson(
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
    ) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('allows nesting exactly up to maxDepth', () => {
    expect(parseStrictJson(`${'['.repeat(64)}${']'.repeat(64)}`)).toBeInstanceOf(Array);
    expect(parseStrictJson('[[1]]', { maxDepth: 2 })).toEqual([[1]]);
  });
});

describe('parseStrictJson refuses', () => {
  it.each([
    ['a duplicate top-level key', '{"a": 1, "b": 2, "a": 3}', '$.a', 'duplicate key "a"'],
    [
      'a duplicate nested key',
      '{"environment": {"env": {"PATH": "/bin", "PATH": "/usr/bin"}}}',
      '$.environment.env.PATH',
      'duplicate',
    ],
    ['a duplicate key spelled with an escape', '{"ab": 1, "a\\u0062": 2}', '$.ab', 'duplicate'],
    ['a duplicate odd key in bracket notation', '{"a b": 1, "a b": 2}', '$["a b"]', 'duplicate'],
    ['a fraction', '{"uid": 1000.0}', '$.uid', 'non-integer number 1000.0'],
    ['an exponent', '{"uid": 1e3}', '$.uid', 'non-integer number 1e3'],
    ['an exponent with sign', '[0, 2E-1]', '$[1]', 'non-integer'],
    ['an integer above 2^53-1', '{"n": 9007199254740992}', '$.n', 'safe range'],
    ['an integer below -(2^53-1)', '{"n": -9007199254740992}', '$.n', 'safe range'],
    ['negative zero', '[-0]', '$[0]', 'negative zero'],
    ['leading zeros', '{"mode": 0755}', '$.mode', 'leading zeros'],
    ['a lone high surrogate escape', '{"s": "\\ud83d"}', '$.s', 'lone surrogate'],
    ['a lone low surrogate escape', '{"s": "x\\ude00"}', '$.s', 'lone surrogate'],
    [
      'a high surrogate escape followed by a non-surrogate',
      '{"s": "\\ud83d\\u0041"}',
      '$.s',
      'lone surrogate',
    ],
    ['a raw lone surrogate', '{"s": "\ud83d"}', '$.s', 'lone surrogate'],
    ['a lone surrogate in a key', '{"\\udc00": 1}', '$ (a key)', 'lone surrogate'],
    ['a byte order mark', '\ufeff{}', '$', 'byte order mark'],
    ['trailing garbage', '{"a": 1} x', '$', 'after the end of the JSON value'],
    ['a second document', '{} {}', '$', 'after the end'],
    ['a trailing comma in an object', '{"a": 1,}', '$', 'expected a string key'],
    ['a trailing comma in an array', '[1,]', '$[1]', 'expected a JSON value'],
    ['a single-quoted string', "{'a': 1}", '$', 'expected a string key'],
    ['an unescaped control character', '{"s": "a\nb"}', '$.s', 'U+000A must be escaped'],
    ['an invalid escape', '{"s": "\\x41"}', '$.s', 'invalid escape'],
    ['a short \\u escape', '{"s": "\\u12"}', '$.s', '4 hex digits'],
    ['an unterminated string', '{"s": "abc', '$.s', 'unterminated string'],
    ['NaN', '[NaN]', '$[0]', 'expected a JSON value'],
    ['Infinity', '{"n": Infinity}', '$.n', 'expected a JSON value'],
    ['a misspelled literal', '[tru]', '$[0]', 'expected a JSON value'],
    ['a plus sign', '[+1]', '$[0]', 'expected a JSON value'],
    ['empty input', '', '$', 'end of input'],
    ['only whitespace', '  \n', '$', 'end of input'],
    ['a comment', '{"a": 1 /* no */}', '$', 'expected "," or "}"'],
    ['non-JSON whitespace (NBSP)', '{\u00a0"a": 1}', '$', 'U+00A0'],
    ['a missing colon', '{"a" 1}', '$.a', 'expected ":"'],
  ])('%s', (_label, text, path, what) => {
    const err = jsonError(text);
    expect(err.message.startsWith(`${path}: `)).toBe(true);
    expect(err.message).toContain(what);
  });

  it('nesting deeper than the default 64 levels, naming the path', () => {
    const text = `{"deep": ${'['.repeat(100)}${']'.repeat(100)}}`;
    const err = jsonError(text);
    expect(err.message).toContain('nesting deeper than 64 levels');
    expect(err.message).toMatch(/^\$\.deep(\[0\])+: /);
  });

  it('nesting deeper than a caller-chosen maxDepth', () => {
    expect(jsonError('[[[1]]]', { maxDepth: 2 }).message).toContain('nesting deeper than 2 levels');
  });

  it('deep input without exhausting the call stack', () => {
    const err = jsonError('['.repeat(300_000));
    expect(err.message).toContain('nesting deeper');
  });

  it('reports line, column and offset', () => {
    const err = jsonError('{\n  "a": 1,\n  "a": 2\n}');
    expect(err.message).toBe(
      '$.a: duplicate key "a" (each key may appear once) (at line 3, column 3, offset 14)',
    );
  });
});
