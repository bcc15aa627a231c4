// Helpers the SQLite stores map rows with: times as ISO strings, absent columns as absent keys,
// frozen results.
import type { IsoTimestamp } from '../../../services/storage/store-error.ts';

export function iso(ms: number): IsoTimestamp {
  return new Date(ms).toISOString();
}

/** Adds `key: iso(ms)` only when the column is set, so absent values are absent keys, not undefined. */
export function optionalIso<K extends string>(key: K, ms: number | null): { [P in K]?: IsoTimestamp } {
  return (ms === null ? {} : { [key]: iso(ms) }) as { [P in K]?: IsoTimestamp };
}

/** Adds `key: value` only when the column is set. */
export function optional<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Freezes an array and each object in it. */
export function frozenArray<T>(items: T[]): readonly T[] {
  for (const item of items) if (typeof item === 'object' && item !== null) Object.freeze(item);
  return Object.freeze(items);
}
