// The content-addressed blob store contract: logs, outputs and envelopes are stored and found only by sha256.
import type { Readable } from 'node:stream';
import type { Sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';

/**
 * A content store refused or failed an operation.
 * - `DIGEST_MISMATCH`: the bytes written do not hash to the digest the caller expected; nothing was stored.
 * - `TOO_LARGE`: the stream went past `maxBytes`; nothing was stored and the rest was not read.
 * - `INVALID`: an argument was malformed (the message names it).
 * - `IO`: the source stream or the storage backend failed; nothing was stored.
 */
export class ContentStoreError extends RbnetError<'DIGEST_MISMATCH' | 'TOO_LARGE' | 'INVALID' | 'IO'> {}

/** What the caller says the bytes must be; the store checks both while it writes. */
export interface ExpectedBlob {
  /** The sha256 the bytes must hash to. */
  readonly sha256: Sha256Hex;
  /** The most bytes the caller accepts for this blob (inclusive); a longer stream is refused. */
  readonly maxBytes: number;
}

export interface PutResult {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  /** False when a blob with this digest was already stored (by this call's peer or earlier). */
  readonly created: boolean;
}

/**
 * Stores blobs by the sha256 of their bytes, never by a name a client chose. Implementations must
 * stream (never hold a whole blob in memory) and must never make a blob visible before its digest
 * and size have been checked: a reader that finds a digest can trust the bytes behind it.
 * A filesystem implementation lives in the coordinator; an S3-compatible one can fill the same
 * contract (upload to a temporary key, check, then copy to the content key).
 */
export interface ContentStore {
  /**
   * Streams `source` into the store while hashing it.
   * Idempotent: storing bytes that are already present succeeds with `created: false`.
   * @throws ContentStoreError `DIGEST_MISMATCH` when the bytes hash to anything but `expected.sha256`,
   *   `TOO_LARGE` past `expected.maxBytes` bytes, `INVALID` for a malformed digest or limit or a
   *   non-binary chunk, `IO` when the source or the storage fails. In every case nothing is stored.
   */
  put(source: AsyncIterable<Uint8Array> | Readable, expected: ExpectedBlob): Promise<PutResult>;

  /** Whether a blob with this digest is stored. @throws ContentStoreError `INVALID` for a malformed digest. */
  has(sha256: Sha256Hex): Promise<boolean>;

  /** The stored blob's size in bytes, or undefined when absent. @throws ContentStoreError `INVALID`. */
  stat(sha256: Sha256Hex): Promise<{ readonly sizeBytes: number } | undefined>;

  /**
   * A stream of the stored bytes, or undefined when absent. The caller must consume or destroy it.
   * @throws ContentStoreError `INVALID` for a malformed digest.
   */
  open(sha256: Sha256Hex): Promise<Readable | undefined>;

  /**
   * Takes a blob out of sight for garbage collection, atomically: afterwards `has`, `stat` and
   * `open` no longer find it. The caller then either `discard()`s the bytes or `restore()`s them
   * (a blob uploaded again meanwhile stays as it is). Undefined when the blob is not stored.
   * @throws ContentStoreError `INVALID` for a malformed digest, `IO` when the storage fails.
   */
  quarantine(sha256: Sha256Hex): Promise<QuarantinedBlob | undefined>;
}

/** A blob taken out of the store by {@link ContentStore.quarantine}. */
export interface QuarantinedBlob {
  readonly sizeBytes: number;
  /** Deletes the bytes for good. */
  discard(): Promise<void>;
  /** Puts the bytes back under their digest. */
  restore(): Promise<void>;
}
