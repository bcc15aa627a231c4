// Debian .buildinfo files (deb-buildinfo(5), Format 1.0): parsed once at the boundary into a deeply
// frozen ParsedBuildinfo; also the control-file pieces .dsc parsing shares (signed paragraph, checksum lists).
import type { Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { type ClearsignedSplit, splitClearsigned } from './clearsigned.ts';
import { type Deb822Paragraph, decodeControlText, parseDeb822, requireField } from './deb822.ts';
import {
  binNmuSuffix,
  type DebianVersion,
  isDebianPackageName,
  parseDebianVersion,
} from './debian-version.ts';

/** Limits for one .buildinfo; counts are entries, sizes are bytes unless named otherwise. */
export const BUILDINFO_LIMITS = Object.freeze({
  /** Largest file accepted, checked before decoding. */
  maxBytes: 1024 * 1024,
  /** Longest line, in characters (an Environment value plus its name and quotes fits). */
  maxLineLength: 128 * 1024,
  maxFields: 64,
  maxBinaries: 1000,
  maxFiles: 10_000,
  maxInstalledBuildDepends: 10_000,
  maxEnvironmentEntries: 1000,
  maxEnvironmentValueBytes: 64 * 1024,
  maxBuildTaintedBy: 64,
  /** In characters. */
  maxBuildPathLength: 4096,
});

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

/** A `.deb` or `.udeb` of the buildinfo, with what its `package_version_arch.deb` name says. */
export interface BuildinfoDeb extends ControlFile {
  readonly package: string;
  /** The version from the file name, which never carries an epoch. */
  readonly version: DebianVersion;
  /** An architecture name or `all`; always one the Architecture field lists. */
  readonly architecture: string;
  readonly type: 'deb' | 'udeb';
  /** True for automatic debug symbol packages (`*-dbgsym`). */
  readonly isDbgsym: boolean;
}

/** One `name[:arch] (= version)` of Installed-Build-Depends. */
export interface InstalledBuildDepend {
  readonly name: string;
  readonly architecture: string | undefined;
  readonly version: DebianVersion;
}

/** A .buildinfo after every check; deeply frozen. Field docs name the deb-buildinfo(5) field. */
export interface ParsedBuildinfo {
  readonly format: '1.0';
  /** Source: the source package name. */
  readonly source: string;
  /** Source: the `(version)` when given (binNMUs), else Version. */
  readonly sourceVersion: DebianVersion;
  /** Binary: package names in document order, unique. */
  readonly binaries: readonly string[];
  /** Architecture: every entry in document order, unique. */
  readonly architectures: readonly string[];
  /** Architecture entries other than `source` and `all`. */
  readonly hostArchitectures: readonly string[];
  readonly includesSource: boolean;
  readonly buildsArchAll: boolean;
  readonly buildsArchAny: boolean;
  /** Version: of the binaries built (with `+bN` for a binNMU). */
  readonly version: DebianVersion;
  /** N of a `+bN` Version suffix, else undefined. */
  readonly binNmu: number | undefined;
  /** Binary-Only-Changes: the changelog entry, lines joined with '\n', `.` lines made empty. */
  readonly binaryOnlyChanges: string | undefined;
  /** Checksums-Sha256 (cross-checked with Checksums-Sha1 and Checksums-Md5), in document order. */
  readonly files: readonly ControlFile[];
  /** The `.deb`/`.udeb` entries of `files`; never empty. */
  readonly debs: readonly BuildinfoDeb[];
  readonly buildOrigin: string | undefined;
  readonly buildArchitecture: string;
  /** Build-Date as written (RFC 2822). */
  readonly buildDate: string;
  /** Build-Date in seconds since 1970-01-01T00:00:00Z. */
  readonly buildDateEpochSeconds: number;
  readonly buildKernelVersion: string | undefined;
  /** Build-Path: absolute and normalised, when given. */
  readonly buildPath: string | undefined;
  readonly buildTaintedBy: readonly string[];
  readonly installedBuildDepends: readonly InstalledBuildDepend[];
  /** Environment: `[name, value]` in document order, values unescaped. */
  readonly environment: readonly (readonly [name: string, value: string])[];
  /** Environment as a null-prototype record. */
  readonly environmentRecord: Readonly<Record<string, string>>;
  /** The OpenPGP signature of a clearsigned file, unverified; undefined for a plain file. */
  readonly signature: ControlSignature | undefined;
}

/** The document name used for refusals not about one field. */
export const BUILDINFO_DOCUMENT = 'buildinfo';

const ARCHITECTURE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const FILE_NAME = /^[A-Za-z0-9+.~_:%-]+$/;
const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAINT_TAG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_FILE_NAME_LENGTH = 255;

/**
 * Parses an untrusted .buildinfo (plain or clearsigned; the signature is kept, not verified).
 * Refuses anything over {@link BUILDINFO_LIMITS}`.maxBytes` before decoding. Every refusal is a
 * DebianFormatError whose `field` names the field at fault, {@link BUILDINFO_DOCUMENT} for the
 * document as a whole, or 'OpenPGP signature' for clearsign framing. Unknown fields are ignored.
 */
export function parseBuildinfo(bytes: Uint8Array): ParsedBuildinfo {
  const { paragraph, signature } = readSignedControlParagraph(bytes, BUILDINFO_DOCUMENT, BUILDINFO_LIMITS);
  const format = requiredLine(paragraph, 'Format');
  if (format !== '1.0') throw new DebianFormatError('Format', `${JSON.stringify(format)} is not "1.0"`);
  const version = parseDebianVersion(requiredLine(paragraph, 'Version'), 'Version');
  const { source, sourceVersion } = parseSourceField(requiredLine(paragraph, 'Source'), version);
  const architecture = parseArchitectureField(requireField(paragraph, 'Architecture'));
  const binNmu = binNmuSuffix(version);
  const files = parseChecksumFields(
    paragraph,
    { sha256: 'Checksums-Sha256', sha1: 'Checksums-Sha1', md5: 'Checksums-Md5' },
    BUILDINFO_LIMITS.maxFiles,
  );
  const { buildDate, buildDateEpochSeconds } = parseBuildDate(requiredLine(paragraph, 'Build-Date'));
  const environment = parseEnvironment(paragraph.get('Environment'));
  return deepFreeze({
    format: '1.0',
    source,
    sourceVersion,
    binaries: parseBinaryField(requireField(paragraph, 'Binary')),
    ...architecture,
    version,
    binNmu,
    binaryOnlyChanges: parseBinaryOnlyChanges(paragraph.get('Binary-Only-Changes'), source, version, binNmu),
    files,
    debs: debsOf(files, architecture.architectures),
    buildOrigin: optionalLine(paragraph, 'Build-Origin'),
    buildArchitecture: parseBuildArchitecture(requiredLine(paragraph, 'Build-Architecture')),
    buildDate,
    buildDateEpochSeconds,
    buildKernelVersion: optionalLine(paragraph, 'Build-Kernel-Version'),
    buildPath: parseBuildPath(optionalLine(paragraph, 'Build-Path')),
    buildTaintedBy: parseBuildTaintedBy(paragraph.get('Build-Tainted-By')),
    installedBuildDepends: parseInstalledBuildDepends(requireField(paragraph, 'Installed-Build-Depends')),
    environment,
    environmentRecord: environmentRecord(environment),
    signature,
  } satisfies ParsedBuildinfo);
}

// ---------------------------------------------------------------------------------------------
// Pieces shared with other single-paragraph control files (.dsc).

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

// ---------------------------------------------------------------------------------------------
// Fields of a .buildinfo.

function parseSourceField(value: string, version: DebianVersion) {
  const match = /^([^ ()]+)(?: \(([^ ()]+)\))?$/.exec(value);
  if (!match) throw new DebianFormatError('Source', 'expected "name" or "name (version)"');
  const source = match[1] as string;
  if (!isDebianPackageName(source)) {
    throw new DebianFormatError('Source', `${JSON.stringify(source)} is not a package name`);
  }
  const sourceVersion = match[2] === undefined ? version : parseDebianVersion(match[2], 'Source');
  return { source, sourceVersion };
}

function parseBinaryField(value: string): string[] {
  return checkBinaryNames(words(value), BUILDINFO_LIMITS.maxBinaries);
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

/** True for a concrete architecture name (`amd64`, `hurd-i386`), not a wildcard, `all` or `source`. */
function isConcreteArchitecture(name: string): boolean {
  return (
    name.length <= 64 &&
    ARCHITECTURE_NAME.test(name) &&
    name !== 'all' &&
    name !== 'source' &&
    !name.split('-').some((part) => part === 'any' || part === 'native')
  );
}

function parseArchitectureField(value: string) {
  const architectures = words(value);
  const seen = new Set<string>();
  for (const name of architectures) {
    if (name !== 'source' && name !== 'all' && !isConcreteArchitecture(name)) {
      throw new DebianFormatError(
        'Architecture',
        `${JSON.stringify(name.slice(0, 80))} is not an architecture`,
      );
    }
    if (seen.has(name)) throw new DebianFormatError('Architecture', `lists ${name} twice`);
    seen.add(name);
  }
  const hostArchitectures = architectures.filter(isConcreteArchitecture);
  const buildsArchAll = seen.has('all');
  if (!buildsArchAll && hostArchitectures.length === 0) {
    throw new DebianFormatError(
      'Architecture',
      'names no binary architecture: nothing to rebuild into .debs',
    );
  }
  return {
    architectures,
    hostArchitectures,
    includesSource: seen.has('source'),
    buildsArchAll,
    buildsArchAny: hostArchitectures.length > 0,
  };
}

function parseBinaryOnlyChanges(
  value: string | undefined,
  source: string,
  version: DebianVersion,
  binNmu: number | undefined,
): string | undefined {
  const field = 'Binary-Only-Changes';
  if (value === undefined) {
    if (binNmu !== undefined) {
      throw new DebianFormatError(field, `missing, but Version ${version.text} is a binNMU (+b${binNmu})`);
    }
    return undefined;
  }
  const lines = value
    .split('\n')
    .filter((line, index) => !(index === 0 && line === ''))
    .map((line) => (line === '.' ? '' : line));
  checkChangelogHeader(lines[0] ?? '', source, version);
  return lines.join('\n');
}

/** A changelog header `name (version) suite[ suite...]; key=value[, key=value...]` with urgency. */
function checkChangelogHeader(header: string, source: string, version: DebianVersion): void {
  const field = 'Binary-Only-Changes';
  const match = /^(\S+) \((\S+)\) ([^;]+); (.+)$/.exec(header);
  if (!match) throw new DebianFormatError(field, 'the first line is not a changelog header');
  const [, name, headerVersion, suites, options] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (name !== source) throw new DebianFormatError(field, `the header names ${name}, not ${source}`);
  if (headerVersion !== version.text) {
    throw new DebianFormatError(field, `the header names version ${headerVersion}, not ${version.text}`);
  }
  if (!words(suites).every((suite) => /^[A-Za-z0-9][A-Za-z0-9+./-]*$/.test(suite))) {
    throw new DebianFormatError(field, 'the header names a malformed suite');
  }
  const keys = options.split(',').map((option) => /^\s*([A-Za-z][A-Za-z0-9-]*)=\S+\s*$/.exec(option)?.[1]);
  if (keys.some((key) => key === undefined) || !keys.some((key) => key?.toLowerCase() === 'urgency')) {
    throw new DebianFormatError(field, 'the header needs "key=value" options including urgency');
  }
}

/** Parses `package_version_arch.(u)deb` names of the file list; other files are not debs. */
function debsOf(files: readonly ControlFile[], architectures: readonly string[]): BuildinfoDeb[] {
  const field = 'Checksums-Sha256';
  const debs: BuildinfoDeb[] = [];
  for (const file of files) {
    const type = file.name.endsWith('.deb') ? 'deb' : file.name.endsWith('.udeb') ? 'udeb' : undefined;
    if (type === undefined) continue;
    const parts = file.name.slice(0, -(type.length + 1)).split('_');
    const [pkg, versionText, architecture] = parts as [string, string, string];
    const shown = JSON.stringify(file.name);
    if (parts.length !== 3 || !isDebianPackageName(pkg)) {
      throw new DebianFormatError(field, `${shown} is not named package_version_architecture.${type}`);
    }
    if (versionText.includes(':')) throw new DebianFormatError(field, `${shown}: file names carry no epoch`);
    const version = parseDebianVersion(versionText, field);
    if (!architectures.includes(architecture) || architecture === 'source') {
      throw new DebianFormatError(
        field,
        `${shown} is for an architecture the Architecture field does not list`,
      );
    }
    debs.push({ ...file, package: pkg, version, architecture, type, isDbgsym: pkg.endsWith('-dbgsym') });
  }
  if (debs.length === 0) throw new DebianFormatError(field, 'lists no .deb or .udeb');
  return debs;
}

function parseBuildArchitecture(value: string): string {
  if (!isConcreteArchitecture(value)) {
    throw new DebianFormatError(
      'Build-Architecture',
      `${JSON.stringify(value.slice(0, 80))} is not an architecture`,
    );
  }
  return value;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const RFC2822_DATE =
  /^(?:([A-Z][a-z]{2}), )?([0-9]{1,2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/;

/** Build-Date as dpkg writes it (`%a, %d %b %Y %T %z`), checked field by field, as epoch seconds. */
function parseBuildDate(text: string): { buildDate: string; buildDateEpochSeconds: number } {
  const refuse = (why: string) => new DebianFormatError('Build-Date', `${JSON.stringify(text)} ${why}`);
  const match = RFC2822_DATE.exec(text);
  if (!match) throw refuse('is not an RFC 2822 date like "Sun, 02 Oct 2022 12:20:35 +0000"');
  const part = (index: number) => Number(match[index]);
  const [day, year, hour, minute, second] = [part(2), part(4), part(5), part(6), part(7)];
  const [zoneHours, zoneMinutes] = [part(9), part(10)];
  const month = MONTHS.indexOf(match[3] as string);
  const local = new Date(Date.UTC(year, month, day, hour, minute, second));
  if (hour > 23 || minute > 59 || second > 59 || zoneHours > 23 || zoneMinutes > 59) {
    throw refuse('has a time or zone offset out of range');
  }
  if (month < 0 || year < 1970 || local.getUTCDate() !== day || local.getUTCMonth() !== month) {
    throw refuse('names no such day');
  }
  if (match[1] !== undefined && WEEKDAYS[local.getUTCDay()] !== match[1]) {
    throw refuse('has the wrong day of the week');
  }
  const offsetSeconds = (match[8] === '-' ? -1 : 1) * (zoneHours * 3600 + zoneMinutes * 60);
  return { buildDate: text, buildDateEpochSeconds: local.getTime() / 1000 - offsetSeconds };
}

function parseBuildPath(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const refuse = (why: string) => new DebianFormatError('Build-Path', why);
  if (path.length > BUILDINFO_LIMITS.maxBuildPathLength) {
    throw refuse(`longer than ${BUILDINFO_LIMITS.maxBuildPathLength} characters`);
  }
  if (!path.startsWith('/')) throw refuse(`${JSON.stringify(path)} is not absolute`);
  if (/\s/.test(path)) throw refuse('holds whitespace');
  const segments = path.slice(1).split('/');
  if (segments.includes('..')) throw refuse(`${JSON.stringify(path)} holds '..'`);
  if (segments.some((segment) => segment === '' || segment === '.')) {
    throw refuse(`${JSON.stringify(path)} is not normalised (empty or '.' segments, or a trailing '/')`);
  }
  return path;
}

function parseBuildTaintedBy(value: string | undefined): string[] {
  if (value === undefined) return [];
  const tags = words(value);
  if (tags.length > BUILDINFO_LIMITS.maxBuildTaintedBy) {
    throw new DebianFormatError(
      'Build-Tainted-By',
      `lists more than ${BUILDINFO_LIMITS.maxBuildTaintedBy} tags`,
    );
  }
  if (new Set(tags).size !== tags.length)
    throw new DebianFormatError('Build-Tainted-By', 'lists a tag twice');
  const bad = tags.find((tag) => !TAINT_TAG.test(tag));
  if (bad !== undefined) {
    throw new DebianFormatError('Build-Tainted-By', `${JSON.stringify(bad.slice(0, 80))} is not a tag`);
  }
  return tags;
}

const DEPENDENCY = /^([^\s:(),]+)(?::([^\s(),]+))? \((\S+) ([^\s()]+)\)$/;

function parseInstalledBuildDepends(value: string): InstalledBuildDepend[] {
  const field = 'Installed-Build-Depends';
  const entries = value.split(',').map((entry) => entry.replace(/^[ \t\n]+|[ \t\n]+$/g, ''));
  if (entries.length > BUILDINFO_LIMITS.maxInstalledBuildDepends) {
    throw new DebianFormatError(
      field,
      `lists more than ${BUILDINFO_LIMITS.maxInstalledBuildDepends} packages`,
    );
  }
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const dependency = parseDependency(entry, index + 1);
    const key = `${dependency.name}:${dependency.architecture ?? ''}`;
    if (seen.has(key)) throw new DebianFormatError(field, `lists ${entry} twice`);
    seen.add(key);
    return dependency;
  });
}

function parseDependency(entry: string, position: number): InstalledBuildDepend {
  const field = 'Installed-Build-Depends';
  const shown = `entry ${position} ${JSON.stringify(entry.slice(0, 120))}`;
  if (entry === '')
    throw new DebianFormatError(field, `entry ${position} is empty (two commas or a trailing comma)`);
  const match = DEPENDENCY.exec(entry);
  if (!match)
    throw new DebianFormatError(field, `${shown} is not "name (= version)" or "name:arch (= version)"`);
  const [, name, architecture, relation, versionText] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
    string,
  ];
  if (relation !== '=') throw new DebianFormatError(field, `${shown} must pin an exact version with "="`);
  if (!isDebianPackageName(name)) throw new DebianFormatError(field, `${shown} does not name a package`);
  if (architecture !== undefined && architecture !== 'all' && !isConcreteArchitecture(architecture)) {
    throw new DebianFormatError(field, `${shown} has an architecture qualifier that is not an architecture`);
  }
  return { name, architecture, version: parseDebianVersion(versionText, field) };
}

function parseEnvironment(value: string | undefined): (readonly [string, string])[] {
  if (value === undefined) return [];
  const field = 'Environment';
  const lines = value.split('\n').filter((line, index) => !(index === 0 && line === ''));
  if (lines.length > BUILDINFO_LIMITS.maxEnvironmentEntries) {
    throw new DebianFormatError(field, `has more than ${BUILDINFO_LIMITS.maxEnvironmentEntries} variables`);
  }
  const seen = new Set<string>();
  return lines.map((line, index) => {
    const entry = parseEnvironmentLine(line.replace(/^[ \t]+|[ \t]+$/g, ''), index + 1);
    if (seen.has(entry[0])) throw new DebianFormatError(field, `sets ${entry[0]} twice`);
    seen.add(entry[0]);
    return entry;
  });
}

/** `NAME="value"` with `\"` and `\\` the only escapes inside the quotes. */
function parseEnvironmentLine(line: string, position: number): readonly [string, string] {
  const field = 'Environment';
  const equals = line.indexOf('=');
  const name = equals < 0 ? line : line.slice(0, equals);
  if (equals < 0 || !ENVIRONMENT_NAME.test(name)) {
    throw new DebianFormatError(field, `line ${position} is not NAME="value"`);
  }
  if (line[equals + 1] !== '"')
    throw new DebianFormatError(field, `${name}: the value must be double-quoted`);
  let value = '';
  let index = equals + 2;
  for (; index < line.length && line[index] !== '"'; index += 1) {
    if (line[index] === '\\') {
      index += 1;
      if (line[index] !== '"' && line[index] !== '\\') {
        throw new DebianFormatError(field, `${name}: only \\" and \\\\ may be escaped`);
      }
    }
    value += line[index];
  }
  if (index >= line.length) throw new DebianFormatError(field, `${name}: the quoted value is not terminated`);
  if (index !== line.length - 1) throw new DebianFormatError(field, `${name}: text after the closing quote`);
  if (Buffer.byteLength(value) > BUILDINFO_LIMITS.maxEnvironmentValueBytes) {
    throw new DebianFormatError(
      field,
      `${name}: value longer than ${BUILDINFO_LIMITS.maxEnvironmentValueBytes} bytes`,
    );
  }
  return [name, value];
}

function environmentRecord(entries: readonly (readonly [string, string])[]): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (const [name, value] of entries) record[name] = value;
  return record;
}
