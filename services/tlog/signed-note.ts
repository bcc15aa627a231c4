// C2SP signed-note: text, a blank line, then `— <key name> <base64(key ID ‖ signature)>` lines.
// Parsing, formatting, signing, and verification by the rule: unknown keys are ignored, a known
// key's failing signature rejects the note, and at least one known key must verify.
import { isValidKeyName, type NoteSigner, type NoteVerifier } from './note-keys.ts';
import { decodeStandardBase64 } from './strict-base64.ts';
import { TlogError } from './tlog-errors.ts';

/** Largest note accepted: 1 MiB. */
export const maxNoteBytesDefault = 1024 * 1024;
/** Most signature lines accepted (the spec asks for at least 16). */
export const maxNoteSignaturesDefault = 64;

const EM_DASH = '\u2014';

export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  /** The bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

export interface SignedNote {
  /** The note text, final newline included. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedSignature {
  readonly verifier: NoteVerifier;
  readonly signature: NoteSignature;
}

export interface NoteVerification {
  readonly note: SignedNote;
  /** Signatures of known keys, all verified. */
  readonly verified: readonly VerifiedSignature[];
  /** Signatures of keys the caller does not know (kept as they came, never trusted). */
  readonly unknown: readonly NoteSignature[];
}

/**
 * Parses an untrusted signed note: size, UTF-8, no control characters but newline, the last blank
 * line separating text from one or more well-formed signature lines.
 * @throws TlogError NOTE_INVALID naming what is wrong.
 */
export function parseSignedNote(
  input: string | Uint8Array,
  options: { maxBytes?: number; maxSignatures?: number } = {},
): SignedNote {
  const maxBytes = options.maxBytes ?? maxNoteBytesDefault;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > maxBytes) throw invalid(`the note is ${size} bytes, over the ${maxBytes}-byte limit`);
  let message: string;
  if (typeof input === 'string') message = input;
  else {
    try {
      message = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (cause) {
      throw invalid('the note is not valid UTF-8', cause);
    }
  }
  if (Buffer.from(message, 'utf8').toString('utf8') !== message) throw invalid('the note is not valid UTF-8');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(message))
    throw invalid('the note contains a control character other than newline');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw invalid('no blank line separates the text from the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (!block.endsWith('\n')) throw invalid('the signature block does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  const maxSignatures = options.maxSignatures ?? maxNoteSignaturesDefault;
  if (lines.length > maxSignatures)
    throw invalid(`${lines.length} signature lines, over the limit of ${maxSignatures}`);
  return Object.freeze({
    text,
    signatures: Object.freeze(lines.map((line, i) => parseSignatureLine(line, `signature line ${i + 1}`))),
  });
}

/** Parses one `— <name> <base64>` line (without its newline). @throws TlogError NOTE_INVALID. */
export function parseSignatureLine(line: string, field = 'signature line'): NoteSignature {
  if (!line.startsWith(`${EM_DASH} `)) throw invalid(`${field} does not start with "— "`);
  const rest = line.slice(2);
  const space = rest.indexOf(' ');
  if (space <= 0) throw invalid(`${field} has no key name and signature`);
  const name = rest.slice(0, space);
  if (!isValidKeyName(name))
    throw invalid(`${field}: key name ${JSON.stringify(name.slice(0, 80))} is not valid`);
  const bytes = decodeStandardBase64(rest.slice(space + 1));
  if (!bytes || bytes.length < 5)
    throw invalid(`${field}: the signature is not base64 of a key ID and a signature`);
  return Object.freeze({
    name,
    keyHash: bytes.readUInt32BE(0),
    signature: Uint8Array.from(bytes.subarray(4)),
  });
}

export function formatSignatureLine(signature: NoteSignature): string {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(signature.keyHash >>> 0);
  return `${EM_DASH} ${signature.name} ${Buffer.concat([id, signature.signature]).toString('base64')}\n`;
}

export function formatSignedNote(note: SignedNote): string {
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

/** Signs `text` (which must end with a newline) with each signer. */
export async function signNoteText(text: string, signers: readonly NoteSigner[]): Promise<NoteSignature[]> {
  if (!text.endsWith('\n') || text.length < 2)
    throw invalid('a note text must be non-empty and end with a newline');
  const bytes = Buffer.from(text, 'utf8');
  return Promise.all(
    signers.map(async (signer) =>
      Object.freeze({ name: signer.name, keyHash: signer.keyHash, signature: await signer.sign(bytes) }),
    ),
  );
}

/**
 * Verifies a note against the keys the caller trusts (signed-note §Signatures): signatures whose
 * name and key ID match no trusted key are ignored; one that matches a trusted key and fails
 * rejects the note; and at least one must verify.
 * @throws TlogError NOTE_UNVERIFIED.
 */
export function verifyNote(note: SignedNote, verifiers: readonly NoteVerifier[]): NoteVerification {
  const text = Buffer.from(note.text, 'utf8');
  const verified: VerifiedSignature[] = [];
  const unknown: NoteSignature[] = [];
  for (const signature of note.signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyHash === signature.keyHash);
    if (!verifier) {
      unknown.push(signature);
      continue;
    }
    if (!verifier.verify(text, signature.signature))
      throw new TlogError(
        'NOTE_UNVERIFIED',
        `the signature by ${signature.name} does not verify with its trusted key`,
      );
    if (!verified.some((v) => v.verifier === verifier)) verified.push({ verifier, signature });
  }
  if (verified.length === 0)
    throw new TlogError(
      'NOTE_UNVERIFIED',
      `no signature by a trusted key (${verifiers.map((v) => v.name).join(', ') || 'none given'}); signed by: ${note.signatures.map((s) => s.name).join(', ')}`,
    );
  return Object.freeze({ note, verified: Object.freeze(verified), unknown: Object.freeze(unknown) });
}

function invalid(message: string, cause?: unknown): TlogError {
  return new TlogError('NOTE_INVALID', message, cause === undefined ? undefined : { cause });
}
