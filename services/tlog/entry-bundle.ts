// C2SP tlog-tiles entry bundles: log entries, each prefixed by its length as a big-endian uint16.
import { TlogError } from './tlog-errors.ts';

/** The largest entry an entry bundle can carry (uint16 length prefix): 65,535 bytes. */
export const MAX_ENTRY_BYTES = 0xffff;

export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const total = entries.reduce((sum, entry) => sum + 2 + entry.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const entry of entries) {
    if (entry.length > MAX_ENTRY_BYTES)
      throw new TlogError(
        'ENTRY_INVALID',
        `an entry of ${entry.length} bytes is over the ${MAX_ENTRY_BYTES}-byte limit`,
      );
    out.writeUInt16BE(entry.length, at);
    out.set(entry, at + 2);
    at += 2 + entry.length;
  }
  return out;
}

/** Where each entry of a bundle starts (at its length prefix) and ends, checked against the bundle's length. */
function entrySpans(bytes: Uint8Array, expectedCount: number | undefined): [number, number][] {
  const spans: [number, number][] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length)
      throw new TlogError('TILE_INVALID', `entry bundle: a length prefix is cut at byte ${at}`);
    const end = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    if (end > bytes.length)
      throw new TlogError(
        'TILE_INVALID',
        `entry bundle: entry ${spans.length} runs past the end of the bundle`,
      );
    spans.push([at, end]);
    at = end;
  }
  if (expectedCount !== undefined && spans.length !== expectedCount)
    throw new TlogError(
      'TILE_INVALID',
      `entry bundle: ${spans.length} entries where ${expectedCount} were expected`,
    );
  return spans;
}

/**
 * Splits an entry bundle into its entries (views into `bytes`). @throws TlogError TILE_INVALID when
 * a length runs past the end, or the count is not `expectedCount` (when given).
 */
export function decodeEntryBundle(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return entrySpans(bytes, expectedCount).map(([start, end]) => view.subarray(start + 2, end));
}

/**
 * Splits an entry bundle into bundles of one entry each (views into `bytes`, length prefix
 * included), so that joining them gives the bundle back. @throws as {@link decodeEntryBundle}.
 */
export function splitEntryBundle(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  return entrySpans(bytes, expectedCount).map(([start, end]) => bytes.subarray(start, end));
}
