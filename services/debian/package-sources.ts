// Where each package of a Debian build environment came from (the live mirror, the worker's own kept
// evidence, or a snapshot archive), and the grouped form a rebuild statement records it in.
import type { Sha256Hex } from '../digest.ts';
import type { EnvironmentPackage } from './environment-identity.ts';

/**
 * `mirror`: listed by the configured mirror's signed index at the time of the build.
 * `evidence`: the mirror no longer lists it; verified again from what this worker kept when it first
 * verified the .deb (the signed InRelease, the index, the .deb).
 * `snapshot`: the mirror no longer lists it; found through a snapshot archive and verified against
 * that snapshot's signed index.
 */
export const PACKAGE_SOURCE_KINDS = Object.freeze(['mirror', 'evidence', 'snapshot'] as const);
export type PackageSourceKind = (typeof PACKAGE_SOURCE_KINDS)[number];

/** The signed index one package was verified against, and how this worker reached it. */
export interface PackageOrigin {
  readonly from: PackageSourceKind;
  /** Root URL of the archive whose signed index lists the package; for a snapshot, the timestamped root. */
  readonly archive: string;
  readonly suite: string;
  /** sha256 of the InRelease (signed Release) that lists the index that lists the package. */
  readonly releaseSha256: Sha256Hex;
  /** The snapshot timestamp (`20230610T083321Z`) when that InRelease came from a snapshot archive. */
  readonly snapshotTimestamp?: string;
}

/** Packages that share one origin, as a rebuild statement records them. */
export interface PackageSourceGroup extends PackageOrigin {
  /** `name:architecture=version`, sorted bytewise. */
  readonly packages: readonly string[];
}

/** The label a statement uses for a package: `name:architecture=version`. */
export function packageLabel(pkg: Pick<EnvironmentPackage, 'name' | 'architecture' | 'version'>): string {
  return `${pkg.name}:${pkg.architecture}=${pkg.version}`;
}

function compare(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * Groups every package of an environment by origin. Groups are sorted by `from`, archive, suite,
 * release digest and timestamp, packages within a group bytewise, so two workers that took the same
 * packages from the same places record the same groups.
 */
export function packageSourceGroups(
  entries: readonly { readonly pkg: EnvironmentPackage; readonly origin: PackageOrigin }[],
): PackageSourceGroup[] {
  const groups = new Map<string, { origin: PackageOrigin; packages: string[] }>();
  for (const { pkg, origin } of entries) {
    const key = JSON.stringify([
      origin.from,
      origin.archive,
      origin.suite,
      origin.releaseSha256,
      origin.snapshotTimestamp ?? '',
    ]);
    const group = groups.get(key) ?? { origin, packages: [] };
    group.packages.push(packageLabel(pkg));
    groups.set(key, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([, { origin, packages }]) => ({
      from: origin.from,
      archive: origin.archive,
      suite: origin.suite,
      releaseSha256: origin.releaseSha256,
      ...(origin.snapshotTimestamp === undefined ? {} : { snapshotTimestamp: origin.snapshotTimestamp }),
      packages: [...new Set(packages)].sort(compare),
    }));
}
