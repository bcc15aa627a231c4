// Where a worker gets the exact packages of a build environment, in order: the mirror's signed
// indexes, then its own kept evidence (versions that left the mirror since it verified them), then a
// snapshot archive. Each package is recorded with the place it came from; the environment identity
// does not depend on it.
import type { Logger } from 'pino';
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import { environmentIdentitySha256 } from '../../services/debian/environment-identity.ts';
import {
  type PackageOrigin,
  type PackageSourceGroup,
  packageSourceGroups,
} from '../../services/debian/package-sources.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import type { DebEvidenceSource } from './deb-evidence-record.ts';
import type { DebEvidenceStore } from './deb-evidence-store.ts';
import type { DebianArchive } from './debian-archive.ts';
import type { DownloadProgress } from './download-verified-debs.ts';
import {
  type EnvironmentResolution,
  lookUpEnvironmentPackages,
  type MissingPackage,
  type RequestedPackage,
} from './resolve-environment-packages.ts';
import type { SnapshotPackage, SnapshotSource } from './snapshot-source.ts';

/** One package of a resolved environment, where it comes from, and how its .deb is had. */
export interface PlannedPackage {
  readonly pkg: ArchivePackage;
  readonly origin: PackageOrigin;
  readonly fetch:
    | { readonly kind: 'mirror' }
    | { readonly kind: 'evidence'; readonly debPath: string }
    | { readonly kind: 'snapshot'; readonly found: SnapshotPackage };
}

/** A missing package, with why each source could not provide it. */
export interface UnavailablePackage extends MissingPackage {
  readonly reasons: readonly string[];
}

/** The identity covers `packages` and `extras` only: where they came from (`plan`) is not part of it. */
export type SourcedResolution =
  | (Extract<EnvironmentResolution, { kind: 'resolved' }> & {
      /** Every package with its origin, in the order of `packages` then `extras`. */
      readonly plan: readonly PlannedPackage[];
    })
  | {
      readonly kind: 'unavailable';
      /** Every package no source could provide, requested ones first in request order. */
      readonly missing: readonly UnavailablePackage[];
    };

export type ResolvedEnvironment = Extract<SourcedResolution, { kind: 'resolved' }>;

function key(want: RequestedPackage): string {
  return `${want.name}\u0000${want.architecture ?? ''}\u0000${want.version}`;
}

/** The statement's record of where each package came from. */
export function packageSourcesOf(resolution: ResolvedEnvironment): PackageSourceGroup[] {
  return packageSourceGroups(resolution.plan.map(({ pkg, origin }) => ({ pkg, origin })));
}

/** The refusal text of an environment-unavailable outcome: every missing version, then why. */
export function describeUnavailable(missing: readonly UnavailablePackage[]): string {
  const names = missing.map((m) =>
    m.version === undefined
      ? `${m.name} (not in the archive at all)`
      : `${m.name}${m.architecture ? `:${m.architecture}` : ''} (= ${m.version})`,
  );
  const reasons = missing
    .filter((m) => m.reasons.length > 0)
    .map((m) => `${m.name}${m.version === undefined ? '' : ` ${m.version}`}: ${m.reasons.join('; ')}`);
  return [
    `not in the configured archives' signed indexes: ${names.join(', ')}`,
    ...(reasons.length > 0 ? [`why: ${reasons.join(' | ')}`] : []),
  ].join('\n');
}

export class EnvironmentPackageSources {
  constructor(
    readonly mirror: DebianArchive,
    private readonly fallbacks: {
      readonly evidence?: DebEvidenceStore;
      readonly snapshot?: SnapshotSource;
      readonly logger?: Logger;
    } = {},
  ) {}

  get architecture(): string {
    return this.mirror.architecture;
  }

  private mirrorOrigin(pkg: ArchivePackage): PackageOrigin {
    const index = this.mirror.indexOf(pkg);
    if (!index)
      throw new ArchiveError('ARCHIVE_INDEX', `${pkg.name} ${pkg.version}: not in the mirror's indexes`);
    return {
      from: 'mirror',
      archive: index.opened.mirrorUrl,
      suite: index.opened.suite,
      releaseSha256: index.opened.inReleaseSha256,
    };
  }

  /**
   * Resolves `requested` exactly and adds each `baseExtras` name not already requested at the
   * mirror's newest version. A requested version the mirror lacks is looked for in the evidence
   * store, then in the snapshot archive; base-list packages come from the mirror only. When anything
   * is still missing the outcome is `unavailable` naming all of it, with each source's reason.
   * @throws ArchiveError when a source lies or stalls (see SnapshotSource.resolve).
   */
  async resolve(
    requested: readonly RequestedPackage[],
    baseExtras: readonly string[],
  ): Promise<SourcedResolution> {
    const looked = lookUpEnvironmentPackages(this.mirror, requested, baseExtras);
    const plan = new Map<string, PlannedPackage>();
    for (const pkg of [...looked.packages, ...looked.extras]) {
      plan.set(pkg.sha256, { pkg, origin: this.mirrorOrigin(pkg), fetch: { kind: 'mirror' } });
    }
    const reasons = new Map<string, string[]>();
    const note = (want: RequestedPackage, reason: string) =>
      reasons.set(key(want), [...(reasons.get(key(want)) ?? []), reason]);
    let stillMissing = [...looked.missingRequested];
    for (const want of stillMissing) note(want, 'the mirror does not list it');
    const requestedExtra: ArchivePackage[] = [];
    if (this.fallbacks.evidence && stillMissing.length > 0) {
      const next: RequestedPackage[] = [];
      for (const want of stillMissing) {
        const found = await this.fallbacks.evidence.find(want);
        if (found) {
          plan.set(found.pkg.sha256, {
            pkg: found.pkg,
            origin: found.origin,
            fetch: { kind: 'evidence', debPath: found.debPath },
          });
          requestedExtra.push(found.pkg);
        } else {
          note(want, 'no kept evidence');
          next.push(want);
        }
      }
      stillMissing = next;
      this.fallbacks.evidence.forgetIndexes();
    }
    if (!this.fallbacks.snapshot)
      for (const want of stillMissing) note(want, 'no snapshot archive is configured');
    if (this.fallbacks.snapshot && stillMissing.length > 0) {
      const { found, missing } = await this.fallbacks.snapshot.resolve(stillMissing);
      for (const hit of found) {
        plan.set(hit.pkg.sha256, {
          pkg: hit.pkg,
          origin: hit.origin,
          fetch: { kind: 'snapshot', found: hit },
        });
        requestedExtra.push(hit.pkg);
      }
      for (const miss of missing) note(miss.want, miss.reason);
      const missed = new Set(missing.map((m) => key(m.want)));
      stillMissing = stillMissing.filter((want) => missed.has(key(want)));
    }
    if (stillMissing.length > 0 || looked.missingExtras.length > 0) {
      const missing: UnavailablePackage[] = [
        ...stillMissing.map((want) => ({ ...want, reasons: Object.freeze(reasons.get(key(want)) ?? []) })),
        ...looked.missingExtras.map((name) => ({ name, reasons: Object.freeze([] as string[]) })),
      ];
      return { kind: 'unavailable', missing: Object.freeze(missing.map((m) => Object.freeze(m))) };
    }
    const packages = [...new Map([...looked.packages, ...requestedExtra].map((p) => [p.sha256, p])).values()];
    const extras = looked.extras.filter((pkg) => !packages.some((p) => p.sha256 === pkg.sha256));
    const ordered = [...packages, ...extras].map((pkg) => plan.get(pkg.sha256) as PlannedPackage);
    return {
      kind: 'resolved',
      packages: Object.freeze(packages),
      extras: Object.freeze(extras),
      identitySha256: environmentIdentitySha256([...packages, ...extras]),
      plan: Object.freeze(ordered),
    };
  }

  /** Runs `work` with the resolution's .debs protected from the evidence store's eviction. */
  withPinned<T>(resolution: ResolvedEnvironment, work: () => Promise<T>): Promise<T> {
    const evidence = this.fallbacks.evidence;
    return evidence
      ? evidence.withPinned(
          resolution.plan.map((p) => p.pkg.sha256),
          work,
        )
      : work();
  }

  /**
   * Makes every .deb of `resolution` ready on this host, each verified against the signed index its
   * origin names: from the mirror, the evidence store (re-hashed) or the snapshot. What was verified
   * from the mirror or a snapshot is kept in the evidence store. Returns sha256 → path.
   */
  async fetchDebs(
    resolution: ResolvedEnvironment,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<Map<Sha256Hex, string>> {
    const byKind = (kind: PlannedPackage['fetch']['kind']) =>
      resolution.plan.filter((p) => p.fetch.kind === kind);
    const paths = new Map<Sha256Hex, string>();
    const total = resolution.plan.length;
    let completed = 0;
    const progress = (p: DownloadProgress) => {
      completed += 1;
      onProgress?.({ ...p, completed, total });
    };
    const fromMirror = byKind('mirror');
    for (const [sha, path] of await this.mirror.downloadDebs(
      fromMirror.map((p) => p.pkg),
      { onProgress: progress },
    ))
      paths.set(sha, path);
    const fromSnapshot = byKind('snapshot').map((p) => (p.fetch as { found: SnapshotPackage }).found);
    if (fromSnapshot.length > 0) {
      if (!this.fallbacks.snapshot)
        throw new ArchiveError('ARCHIVE_INDEX', 'no snapshot source is configured');
      for (const [sha, path] of await this.fallbacks.snapshot.download(fromSnapshot, progress))
        paths.set(sha, path);
    }
    for (const planned of byKind('evidence')) {
      // The store re-hashed it when it was found; a .deb evicted since is an error worth a retry.
      const path = (planned.fetch as { debPath: string }).debPath;
      if (!this.fallbacks.evidence)
        throw new ArchiveError('ARCHIVE_INDEX', 'no evidence store is configured');
      paths.set(planned.pkg.sha256, path);
      progress({ completed, total, package: planned.pkg, cached: true });
    }
    const evidence = this.fallbacks.evidence;
    if (evidence) {
      const kept: DebEvidenceSource[] = fromMirror.map(({ pkg }) => {
        const index = this.mirror.indexOf(pkg);
        if (!index)
          throw new ArchiveError('ARCHIVE_INDEX', `${pkg.name} ${pkg.version}: not in the mirror's indexes`);
        return {
          pkg,
          from: 'mirror',
          archive: index.opened.mirrorUrl,
          suite: index.opened.suite,
          inRelease: index.opened.inRelease,
          indexPath: index.path,
          indexDigest: index.digest,
          indexFile: index.file,
        };
      });
      kept.push(...fromSnapshot.map((found) => ({ pkg: found.pkg, ...found.evidence })));
      await evidence.keep(kept);
    }
    return paths;
  }

  /** Brings the evidence store under its size cap (pinned .debs are kept). */
  async evictEvidence(): Promise<void> {
    await this.fallbacks.evidence?.evict();
  }
}
