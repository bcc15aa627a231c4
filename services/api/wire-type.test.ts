// The wire-type toolkit: size, then UTF-8, then strict JSON, then shape and meaning, each refusal
// naming the field; and the JSON Schema each type publishes says what its reader accepts.
import { describe, expect, it } from 'vitest';
import { accountNameRule } from '../identifiers.ts';
import {
  arrayOf,
  boolean,
  constant,
  identifier,
  integer,
  nullable,
  object,
  oneOf,
  parseWire,
  sha256,
  text,
  timestamp,
  WireFormatError,
} from './wire-type.ts';

const sample = object(
  {
    name: identifier(accountNameRule),
    count: integer({ minimum: 1, maximum: 10 }),
    tags: arrayOf(oneOf(['a', 'b'] as const), { maxItems: 2, unique: true }),
    inner: object({ ok: constant(true), at: timestamp() }),
  },
  { note: text({ maxLength: 5 }), digest: sha256(), next: nullable(text({ maxLength: 8 })), flag: boolean() },
);

const good = { name: 'alpha', count: 2, tags: ['a'], inner: { ok: true, at: '2026-11-25T12:00:00.000Z' } };

function refusal(input: string | Uint8Array, side: 'request' | 'answer' = 'request'): WireFormatError {
  try {
    parseWire(sample, input, { maxBytes: 1024, what: 'request body', side });
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    return error as WireFormatError;
  }
  throw new Error('expected a refusal');
}

describe('parseWire', () => {
  it('reads a valid document into frozen data holding only the declared fields', () => {
    const read = parseWire(sample, JSON.stringify({ ...good, note: 'hi', next: null }), {
      maxBytes: 1024,
      what: 'request body',
      side: 'request',
    });
    expect(read).toEqual({ ...good, note: 'hi', next: null });
    expect(Object.isFrozen(read)).toBe(true);
    expect(Object.isFrozen(read.inner)).toBe(true);
  });

  it.each([
    ['too large', 'x'.repeat(1025), 'TOO_LARGE', /^request body: 1025 bytes/],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'INVALID', /^request body: not UTF-8/],
    ['a duplicate key', '{"name":"a","name":"b"}', 'INVALID', /^request body: not strict JSON/],
    ['a fraction', JSON.stringify({ ...good, count: 1.5 }), 'INVALID', /^request body: not strict JSON/],
    ['not an object', '[]', 'INVALID', /^request body: expected a JSON object/],
    ['an unknown field', JSON.stringify({ ...good, extra: 1 }), 'INVALID', /^extra: unknown field/],
    ['a missing field', JSON.stringify({ name: 'alpha' }), 'INVALID', /^count: missing/],
    [
      'a bad identifier',
      JSON.stringify({ ...good, name: 'Alpha' }),
      'INVALID',
      /^name: "Alpha": expected a name/,
    ],
    [
      'an integer out of range',
      JSON.stringify({ ...good, count: 11 }),
      'INVALID',
      /^count: 11: expected an integer from 1 to 10/,
    ],
    [
      'a value named twice',
      JSON.stringify({ ...good, tags: ['a', 'a'] }),
      'INVALID',
      /^tags: names a value twice/,
    ],
    [
      'a nested refusal',
      JSON.stringify({ ...good, tags: ['c'] }),
      'INVALID',
      /^tags\[0\]: "c": expected one of a, b/,
    ],
    [
      'a nested object',
      JSON.stringify({ ...good, inner: { ok: false, at: 'now' } }),
      'INVALID',
      /^inner\.ok: expected true/,
    ],
    [
      'a local time',
      JSON.stringify({ ...good, inner: { ok: true, at: '2026-11-25T12:00:00+01:00' } }),
      'INVALID',
      /^inner\.at: /,
    ],
    ['an odd key', JSON.stringify({ ...good, 'a b': 1 }), 'INVALID', /^"a b": unknown field/],
  ])('refuses %s, naming the field', (_label, input, code, message) => {
    const error = refusal(input);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses an answer with ANSWER_INVALID (a client reading a coordinator that breaks the contract)', () => {
    expect(refusal(JSON.stringify({ ...good, count: 0 }), 'answer').code).toBe('ANSWER_INVALID');
    expect(refusal('x'.repeat(2000), 'answer').code).toBe('ANSWER_INVALID');
  });

  it('skips unknown fields where the type says so (answers may grow fields)', () => {
    const open = object({ a: integer({ minimum: 0 }) }, {}, { unknown: 'ignore' });
    expect(parseWire(open, '{"a":1,"b":2}', { maxBytes: 64, what: 'answer', side: 'answer' })).toEqual({
      a: 1,
    });
  });

  it('bounds nesting depth', () => {
    const deep = `${'['.repeat(20)}${']'.repeat(20)}`;
    expect(() =>
      parseWire(arrayOf(integer({ minimum: 0 }), { maxItems: 1 }), deep, {
        maxBytes: 64,
        what: 'x',
        side: 'answer',
      }),
    ).toThrow(/depth|deeper|nest/i);
  });
});

describe('schemas', () => {
  it('publish what the reader checks: required fields, closed objects, patterns and bounds', () => {
    expect(sample.schema).toMatchObject({
      type: 'object',
      required: ['name', 'count', 'tags', 'inner'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: accountNameRule.pattern.source, maxLength: 63 },
        count: { type: 'integer', minimum: 1, maximum: 10 },
        tags: { type: 'array', maxItems: 2, uniqueItems: true, items: { enum: ['a', 'b'] } },
        inner: { required: ['ok', 'at'], properties: { ok: { const: true }, at: { format: 'date-time' } } },
        next: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        digest: { pattern: '^[0-9a-f]{64}$' },
      },
    });
  });
});
