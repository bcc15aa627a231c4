// Parsers for a Debian archive's Packages and Sources indexes: untrusted text in, frozen typed records
// out (the Release that vouches for them: release-index.ts).
import type { Sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { checkRelativePath, parseSha256, parseSize } from './archive-index-fields.ts';
import { type Deb822Limits, type Deb822Paragraph, fieldLines, requireField } from './deb822.ts';
import { isDebianPackageName, parseDebianVersion } from './debian-version.ts';
import {
  type ArchiveIndexView,
  IndexStanzaStream,
  parseStanzas,
  selectedFieldsParser,
  viewIndex,
} from './index-stanzas.ts';

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
  /** The Section field as written, e.g. `devel` or `contrib/net`. */
  readonly section?: string;
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
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
const SOURCE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+~-]*$/;
const MULTI_ARCH = new Set(['same', 'foreign', 'allowed', 'no']);

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
  const section = paragraph.get('Section');
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
    ...(section === undefined ? {} : { section }),
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

/**
 * A Packages index read as it arrives (chunk by chunk, see IndexStanzaStream): each paragraph is
 * checked as {@link parsePackagesIndex} checks it, once, and handed to `visit`.
 */
export function packagesIndexStream(
  what: string,
  visit: (pkg: ArchivePackage) => void,
  limits: Partial<Deb822Limits> = {},
): IndexStanzaStream<ArchivePackage> {
  return new IndexStanzaStream(what, limits, toArchivePackage, visit);
}

/** A source version as a Sources index lists it, with its Section. */
export interface ArchiveSourceVersion {
  readonly name: string;
  readonly version: string;
  readonly section?: string;
}

const SOURCE_VERSION_FIELDS = selectedFieldsParser(['Package', 'Version', 'Section']);

/**
 * A Sources index read as it arrives, for the names, versions and sections it lists: each paragraph
 * is checked as control text and its Package and Version as {@link parseSourcesIndex} checks them;
 * its other fields (the file lists) are not read.
 */
export function sourceVersionsStream(
  what: string,
  visit: (source: ArchiveSourceVersion) => void,
  limits: Partial<Deb822Limits> = {},
): IndexStanzaStream<ArchiveSourceVersion> {
  return new IndexStanzaStream(
    what,
    limits,
    (paragraph) => {
      const section = paragraph.get('Section');
      return {
        name: packageName(paragraph),
        version: packageVersion(paragraph),
        ...(section !== undefined && { section }),
      };
    },
    visit,
    SOURCE_VERSION_FIELDS,
  );
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
