// securesystemslib's canonical JSON (`formats.encode_canonical`), the byte form in-toto 1.x keyids and links sign.
import { AttestationError } from '../errors.ts';

/**
 * Encodes `value` exactly as Python securesystemslib's `encode_canonical` does, so keyids and
 * signatures we compute match in-toto 1.x and Debian's apt-transport-in-toto byte for byte.
 *
 * - Object keys sorted by Unicode code point (Python's `sorted` on `str`), separators `,` and `:`.
 * - Strings escape only `\` and `"`; every other character, control characters and non-ASCII
 *   included, is written raw. This is NOT RFC 8785 (JCS) and NOT `JSON.stringify`.
 * - Numbers must be integers. Safe integers are accepted as `number`; larger ones only as `bigint`
 *   (a `number` past 2^53 has already lost digits Python would keep).
 * - `true`, `false`, `null`, arrays and plain objects; nothing else (`undefined`, Date, Map, ...).
 *
 * The caller encodes the result as UTF-8, which is why lone UTF-16 surrogates are refused:
 * Python's `.encode('utf-8')` fails on them and Node would silently replace them with U+FFFD.
 *
 * @throws AttestationError STATEMENT_INVALID naming the JSON path of the value that cannot be encoded.
 */
export function encodeCanonical(value: unknown): string {
  const parts: string[] = [];
  encodeInto(value, '$', parts, new Set());
  return parts.join('');
}

// A lone high surrogate not followed by a low one, or a lone low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw unencodable(path, 'string holds a lone UTF-16 surrogate');
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function encodeInto(value: unknown, path: string, parts: string[], ancestors: Set<object>): void {
  if (value === null) {
    parts.push('null');
  } else if (value === true) {
    parts.push('true');
  } else if (value === false) {
    parts.push('false');
  } else if (typeof value === 'string') {
    parts.push(encodeString(value, path));
  } else if (typeof value === 'bigint') {
    parts.push(value.toString());
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw unencodable(path, `${value} is not an integer`);
    if (!Number.isSafeInteger(value)) throw unencodable(path, `${value} is past 2^53; pass a bigint`);
    // String(-0) is "0", which is also what Python prints for int(-0.0).
    parts.push(String(value));
  } else if (Array.isArray(value)) {
    enter(value, path, ancestors);
    parts.push('[');
    value.forEach((item, index) => {
      if (index > 0) parts.push(',');
      encodeInto(item, `${path}[${index}]`, parts, ancestors);
    });
    parts.push(']');
    ancestors.delete(value);
  } else if (isPlainObject(value)) {
    enter(value, path, ancestors);
    parts.push('{');
    const keys = Object.keys(value).sort(compareCodePoints);
    keys.forEach((key, index) => {
      if (index > 0) parts.push(',');
      const childPath = `${path}.${key}`;
      parts.push(encodeString(key, childPath), ':');
      encodeInto(value[key], childPath, parts, ancestors);
    });
    parts.push('}');
    ancestors.delete(value);
  } else {
    const kind =
      value === undefined ? 'undefined' : typeof value === 'object' ? 'a non-plain object' : typeof value;
    throw unencodable(path, `${kind} has no canonical JSON form`);
  }
}

function enter(value: object, path: string, ancestors: Set<object>): void {
  if (ancestors.has(value)) throw unencodable(path, 'value refers to itself');
  ancestors.add(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Orders strings by Unicode code point, as Python does; JS `<` compares UTF-16 code units instead. */
export function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function unencodable(path: string, what: string): AttestationError {
  return new AttestationError('STATEMENT_INVALID', `canonical JSON: ${path}: ${what}`);
}
