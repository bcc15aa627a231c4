// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form a JSON document's digest is taken over.
import { ManifestError } from './errors.ts';
import { jsonPathChild } from './strict-json.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Serialises a JSON value in RFC 8785 canonical form: no whitespace, object keys sorted by their
 * UTF-16 code units, numbers as ECMAScript prints them (`-0` becomes `0`), strings escaped exactly as
 * `JSON.stringify` does. Hash the UTF-8 encoding of the result to get a document's digest.
 *
 * Accepts only JSON data: null, booleans, finite numbers, strings without lone surrogates (I-JSON),
 * arrays, and plain objects (prototype `Object.prototype` or null, as `parseStrictJson` returns).
 *
 * @throws ManifestError `MANIFEST_JSON` naming the JSON path of a value JSON cannot carry (NaN,
 *   Infinity, undefined, a function, bigint, symbol, a class instance, a lone surrogate, a cycle).
 */
export function canonicalizeJcs(value: unknown): string {
  const out: string[] = [];
  writeValue(value, '$', out, new Set());
  return out.join('');
}

function writeValue(value: unknown, path: string, out: string[], ancestors: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `${value} is not a JSON number`);
      // ECMAScript Number::toString is the serialisation RFC 8785 section 3.2.2.3 prescribes.
      out.push(String(value));
      return;
    case 'string':
      out.push(quote(value, path));
      return;
    case 'object':
      break;
    default:
      refuse(path, `a ${typeof value} is not a JSON value`);
  }
  if (ancestors.has(value)) refuse(path, 'the value contains itself (a cycle)');
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      writeValue(value[i], `${path}[${i}]`, out, ancestors);
    }
    out.push(']');
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) refuse(path, 'only plain objects are JSON objects');
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is the order RFC 8785 section 3.2.3 requires.
    const keys = Object.keys(record).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const childPath = jsonPathChild(path, key);
      if (i > 0) out.push(',');
      out.push(quote(key, childPath), ':');
      writeValue(record[key], childPath, out, ancestors);
    }
    out.push('}');
  }
  ancestors.delete(value);
}

function quote(text: string, path: string): string {
  if (LONE_SURROGATE.test(text)) refuse(path, 'a string with a lone surrogate is not I-JSON');
  return JSON.stringify(text);
}

function refuse(path: string, what: string): never {
  throw new ManifestError('MANIFEST_JSON', `${path}: cannot canonicalise: ${what}`);
}
