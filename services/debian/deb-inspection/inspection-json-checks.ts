// Field checks shared by the two inspection parsers (report.json and the worker's inspection result):
// each refusal is an InspectionReportError whose message starts with the JSON path of the field.
import { RbnetError } from '../../errors.ts';
import { parseStrictJson } from '../../strict-json.ts';

/** A report or inspection result was refused; the message starts with the JSON path of the field. */
export class InspectionReportError extends RbnetError<
  'INSPECTION_REPORT_INVALID' | 'INSPECTION_REPORT_TOO_LARGE'
> {}

export type Json = Record<string, unknown>;

export function bad(path: string, what: string): never {
  throw new InspectionReportError('INSPECTION_REPORT_INVALID', `${path}: ${what}`);
}

export function obj(
  v: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be an object');
  const o = v as Json;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) bad(`${path}.${k}`, 'unknown field');
  for (const k of required) if (!Object.hasOwn(o, k)) bad(`${path}.${k}`, 'missing');
  return o;
}

export function str(v: unknown, path: string, maxLength = 8192): string {
  if (typeof v !== 'string' || v.length > maxLength)
    bad(path, `must be a string of at most ${maxLength} characters`);
  return v;
}

export function int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    bad(path, `must be an integer in ${min}..${max}`);
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') bad(path, 'must be true or false');
  return v;
}

export function arr(v: unknown, path: string, max = 10_000_000): unknown[] {
  if (!Array.isArray(v) || v.length > max) bad(path, `must be an array of at most ${max} items`);
  return v;
}

export function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) bad(path, `must be one of ${values.join(', ')}`);
  return v as T;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Strict JSON (no duplicate keys) at most `maxDepth` levels deep, refused as INSPECTION_REPORT_INVALID. */
export function strictJson(text: string, maxDepth: number): unknown {
  try {
    return parseStrictJson(text, { maxDepth });
  } catch (cause) {
    throw new InspectionReportError(
      'INSPECTION_REPORT_INVALID',
      `not strict JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
}
