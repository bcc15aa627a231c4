// C2SP signed-note keys: key names, key IDs (the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖
// public key)), verifier keys (`<name>+<hex id>+<base64(type ‖ key)>`), and Ed25519 signers.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Signer } from '../attestation/signer.ts';
import { decodeStandardBase64 } from './strict-base64.ts';
import { TlogError } from './tlog-errors.ts';

/** Signature type bytes rbnet uses (C2SP signed-note §Signature types). */
export const NOTE_SIGNATURE_TYPE = Object.freeze({
  /** Ed25519 over the note text: log checkpoints. */
  ed25519: 0x01,
  /** Timestamped Ed25519 cosignature/v1: witnesses. */
  cosignatureV1: 0x04,
});
export type NoteSignatureType = (typeof NOTE_SIGNATURE_TYPE)[keyof typeof NOTE_SIGNATURE_TYPE];

const ED25519_PUBLIC_KEY_BYTES = 32;

/** Checks a signature made by one key over a note's text. */
export interface NoteVerifier {
  readonly name: string;
  /** The 32-bit key ID. */
  readonly keyHash: number;
  readonly type: NoteSignatureType;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** `signature` is the signature line's bytes after the 4-byte key ID. */
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** Signs a note's text with one key; a KMS or HSM can stand behind it. */
export interface NoteSigner {
  readonly name: string;
  readonly keyHash: number;
  /** The bytes to put after the 4-byte key ID. */
  sign(text: Uint8Array): Promise<Uint8Array>;
}

/**
 * Key names (and checkpoint origins) rbnet accepts: non-empty UTF-8 without spaces, `+` or control
 * characters, at most 256 bytes.
 */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name, 'utf8') <= 256 &&
    !/[\s+\p{Cc}\u{FFFD}]/u.test(name) &&
    Buffer.from(name, 'utf8').toString('utf8') === name
  );
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4] as an unsigned 32-bit integer. */
export function noteKeyHash(name: string, type: number, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, type]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

export function keyHashHex(keyHash: number): string {
  return keyHash.toString(16).padStart(8, '0');
}

/** The raw 32-byte public key of an Ed25519 KeyObject. */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ed25519' || typeof x !== 'string')
    throw new TlogError('NOTE_KEY_INVALID', 'expected an Ed25519 public key');
  return Buffer.from(x, 'base64url');
}

export function ed25519KeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** `<name>+<hex key ID>+<base64(type ‖ public key)>`. */
export function formatVerifierKey(name: string, type: NoteSignatureType, publicKey: Uint8Array): string {
  if (!isValidKeyName(name))
    throw new TlogError('NOTE_KEY_INVALID', `key name ${JSON.stringify(name)} is not valid`);
  const material = Buffer.concat([Buffer.from([type]), publicKey]).toString('base64');
  return `${name}+${keyHashHex(noteKeyHash(name, type, publicKey))}+${material}`;
}

export interface ParsedVerifierKey {
  readonly name: string;
  readonly keyHash: number;
  readonly type: NoteSignatureType;
  readonly publicKey: Uint8Array;
}

/**
 * Parses a vkey of an Ed25519 (0x01) or cosignature/v1 (0x04) key; the key ID must be the one its
 * name, type and key give. @throws TlogError NOTE_KEY_INVALID naming what is wrong.
 */
export function parseVerifierKey(vkey: string, field = 'vkey'): ParsedVerifierKey {
  const bad = (why: string) => new TlogError('NOTE_KEY_INVALID', `${field}: ${why}`);
  // Only the first two pluses separate: base64 has its own.
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw bad('expected <name>+<hex key ID>+<base64 key>');
  const [name, hashHex, material] = [
    vkey.slice(0, first),
    vkey.slice(first + 1, second),
    vkey.slice(second + 1),
  ];
  if (!isValidKeyName(name)) throw bad(`key name ${JSON.stringify(name.slice(0, 80))} is not valid`);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw bad('the key ID must be 8 lowercase hex digits');
  const bytes = decodeStandardBase64(material);
  if (!bytes || bytes.length < 1) throw bad('the key material is not base64');
  const type = bytes[0]!;
  if (type !== NOTE_SIGNATURE_TYPE.ed25519 && type !== NOTE_SIGNATURE_TYPE.cosignatureV1)
    throw bad(
      `signature type 0x${type.toString(16).padStart(2, '0')} is not supported (0x01 Ed25519, 0x04 cosignature/v1)`,
    );
  const publicKey = bytes.subarray(1);
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw bad('an Ed25519 public key is 32 bytes');
  const keyHash = noteKeyHash(name, type, publicKey);
  if (keyHashHex(keyHash) !== hashHex)
    throw bad(`the key ID is ${hashHex} but name, type and key give ${keyHashHex(keyHash)}`);
  return Object.freeze({
    name,
    keyHash,
    type: type as NoteSignatureType,
    publicKey: Uint8Array.from(publicKey),
  });
}

/** A verifier of plain Ed25519 note signatures (type 0x01), from a vkey. */
export function ed25519NoteVerifier(vkey: string, field = 'vkey'): NoteVerifier {
  const parsed = parseVerifierKey(vkey, field);
  if (parsed.type !== NOTE_SIGNATURE_TYPE.ed25519)
    throw new TlogError(
      'NOTE_KEY_INVALID',
      `${field}: expected an Ed25519 note key (type 0x01), got a cosigner key`,
    );
  const key = ed25519KeyObject(parsed.publicKey);
  return Object.freeze({
    ...parsed,
    verify: (text: Uint8Array, signature: Uint8Array) =>
      signature.length === 64 && verify(null, text, key, signature),
  });
}

/** A NoteSigner that also says its vkey, to publish. */
export interface Ed25519NoteSigner extends NoteSigner {
  readonly vkey: string;
}

/** A note signer of plain Ed25519 signatures (type 0x01) over a Signer's key (a log's key). */
export function ed25519NoteSigner(name: string, signer: Signer, publicKey: KeyObject): Ed25519NoteSigner {
  const raw = rawEd25519PublicKey(publicKey);
  const vkey = formatVerifierKey(name, NOTE_SIGNATURE_TYPE.ed25519, raw);
  const keyHash = noteKeyHash(name, NOTE_SIGNATURE_TYPE.ed25519, raw);
  return Object.freeze({ name, keyHash, vkey, sign: (text: Uint8Array) => signer.sign(text) });
}
