// Reading one field of an untrusted manifest document: size and UTF-8 first, then objects with known
// fields only, and each value checked against its rule; every refusal is a ManifestError whose message
// starts with the field's JSON path. Shared by the generic and the Debian manifest parsers.
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { ManifestError } from '../errors.ts';
import { EXPECT_RELATIVE_PATH, relativePathProblem } from '../relative-path.ts';

export type JsonObject = Record<string, unknown>;

const EXPECT_SHA256 = 'a sha256 digest as 64 lowercase hex characters';
const OCTAL_MODE = /^[0-7]{3,4}$/;

export function decodeWithinLimit(bytes: Uint8Array | string, maxBytes: number): string {
  if (typeof bytes === 'string') {
    // Every UTF-16 code unit takes at least one UTF-8 byte, so a long string is refused without encoding it.
    const size = bytes.length > maxBytes ? bytes.length : Buffer.byteLength(bytes, 'utf8');
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    return bytes;
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes);
  try {
    // ignoreBOM keeps a BOM in the text so strict JSON refuses it instead of it vanishing silently.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new ManifestError(
      'MANIFEST_JSON',
      `$: manifest is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)})`,
      { cause },
    );
  }
}

export function tooLarge(size: number, maxBytes: number): ManifestError {
  return new ManifestError(
    'MANIFEST_TOO_LARGE',
    `$: manifest is ${size} bytes, more than the limit of ${maxBytes} bytes (maxManifestBytes)`,
  );
}

export function readRelativePath(value: unknown, path: string): string {
  if (typeof value !== 'string') invalid(path, `expected ${EXPECT_RELATIVE_PATH}, got ${preview(value)}`);
  const problem = relativePathProblem(value);
  if (problem !== undefined)
    invalid(path, `expected ${EXPECT_RELATIVE_PATH}, got ${preview(value)} which ${problem}`);
  return value;
}

export function readSha256(value: unknown, path: string): Sha256Hex {
  if (!isSha256Hex(value)) invalid(path, `expected ${EXPECT_SHA256}, got ${preview(value)}`);
  return value;
}

export function readPattern(value: unknown, path: string, pattern: RegExp, expect: string): string {
  if (typeof value !== 'string' || !pattern.test(value))
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  return value;
}

/** Octal strings only carry permission bits (at most 0o777): setuid/setgid/sticky never come from a manifest. */
export function readOctal(value: unknown, path: string, expect: string): number {
  if (typeof value !== 'string' || !OCTAL_MODE.test(value))
    invalid(path, `expected ${expect}, got ${preview(value)}`);
  const bits = Number.parseInt(value, 8);
  if (bits > 0o777) invalid(path, `expected ${expect}, got ${preview(value)} which sets bits above 0777`);
  return bits;
}

export function readInteger(value: unknown, path: string, min: number, max: number): number {
  // parseStrictJson only yields safe integers, so a number here is already an integer.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(path, `expected an integer ${min}..${max}, got ${preview(value)}`);
  }
  return value;
}

export function readArray(value: unknown, path: string, minItems: number, maxItems: number): unknown[] {
  if (!Array.isArray(value)) invalid(path, `expected an array, got ${preview(value)}`);
  if (value.length < minItems)
    invalid(path, `expected ${minItems} to ${maxItems} entries, got ${value.length}`);
  if (value.length > maxItems)
    invalid(path, `has ${value.length} entries, more than the limit of ${maxItems}`);
  return value;
}

/** Unknown fields first (a typo names itself), then missing ones. */
export function checkFields(
  value: unknown,
  path: string,
  fields: { readonly required: readonly string[]; readonly optional?: readonly string[] },
): JsonObject {
  const where = path === '' ? '$' : path;
  if (!isJsonObject(value)) invalid(where, `expected an object, got ${preview(value)}`);
  const allowed = [...fields.required, ...(fields.optional ?? [])];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      invalid(
        childPath(path, key),
        `unknown field; ${where} allows only ${allowed.join(', ')} (a worker never ignores what the publisher wrote)`,
      );
    }
  }
  for (const key of fields.required) {
    if (!Object.hasOwn(value, key)) invalid(childPath(path, key), 'required field is missing');
  }
  return value;
}

function childPath(parent: string, key: string): string {
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
  if (parent === '') return safe ? key : `$[${JSON.stringify(key)}]`;
  return safe ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return value.length > 80
      ? `${JSON.stringify(value.slice(0, 80))}... (${value.length} characters)`
      : JSON.stringify(value);
  }
  return `${typeof value} ${String(value)}`;
}

export function invalid(path: string, what: string): never {
  throw new ManifestError('MANIFEST_INVALID', `${path}: ${what}`);
}

export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on prefixes would misfire on truncated sequences; a linear scan of lead bytes is exact.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    try {
      decoder.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return i;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
