// RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256: leaves prefixed 0x00, interior nodes 0x01.
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { decodeStandardBase64 } from './strict-base64.ts';
import { TlogError } from './tlog-errors.ts';

/** A 32-byte SHA-256 Merkle tree hash. */
export type MerkleHash = Uint8Array;

export const HASH_BYTES = 32;

/** The largest tree size rbnet handles: sizes and indexes stay exact JavaScript numbers. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

// Hashing is most of the cost of appending and proving. Node's one-shot crypto.hash (20.12+) over
// a reused scratch buffer costs about half of a createHash object per hash, most of it garbage
// collection; older Node 20 releases fall back to createHash. Its digest is asked for as latin1 text
// and turned into bytes by Buffer.from: asking for a 'buffer' takes Node 20 a slow path (the name is
// not a text encoding, so it is looked up case-insensitively on every call, and the bytes get a
// backing store of their own) that cost more than the SHA-256 of a 545-byte entry.
const oneShot = (
  crypto as unknown as { hash?: (algorithm: string, data: Uint8Array, encoding: 'latin1') => string }
).hash;
let scratch = Buffer.alloc(1 + 2 * HASH_BYTES + 1024);

/** The digest as latin1 text (one character per byte), or as bytes where Node has no crypto.hash. */
function prefixedSha256(prefix: 0x00 | 0x01, first: Uint8Array, second?: Uint8Array): string | Buffer {
  const length = 1 + first.length + (second?.length ?? 0);
  if (!oneShot) {
    const hash = createHash('sha256')
      .update(Buffer.from([prefix]))
      .update(first);
    return (second ? hash.update(second) : hash).digest();
  }
  if (scratch.length < length) scratch = Buffer.alloc(length * 2);
  scratch[0] = prefix;
  scratch.set(first, 1);
  if (second) scratch.set(second, 1 + first.length);
  return oneShot('sha256', scratch.subarray(0, length), 'latin1');
}

function asHash(digest: string | Buffer): MerkleHash {
  return typeof digest === 'string' ? Buffer.from(digest, 'latin1') : digest;
}

/** MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(entry: Uint8Array): MerkleHash {
  return asHash(prefixedSha256(0x00, entry));
}

/**
 * Writes MTH({d}) into `out` at `offset` (32 bytes): the appender keeps each tile's hashes in one
 * buffer, so a Buffer made for every leaf hash would only be copied into it and collected.
 */
export function writeLeafHash(entry: Uint8Array, out: Buffer, offset: number): void {
  const digest = prefixedSha256(0x00, entry);
  if (typeof digest === 'string') out.write(digest, offset, HASH_BYTES, 'latin1');
  else out.set(digest, offset);
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: MerkleHash, right: MerkleHash): MerkleHash {
  return asHash(prefixedSha256(0x01, left, right));
}

/** MTH({}) = SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_TREE_ROOT: MerkleHash = createHash('sha256').digest();

export function hashesEqual(a: MerkleHash, b: MerkleHash): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function encodeHash(hash: MerkleHash): string {
  // A view, not a copy: proofs encode a few dozen hashes each.
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('base64');
}

/** @throws TlogError PROOF_INVALID naming `field` unless `text` is the base64 of exactly 32 bytes. */
export function decodeHash(text: string, field: string): MerkleHash {
  const bytes = decodeStandardBase64(text);
  if (bytes === undefined || bytes.length !== HASH_BYTES)
    throw new TlogError('PROOF_INVALID', `${field}: expected the base64 of a 32-byte hash`);
  return bytes;
}

/** @throws TlogError PROOF_INVALID naming `field` unless `value` is a whole number 0..MAX_TREE_SIZE. */
export function assertTreeSize(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TlogError('PROOF_INVALID', `${field}: expected an integer from 0 to ${MAX_TREE_SIZE}`);
}

/**
 * Parses a decimal tree size or index as C2SP formats write it: ASCII digits, no leading zeroes
 * (except "0" itself), at most 2^53 - 1.
 */
export function parseDecimalSize(
  text: string,
  field: string,
  code: 'PROOF_INVALID' | 'CHECKPOINT_INVALID' = 'PROOF_INVALID',
): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new TlogError(
      code,
      `${field}: expected a decimal integer without leading zeroes, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  return Number(text);
}
