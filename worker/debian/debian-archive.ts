// The worker's Debian archive client: signed indexes in, exact .debs and source packages out, all verified.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import {
  type ArchivePackage,
  type ArchiveSource,
  viewPackagesIndex,
  viewSourcesIndex,
} from '../../services/debian/archive-indexes.ts';
import { compareDebianVersions, parseDebianVersion } from '../../services/debian/debian-version.ts';
import type { ArchiveIndexView } from '../../services/debian/index-stanzas.ts';
import type { ReleaseFileDigest } from '../../services/debian/release-index.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { downloadVerifiedFile, type FetchFunction, type TransferOptions } from './archive-http.ts';
import {
  type ArchiveSettings,
  DEBIAN_ARCHIVE_DEFAULTS,
  type DebianArchiveConfig,
  normaliseConfig,
} from './debian-archive-config.ts';
import { type DownloadProgress, downloadVerifiedDebs, reuseVerifiedFile } from './download-verified-debs.ts';
import {
  type ArchiveContext,
  loadIndexBytes,
  loadRelease,
  type OpenedSuite,
  parseIndex,
  pruneIndexCache,
} from './load-signed-indexes.ts';
import type { BinaryPackageLookup } from './resolve-environment-packages.ts';

export interface OpenDebianArchiveOptions {
  readonly fetch?: FetchFunction;
  readonly logger?: Logger;
  /** The clock, in epoch milliseconds; defaults to Date.now. */
  readonly now?: () => number;
  /**
   * Check each Release's Date and Valid-Until as of this moment (epoch milliseconds) instead of now.
   * A snapshot of the archive taken at time T must hold a Release that was valid at T: dated no later
   * than T and, when it has a Valid-Until, not expired before T.
   */
  readonly validAtMs?: number;
  /**
   * Leave out a suite whose InRelease the mirror answers 404 or 410 for, instead of refusing the
   * archive (a snapshot of an archive need not hold every configured suite). At least one suite must
   * open. Default false.
   */
  readonly skipAbsentSuites?: boolean;
}

/** Where one Packages index of an opened suite came from, and its compact in-memory view. */
export interface OpenedPackagesIndex {
  readonly opened: OpenedSuite;
  /** Path relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.xz`. */
  readonly path: string;
  /** Size and sha256 of the compressed index, as the signed Release lists them. */
  readonly digest: ReleaseFileDigest;
  /** The verified compressed index in the cache (`<cacheDir>/indexes/<sha256>`). */
  readonly file: string;
  readonly view: ArchiveIndexView<ArchivePackage>;
}

/** A source package fetched and verified against the signed Sources index. */
export interface FetchedSourceFile {
  readonly name: string;
  /** Absolute path in the destination directory. */
  readonly path: string;
  readonly sha256: Sha256Hex;
  /** Size in bytes. */
  readonly size: number;
}

export type SourceFetchOutcome =
  | { readonly kind: 'fetched'; readonly dscPath: string; readonly files: readonly FetchedSourceFile[] }
  | {
      readonly kind: 'unavailable';
      /** Names what is missing, e.g. `hello_2.10-3.dsc (404 from http://…)` or `hello 2.10-2 is not in …`. */
      readonly missing: string;
    };

interface Located<T> {
  readonly item: T;
  readonly mirrorUrl: string;
  readonly suite: string;
}

interface LocatedPackage {
  readonly item: ArchivePackage;
  readonly index: OpenedPackagesIndex;
}

/** An entry for `all` answers a request without qualifier or for `all`; others answer their own architecture. */
export function architectureMatches(
  entry: string,
  requested: string | undefined,
  configured: string,
): boolean {
  if (entry === 'all') return requested === undefined || requested === 'all';
  return entry === (requested ?? configured);
}

/**
 * An opened Debian archive: the verified Packages indexes of every configured suite, held in memory
 * as compact views (the index bytes plus where each name's paragraphs are; see ArchiveIndexView).
 * Built only by {@link openDebianArchive}.
 *
 * Cache layout under `cacheDir` (every file there is re-verified before use; the cache is never trusted):
 * - `inrelease/<sha256 of URL>.InRelease`: the last InRelease fetched from that URL. Reused without
 *   asking the mirror while younger than `indexMaxAgeSeconds` (by file mtime), but always re-verified
 *   with gpgv and re-checked for Suite, Date and Valid-Until; an expired one is refetched.
 * - `indexes/<sha256>`: compressed Packages/Sources indexes named by the sha256 the signed Release
 *   lists. Reused whenever a verified Release lists that digest (re-hashed on every use), so a new
 *   InRelease that lists the same Packages.xz costs no download. Files unused for
 *   `DEBIAN_ARCHIVE_DEFAULTS.indexRetentionSeconds` (7 days) are deleted when an archive is opened.
 * - `debs/<sha256>.deb` (or `debsDir`): .deb files by content, re-hashed on every reuse, never
 *   expired here (the worker's evidence store owns that directory and bounds it).
 */
export class DebianArchive implements BinaryPackageLookup {
  private sources: Promise<Located<ArchiveIndexView<ArchiveSource>>[]> | undefined;

  /** @internal Use {@link openDebianArchive}. */
  constructor(
    private readonly settings: ArchiveSettings,
    private readonly context: ArchiveContext,
    /** The verified Releases, in configuration order. */
    readonly suites: readonly OpenedSuite[],
    /** The verified Packages indexes, in configuration order (suite, then component). */
    readonly indexes: readonly OpenedPackagesIndex[],
  ) {}

  /** The configured build architecture. */
  get architecture(): string {
    return this.settings.architecture;
  }

  /** Number of paragraphs across all opened Packages indexes. */
  get packageCount(): number {
    return this.indexes.reduce((sum, index) => sum + index.view.entryCount, 0);
  }

  /** Where verified .debs are kept, as `<sha256>.deb`. */
  get debsDir(): string {
    return this.settings.debsDir;
  }

  /** Every paragraph for `name` across the opened indexes, in configuration order. */
  private located(name: string): LocatedPackage[] {
    return this.indexes.flatMap((index) => index.view.lookup(name).map((item) => ({ item, index })));
  }

  /**
   * The package `name` at exactly `version` for `architecture` (undefined = the configured one or
   * `all`; `all` = only `all`), from the first suite that has it.
   * @throws ArchiveError ARCHIVE_INDEX when two signed indexes list different files for it.
   */
  findBinary(name: string, architecture: string | undefined, version: string): ArchivePackage | undefined {
    const matches = this.located(name).filter(
      ({ item }) =>
        item.version === version && architectureMatches(item.architecture, architecture, this.architecture),
    );
    const [first, ...rest] = matches;
    for (const other of rest) {
      if (other.item.sha256 !== first?.item.sha256 && other.item.architecture === first?.item.architecture) {
        throw new ArchiveError(
          'ARCHIVE_INDEX',
          `${name} ${version} ${first?.item.architecture}: ${first?.index.opened.suite} and ${other.index.opened.suite} list different files`,
        );
      }
    }
    return first?.item;
  }

  /** The highest version (dpkg ordering) of `name` for `architecture` (same rules as findBinary), or undefined. */
  newestBinary(name: string, architecture?: string): ArchivePackage | undefined {
    let best: { pkg: ArchivePackage; version: ReturnType<typeof parseDebianVersion> } | undefined;
    for (const { item } of this.located(name)) {
      if (!architectureMatches(item.architecture, architecture, this.architecture)) continue;
      const version = parseDebianVersion(item.version, 'Version');
      if (!best || compareDebianVersions(version, best.version) > 0) best = { pkg: item, version };
    }
    return best?.pkg;
  }

  /**
   * The signed index that lists exactly this package (same name, sha256 and size), with the Release
   * that vouches for it; undefined when no opened index does.
   */
  indexOf(pkg: ArchivePackage): OpenedPackagesIndex | undefined {
    return this.located(pkg.name).find(({ item }) => item.sha256 === pkg.sha256 && item.size === pkg.size)
      ?.index;
  }

  /**
   * Ensures every package's .deb is in `cacheDir/debs/<sha256>.deb`, verified against the signed
   * index (size and sha256), and returns sha256 → absolute path. Cached files are re-hashed before
   * reuse; downloads go to a temporary file renamed only after verification; 4 at a time; 2 retries
   * on network errors only.
   * @throws ArchiveError ARCHIVE_INDEX for a package not in this archive's signed indexes,
   * ARCHIVE_DIGEST / ARCHIVE_TOO_LARGE for wrong bytes, ARCHIVE_UNREACHABLE (incl. 404) naming file and URL.
   */
  async downloadDebs(
    packages: readonly ArchivePackage[],
    options: { onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<Map<Sha256Hex, string>> {
    const wanted = new Map<string, Located<ArchivePackage>>();
    for (const pkg of packages) {
      const index = this.indexOf(pkg);
      if (!index) {
        throw new ArchiveError(
          'ARCHIVE_INDEX',
          `${pkg.name} ${pkg.version} (${pkg.sha256}) is not in the signed indexes of this archive`,
        );
      }
      wanted.set(pkg.sha256, { item: pkg, mirrorUrl: index.opened.mirrorUrl, suite: index.opened.suite });
    }
    return downloadVerifiedDebs(
      [...wanted.values()].map(({ item, mirrorUrl }) => ({
        pkg: item,
        url: `${mirrorUrl}/${item.filename}`,
      })),
      this.settings.debsDir,
      {
        fetch: this.context.fetch,
        logger: this.context.logger,
        requestTimeoutMs: this.settings.requestTimeoutMs,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
  }

  /**
   * Fetches source package `name` at `version` into `destDir` (created if missing): finds it in the
   * signed Sources indexes (fetched on first use), downloads the .dsc and every file it lists, and
   * verifies each against the Sources index. A version missing from the index, or a file the mirror
   * answers 404 for, is an `unavailable` outcome naming it; other failures are ArchiveError.
   */
  async fetchSource(name: string, version: string, destDir: string): Promise<SourceFetchOutcome> {
    const sources = await this.loadSources();
    const found = sources
      .flatMap(({ item: view, mirrorUrl, suite }) =>
        view.lookup(name).map((item) => ({ item, mirrorUrl, suite })),
      )
      .find(({ item }) => item.version === version);
    if (!found) {
      const where = this.suites.map((s) => s.suite).join(', ');
      return {
        kind: 'unavailable',
        missing: `${name} ${version} is not in the signed Sources index of ${where}`,
      };
    }
    const source = found.item;
    const dsc = source.files.filter((file) => file.name.endsWith('.dsc'));
    if (dsc.length !== 1) {
      throw new ArchiveError(
        'ARCHIVE_INDEX',
        `${name} ${version}: the Sources index lists ${dsc.length} .dsc files`,
      );
    }
    const target = resolve(destDir);
    await mkdir(target, { recursive: true });
    const files: FetchedSourceFile[] = [];
    for (const file of source.files) {
      const path = join(target, file.name);
      if (!(await reuseVerifiedFile(path, file, this.context.logger))) {
        const url = `${found.mirrorUrl}/${source.directory}/${file.name}`;
        const outcome = await downloadVerifiedFile(url, path, file, this.transfer(file.name));
        if (outcome.kind === 'not-found') {
          return { kind: 'unavailable', missing: `${file.name} (${outcome.status} from ${url})` };
        }
      }
      files.push(Object.freeze({ name: file.name, path, sha256: file.sha256, size: file.size }));
    }
    return { kind: 'fetched', dscPath: join(target, dsc[0]!.name), files: Object.freeze(files) };
  }

  private transfer(what: string): TransferOptions {
    return {
      fetch: this.context.fetch,
      inactivityTimeoutMs: this.settings.requestTimeoutMs,
      retries: DEBIAN_ARCHIVE_DEFAULTS.downloadRetries,
      what,
    };
  }

  private loadSources(): Promise<Located<ArchiveIndexView<ArchiveSource>>[]> {
    this.sources ??= (async () => {
      const views: Located<ArchiveIndexView<ArchiveSource>>[] = [];
      for (const opened of this.suites) {
        for (const component of opened.components) {
          const { bytes } = await loadIndexBytes(
            this.settings,
            this.context,
            opened,
            `${component}/source/Sources.xz`,
          );
          const what = `${opened.suite} ${component}/source/Sources`;
          const view = parseIndex(viewSourcesIndex, bytes, what, this.settings.maxIndexBytes);
          views.push({ item: view, mirrorUrl: opened.mirrorUrl, suite: opened.suite });
        }
      }
      return views;
    })();
    // A failed load (say the mirror was down) is retried by the next call rather than remembered.
    this.sources.catch(() => {
      this.sources = undefined;
    });
    return this.sources;
  }
}

/**
 * Opens the configured archives: for each archive and suite, fetches `dists/<suite>/InRelease`
 * (at most 1 MiB), verifies it with gpgv against the archive's keyring, checks Suite/Codename,
 * Date and Valid-Until (± `clockSkewSeconds`, as of `validAtMs` when given), then loads
 * `<component>/binary-<arch>/Packages.xz` for each component, verified against the Release's SHA256
 * before decompression and checked paragraph by paragraph. Sources indexes are loaded later, on the
 * first {@link DebianArchive.fetchSource}. See {@link DebianArchive} for the cache.
 * @throws ConfigError for a bad configuration; ArchiveError for anything the mirror did wrong.
 */
export async function openDebianArchive(
  config: DebianArchiveConfig,
  options: OpenDebianArchiveOptions = {},
): Promise<DebianArchive> {
  const settings = normaliseConfig(config);
  const context: ArchiveContext = {
    fetch: options.fetch ?? globalThis.fetch,
    logger: (options.logger ?? pino({ level: 'silent' })).child({ component: 'debian-archive' }),
    now: options.now ?? Date.now,
    validAtMs: options.validAtMs,
    usedIndexes: new Set(),
  };
  await mkdir(settings.cacheDir, { recursive: true });
  const suites: OpenedSuite[] = [];
  const indexes: OpenedPackagesIndex[] = [];
  for (const source of settings.archives) {
    for (const suite of source.suites) {
      const opened = await loadRelease(source, suite, settings, context, options.skipAbsentSuites === true);
      if (!opened) continue;
      suites.push(opened);
      for (const component of source.components) {
        const path = `${component}/binary-${settings.architecture}/Packages.xz`;
        const { bytes, digest, file } = await loadIndexBytes(settings, context, opened, path);
        const what = `${suite} ${path.replace(/\.xz$/, '')}`;
        const view = parseIndex(viewPackagesIndex, bytes, what, settings.maxIndexBytes);
        indexes.push(Object.freeze({ opened, path, digest, file, view }));
      }
    }
  }
  if (suites.length === 0) {
    const where = settings.archives.map((a) => `${a.mirrorUrl} (${a.suites.join(', ')})`).join('; ');
    throw new ArchiveError('ARCHIVE_UNREACHABLE', `no configured suite is present at ${where}`);
  }
  await pruneIndexCache(settings, context);
  return new DebianArchive(settings, context, Object.freeze(suites), Object.freeze(indexes));
}
