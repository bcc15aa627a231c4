// C2SP tlog-cosignature, Ed25519 (cosignature/v1): a witness's timestamped signature over
// "cosignature/v1\ntime <seconds>\n" followed by the checkpoint's note text; key type byte 0x04.
import { type KeyObject, verify } from 'node:crypto';
import type { Signer } from '../attestation/signer.ts';
import {
  ed25519KeyObject,
  formatVerifierKey,
  isValidKeyName,
  NOTE_SIGNATURE_TYPE,
  type NoteVerifier,
  noteKeyHash,
  parseVerifierKey,
  rawEd25519PublicKey,
} from './note-keys.ts';
import { TlogError } from './tlog-errors.ts';

const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;

/** The message a cosignature/v1 signs for `noteText` at `timestampSeconds`. */
export function cosignedMessage(noteText: Uint8Array | string, timestampSeconds: number): Buffer {
  return Buffer.concat([
    Buffer.from(`cosignature/v1\ntime ${timestampSeconds}\n`, 'utf8'),
    typeof noteText === 'string' ? Buffer.from(noteText, 'utf8') : noteText,
  ]);
}

/**
 * The timestamp (POSIX seconds) of a cosignature/v1 signature's bytes, or undefined when they are not
 * 8 + 64 bytes or the time is past 2^53 - 1 (not a time anyone will cosign at).
 */
export function cosignatureTimestamp(signature: Uint8Array): number | undefined {
  if (signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) return undefined;
  const seconds = Buffer.from(signature.buffer, signature.byteOffset, TIMESTAMP_BYTES).readBigUInt64BE(0);
  return seconds <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seconds) : undefined;
}

/** A verifier of one witness's cosignature/v1 signatures, from its vkey (type 0x04). */
export function cosignatureVerifier(vkey: string, field = 'witness vkey'): NoteVerifier {
  const parsed = parseVerifierKey(vkey, field);
  if (parsed.type !== NOTE_SIGNATURE_TYPE.cosignatureV1)
    throw new TlogError(
      'NOTE_KEY_INVALID',
      `${field}: expected a cosignature/v1 key (type 0x04), got a plain Ed25519 note key`,
    );
  const key = ed25519KeyObject(parsed.publicKey);
  return Object.freeze({
    ...parsed,
    verify(text: Uint8Array, signature: Uint8Array): boolean {
      const seconds = cosignatureTimestamp(signature);
      if (seconds === undefined) return false;
      return verify(null, cosignedMessage(text, seconds), key, signature.subarray(TIMESTAMP_BYTES));
    },
  });
}

/** A witness's signing side: cosigns a checkpoint's note text at a given time. */
export interface Cosigner {
  readonly name: string;
  readonly keyHash: number;
  /** The `timestamped_signature` bytes (8-byte big-endian time, 64-byte signature). */
  cosign(noteText: string, timestampSeconds: number): Promise<Uint8Array>;
  /** The witness's vkey (type 0x04), to publish. */
  readonly vkey: string;
}

export function ed25519Cosigner(name: string, signer: Signer, publicKey: KeyObject): Cosigner {
  if (!isValidKeyName(name))
    throw new TlogError('NOTE_KEY_INVALID', `witness name ${JSON.stringify(name)} is not valid`);
  const raw = rawEd25519PublicKey(publicKey);
  const keyHash = noteKeyHash(name, NOTE_SIGNATURE_TYPE.cosignatureV1, raw);
  return Object.freeze({
    name,
    keyHash,
    vkey: formatVerifierKey(name, NOTE_SIGNATURE_TYPE.cosignatureV1, raw),
    async cosign(noteText: string, timestampSeconds: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds <= 0)
        throw new TlogError(
          'NOTE_INVALID',
          'a cosignature timestamp must be a positive whole number of seconds',
        );
      const stamp = Buffer.alloc(TIMESTAMP_BYTES);
      stamp.writeBigUInt64BE(BigInt(timestampSeconds));
      return Buffer.concat([stamp, await signer.sign(cosignedMessage(noteText, timestampSeconds))]);
    },
  });
}
