// Turns a .buildinfo's Installed-Build-Depends into exact archive packages, or says which ones the archive lacks.
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import { environmentIdentitySha256 } from '../../services/debian/environment-identity.ts';
import type { Sha256Hex } from '../../services/digest.ts';

/** The lookups resolution needs; {@link DebianArchive} provides them. */
export interface BinaryPackageLookup {
  /** Exactly `name` at `version`; `architecture` undefined means the build architecture or `all`. */
  findBinary(name: string, architecture: string | undefined, version: string): ArchivePackage | undefined;
  /** The highest version of `name` for the build architecture or `all`. */
  newestBinary(name: string): ArchivePackage | undefined;
}

/** One package a build environment must hold, as a .buildinfo names it (`name[:arch] (= version)`). */
export interface RequestedPackage {
  readonly name: string;
  readonly architecture?: string;
  readonly version: string;
}

/** A package the archive cannot provide. `version` is absent for a base-list package the archive lacks entirely. */
export interface MissingPackage {
  readonly name: string;
  readonly architecture?: string;
  readonly version?: string;
}

export type EnvironmentResolution =
  | {
      readonly kind: 'resolved';
      /** The requested packages at exactly the requested versions, in request order, duplicates removed. */
      readonly packages: readonly ArchivePackage[];
      /** Base-list packages not among the requested names, at the archive's newest version. */
      readonly extras: readonly ArchivePackage[];
      /** environmentIdentitySha256 over `packages` and `extras` together. */
      readonly identitySha256: Sha256Hex;
    }
  | {
      readonly kind: 'unavailable';
      /** Every package the archive lacks, requested ones first, not only the first found. */
      readonly missing: readonly MissingPackage[];
    };

/** What one archive holds of an environment: found packages, and what it lacks. */
export interface ArchiveLookupResult {
  /** The requested packages found at exactly the requested versions, in request order, duplicates removed. */
  readonly packages: readonly ArchivePackage[];
  /** Base-list packages not among the requested names, at the archive's newest version. */
  readonly extras: readonly ArchivePackage[];
  /** Requested packages the archive lacks at exactly their version, in request order. */
  readonly missingRequested: readonly RequestedPackage[];
  /** Base-list names the archive lacks entirely. */
  readonly missingExtras: readonly string[];
}

/**
 * Looks `requested` up exactly (name, architecture qualifier, version) and each `baseExtras` name not
 * already requested at its newest version, collecting everything missing rather than stopping at the
 * first. The same package requested twice (e.g. with and without its architecture qualifier) counts once.
 */
export function lookUpEnvironmentPackages(
  archive: BinaryPackageLookup,
  requested: readonly RequestedPackage[],
  baseExtras: readonly string[],
): ArchiveLookupResult {
  const missingRequested: RequestedPackage[] = [];
  const packages = new Map<string, ArchivePackage>();
  for (const want of requested) {
    const found = archive.findBinary(want.name, want.architecture, want.version);
    if (found) packages.set(found.sha256, found);
    else {
      missingRequested.push(
        Object.freeze({
          name: want.name,
          ...(want.architecture === undefined ? {} : { architecture: want.architecture }),
          version: want.version,
        }),
      );
    }
  }
  const requestedNames = new Set(requested.map((want) => want.name));
  const extras = new Map<string, ArchivePackage>();
  const missingExtras: string[] = [];
  for (const name of baseExtras) {
    if (requestedNames.has(name)) continue;
    const found = archive.newestBinary(name);
    if (found) extras.set(found.sha256, found);
    else missingExtras.push(name);
  }
  return {
    packages: Object.freeze([...packages.values()]),
    extras: Object.freeze([...extras.values()]),
    missingRequested: Object.freeze(missingRequested),
    missingExtras: Object.freeze(missingExtras),
  };
}

/**
 * Resolves `requested` exactly against one archive and adds each `baseExtras` name not already
 * requested at its newest version. When anything is missing the outcome is `unavailable` listing
 * all of it. See {@link lookUpEnvironmentPackages}.
 * @throws DebianFormatError when two different versions of one name and architecture are requested.
 */
export function resolveEnvironmentPackages(
  archive: BinaryPackageLookup,
  requested: readonly RequestedPackage[],
  baseExtras: readonly string[],
): EnvironmentResolution {
  const looked = lookUpEnvironmentPackages(archive, requested, baseExtras);
  const missing: MissingPackage[] = [
    ...looked.missingRequested,
    ...looked.missingExtras.map((name) => Object.freeze({ name })),
  ];
  if (missing.length > 0) return { kind: 'unavailable', missing: Object.freeze(missing) };
  return {
    kind: 'resolved',
    packages: looked.packages,
    extras: looked.extras,
    identitySha256: environmentIdentitySha256([...looked.packages, ...looked.extras]),
  };
}
