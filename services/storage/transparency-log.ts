// The transparency log: an append-only, hash-chained record of every verdict, and the one formula
// that chains its entries (shared by every implementation and by anyone who checks the chain).
import { createHash } from 'node:crypto';
import type { Sha256Hex } from '../digest.ts';

export type LogEntryKind = 'verdict';

/** The entry before entry 0 of the transparency log. */
export const LOG_GENESIS_HASH = '0'.repeat(64) as Sha256Hex;

export interface NewLogEntry {
  readonly kind: LogEntryKind;
  readonly buildId: string;
  /** sha256 of the RFC 8785 canonical JSON of `body`; checked. */
  readonly bodySha256: Sha256Hex;
  /** A JSON value (plain objects, arrays, strings, safe numbers, booleans, null). */
  readonly body: unknown;
  /**
   * The verdict's entry of the tiled log (services/tlog/log-entry.ts), as its canonical JSON:
   * sequenced in the same transaction as this entry, so no verdict is chained without it.
   */
  readonly tiledEntryJson?: string;
}

export interface LogEntryRecord {
  /** 0-based position in the log; gap-free. */
  readonly index: number;
  readonly kind: LogEntryKind;
  readonly buildId: string;
  readonly bodySha256: Sha256Hex;
  /** The canonical JSON the hashes were taken over. */
  readonly bodyJson: string;
  /** The previous entry's hash; 64 zeros for entry 0. */
  readonly prevEntryHash: Sha256Hex;
  /** sha256(prevEntryHash bytes ‖ UTF-8 of JCS({ body, buildId, kind })); see docs/storage.md. */
  readonly entryHash: Sha256Hex;
}

/**
 * The hash that chains entry n to entry n-1:
 * `sha256(prev (32 raw bytes) ‖ UTF-8 of JCS({"body": body, "buildId": buildId, "kind": kind}))`.
 * The leaf covers kind and buildId as well as the body, so no column of an entry can be changed
 * without breaking the chain. JCS sorts keys as written here and escapes strings as JSON.stringify
 * does, and `bodyJson` is already canonical, so concatenation yields the canonical text exactly.
 */
export function logEntryHash(
  prevEntryHash: Sha256Hex,
  kind: string,
  buildId: string,
  bodyJson: string,
): Sha256Hex {
  const leaf = `{"body":${bodyJson},"buildId":${JSON.stringify(buildId)},"kind":${JSON.stringify(kind)}}`;
  return createHash('sha256')
    .update(Buffer.from(prevEntryHash, 'hex'))
    .update(leaf, 'utf8')
    .digest('hex') as Sha256Hex;
}

/** Append-only and hash-chained; the database refuses any other change (docs/storage.md). */
export interface TransparencyLog {
  /**
   * Appends an entry to the hash-chained transparency log.
   * @throws BuildStoreError `DIGEST_MISMATCH` when `bodySha256` is not the digest of `body`'s canonical
   *   JSON, `NOT_FOUND` for an unknown build, `INVALID` when `body` is not JSON data.
   */
  appendLogEntry(input: NewLogEntry): Promise<{ readonly index: number; readonly entryHash: Sha256Hex }>;
  /** Up to `limit` (1..1000) entries from `fromIndex` on, in order. */
  getLogEntries(fromIndex: number, limit: number): Promise<readonly LogEntryRecord[]>;
  /** Recomputes every digest and link in the log. @returns the first index that fails, or undefined. */
  verifyLogChain(): Promise<number | undefined>;
}
