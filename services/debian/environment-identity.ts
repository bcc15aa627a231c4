// The published identity of a Debian build environment: one sha256 over the exact set of installed .debs.
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { DebianFormatError } from '../errors.ts';
import { isDebianPackageName, parseDebianVersion } from './debian-version.ts';

/** One installed package of a build environment, identified by the sha256 of its .deb. */
export interface EnvironmentPackage {
  readonly name: string;
  /** A Debian architecture name or `all`, as the package's Architecture field says. */
  readonly architecture: string;
  readonly version: string;
  /** sha256 of the .deb file, lowercase hex. */
  readonly sha256: Sha256Hex;
}

const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
const FIELD = 'environment packages';

/** Compares by UTF-16 code units, which for the ASCII these fields are restricted to is byte order. */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function checkPackage(pkg: EnvironmentPackage): void {
  if (!isDebianPackageName(pkg.name)) {
    throw new DebianFormatError(FIELD, `${JSON.stringify(pkg.name.slice(0, 100))} is not a package name`);
  }
  if (!ARCHITECTURE.test(pkg.architecture)) {
    throw new DebianFormatError(
      FIELD,
      `${pkg.name}: ${JSON.stringify(pkg.architecture.slice(0, 100))} is not an architecture`,
    );
  }
  parseDebianVersion(pkg.version, `${FIELD}: ${pkg.name}`);
  if (!isSha256Hex(pkg.sha256))
    throw new DebianFormatError(FIELD, `${pkg.name}: sha256 is not 64 lowercase hex characters`);
}

/**
 * The identity lines of an environment, one per package: `<name> <architecture> <version> <sha256>`
 * (single ASCII spaces, no trailing space), sorted by name, then architecture, then version, each
 * compared bytewise (the fields are ASCII: names per Policy §5.6.1, versions per §5.6.12, lowercase
 * hex sha256 of the .deb). Refuses an empty list, malformed fields and two packages with the same
 * name and architecture (a system cannot have both installed), with DebianFormatError.
 */
export function environmentIdentityLines(packages: readonly EnvironmentPackage[]): string[] {
  if (packages.length === 0) throw new DebianFormatError(FIELD, 'an environment holds at least one package');
  const seen = new Map<string, EnvironmentPackage>();
  for (const pkg of packages) {
    checkPackage(pkg);
    const key = `${pkg.name}:${pkg.architecture}`;
    const other = seen.get(key);
    if (other) {
      throw new DebianFormatError(FIELD, `${key} appears twice (${other.version} and ${pkg.version})`);
    }
    seen.set(key, pkg);
  }
  return [...packages]
    .sort(
      (a, b) =>
        compareText(a.name, b.name) ||
        compareText(a.architecture, b.architecture) ||
        compareText(a.version, b.version),
    )
    .map((pkg) => `${pkg.name} ${pkg.architecture} ${pkg.version} ${pkg.sha256}`);
}

/**
 * The environment identity: lowercase hex sha256 of the UTF-8 (here: ASCII) bytes of
 * {@link environmentIdentityLines} joined with '\n' and followed by one final '\n', i.e. every
 * line LF-terminated, no header, no blank lines, no carriage returns. For the single package
 * `hello amd64 2.10-3 2e6e…878a` the hashed bytes are `hello amd64 2.10-3 2e6e…878a\n`.
 * This is a published identity: changing the byte format changes every environment's name.
 */
export function environmentIdentitySha256(packages: readonly EnvironmentPackage[]): Sha256Hex {
  return sha256Hex(`${environmentIdentityLines(packages).join('\n')}\n`);
}
