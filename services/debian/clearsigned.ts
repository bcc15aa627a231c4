// OpenPGP cleartext signature framing (RFC 4880 §7): splits a clearsigned document into the text that
// was signed and the armored signature, refusing every framing a verifier and a parser could disagree on.
import { DebianFormatError } from '../errors.ts';

/** What {@link splitClearsigned} found: an unsigned document, or the signed text and its signature. */
export type ClearsignedSplit =
  | { readonly kind: 'plain'; readonly text: string }
  | {
      readonly kind: 'clearsigned';
      /** The dash-unescaped cleartext, every line ending in '\n' (as `gpg --decrypt` prints it). */
      readonly signedText: string;
      /** `-----BEGIN PGP SIGNATURE-----` through `-----END PGP SIGNATURE-----\n`, unverified. */
      readonly armoredSignature: string;
      /** The digest names of the `Hash:` headers in order, e.g. `['SHA512']`. */
      readonly hashAlgorithms: readonly string[];
    };

/** The field named by every framing refusal. */
export const OPENPGP_SIGNATURE_FIELD = 'OpenPGP signature';

/** Digest names RFC 4880 §9.4 and RFC 9580 §9.5 give for the `Hash:` header. */
const HASH_NAMES = new Set([
  'MD5',
  'SHA1',
  'RIPEMD160',
  'SHA224',
  'SHA256',
  'SHA384',
  'SHA512',
  'SHA3-256',
  'SHA3-512',
]);
const MAX_ARMOR_HEADERS = 16;
/** RFC 4880 §6.3: armored lines hold at most 76 characters. */
const MAX_BASE64_LINE = 76;
const BEGIN_MESSAGE = 'BEGIN PGP SIGNED MESSAGE';
const BEGIN_SIGNATURE = 'BEGIN PGP SIGNATURE';
const END_SIGNATURE = 'END PGP SIGNATURE';
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ARMOR_HEADER = /^([A-Za-z][A-Za-z0-9-]*): (.*)$/;

function refuse(message: string): never {
  throw new DebianFormatError(OPENPGP_SIGNATURE_FIELD, message);
}

/** True for `-----LABEL-----` followed by nothing but blanks (RFC 4880 §6.2). */
function isArmorLine(line: string | undefined, label: string): boolean {
  const marker = `-----${label}-----`;
  if (line === undefined) return false;
  return line.startsWith(marker) && isBlank(line.slice(marker.length));
}

/** True for any line that opens or closes some OpenPGP armor. */
function looksLikeArmor(line: string): boolean {
  return line.startsWith('-----BEGIN PGP') || line.startsWith('-----END PGP');
}

/**
 * Splits `text` into plain text or a clearsigned message. A document counts as clearsigned when its
 * first line is `-----BEGIN PGP SIGNED MESSAGE-----`; one that is not but holds an OpenPGP armor line
 * anywhere is refused (text before BEGIN). For a clearsigned message this requires: `Hash:` headers
 * only (at least one, known digest names), an empty line, dash-escaped text (every line starting
 * with '-' must be `- `-escaped; the escape is undone; no nested armor), one signature block with
 * well-formed base64 whose first packet is a signature and whose CRC-24, if given, matches, and
 * nothing but whitespace after `-----END PGP SIGNATURE-----`. The signature is NOT verified.
 * Refusals are DebianFormatError naming {@link OPENPGP_SIGNATURE_FIELD}.
 */
export function splitClearsigned(text: string): ClearsignedSplit {
  if (text.includes('\r')) refuse('holds a carriage return (CRLF line ends are not accepted)');
  const lines = text.split('\n');
  if (!isArmorLine(lines[0], BEGIN_MESSAGE)) {
    const armor = lines.findIndex(looksLikeArmor);
    if (armor < 0) return Object.freeze({ kind: 'plain', text });
    refuse(
      `line ${armor + 1} is an armor line but the document does not start with -----${BEGIN_MESSAGE}-----`,
    );
  }
  const { hashAlgorithms, next: textStart } = readHashHeaders(lines);
  const { signedLines, next: signatureStart } = readCleartext(lines, textStart);
  const signatureEnd = readSignatureBlock(lines, signatureStart);
  refuseTrailingText(lines, signatureEnd + 1);
  return Object.freeze({
    kind: 'clearsigned',
    signedText: signedLines.map((line) => `${line}\n`).join(''),
    armoredSignature: `${lines.slice(signatureStart, signatureEnd + 1).join('\n')}\n`,
    hashAlgorithms: Object.freeze(hashAlgorithms),
  });
}

/** Reads the `Hash:` headers after the BEGIN line up to the empty line; returns the index after it. */
function readHashHeaders(lines: readonly string[]): { hashAlgorithms: string[]; next: number } {
  const hashAlgorithms: string[] = [];
  let index = 1;
  for (; lines[index] !== ''; index += 1) {
    const line = lines[index];
    if (line === undefined) refuse('the message ends inside its armor headers');
    if (index > MAX_ARMOR_HEADERS) refuse(`more than ${MAX_ARMOR_HEADERS} armor headers`);
    const match = /^Hash: (.+?)[ \t]*$/.exec(line);
    if (!match) refuse(`line ${index + 1}: only "Hash:" headers may follow -----${BEGIN_MESSAGE}-----`);
    for (const name of (match[1] as string).split(',').map((part) => part.trim())) {
      if (!HASH_NAMES.has(name)) refuse(`line ${index + 1}: unknown hash algorithm ${JSON.stringify(name)}`);
      hashAlgorithms.push(name);
    }
  }
  if (hashAlgorithms.length === 0) refuse('no "Hash:" header before the signed text');
  return { hashAlgorithms, next: index + 1 };
}

/** Reads dash-escaped text up to the signature's BEGIN line; returns the unescaped lines and its index. */
function readCleartext(lines: readonly string[], start: number): { signedLines: string[]; next: number } {
  const signedLines: string[] = [];
  for (let index = start; index < lines.length; index += 1) {
    const line = lines[index] as string;
    if (isArmorLine(line, BEGIN_SIGNATURE)) return { signedLines, next: index };
    if (!line.startsWith('-')) {
      signedLines.push(line);
      continue;
    }
    if (!line.startsWith('- ')) {
      const what = looksLikeArmor(line) ? 'a nested or second armor line' : 'not dash-escaped';
      refuse(`line ${index + 1} starts with '-' and is ${what}`);
    }
    const unescaped = line.slice(2);
    if (looksLikeArmor(unescaped))
      refuse(`line ${index + 1}: the signed text holds a nested OpenPGP message`);
    signedLines.push(unescaped);
  }
  return refuse(`no -----${BEGIN_SIGNATURE}----- block after the signed text`);
}

/** Checks the signature block that starts at `start`; returns the index of its END line. */
function readSignatureBlock(lines: readonly string[], start: number): number {
  let index = start + 1;
  for (; lines[index] !== ''; index += 1) {
    const line = lines[index];
    if (line === undefined || isArmorLine(line, END_SIGNATURE)) refuse('the signature block has no body');
    if (index - start > MAX_ARMOR_HEADERS) refuse(`more than ${MAX_ARMOR_HEADERS} signature armor headers`);
    if (!ARMOR_HEADER.test(line)) refuse(`line ${index + 1}: malformed signature armor header`);
  }
  const body: string[] = [];
  let checksum: string | undefined;
  for (index += 1; !isArmorLine(lines[index], END_SIGNATURE); index += 1) {
    const line = lines[index];
    if (line === undefined || (isBlank(line) && lines.slice(index).every(isBlank))) {
      refuse(`the signature block has no -----${END_SIGNATURE}----- line`);
    }
    if (checksum !== undefined) refuse(`line ${index + 1}: text after the armor checksum`);
    if (/^=[A-Za-z0-9+/]{4}$/.test(line)) checksum = line.slice(1);
    else if (line.length <= MAX_BASE64_LINE && BASE64_LINE.test(line)) body.push(line);
    else refuse(`line ${index + 1} is not base64 armor`);
  }
  checkSignatureBody(body.join(''), checksum);
  return index;
}

/** The base64 must be canonical, hold an OpenPGP signature packet first, and match its CRC-24. */
function checkSignatureBody(base64: string, checksum: string | undefined): void {
  if (base64 === '' || !BASE64_TEXT.test(base64)) refuse('the signature armor is not valid base64');
  const packets = Buffer.from(base64, 'base64');
  if (!isSignaturePacketTag(packets[0] as number)) refuse('the armor does not hold an OpenPGP signature');
  if (checksum !== undefined) {
    const expected = Buffer.from(checksum, 'base64').readUIntBE(0, 3);
    if (crc24(packets) !== expected) refuse('the armor checksum (CRC-24) does not match');
  }
}

/** RFC 4880 §4.2: packet tag 2 (Signature) in the old or the new packet format. */
function isSignaturePacketTag(tag: number): boolean {
  if ((tag & 0x80) === 0) return false;
  return (tag & 0x40) === 0 ? ((tag >> 2) & 0x0f) === 2 : (tag & 0x3f) === 2;
}

/** RFC 4880 §6.1 CRC-24 of `data`. */
function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let bit = 0; bit < 8; bit += 1) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

function isBlank(line: string): boolean {
  return /^[ \t]*$/.test(line);
}

function refuseTrailingText(lines: readonly string[], start: number): void {
  for (let index = start; index < lines.length; index += 1) {
    if (!isBlank(lines[index] as string)) {
      refuse(`line ${index + 1}: text after -----${END_SIGNATURE}-----`);
    }
  }
}
