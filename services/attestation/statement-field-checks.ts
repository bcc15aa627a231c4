// Field checks for parsing a rebuild statement: each refusal is an AttestationError STATEMENT_INVALID
// whose message names the field and what was wrong with it.
import { isSha256Hex } from '../digest.ts';
import { AttestationError } from '../errors.ts';
import { describeValue as describe } from '../untrusted-value-text.ts';
import type { Sha256DigestSet } from './rebuild-statement.ts';

export function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`);
  return value;
}

export function string(value: unknown, field: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw invalid(`${field} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${describe(value)}`);
  }
  return value;
}

export function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${field} must be a boolean, got ${describe(value)}`);
  return value;
}

export function nonNegativeInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalid(`${field} must be a non-negative integer, got ${describe(value)}`);
  }
  return value as number;
}

export function positiveInteger(value: unknown, field: string): number {
  if (nonNegativeInteger(value, field) === 0) throw invalid(`${field} must be at least 1`);
  return value as number;
}

export function digestSet(value: unknown, field: string): Sha256DigestSet {
  const sha256 = record(value, field).sha256;
  if (!isSha256Hex(sha256))
    throw invalid(`${field}.sha256 must be 64 lowercase hex characters, got ${describe(sha256)}`);
  return { sha256 };
}

/** RFC 3339 UTC as Date.toISOString writes it; other spellings would make equal instants compare unequal. */
export function timestamp(value: unknown, field: string): string {
  const text = string(value, field);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw invalid(
      `${field} must be an ISO 8601 UTC timestamp like 2025-01-31T12:00:00.000Z, got ${describe(text)}`,
    );
  }
  return text;
}

/** in-toto parsing rules: unset and null mean the same. */
export function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined || value === null ? undefined : parse(value);
}

export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

export function invalid(message: string): AttestationError {
  return new AttestationError('STATEMENT_INVALID', message);
}
