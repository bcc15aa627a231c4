// Debian .buildinfo files (deb-buildinfo(5), Format 1.0): parsed once at the boundary into a deeply
// frozen ParsedBuildinfo; each field's rules are in buildinfo-fields.ts, the control-file pieces
// .dsc parsing shares in control-file.ts.
import { DebianFormatError } from '../errors.ts';
import {
  BUILDINFO_DOCUMENT,
  BUILDINFO_LIMITS,
  type BuildinfoDeb,
  debsOf,
  environmentRecord,
  type InstalledBuildDepend,
  parseArchitectureField,
  parseBinaryField,
  parseBinaryOnlyChanges,
  parseBuildArchitecture,
  parseBuildDate,
  parseBuildPath,
  parseBuildTaintedBy,
  parseEnvironment,
  parseInstalledBuildDepends,
  parseSourceField,
} from './buildinfo-fields.ts';
import {
  type ControlFile,
  type ControlSignature,
  deepFreeze,
  optionalLine,
  parseChecksumFields,
  readSignedControlParagraph,
  requiredLine,
} from './control-file.ts';
import { requireField } from './deb822.ts';
import { binNmuSuffix, type DebianVersion, parseDebianVersion } from './debian-version.ts';

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
