// Debian source control files (.dsc, dpkg-source(1) / Policy §5.4): parsed once into a frozen ParsedDsc
// naming the source package and the files a rebuild must fetch, with their digests.
import { DebianFormatError } from '../errors.ts';
import {
  type ControlFile,
  type ControlSignature,
  checkBinaryNames,
  deepFreeze,
  parseChecksumFields,
  readSignedControlParagraph,
  requiredLine,
  words,
} from './control-file.ts';
import type { Deb822Paragraph } from './deb822.ts';
import { type DebianVersion, isDebianPackageName, parseDebianVersion } from './debian-version.ts';

/** Limits for one .dsc; counts are entries, sizes bytes. */
export const DSC_LIMITS = Object.freeze({
  /** Largest file accepted, checked before decoding. */
  maxBytes: 1024 * 1024,
  /** Longest line, in characters. */
  maxLineLength: 128 * 1024,
  maxFields: 64,
  maxBinaries: 1000,
  maxFiles: 1000,
});

/** The source formats the Debian archive accepts. */
export const DSC_FORMATS = Object.freeze(['1.0', '3.0 (quilt)', '3.0 (native)'] as const);
export type DscFormat = (typeof DSC_FORMATS)[number];

/** A .dsc after every check; deeply frozen. */
export interface ParsedDsc {
  readonly format: DscFormat;
  readonly source: string;
  readonly version: DebianVersion;
  /** Binary: package names (comma-separated in the file), document order, unique. */
  readonly binaries: readonly string[];
  /** Architecture: names or wildcards as written (`any`, `all`, `linux-any`, `amd64`). */
  readonly architectures: readonly string[];
  /** Checksums-Sha256, cross-checked with Checksums-Sha1 and Files (md5) when present. */
  readonly files: readonly ControlFile[];
  /** The OpenPGP signature of a clearsigned .dsc, unverified; undefined for a plain file. */
  readonly signature: ControlSignature | undefined;
}

/** The document name used for refusals not about one field. */
export const DSC_DOCUMENT = 'dsc';

const ARCHITECTURE_OR_WILDCARD = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Parses an untrusted .dsc (plain or clearsigned; the signature is kept, not verified). Refuses
 * anything over {@link DSC_LIMITS}`.maxBytes` before decoding. Refusals are DebianFormatError naming
 * the field at fault, {@link DSC_DOCUMENT}, or 'OpenPGP signature'. Other fields (Package-List,
 * Build-Depends, Maintainer, ...) are ignored.
 */
export function parseDsc(bytes: Uint8Array): ParsedDsc {
  const { paragraph, signature } = readSignedControlParagraph(bytes, DSC_DOCUMENT, DSC_LIMITS);
  const format = requiredLine(paragraph, 'Format');
  if (!(DSC_FORMATS as readonly string[]).includes(format)) {
    throw new DebianFormatError(
      'Format',
      `${JSON.stringify(format)} is not one of ${DSC_FORMATS.join(', ')}`,
    );
  }
  const source = requiredLine(paragraph, 'Source');
  if (!isDebianPackageName(source)) {
    throw new DebianFormatError('Source', `${JSON.stringify(source.slice(0, 80))} is not a package name`);
  }
  return deepFreeze({
    format: format as DscFormat,
    source,
    version: parseDebianVersion(requiredLine(paragraph, 'Version'), 'Version'),
    binaries: parseBinaryList(paragraph),
    architectures: parseArchitectures(paragraph),
    files: parseChecksumFields(
      paragraph,
      { sha256: 'Checksums-Sha256', sha1: 'Checksums-Sha1', md5: 'Files' },
      DSC_LIMITS.maxFiles,
    ),
    signature,
  } satisfies ParsedDsc);
}

function parseBinaryList(paragraph: Deb822Paragraph): string[] {
  const value = paragraph.get('Binary');
  if (value === undefined) throw new DebianFormatError('Binary', 'missing');
  const names = value.split(',').map((name) => name.replace(/^[ \t\n]+|[ \t\n]+$/g, ''));
  return checkBinaryNames(names, DSC_LIMITS.maxBinaries);
}

function parseArchitectures(paragraph: Deb822Paragraph): string[] {
  const value = paragraph.get('Architecture');
  if (value === undefined) throw new DebianFormatError('Architecture', 'missing');
  const architectures = words(value);
  if (architectures.length === 0) throw new DebianFormatError('Architecture', 'empty');
  if (new Set(architectures).size !== architectures.length) {
    throw new DebianFormatError('Architecture', 'lists an architecture twice');
  }
  const bad = architectures.find(
    (name) => name.length > 64 || name === 'source' || !ARCHITECTURE_OR_WILDCARD.test(name),
  );
  if (bad !== undefined) {
    throw new DebianFormatError('Architecture', `${JSON.stringify(bad.slice(0, 80))} is not an architecture`);
  }
  return architectures;
}
