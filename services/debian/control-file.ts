// The pieces every single-paragraph Debian control file shares (.buildinfo, .dsc): a clearsigned
// paragraph read under limits, single-line fields, plain file names, and the Checksums-* lists.
import type { Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { type ClearsignedSplit, splitClearsigned } from './clearsigned.ts';
import { type Deb822Paragraph, decodeControlText, parseDeb822, requireField } from './deb822.ts';
import { isDebianPackageName } from './debian-version.ts';

/** The signature a clearsigned control file carried, kept (not verified) for a later gpgv check. */
export interface ControlSignature {
  readonly armoredSignature: string;
  /** The dash-unescaped cleartext that was parsed. */
  readonly signedText: string;
  readonly hashAlgorithms: readonly string[];
}

/** One file of a `Checksums-*` list. Sizes are bytes; digests lowercase hex. */
export interface ControlFile {
  /** A plain file name (see {@link checkPlainFileName}). */
  readonly name: string;
  readonly size: number;
  readonly sha256: Sha256Hex;
  /** From Checksums-Sha1, when the document has that field. */
  readonly sha1: string | undefined;
  /** From Checksums-Md5 (.buildinfo) or Files (.dsc), when the document has that field. */
  readonly md5: string | undefined;
}

const FILE_NAME = /^[A-Za-z0-9+.~_:%-]+$/;
const MAX_FILE_NAME_LENGTH = 255;

/**
 * Decodes `bytes` (size checked first, against `limits.maxBytes`), splits off a clearsign signature
 * and parses exactly one deb822 paragraph. Refusals name `what`, a field, or 'OpenPGP signature'.
 */
export function readSignedControlParagraph(
  bytes: Uint8Array,
  what: string,
  limits: { readonly maxBytes: number; readonly maxLineLength: number; readonly maxFields: number },
): { paragraph: Deb822Paragraph; signature: ControlSignature | undefined } {
  const text = decodeControlText(bytes, what, limits.maxBytes);
  const split: ClearsignedSplit = splitClearsigned(text);
  const content = split.kind === 'plain' ? split.text : split.signedText;
  const paragraphs = parseDeb822(content, what, {
    maxBytes: limits.maxBytes,
    maxParagraphs: 1,
    maxFieldsPerParagraph: limits.maxFields,
    maxLineLength: limits.maxLineLength,
  });
  const paragraph = paragraphs[0];
  if (paragraph === undefined) throw new DebianFormatError(what, 'holds no fields');
  const signature =
    split.kind === 'plain'
      ? undefined
      : {
          armoredSignature: split.armoredSignature,
          signedText: split.signedText,
          hashAlgorithms: split.hashAlgorithms,
        };
  return { paragraph, signature };
}

/** The value of a single-line field, or undefined when absent. Refuses an empty or multi-line value. */
export function optionalLine(paragraph: Deb822Paragraph, name: string): string | undefined {
  const value = paragraph.get(name);
  if (value === undefined) return undefined;
  if (value === '') throw new DebianFormatError(name, 'empty');
  if (value.includes('\n')) throw new DebianFormatError(name, 'must be a single line');
  return value;
}

/** The value of a required single-line field. */
export function requiredLine(paragraph: Deb822Paragraph, name: string): string {
  const value = optionalLine(paragraph, name);
  if (value === undefined) throw new DebianFormatError(name, 'missing');
  return value;
}

/** Splits a whitespace-separated (possibly multi-line) list. */
export function words(value: string): string[] {
  return value.split(/[ \t\n]+/).filter((word) => word !== '');
}

/**
 * Refuses a file name that is not a plain name in one directory: 1–255 characters of
 * `[A-Za-z0-9+.~_:%-]`, no '/', no '..', not starting with '.'.
 */
export function checkPlainFileName(name: string, field: string): void {
  const shown = JSON.stringify(name.slice(0, 80));
  if (name.includes('/')) throw new DebianFormatError(field, `file name ${shown} holds '/'`);
  if (name.includes('..')) throw new DebianFormatError(field, `file name ${shown} holds '..'`);
  if (name.startsWith('.')) throw new DebianFormatError(field, `file name ${shown} starts with '.'`);
  if (name.length > MAX_FILE_NAME_LENGTH) {
    throw new DebianFormatError(field, `file name ${shown}... is longer than ${MAX_FILE_NAME_LENGTH}`);
  }
  if (!FILE_NAME.test(name)) {
    throw new DebianFormatError(field, `file name ${shown} holds characters other than A-Za-z0-9+.~_:%-`);
  }
}

interface ChecksumEntry {
  readonly digest: string;
  readonly size: number;
  readonly name: string;
}

const HEX_LENGTH = { sha256: 64, sha1: 40, md5: 32 } as const;

/**
 * Parses the checksum lists of a control file: `sha256` is required, `sha1` and `md5` optional but,
 * when present, must list exactly the same files with the same sizes. Each line is
 * `digest size name` (single spaces; lowercase hex of the digest's length; size a non-negative
 * safe integer in bytes; a plain file name); no name twice; at most `maxEntries` lines per field.
 */
export function parseChecksumFields(
  paragraph: Deb822Paragraph,
  fields: { readonly sha256: string; readonly sha1: string; readonly md5: string },
  maxEntries: number,
): ControlFile[] {
  const sha256 = parseChecksumList(requireField(paragraph, fields.sha256), fields.sha256, 64, maxEntries);
  const byName = new Map(sha256.map((entry) => [entry.name, entry]));
  const others: Partial<Record<'sha1' | 'md5', Map<string, string>>> = {};
  for (const kind of ['sha1', 'md5'] as const) {
    const value = paragraph.get(fields[kind]);
    if (value === undefined) continue;
    const list = parseChecksumList(value, fields[kind], HEX_LENGTH[kind], maxEntries);
    checkSameFiles(list, byName, fields[kind], fields.sha256);
    others[kind] = new Map(list.map((entry) => [entry.name, entry.digest]));
  }
  return sha256.map((entry) => ({
    name: entry.name,
    size: entry.size,
    sha256: entry.digest as Sha256Hex,
    sha1: others.sha1?.get(entry.name),
    md5: others.md5?.get(entry.name),
  }));
}

function parseChecksumList(value: string, field: string, hexLength: number, maxEntries: number) {
  const lines = value.split('\n').filter((line, index) => !(index === 0 && line === ''));
  if (lines.length === 0) throw new DebianFormatError(field, 'lists no files');
  if (lines.length > maxEntries) throw new DebianFormatError(field, `lists more than ${maxEntries} files`);
  const seen = new Set<string>();
  return lines.map((line, index): ChecksumEntry => {
    const entry = parseChecksumLine(line.replace(/^[ \t]+|[ \t]+$/g, ''), field, hexLength, index + 1);
    if (seen.has(entry.name)) {
      throw new DebianFormatError(field, `lists ${JSON.stringify(entry.name)} twice`);
    }
    seen.add(entry.name);
    return entry;
  });
}

function parseChecksumLine(line: string, field: string, hexLength: number, entry: number): ChecksumEntry {
  const parts = line.split(' ');
  const [digest, sizeText, name] = parts as [string, string, string];
  if (parts.length !== 3 || digest === '' || sizeText === '' || name === '') {
    throw new DebianFormatError(field, `entry ${entry} is not "digest size name" separated by single spaces`);
  }
  if (/^[0-9a-fA-F]+$/.test(digest) && /[A-F]/.test(digest)) {
    throw new DebianFormatError(field, `entry ${entry}: the digest must be lowercase hex`);
  }
  if (digest.length !== hexLength || !/^[0-9a-f]+$/.test(digest)) {
    throw new DebianFormatError(field, `entry ${entry}: the digest must be ${hexLength} hex characters`);
  }
  const size = Number(sizeText);
  if (!/^[0-9]+$/.test(sizeText) || !Number.isSafeInteger(size)) {
    throw new DebianFormatError(field, `entry ${entry}: the size must be a non-negative integer of bytes`);
  }
  checkPlainFileName(name, field);
  return { digest, size, name };
}

function checkSameFiles(
  list: readonly ChecksumEntry[],
  primary: ReadonlyMap<string, ChecksumEntry>,
  field: string,
  primaryField: string,
): void {
  for (const entry of list) {
    const match = primary.get(entry.name);
    if (match === undefined) {
      throw new DebianFormatError(
        field,
        `lists ${JSON.stringify(entry.name)}, which ${primaryField} does not`,
      );
    }
    if (match.size !== entry.size) {
      throw new DebianFormatError(
        field,
        `gives ${JSON.stringify(entry.name)} another size than ${primaryField}`,
      );
    }
  }
  if (list.length !== primary.size) {
    throw new DebianFormatError(field, `does not list every file ${primaryField} lists`);
  }
}

/** Deeply freezes plain objects and arrays (the shape every parser here returns). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** The `Binary` field's names: at most `max`, each a package name, none twice; refusals name `Binary`. */
export function checkBinaryNames(names: string[], max: number): string[] {
  if (names.length > max) {
    throw new DebianFormatError('Binary', `lists more than ${max} packages`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!isDebianPackageName(name)) {
      throw new DebianFormatError('Binary', `${JSON.stringify(name.slice(0, 80))} is not a package name`);
    }
    if (seen.has(name)) throw new DebianFormatError('Binary', `lists ${name} twice`);
    seen.add(name);
  }
  return names;
}
