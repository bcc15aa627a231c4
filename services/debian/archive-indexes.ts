// Parsers for a Debian archive's signed indexes (Release, Packages, Sources): untrusted text in, frozen typed records out.
import type { Sha256Hex } from '../digest.ts';
import { isSha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import {
  type Deb822Limits,
  type Deb822Paragraph,
  decodeControlText,
  fieldLines,
  parseDeb822,
  requireField,
} from './deb822.ts';
import { isDebianPackageName, parseDebianVersion } from './debian-version.ts';

/** One file listed in a Release file's SHA256 field. */
export interface ReleaseFileDigest {
  /** Size of the file in bytes. */
  readonly size: number;
  readonly sha256: Sha256Hex;
}

/** A parsed Release (the plaintext of InRelease). Frozen. */
export interface ReleaseIndex {
  readonly origin?: string;
  /** The Suite field, e.g. `oldstable`. */
  readonly suite: string;
  /** The Codename field, e.g. `bookworm`. */
  readonly codename: string;
  /** The Date field, in epoch seconds. */
  readonly date: number;
  /** The Valid-Until field, in epoch seconds; undefined when the Release does not expire. */
  readonly validUntil?: number;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  /** Every file of the SHA256 field, keyed by its path relative to `dists/<suite>/`. */
  readonly sha256: ReadonlyMap<string, ReleaseFileDigest>;
  /** True when the Release says `Acquire-By-Hash: yes` (indexes may be fetched by digest). */
  readonly acquireByHash: boolean;
}

/** One binary package of a Packages index. Frozen. */
export interface ArchivePackage {
  readonly name: string;
  readonly version: string;
  /** A Debian architecture name, or `all`. */
  readonly architecture: string;
  /** Path of the .deb relative to the mirror root, e.g. `pool/main/h/hello/hello_2.10-3_amd64.deb`. */
  readonly filename: string;
  /** Size of the .deb in bytes. */
  readonly size: number;
  readonly sha256: Sha256Hex;
  readonly multiArch?: 'same' | 'foreign' | 'allowed' | 'no';
  /** The Depends field as written (continuation lines joined with a space). */
  readonly depends?: string;
  /** The Pre-Depends field as written (continuation lines joined with a space). */
  readonly preDepends?: string;
  /** True for `Essential: yes`. */
  readonly essential: boolean;
  readonly priority?: string;
  /** The Source field as written: `name` or `name (version)`; undefined when it equals the package. */
  readonly source?: string;
  /** The paragraph exactly as it appeared in the index, without the separating blank line. */
  readonly stanza: string;
}

/** One file of a source package, from the Checksums-Sha256 field of a Sources index. */
export interface ArchiveSourceFile {
  /** A plain file name (no directory), e.g. `hello_2.10-3.dsc`. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  readonly sha256: Sha256Hex;
}

/** One source package of a Sources index. Frozen. */
export interface ArchiveSource {
  readonly name: string;
  readonly version: string;
  /** Directory of the files relative to the mirror root, e.g. `pool/main/h/hello`. */
  readonly directory: string;
  /** Every file, the .dsc included, in the order of the index. */
  readonly files: readonly ArchiveSourceFile[];
}

/** Limits for a Release file: real ones are ~150 KiB with ~1,000 SHA256 lines. */
export const RELEASE_LIMITS: Deb822Limits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxParagraphs: 1,
  maxFieldsPerParagraph: 64,
  maxLineLength: 4096,
});

/**
 * Limits for Packages and Sources indexes. Bookworm's main/amd64 Packages is ~50 MB with ~64,000
 * paragraphs of at most 29 fields and a longest line of ~76,000 characters; its Sources is ~51 MB
 * with ~35,000 paragraphs. These leave about 3× headroom. `maxBytes` counts UTF-16 code units.
 */
export const ARCHIVE_INDEX_LIMITS: Deb822Limits = Object.freeze({
  maxBytes: 192 * 1024 * 1024,
  maxParagraphs: 256 * 1024,
  maxFieldsPerParagraph: 128,
  maxLineLength: 1024 * 1024,
});

const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
const RELEASE_WORD = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/;
const SIZE = /^[0-9]{1,15}$/;
const PATH_SEGMENT = /^[A-Za-z0-9_.+~:%@=,-]+$/;
const SOURCE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+~-]*$/;
const MULTI_ARCH = new Set(['same', 'foreign', 'allowed', 'no']);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC2822_DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) (UTC|GMT|Z|[+-][0-9]{4})$/;

/** A size field as a non-negative safe integer (bytes). */
function parseSize(value: string, field: string): number {
  if (!SIZE.test(value))
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not a size in bytes`);
  return Number(value);
}

function parseSha256(value: string, field: string): Sha256Hex {
  if (!isSha256Hex(value)) throw new DebianFormatError(field, 'expected 64 lowercase hex characters');
  return value;
}

/**
 * Checks a path from an index is relative and stays below its root: no leading '/', no empty, '.'
 * or '..' segment, no backslash, whitespace or other unusual characters.
 */
function checkRelativePath(value: string, field: string): string {
  if (value.length === 0 || value.length > 1024)
    throw new DebianFormatError(field, 'path is empty or too long');
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !PATH_SEGMENT.test(segment)) {
      throw new DebianFormatError(
        field,
        `${JSON.stringify(value.slice(0, 200))} is not a relative path below the archive root`,
      );
    }
  }
  return value;
}

/** Parses an RFC 2822 date as Release files write it (`Sat, 11 Jul 2026 10:16:37 UTC`) into epoch seconds. */
function parseReleaseDate(value: string, field: string): number {
  const match = RFC2822_DATE.exec(value);
  const month = match ? MONTHS.indexOf(match[2] as string) : -1;
  if (!match || month < 0)
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not an RFC 2822 date`);
  const [day, year, hour, minute, second] = [1, 3, 4, 5, 6].map((index) => Number(match[index]));
  const ms = Date.UTC(year!, month, day!, hour!, minute!, second!);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCHours() !== hour || minute! > 59 || second! > 60) {
    throw new DebianFormatError(field, `${JSON.stringify(value)} is not a valid date`);
  }
  const zone = match[7] as string;
  let offsetSeconds = 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (hours > 23 || minutes > 59) throw new DebianFormatError(field, `bad time zone ${zone}`);
    offsetSeconds = (zone.startsWith('+') ? 1 : -1) * (hours * 3600 + minutes * 60);
  }
  return Math.floor(ms / 1000) - offsetSeconds;
}

function words(value: string | undefined, field: string): string[] {
  if (value === undefined) return [];
  const list = value.split(/\s+/).filter((word) => word !== '');
  for (const word of list) {
    if (!RELEASE_WORD.test(word))
      throw new DebianFormatError(field, `${JSON.stringify(word)} is not accepted`);
  }
  return list;
}

/**
 * Parses the plaintext of a Release/InRelease file (already verified by the caller). Requires Suite,
 * Codename, Date and SHA256; refuses duplicate or non-relative paths in SHA256 and malformed dates.
 * MD5Sum and SHA1 are ignored: only SHA256 is trusted.
 */
export function parseRelease(text: string): ReleaseIndex {
  const [paragraph] = parseDeb822(text, 'Release', RELEASE_LIMITS);
  if (!paragraph) throw new DebianFormatError('Release', 'is empty');
  const suite = requireField(paragraph, 'Suite');
  const codename = requireField(paragraph, 'Codename');
  for (const [field, value] of [
    ['Suite', suite],
    ['Codename', codename],
  ] as const) {
    if (!RELEASE_WORD.test(value))
      throw new DebianFormatError(field, `${JSON.stringify(value)} is not accepted`);
  }
  const date = parseReleaseDate(requireField(paragraph, 'Date'), 'Date');
  const validUntilText = paragraph.get('Valid-Until');
  const validUntil =
    validUntilText === undefined ? undefined : parseReleaseDate(validUntilText, 'Valid-Until');
  const sha256 = new Map<string, ReleaseFileDigest>();
  for (const line of fieldLines(requireField(paragraph, 'SHA256'))) {
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3)
      throw new DebianFormatError(
        'SHA256',
        `line ${JSON.stringify(line.slice(0, 200))} is not "digest size path"`,
      );
    const [digest, size, path] = parts as [string, string, string];
    checkRelativePath(path, 'SHA256');
    if (sha256.has(path)) throw new DebianFormatError('SHA256', `${path} is listed twice`);
    sha256.set(
      path,
      Object.freeze({ size: parseSize(size, 'SHA256'), sha256: parseSha256(digest, 'SHA256') }),
    );
  }
  const acquireByHash = paragraph.get('Acquire-By-Hash');
  const origin = paragraph.get('Origin');
  return Object.freeze({
    ...(origin === undefined ? {} : { origin }),
    suite,
    codename,
    date,
    ...(validUntil === undefined ? {} : { validUntil }),
    architectures: Object.freeze(words(paragraph.get('Architectures'), 'Architectures')),
    components: Object.freeze(words(paragraph.get('Components'), 'Components')),
    sha256,
    acquireByHash: acquireByHash === 'yes',
  });
}

/**
 * The byte ranges `[start, end)` of the paragraphs of an index, split at blank lines (a line of only
 * spaces and tabs counts as blank); ranges holding nothing but blanks are skipped. Works on the raw
 * bytes: the separators are ASCII, and UTF-8 never puts an ASCII byte inside a multi-byte character,
 * so this equals a split of the decoded text. A line parseDeb822 would take as blank but this does not
 * (say one holding only U+00A0) leaves two paragraphs in one range, which parsing then refuses: the
 * split can be stricter than the parser but never looser.
 */
function* stanzaRanges(bytes: Uint8Array): Generator<readonly [number, number]> {
  const length = bytes.length;
  let start = 0;
  let searchFrom = 0;
  const isBlankRange = (from: number, to: number): boolean => {
    for (let i = from; i < to; i += 1) {
      const byte = bytes[i];
      if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a) return false;
    }
    return true;
  };
  for (;;) {
    const newline = bytes.indexOf(0x0a, searchFrom);
    if (newline === -1) break;
    // The separator is this newline followed by one or more lines of only spaces and tabs.
    let separatorEnd = -1;
    let next = newline + 1;
    for (;;) {
      let at = next;
      while (at < length && (bytes[at] === 0x20 || bytes[at] === 0x09)) at += 1;
      if (at < length && bytes[at] === 0x0a) {
        separatorEnd = at + 1;
        next = at + 1;
        continue;
      }
      break;
    }
    if (separatorEnd === -1) {
      searchFrom = newline + 1;
      continue;
    }
    if (!isBlankRange(start, newline)) yield [start, newline];
    start = separatorEnd;
    searchFrom = separatorEnd;
  }
  const end = length > 0 && bytes[length - 1] === 0x0a ? length - 1 : length;
  if (start < end && !isBlankRange(start, end)) yield [start, end];
}

/** Parses the one paragraph of a stanza; `decode` has already checked it is control text. */
function parseOneStanza<T>(
  stanza: string,
  what: string,
  limits: Deb822Limits,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): T {
  const [paragraph] = parseDeb822(stanza, what, { ...limits, maxParagraphs: 1 });
  return convert(paragraph as Deb822Paragraph, stanza);
}

/** Rewords a refusal so it says which paragraph of `what` failed (by line and package name). */
function inParagraph(err: DebianFormatError, what: string, line: number, stanza: string): DebianFormatError {
  const name = /^Package:[ \t]*(\S{1,100})/im.exec(stanza)?.[1];
  const detail = err.message.startsWith(`${err.field}: `)
    ? err.message.slice(err.field.length + 2)
    : err.message;
  const where = `${what}, paragraph at line ${line}${name ? ` (${JSON.stringify(name)})` : ''}`;
  return new DebianFormatError(err.field, `${detail} (in ${where})`, { cause: err });
}

/** 1-based line number of byte `offset` in `bytes`. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let at = bytes.indexOf(0x0a); at !== -1 && at < offset; at = bytes.indexOf(0x0a, at + 1)) line += 1;
  return line;
}

/**
 * Checks every paragraph of an index (each must be control text and parse with `convert`) and calls
 * `visit` with each record and its byte range. Nothing but the current paragraph is held in memory.
 */
function walkIndex<T>(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
  visit: (record: T, start: number, end: number) => void,
): void {
  const max = { ...ARCHIVE_INDEX_LIMITS, ...limits };
  if (bytes.byteLength > max.maxBytes) throw new DebianFormatError(what, `larger than ${max.maxBytes} bytes`);
  let count = 0;
  for (const [start, end] of stanzaRanges(bytes)) {
    count += 1;
    if (count > max.maxParagraphs)
      throw new DebianFormatError(what, `more than ${max.maxParagraphs} paragraphs`);
    const slice = bytes.subarray(start, end);
    let stanza = '';
    try {
      stanza = decodeControlText(slice, what, max.maxBytes);
      visit(parseOneStanza(stanza, what, max, convert), start, end);
    } catch (err) {
      if (!(err instanceof DebianFormatError)) throw err;
      // A decoding refusal names the line within the paragraph; say where the paragraph starts.
      throw inParagraph(err, what, lineAt(bytes, start), stanza);
    }
  }
}

/** Parses every stanza with parseDeb822, rewording refusals so they say which paragraph of `what` failed. */
function parseStanzas<T>(
  text: string,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): T[] {
  const records: T[] = [];
  walkIndex(Buffer.from(text, 'utf8'), what, limits, convert, (record) => records.push(record));
  return records;
}

/**
 * A verified index kept as its bytes plus where each name's paragraphs start and end: a few bytes per
 * paragraph instead of a parsed object per paragraph. Bookworm's main Packages index is ~50 MB of text
 * with ~64,000 paragraphs; held parsed it costs several hundred MB of heap, held here its own size
 * (outside the JS heap) plus a map of names. Paragraphs are parsed again when looked up (every one was
 * checked when the view was made, so that parse cannot fail). Frozen after construction.
 */
export class ArchiveIndexView<T> {
  /** @internal Use {@link viewPackagesIndex} or {@link viewSourcesIndex}. */
  constructor(
    private readonly bytes: Buffer,
    /** Name → flat [start, end, start, end, …] byte ranges of its paragraphs, in index order. */
    private readonly ranges: ReadonlyMap<string, readonly number[]>,
    private readonly convert: (paragraph: Deb822Paragraph, stanza: string) => T,
    /** The limits every paragraph was checked against when the view was made. */
    private readonly limits: Deb822Limits,
    /** Names the index in messages. */
    readonly what: string,
    /** How many paragraphs the index holds. */
    readonly entryCount: number,
  ) {
    Object.freeze(this);
  }

  /** Bytes of the decompressed index this view holds. */
  get sizeBytes(): number {
    return this.bytes.byteLength;
  }

  /** Every paragraph for `name`, parsed, in index order. */
  lookup(name: string): T[] {
    const ranges = this.ranges.get(name);
    if (!ranges) return [];
    const found: T[] = [];
    for (let i = 0; i < ranges.length; i += 2) {
      const stanza = this.bytes.toString('utf8', ranges[i], ranges[i + 1]);
      found.push(parseOneStanza(stanza, this.what, this.limits, this.convert));
    }
    return found;
  }

  /** Every name the index has a paragraph for. */
  names(): IterableIterator<string> {
    return this.ranges.keys();
  }
}

function viewIndex<T extends { readonly name: string }>(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits>,
  convert: (paragraph: Deb822Paragraph, stanza: string) => T,
): ArchiveIndexView<T> {
  const owned = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ranges = new Map<string, number[]>();
  let count = 0;
  walkIndex(owned, what, limits, convert, (record, start, end) => {
    count += 1;
    const list = ranges.get(record.name);
    if (list) list.push(start, end);
    // A copy of the name: V8 keeps a substring's whole parent (here the paragraph) alive with it.
    else ranges.set(Buffer.from(record.name, 'latin1').toString('latin1'), [start, end]);
  });
  return new ArchiveIndexView(owned, ranges, convert, { ...ARCHIVE_INDEX_LIMITS, ...limits }, what, count);
}

function optionalJoined(paragraph: Deb822Paragraph, name: string): string | undefined {
  const value = paragraph.get(name);
  return value === undefined ? undefined : value.replace(/\s*\n\s*/g, ' ').trim();
}

function packageName(paragraph: Deb822Paragraph): string {
  const name = requireField(paragraph, 'Package');
  if (!isDebianPackageName(name))
    throw new DebianFormatError('Package', `${JSON.stringify(name.slice(0, 100))} is not a package name`);
  return name;
}

function packageVersion(paragraph: Deb822Paragraph): string {
  return parseDebianVersion(requireField(paragraph, 'Version'), 'Version').text;
}

function toArchivePackage(paragraph: Deb822Paragraph, stanza: string): ArchivePackage {
  const name = packageName(paragraph);
  const version = packageVersion(paragraph);
  const architecture = requireField(paragraph, 'Architecture');
  if (!ARCHITECTURE.test(architecture)) {
    throw new DebianFormatError(
      'Architecture',
      `${JSON.stringify(architecture.slice(0, 100))} is not an architecture`,
    );
  }
  const filename = checkRelativePath(requireField(paragraph, 'Filename'), 'Filename');
  const size = parseSize(requireField(paragraph, 'Size'), 'Size');
  const sha256 = parseSha256(requireField(paragraph, 'SHA256'), 'SHA256');
  const multiArch = paragraph.get('Multi-Arch');
  if (multiArch !== undefined && !MULTI_ARCH.has(multiArch)) {
    throw new DebianFormatError(
      'Multi-Arch',
      `${JSON.stringify(multiArch.slice(0, 100))} is not same, foreign, allowed or no`,
    );
  }
  const essential = paragraph.get('Essential');
  if (essential !== undefined && essential !== 'yes' && essential !== 'no') {
    throw new DebianFormatError('Essential', 'must be yes or no');
  }
  const depends = optionalJoined(paragraph, 'Depends');
  const preDepends = optionalJoined(paragraph, 'Pre-Depends');
  const priority = paragraph.get('Priority');
  const source = paragraph.get('Source');
  return Object.freeze({
    name,
    version,
    architecture,
    filename,
    size,
    sha256,
    ...(multiArch === undefined ? {} : { multiArch: multiArch as ArchivePackage['multiArch'] }),
    ...(depends === undefined ? {} : { depends }),
    ...(preDepends === undefined ? {} : { preDepends }),
    essential: essential === 'yes',
    ...(priority === undefined ? {} : { priority }),
    ...(source === undefined ? {} : { source }),
    stanza,
  });
}

/**
 * Parses a (decompressed, digest-verified) Packages index. Requires Package, Version, Architecture,
 * Filename, Size and SHA256 in every paragraph; refuses absolute Filenames and any with '..'.
 * `what` names the index in messages (e.g. `bookworm main/binary-amd64/Packages`).
 */
export function parsePackagesIndex(
  text: string,
  what: string,
  limits: Partial<Deb822Limits> = {},
): ArchivePackage[] {
  return parseStanzas(text, what, limits, toArchivePackage);
}

/**
 * Checks a (decompressed, digest-verified) Packages index paragraph by paragraph, with the same rules
 * as {@link parsePackagesIndex}, and returns a compact view of it. `bytes` is kept, not copied.
 */
export function viewPackagesIndex(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits> = {},
): ArchiveIndexView<ArchivePackage> {
  return viewIndex(bytes, what, limits, toArchivePackage);
}

function toArchiveSource(paragraph: Deb822Paragraph): ArchiveSource {
  const name = packageName(paragraph);
  const version = packageVersion(paragraph);
  const directory = checkRelativePath(requireField(paragraph, 'Directory'), 'Directory');
  const files: ArchiveSourceFile[] = [];
  const seen = new Set<string>();
  for (const line of fieldLines(requireField(paragraph, 'Checksums-Sha256'))) {
    if (line === '') continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3)
      throw new DebianFormatError('Checksums-Sha256', 'expected "digest size name" lines');
    const [digest, size, fileName] = parts as [string, string, string];
    if (!SOURCE_FILE_NAME.test(fileName) || fileName.length > 255) {
      throw new DebianFormatError(
        'Checksums-Sha256',
        `${JSON.stringify(fileName.slice(0, 100))} is not a plain file name`,
      );
    }
    if (seen.has(fileName)) throw new DebianFormatError('Checksums-Sha256', `${fileName} is listed twice`);
    seen.add(fileName);
    files.push(
      Object.freeze({
        name: fileName,
        size: parseSize(size, 'Checksums-Sha256'),
        sha256: parseSha256(digest, 'Checksums-Sha256'),
      }),
    );
  }
  if (files.length === 0) throw new DebianFormatError('Checksums-Sha256', 'lists no files');
  return Object.freeze({ name, version, directory, files: Object.freeze(files) });
}

/**
 * Parses a (decompressed, digest-verified) Sources index. Requires Package, Version, Directory and
 * Checksums-Sha256; file names must be plain names (no '/'), the directory relative without '..'.
 */
export function parseSourcesIndex(
  text: string,
  what: string,
  limits: Partial<Deb822Limits> = {},
): ArchiveSource[] {
  return parseStanzas(text, what, limits, toArchiveSource);
}

/** A compact view of a Sources index, checked as {@link parseSourcesIndex} checks it. `bytes` is kept. */
export function viewSourcesIndex(
  bytes: Uint8Array,
  what: string,
  limits: Partial<Deb822Limits> = {},
): ArchiveIndexView<ArchiveSource> {
  return viewIndex(bytes, what, limits, (paragraph) => toArchiveSource(paragraph));
}
