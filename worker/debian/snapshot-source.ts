// A snapshot archive as a source of exact package versions the mirror no longer holds: the version is
// looked up through the snapshot's machine-readable API (snapshot.debian.org's `/mr/` is the model),
// and taken only from a snapshot whose signed indexes list it — InRelease verified with gpgv against
// the pinned keyring and valid at the snapshot's own time, Packages by digest, the .deb by sha256.
// The API is a lookup aid and is never trusted: what it says only chooses which snapshot to open.
import type { Logger } from 'pino';
import pino from 'pino';
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import type { PackageOrigin } from '../../services/debian/package-sources.ts';
import {
  parseSnapshotBinfiles,
  parseSnapshotFileInfo,
  SNAPSHOT_API_MAX_BYTES,
  type SnapshotFileLocation,
  snapshotArchiveRoot,
  snapshotBinfilesPath,
  snapshotFileInfoPath,
  snapshotTimestampMs,
} from '../../services/debian/snapshot-api.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { ArchiveError, ConfigError } from '../../services/errors.ts';
import { type FetchFunction, fetchBytes } from './archive-http.ts';
import type { DebEvidenceSource } from './deb-evidence-record.ts';
import { type DebianArchive, openDebianArchive } from './debian-archive.ts';
import { DEBIAN_ARCHIVE_DEFAULTS } from './debian-archive-config.ts';
import { type DownloadProgress, downloadVerifiedDebs, forEachLimited } from './download-verified-debs.ts';
import type { RequestedPackage } from './resolve-environment-packages.ts';

/** One archive of the snapshot service (a directory below `/archive/`) and the suites trusted in it. */
export interface SnapshotArchiveConfig {
  /** e.g. `debian` or `debian-security`. */
  readonly name: string;
  /** Suites whose signed indexes may vouch for a package, in order of preference. */
  readonly suites: readonly string[];
  /** Default `['main']`. */
  readonly components?: readonly string[];
}

export interface SnapshotSourceConfig {
  /** Root URL of the snapshot service, e.g. `https://snapshot.debian.org`. */
  readonly url: string;
  readonly archives: readonly SnapshotArchiveConfig[];
  /** The pinned keyring every snapshot InRelease must be signed by. */
  readonly keyringPath: string;
  readonly architecture: string;
  /** Cache of snapshot InRelease files and indexes (absolute). */
  readonly cacheDir: string;
  /** Where verified .debs go (the evidence store's directory). */
  readonly debsDir: string;
  /** A request is abandoned when no byte arrives for this long. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Largest index accepted, compressed or decompressed. Default 192 MiB. */
  readonly maxIndexBytes?: number;
  /** Snapshots (archive and timestamp) kept open in memory at once. Default 2. */
  readonly maxOpenSnapshots?: number;
}

/** A package found in a snapshot's signed index. */
export interface SnapshotPackage {
  readonly pkg: ArchivePackage;
  readonly origin: PackageOrigin;
  /** Where the .deb is fetched from: the snapshot's root plus the index's Filename. */
  readonly url: string;
  /** What the evidence store keeps once the .deb is verified. */
  readonly evidence: Omit<DebEvidenceSource, 'pkg'>;
}

/** A version the snapshot could not provide, and why. */
export interface SnapshotMiss {
  readonly want: RequestedPackage;
  readonly reason: string;
}

export interface SnapshotResolution {
  readonly found: readonly SnapshotPackage[];
  readonly missing: readonly SnapshotMiss[];
}

interface Candidate {
  readonly archiveName: string;
  readonly timestamp: string;
  readonly timestampMs: number;
  readonly hash: string;
}

function label(want: RequestedPackage): string {
  return `${want.name}${want.architecture ? `:${want.architecture}` : ''} (= ${want.version})`;
}

/** Re-throws an archive refusal with the snapshot it came from in front, keeping its code. */
function fromSnapshot(where: string, err: unknown): never {
  if (err instanceof ArchiveError)
    throw new ArchiveError(err.code, `snapshot ${where}: ${err.message}`, { cause: err });
  throw err;
}

export class SnapshotSource {
  private readonly baseUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly fetch: FetchFunction;
  private readonly logger: Logger;

  constructor(
    private readonly config: SnapshotSourceConfig,
    options: { readonly fetch?: FetchFunction; readonly logger?: Logger } = {},
  ) {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError('CONFIG_INVALID', `snapshot url: ${JSON.stringify(config.url)} is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.search || url.hash) {
      throw new ConfigError(
        'CONFIG_INVALID',
        'snapshot url: must be http(s), without credentials, query or fragment',
      );
    }
    if (config.archives.length === 0)
      throw new ConfigError('CONFIG_INVALID', 'snapshot archives: name at least one');
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.requestTimeoutMs = config.requestTimeoutMs ?? DEBIAN_ARCHIVE_DEFAULTS.requestTimeoutMs;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'snapshot-source' });
  }

  /** The root URL of the snapshot service. */
  get url(): string {
    return this.baseUrl;
  }

  private async api(path: string, what: string): Promise<Buffer | undefined> {
    const outcome = await fetchBytes(`${this.baseUrl}${path}`, SNAPSHOT_API_MAX_BYTES, {
      fetch: this.fetch,
      inactivityTimeoutMs: this.requestTimeoutMs,
      retries: DEBIAN_ARCHIVE_DEFAULTS.downloadRetries,
      what: `snapshot API ${what}`,
    });
    return outcome.kind === 'ok' ? outcome.value : undefined;
  }

  /** Where the API says each matching file of `want` was first seen, in configured archives only. */
  private async candidatesOf(want: RequestedPackage): Promise<Candidate[] | SnapshotMiss> {
    const body = await this.api(snapshotBinfilesPath(want.name, want.version), `binfiles of ${label(want)}`);
    if (!body)
      return {
        want,
        reason: `the snapshot archive at ${this.baseUrl} knows no ${want.name} ${want.version}`,
      };
    const answer = parseSnapshotBinfiles(body, want);
    const architectures =
      want.architecture === undefined ? [this.config.architecture, 'all'] : [want.architecture];
    const files = answer.files.filter((file) => architectures.includes(file.architecture));
    if (files.length === 0) {
      return {
        want,
        reason: `the snapshot archive has no ${architectures.join(' or ')} file of ${want.name} ${want.version}`,
      };
    }
    const configured = new Set(this.config.archives.map((archive) => archive.name));
    const candidates = new Map<string, Candidate>();
    const seenIn = new Set<string>();
    for (const file of files) {
      let locations: readonly SnapshotFileLocation[] | undefined = file.locations;
      if (!locations) {
        const info = await this.api(snapshotFileInfoPath(file.hash), `info of file ${file.hash}`);
        locations = info ? parseSnapshotFileInfo(info, file.hash) : [];
      }
      for (const location of locations) {
        seenIn.add(location.archiveName);
        if (!configured.has(location.archiveName)) continue;
        const key = `${location.archiveName}@${location.firstSeen}`;
        candidates.set(key, {
          archiveName: location.archiveName,
          timestamp: location.firstSeen,
          timestampMs: snapshotTimestampMs(location.firstSeen),
          hash: file.hash,
        });
      }
    }
    if (candidates.size === 0) {
      const where = seenIn.size === 0 ? 'no archive' : [...seenIn].join(', ');
      return {
        want,
        reason: `the snapshot archive saw ${want.name} ${want.version} only in ${where}, none configured`,
      };
    }
    return [...candidates.values()].sort((a, b) => b.timestampMs - a.timestampMs);
  }

  /**
   * Finds each wanted version in a snapshot: asks the API where its file was first seen, then opens
   * that snapshot's configured suites (InRelease verified with the pinned keyring and valid at the
   * snapshot's time; Packages by digest) and takes the package only if a signed index lists it. A
   * snapshot already opened for an earlier package is tried first when it is not older than where the
   * API says the file first appeared, so packages that were in the archive together cost one snapshot.
   * A version the API does not know, or one its named snapshot's signed indexes do not list, is a miss
   * with its reason.
   * @throws ArchiveError when a snapshot lies or stalls: a bad or missing signature, an expired Release,
   * a digest mismatch, an answer over its size cap, no answer in time, a malformed API answer.
   */
  async resolve(wanted: readonly RequestedPackage[]): Promise<SnapshotResolution> {
    const looked: (Candidate[] | SnapshotMiss)[] = new Array(wanted.length);
    await forEachLimited(
      [...wanted.entries()],
      DEBIAN_ARCHIVE_DEFAULTS.downloadConcurrency,
      async ([i, want]) => {
        looked[i] = await this.candidatesOf(want).catch((err) => fromSnapshot(`API (${label(want)})`, err));
      },
    );
    const missing: SnapshotMiss[] = [];
    const pending: { want: RequestedPackage; candidates: Candidate[] }[] = [];
    looked.forEach((result, i) => {
      if (Array.isArray(result)) pending.push({ want: wanted[i] as RequestedPackage, candidates: result });
      else missing.push(result);
    });
    // Newest first, so later snapshots (which often still hold older files) are opened before older ones.
    pending.sort((a, b) => (b.candidates[0]?.timestampMs ?? 0) - (a.candidates[0]?.timestampMs ?? 0));
    const open = new Map<string, { archive: DebianArchive; candidate: Candidate }>();
    const found: SnapshotPackage[] = [];
    for (const { want, candidates } of pending) {
      const oldest = candidates.at(-1) as Candidate;
      let hit: SnapshotPackage | undefined;
      for (const { archive, candidate } of open.values()) {
        if (
          candidates.some(
            (c) => c.archiveName === candidate.archiveName && c.timestampMs <= candidate.timestampMs,
          )
        ) {
          hit = this.lookIn(archive, candidate, want);
          if (hit) break;
        }
      }
      for (const candidate of candidates) {
        if (hit) break;
        const key = `${candidate.archiveName}@${candidate.timestamp}`;
        let entry = open.get(key);
        if (!entry) {
          entry = { archive: await this.open(candidate), candidate };
          open.set(key, entry);
          while (open.size > (this.config.maxOpenSnapshots ?? 2))
            open.delete(open.keys().next().value as string);
        }
        hit = this.lookIn(entry.archive, candidate, want);
      }
      if (hit) found.push(hit);
      else {
        const named = candidates.map((c) => `${c.archiveName} ${c.timestamp}`).join(', ');
        missing.push({
          want,
          reason: `the snapshot API names ${named} (file ${oldest.hash}), but the signed indexes of its configured suites there do not list ${want.name} ${want.version}`,
        });
      }
    }
    return { found, missing };
  }

  private lookIn(
    archive: DebianArchive,
    candidate: Candidate,
    want: RequestedPackage,
  ): SnapshotPackage | undefined {
    const pkg = archive.findBinary(want.name, want.architecture, want.version);
    if (!pkg) return undefined;
    const index = archive.indexOf(pkg);
    if (!index) return undefined;
    const root = index.opened.mirrorUrl;
    return {
      pkg,
      origin: {
        from: 'snapshot',
        archive: root,
        suite: index.opened.suite,
        releaseSha256: index.opened.inReleaseSha256,
        snapshotTimestamp: candidate.timestamp,
      },
      url: `${root}/${pkg.filename}`,
      evidence: {
        from: 'snapshot',
        archive: root,
        suite: index.opened.suite,
        snapshotTimestamp: candidate.timestamp,
        inRelease: index.opened.inRelease,
        indexPath: index.path,
        indexDigest: index.digest,
        indexFile: index.file,
      },
    };
  }

  private async open(candidate: Candidate): Promise<DebianArchive> {
    const archiveConfig = this.config.archives.find((a) => a.name === candidate.archiveName);
    if (!archiveConfig)
      throw new ArchiveError('ARCHIVE_INDEX', `snapshot archive ${candidate.archiveName} is not configured`);
    const root = snapshotArchiveRoot(this.baseUrl, candidate.archiveName, candidate.timestamp);
    this.logger.info({ root }, 'opening snapshot');
    try {
      return await openDebianArchive(
        {
          mirrorUrl: root,
          suites: archiveConfig.suites,
          ...(archiveConfig.components ? { components: archiveConfig.components } : {}),
          keyringPath: this.config.keyringPath,
          cacheDir: this.config.cacheDir,
          debsDir: this.config.debsDir,
          architecture: this.config.architecture,
          requestTimeoutMs: this.requestTimeoutMs,
          ...(this.config.maxIndexBytes ? { maxIndexBytes: this.config.maxIndexBytes } : {}),
        },
        {
          fetch: this.fetch,
          logger: this.logger,
          validAtMs: candidate.timestampMs,
          skipAbsentSuites: true,
        },
      );
    } catch (err) {
      return fromSnapshot(root, err);
    }
  }

  /**
   * Downloads the .debs of `found` from their snapshots into the evidence store's directory, each
   * verified against the size and sha256 its snapshot's signed index lists.
   * @throws ArchiveError ARCHIVE_DIGEST / ARCHIVE_TOO_LARGE / ARCHIVE_UNREACHABLE, naming the snapshot.
   */
  async download(
    found: readonly SnapshotPackage[],
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<Map<Sha256Hex, string>> {
    try {
      return await downloadVerifiedDebs(found, this.config.debsDir, {
        fetch: this.fetch,
        logger: this.logger,
        requestTimeoutMs: this.requestTimeoutMs,
        ...(onProgress ? { onProgress } : {}),
      });
    } catch (err) {
      return fromSnapshot(this.baseUrl, err);
    }
  }
}
