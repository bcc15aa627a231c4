// apt's local .deb file names (`name_version_arch.deb`, epoch colon as %3a) and the metadata path
// apt-transport-in-toto derives from them.
import { type DebianVersion, isDebianPackageName, parseDebianVersion } from '../debian/debian-version.ts';
import { DebianFormatError } from '../errors.ts';

/**
 * A Debian architecture name as apt writes it into file names: `amd64`, `all`, `arm64`,
 * `kfreebsd-amd64`... (lowercase letters, digits and hyphens; no `_`, `.`, `:` or `%`, the
 * characters apt would quote).
 */
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** apt's local name: `name_version_arch.deb`, with `:` in the version written as lowercase `%3a`. */
const APT_LOCAL_DEB_NAME = /^([^_/]+)_([^_/]+)_([^_/]+)\.deb$/;

/** A package as apt-transport-in-toto names it in `GET {rebuilder}/sources/{name}/{version}/metadata`. */
export interface AptMetadataPackage {
  /** The binary package name. */
  readonly name: string;
  /** The binary version with its epoch colon decoded (e.g. `1:2.0-1+b1`). */
  readonly version: DebianVersion;
}

/** A parsed apt local file name. */
export interface AptLocalDeb extends AptMetadataPackage {
  readonly architecture: string;
  /** The file name exactly as apt writes it (`name_1%3a2.0-1_amd64.deb`). */
  readonly fileName: string;
}

/**
 * The name apt gives a downloaded .deb in `/var/cache/apt/archives` (apt-pkg `pkgAcqArchive`:
 * `QuoteString(name, "_:") + "_" + QuoteString(version, "_:") + "_" + QuoteString(arch, "_:.") + ".deb"`).
 * For valid names, versions and architectures the only character apt quotes is the epoch colon, as
 * lowercase `%3a`. This is the key a rebuild link's `products` must use for in-toto's MATCH rule to
 * find the file apt downloaded.
 *
 * @throws DebianFormatError naming `package`, `version` or `architecture` when one is not valid.
 */
export function aptLocalDebName(pkg: string, version: string, arch: string): string {
  if (!isDebianPackageName(pkg)) {
    throw new DebianFormatError('package', `${JSON.stringify(pkg)} is not a Debian package name`);
  }
  const parsed = parseDebianVersion(version, 'version');
  if (!ARCHITECTURE.test(arch)) {
    throw new DebianFormatError('architecture', `${JSON.stringify(arch)} is not a Debian architecture name`);
  }
  return `${pkg}_${encodeAptVersion(parsed.text)}_${arch}.deb`;
}

/** The version as apt writes it into file names and apt-transport-in-toto into URLs: `:` → `%3a`. */
export function encodeAptVersion(version: string): string {
  return version.replaceAll(':', '%3a');
}

/**
 * The path, relative to a rebuilder base URL, where apt-transport-in-toto asks for the link of a
 * package: `sources/{name}/{version with %3a}/metadata`.
 *
 * @throws DebianFormatError when the name or version is not valid.
 */
export function aptMetadataRelativePath(pkg: string, version: string): string {
  if (!isDebianPackageName(pkg)) {
    throw new DebianFormatError('package', `${JSON.stringify(pkg)} is not a Debian package name`);
  }
  return `sources/${pkg}/${encodeAptVersion(parseDebianVersion(version, 'version').text)}/metadata`;
}

/**
 * Parses the `{name}` and `{version}` segments of `/sources/{name}/{version}/metadata` as
 * apt-transport-in-toto sends them: taken from apt's local file name, so the epoch colon arrives as
 * `%3a` (Python requests leaves it encoded). `%3a` and `%3A` are decoded; a literal `:` is accepted
 * too, for routers that already percent-decoded the path. Any other `%` escape is refused, as is
 * anything outside Debian's name and version grammar (Policy §5.6.1, §5.6.12). binNMU versions
 * (`+b1`) are ordinary versions here.
 *
 * @throws DebianFormatError naming `name` or `version`.
 */
export function parseAptMetadataPath(name: string, version: string): AptMetadataPackage {
  if (!isDebianPackageName(name)) {
    throw new DebianFormatError('name', `${JSON.stringify(name)} is not a Debian package name`);
  }
  const decoded = version.replace(/%3a/gi, ':');
  if (decoded.includes('%')) {
    throw new DebianFormatError(
      'version',
      `${JSON.stringify(version)}: only %3a (the epoch colon) may be percent-encoded`,
    );
  }
  return Object.freeze({ name, version: parseDebianVersion(decoded, 'version') });
}

/**
 * Parses a local file name exactly as apt writes it (`name_version_arch.deb`, epoch as lowercase
 * `%3a`). Anything apt would not have written — `%3A`, a literal `:`, a path, another escape — is
 * refused, because in-toto compares these names byte for byte.
 *
 * @throws DebianFormatError naming `fileName`.
 */
export function parseAptLocalDebName(fileName: string): AptLocalDeb {
  const match = APT_LOCAL_DEB_NAME.exec(fileName);
  if (!match) {
    throw new DebianFormatError(
      'fileName',
      `${JSON.stringify(fileName)} is not an apt file name of the form name_version_arch.deb`,
    );
  }
  const [, name, encodedVersion, architecture] = match as unknown as [string, string, string, string];
  try {
    const canonical = aptLocalDebName(name, encodedVersion.replaceAll('%3a', ':'), architecture);
    if (canonical !== fileName)
      throw new DebianFormatError('version', 'is not encoded the way apt encodes it');
    return Object.freeze({
      name,
      version: parseDebianVersion(encodedVersion.replaceAll('%3a', ':'), 'version'),
      architecture,
      fileName,
    });
  } catch (error) {
    if (!(error instanceof DebianFormatError)) throw error;
    throw new DebianFormatError('fileName', `${JSON.stringify(fileName)}: ${error.message}`, {
      cause: error,
    });
  }
}

/** Byproduct name under which a Debian worker signs its apt link (statement and content store). */
export const APT_LINK_BYPRODUCT_NAME = 'rbnet/apt-link.json';

const BUILT_DEB_FILE_NAME = /^([^_/]+)_([^_/]+)_([^_/]+)\.deb$/;

/**
 * apt's local name for a `pkg_version_arch.deb` that dpkg built for a source at `buildVersion`. dpkg
 * leaves the epoch out of file names and apt puts it back (as %3a), so a file whose version is
 * `buildVersion` without its epoch gets that epoch; any other version is taken as written. Worker
 * (when it signs) and coordinator (when it checks a link) both name products with this one rule.
 * @throws DebianFormatError when `fileName` is not `name_version_arch.deb` or its parts are invalid.
 */
export function aptNameOfBuiltDeb(fileName: string, buildVersion: string): string {
  const match = BUILT_DEB_FILE_NAME.exec(fileName);
  if (!match) {
    throw new DebianFormatError(
      'fileName',
      `${JSON.stringify(fileName)} is not a name_version_arch.deb file name`,
    );
  }
  const [, pkg, version, arch] = match as unknown as [string, string, string, string];
  const withoutEpoch = buildVersion.replace(/^\d+:/, '');
  return aptLocalDebName(pkg, version === withoutEpoch ? buildVersion : version, arch);
}
