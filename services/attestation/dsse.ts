// DSSE v1 envelopes: pre-authentication encoding, strict parsing of untrusted envelopes, verification.
import { type KeyObject, verify } from 'node:crypto';
import { AttestationError } from '../errors.ts';
import { describeValue } from '../untrusted-value-text.ts';
import { assertEd25519PublicKey, securesystemslibKeyid } from './ed25519-key.ts';

/** payloadType of an in-toto Statement inside DSSE. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Default cap on an envelope's size before it is parsed, in bytes (16 MiB). */
export const maxEnvelopeBytesDefault = 16 * 1024 * 1024;

/** More signatures than this is not a real envelope but a way to make a verifier burn CPU. */
export const maxEnvelopeSignatures = 16;

/** A DSSE v1 envelope as it travels: payload and signatures are base64. */
export interface DsseEnvelope {
  readonly payloadType: string;
  /** base64 of the serialized body. */
  readonly payload: string;
  readonly signatures: readonly DsseSignature[];
}

export interface DsseSignature {
  /** Unauthenticated hint; '' when the envelope carried none (DSSE makes it optional). */
  readonly keyid: string;
  /** base64 of the raw signature over `preAuthEncoding(payloadType, payload bytes)`. */
  readonly sig: string;
}

/**
 * DSSE v1 PAE: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal of
 * the UTF-8 byte length. This, never the bare payload, is what gets signed, so a signature cannot be
 * replayed as one over the same bytes under another payloadType.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/**
 * Parses an untrusted DSSE envelope: size first, then JSON, then shape and base64 validity.
 * Returns a frozen envelope; unknown fields are refused so nothing unsigned rides along unnoticed.
 *
 * Base64 may be standard or URL-safe (DSSE allows both), padded, and canonical: no whitespace, zero
 * trailing bits, so each value has one spelling per alphabet (what Go's DSSE decoders accept too).
 *
 * @param maxBytes cap on the UTF-8 size of the envelope, bytes; default 16 MiB.
 * @throws AttestationError ENVELOPE_INVALID naming the field.
 */
export function parseDsseEnvelope(
  input: string | Uint8Array,
  maxBytes = maxEnvelopeBytesDefault,
): DsseEnvelope {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw invalid(`envelope is ${size} bytes, over the ${maxBytes}-byte limit`);
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (error) {
      throw invalid('envelope is not valid UTF-8', error);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`envelope is not JSON (${(error as Error).message})`, error);
  }
  if (!isRecord(value)) throw invalid('envelope must be a JSON object');
  rejectUnknownKeys(value, ['payloadType', 'payload', 'signatures'], 'envelope');

  const { payloadType, payload, signatures } = value;
  if (typeof payloadType !== 'string' || payloadType === '') {
    throw invalid('payloadType must be a non-empty string');
  }
  if (typeof payload !== 'string') throw invalid('payload must be a base64 string');
  decodeBase64(payload, 'payload');
  if (!Array.isArray(signatures)) throw invalid('signatures must be an array');
  if (signatures.length === 0) throw invalid('signatures is empty; an unsigned envelope proves nothing');
  if (signatures.length > maxEnvelopeSignatures) {
    throw invalid(`signatures has ${signatures.length} entries, over the limit of ${maxEnvelopeSignatures}`);
  }
  const parsed = signatures.map((entry: unknown, index): DsseSignature => {
    const field = `signatures[${index}]`;
    if (!isRecord(entry)) throw invalid(`${field} must be an object`);
    rejectUnknownKeys(entry, ['keyid', 'sig'], field);
    const { keyid = '', sig } = entry;
    if (typeof keyid !== 'string') throw invalid(`${field}.keyid must be a string`);
    if (typeof sig !== 'string' || sig === '')
      throw invalid(`${field}.sig must be a non-empty base64 string`);
    decodeBase64(sig, `${field}.sig`);
    return Object.freeze({ keyid, sig });
  });
  return Object.freeze({ payloadType, payload, signatures: Object.freeze(parsed) });
}

/**
 * Decodes an envelope's payload. The envelope must come from `parseDsseEnvelope` (or our own signer),
 * which has already checked the base64.
 */
export function decodeDssePayload(envelope: DsseEnvelope): Buffer {
  return decodeBase64(envelope.payload, 'payload');
}

/**
 * Verifies a parsed envelope against trusted ed25519 public keys.
 *
 * The payloadType is checked first: it is part of what was signed, and a signature over another
 * type is not an attestation of the kind asked for, however valid. The `keyid` hints in the envelope
 * are not trusted; every signature is tried against every trusted key.
 *
 * @param expectedPayloadType default `application/vnd.in-toto+json`.
 * @returns the first trusted key that produced a valid signature, and its securesystemslib keyid.
 * @throws AttestationError PAYLOAD_TYPE, SIGNATURE_INVALID, or KEY_INVALID when `publicKeys` is
 *   empty or holds anything but ed25519 public keys.
 */
export function verifyDsseEnvelope(
  envelope: DsseEnvelope,
  publicKeys: readonly KeyObject[],
  expectedPayloadType: string = IN_TOTO_PAYLOAD_TYPE,
): { keyid: string; publicKey: KeyObject } {
  if (envelope.payloadType !== expectedPayloadType) {
    throw new AttestationError(
      'PAYLOAD_TYPE',
      `payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${JSON.stringify(expectedPayloadType)}`,
    );
  }
  if (publicKeys.length === 0)
    throw new AttestationError('KEY_INVALID', 'no trusted public keys to verify against');
  for (const [index, key] of publicKeys.entries()) assertEd25519PublicKey(key, `trusted key ${index}`);

  const pae = preAuthEncoding(envelope.payloadType, decodeDssePayload(envelope));
  for (const signature of envelope.signatures) {
    const sig = decodeBase64(signature.sig, 'sig');
    for (const publicKey of publicKeys) {
      if (verify(null, pae, publicKey, sig)) return { keyid: securesystemslibKeyid(publicKey), publicKey };
    }
  }
  // The keyids are unsigned hints from whoever sent the envelope: quoted, so they cannot add lines.
  const claimed = envelope.signatures
    .map((s) => (s.keyid ? describeValue(s.keyid) : '(no keyid)'))
    .join(', ');
  const trusted = publicKeys.map((key) => securesystemslibKeyid(key)).join(', ');
  throw new AttestationError(
    'SIGNATURE_INVALID',
    `no signature verifies: ${envelope.signatures.length} signature(s) with keyid(s) ${claimed} ` +
      `failed against trusted keyid(s) ${trusted}`,
  );
}

const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeBase64(text: string, field: string): Buffer {
  // Buffer.from(…, 'base64') skips junk silently, so decode and re-encode: only the canonical spelling passes.
  const bytes = Buffer.from(text, 'base64');
  const padded = (unpadded: string) => unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=');
  const canonical =
    text.length % 4 === 0 &&
    ((STANDARD_BASE64.test(text) && bytes.toString('base64') === text) ||
      (URL_SAFE_BASE64.test(text) && padded(bytes.toString('base64url')) === text));
  if (!canonical) throw invalid(`${field} is not valid base64`);
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${where} has unknown field ${JSON.stringify(key)}`);
  }
}

function invalid(message: string, cause?: unknown): AttestationError {
  return new AttestationError('ENVELOPE_INVALID', message, cause === undefined ? undefined : { cause });
}
