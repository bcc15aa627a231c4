// The worker's Debian archive client: signed indexes in, exact .debs and source packages out, all verified.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import {
  type ArchiveIndexView,
  type ArchivePackage,
  type ArchiveSource,
  parseRelease,
  type ReleaseFileDigest,
  type ReleaseIndex,
  viewPackagesIndex,
  viewSourcesIndex,
} from '../../services/debian/archive-indexes.ts';
import { decodeControlText } from '../../services/debian/deb822.ts';
import { compareDebianVersions, parseDebianVersion } from '../../services/debian/debian-version.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { ArchiveError, ConfigError } from '../../services/errors.ts';
import {
  downloadVerifiedFile,
  type FetchFunction,
  fetchBytes,
  type TransferOptions,
} from './archive-http.ts';
import { verifyClearsignedWithGpgv } from './gpgv-verify.ts';
import type { BinaryPackageLookup } from './resolve-environment-packages.ts';
import { decompressXzFile } from './xz-decompress.ts';

/** One signed archive: a mirror, its suites and components, and the keyring its InRelease must be signed by. */
export interface DebianArchiveSourceConfig {
  /** http(s) URL of the archive root, e.g. `http://deb.debian.org/debian-security`. */
  readonly mirrorUrl: string;
  /** Suites (codenames) to read, in order of preference, e.g. `['bookworm-security']`. */
  readonly suites: readonly string[];
  /** Components; default `['main']`. */
  readonly components?: readonly string[];
  /** Keyring of the keys trusted to sign this archive's InRelease. */
  readonly keyringPath: string;
}

export interface DebianArchiveConfig extends DebianArchiveSourceConfig {
  /** Further archives read after the first (e.g. debian-security), each with its own suites and keyring. */
  readonly archives?: readonly DebianArchiveSourceConfig[];
  /** Directory for cached InRelease files, verified indexes and .debs (created if missing). */
  readonly cacheDir: string;
  /** Where verified .debs are kept as `<sha256>.deb`; default `<cacheDir>/debs`. */
  readonly debsDir?: string;
  /** The build architecture, e.g. `amd64`; `binary-<architecture>/Packages` is read (it holds `all` too). */
  readonly architecture: string;
  /** Largest index accepted, compressed or decompressed, in bytes. Default 192 MiB. */
  readonly maxIndexBytes?: number;
  /** A request is abandoned when no byte arrives for this many milliseconds. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** How long a fetched InRelease is reused (re-verified) without asking the mirror again, in seconds. Default 3600. */
  readonly indexMaxAgeSeconds?: number;
  /** Tolerated clock difference when checking Date and Valid-Until, in seconds. Default 300. */
  readonly clockSkewSeconds?: number;
}

/** Defaults of the optional settings; units are in the names. */
export const DEBIAN_ARCHIVE_DEFAULTS = Object.freeze({
  components: Object.freeze(['main']),
  maxIndexBytes: 192 * 1024 * 1024,
  maxInReleaseBytes: 1024 * 1024,
  requestTimeoutMs: 60_000,
  indexMaxAgeSeconds: 3600,
  clockSkewSeconds: 300,
  /** Unused cached index files are deleted after this long, in seconds. */
  indexRetentionSeconds: 7 * 24 * 3600,
  gpgvTimeoutMs: 30_000,
  decompressTimeoutMs: 120_000,
  downloadConcurrency: 4,
  downloadRetries: 2,
});

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

/** A verified Release the archive was opened with. */
export interface OpenedSuite {
  readonly mirrorUrl: string;
  readonly suite: string;
  /** The components read from this suite. */
  readonly components: readonly string[];
  readonly release: ReleaseIndex;
  /** Primary-key fingerprints of the good signatures on its InRelease. */
  readonly signedBy: readonly string[];
  /** The InRelease exactly as fetched and verified (kept as evidence for the .debs it vouches for). */
  readonly inRelease: Buffer;
  /** sha256 of {@link OpenedSuite.inRelease}. */
  readonly inReleaseSha256: Sha256Hex;
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

export interface DownloadProgress {
  /** Files finished so far (downloaded or found in the cache). */
  readonly completed: number;
  readonly total: number;
  readonly package: ArchivePackage;
  /** True when the file came from the cache. */
  readonly cached: boolean;
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

interface ArchiveSettings {
  readonly archives: readonly Required<DebianArchiveSourceConfig>[];
  readonly cacheDir: string;
  readonly debsDir: string;
  readonly architecture: string;
  readonly maxIndexBytes: number;
  readonly requestTimeoutMs: number;
  readonly indexMaxAgeSeconds: number;
  readonly clockSkewSeconds: number;
}

interface Located<T> {
  readonly item: T;
  readonly mirrorUrl: string;
  readonly suite: string;
}

interface LocatedPackage {
  readonly item: ArchivePackage;
  readonly index: OpenedPackagesIndex;
}

const SUITE = /^[a-z0-9][a-z0-9.-]*$/;
const COMPONENT = /^[a-z0-9][a-z0-9-]*$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;

function invalid(setting: string, message: string): never {
  throw new ConfigError('CONFIG_INVALID', `${setting}: ${message}`);
}

function positive(value: number | undefined, fallback: number, setting: string): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen < 0) invalid(setting, 'must be a non-negative number');
  return chosen;
}

function normaliseSource(
  source: DebianArchiveSourceConfig,
  where: string,
): Required<DebianArchiveSourceConfig> {
  let url: URL;
  try {
    url = new URL(source.mirrorUrl);
  } catch {
    invalid(`${where}.mirrorUrl`, 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalid(`${where}.mirrorUrl`, 'must be http or https');
  if (url.username || url.password || url.search || url.hash) {
    invalid(`${where}.mirrorUrl`, 'must not hold credentials, a query or a fragment');
  }
  if (source.suites.length === 0) invalid(`${where}.suites`, 'name at least one suite');
  for (const suite of source.suites)
    if (!SUITE.test(suite)) invalid(`${where}.suites`, `${JSON.stringify(suite)} is not a suite`);
  const components = source.components ?? DEBIAN_ARCHIVE_DEFAULTS.components;
  if (components.length === 0) invalid(`${where}.components`, 'name at least one component');
  for (const c of components)
    if (!COMPONENT.test(c)) invalid(`${where}.components`, `${JSON.stringify(c)} is not a component`);
  if (!source.keyringPath) invalid(`${where}.keyringPath`, 'is required');
  return Object.freeze({
    mirrorUrl: url.href.replace(/\/+$/, ''),
    suites: Object.freeze([...source.suites]),
    components: Object.freeze([...components]),
    keyringPath: resolve(source.keyringPath),
  });
}

function normaliseConfig(config: DebianArchiveConfig): ArchiveSettings {
  if (!ARCHITECTURE.test(config.architecture))
    invalid('architecture', `${JSON.stringify(config.architecture)} is not an architecture`);
  if (!config.cacheDir || !isAbsolute(config.cacheDir)) invalid('cacheDir', 'must be an absolute path');
  if (config.debsDir !== undefined && !isAbsolute(config.debsDir))
    invalid('debsDir', 'must be an absolute path');
  const archives = [
    normaliseSource(config, 'archive'),
    ...(config.archives ?? []).map((a, i) => normaliseSource(a, `archives[${i}]`)),
  ];
  return Object.freeze({
    archives: Object.freeze(archives),
    cacheDir: config.cacheDir,
    debsDir: config.debsDir ?? join(config.cacheDir, 'debs'),
    architecture: config.architecture,
    maxIndexBytes: positive(config.maxIndexBytes, DEBIAN_ARCHIVE_DEFAULTS.maxIndexBytes, 'maxIndexBytes'),
    requestTimeoutMs: positive(
      config.requestTimeoutMs,
      DEBIAN_ARCHIVE_DEFAULTS.requestTimeoutMs,
      'requestTimeoutMs',
    ),
    indexMaxAgeSeconds: positive(
      config.indexMaxAgeSeconds,
      DEBIAN_ARCHIVE_DEFAULTS.indexMaxAgeSeconds,
      'indexMaxAgeSeconds',
    ),
    clockSkewSeconds: positive(
      config.clockSkewSeconds,
      DEBIAN_ARCHIVE_DEFAULTS.clockSkewSeconds,
      'clockSkewSeconds',
    ),
  });
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

/** Runs `work` over `items` with at most `limit` in flight; stops starting new ones after the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
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

/** True when `path` exists with exactly the expected size and sha256; a wrong file is deleted. */
async function reuseVerifiedFile(
  path: string,
  expected: { size: number; sha256: Sha256Hex },
  logger: Logger,
): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  if (info.isFile() && info.size === expected.size) {
    const { sha256 } = await sha256File(path);
    if (sha256 === expected.sha256) return true;
  }
  logger.warn({ path }, 'cached file does not match the signed index; fetching again');
  await rm(path, { force: true, recursive: true });
  return false;
}

/**
 * Ensures each package's .deb is in `directory` as `<sha256>.deb` with exactly the size and sha256 its
 * signed index lists: a file already there is re-hashed and reused (and its mtime touched, so the
 * evidence store sees it used), else it is downloaded from its `url` into a temporary file renamed only
 * after verification. 4 at a time; 2 retries on network errors only. Returns sha256 → absolute path.
 * @throws ArchiveError ARCHIVE_DIGEST / ARCHIVE_TOO_LARGE for wrong bytes, ARCHIVE_UNREACHABLE (incl.
 * 404) naming the file and URL.
 */
export async function downloadVerifiedDebs(
  items: readonly { readonly pkg: ArchivePackage; readonly url: string }[],
  directory: string,
  options: {
    readonly fetch: FetchFunction;
    readonly logger: Logger;
    readonly requestTimeoutMs: number;
    readonly onProgress?: (progress: DownloadProgress) => void;
  },
): Promise<Map<Sha256Hex, string>> {
  const wanted = new Map(items.map((item) => [item.pkg.sha256, item]));
  await mkdir(directory, { recursive: true });
  const paths = new Map<Sha256Hex, string>();
  let completed = 0;
  await forEachLimited(
    [...wanted.values()],
    DEBIAN_ARCHIVE_DEFAULTS.downloadConcurrency,
    async ({ pkg, url }) => {
      const path = join(directory, `${pkg.sha256}.deb`);
      const cached = await reuseVerifiedFile(path, pkg, options.logger);
      if (cached) {
        const now = new Date();
        await utimes(path, now, now).catch(() => undefined);
      } else {
        const outcome = await downloadVerifiedFile(url, path, pkg, {
          fetch: options.fetch,
          inactivityTimeoutMs: options.requestTimeoutMs,
          retries: DEBIAN_ARCHIVE_DEFAULTS.downloadRetries,
          what: pkg.filename.split('/').at(-1)!,
        });
        if (outcome.kind === 'not-found') {
          throw new ArchiveError(
            'ARCHIVE_UNREACHABLE',
            `${pkg.filename}: HTTP ${outcome.status} from ${url}`,
          );
        }
        options.logger.debug({ package: pkg.name, version: pkg.version, bytes: pkg.size }, 'deb downloaded');
      }
      paths.set(pkg.sha256, path);
      completed += 1;
      options.onProgress?.({ completed, total: wanted.size, package: pkg, cached });
    },
  );
  return paths;
}

interface ArchiveContext {
  readonly fetch: FetchFunction;
  readonly logger: Logger;
  readonly now: () => number;
  /** When set, Releases are checked as of this moment (epoch ms) rather than now. */
  readonly validAtMs: number | undefined;
  /** Index files (by sha256) used by this process, kept when pruning. */
  readonly usedIndexes: Set<string>;
}

/** Checks a verified Release is the one asked for and is current. */
function checkRelease(
  release: ReleaseIndex,
  suite: string,
  url: string,
  settings: ArchiveSettings,
  nowMs: number,
  validAtMs: number | undefined,
): void {
  if (release.suite !== suite && release.codename !== suite) {
    throw new ArchiveError(
      'ARCHIVE_INDEX',
      `${url}: asked for ${suite} but the signed Release is for Suite ${release.suite}, Codename ${release.codename}`,
    );
  }
  const now = Math.floor(nowMs / 1000);
  const asOf = validAtMs === undefined ? '' : ` of the snapshot at ${new Date(nowMs).toISOString()}`;
  if (release.validUntil !== undefined && now > release.validUntil + settings.clockSkewSeconds) {
    throw new ArchiveError(
      'ARCHIVE_SIGNATURE',
      `${url}: the signed Release expired at ${new Date(release.validUntil * 1000).toISOString()} (Valid-Until), before the time${asOf || ' now'}`,
    );
  }
  if (release.date > now + settings.clockSkewSeconds) {
    throw new ArchiveError(
      'ARCHIVE_SIGNATURE',
      `${url}: the signed Release is dated ${new Date(release.date * 1000).toISOString()}, after the time${asOf || ' now'}`,
    );
  }
}

/** Verifies InRelease bytes and checks the Release they sign. */
async function verifyInRelease(
  bytes: Buffer,
  source: Required<DebianArchiveSourceConfig>,
  suite: string,
  url: string,
  settings: ArchiveSettings,
  context: ArchiveContext,
): Promise<OpenedSuite> {
  const verified = await verifyClearsignedWithGpgv({
    signedBytes: bytes,
    keyringPath: source.keyringPath,
    timeoutMs: DEBIAN_ARCHIVE_DEFAULTS.gpgvTimeoutMs,
  });
  let release: ReleaseIndex;
  try {
    release = parseRelease(
      decodeControlText(verified.plaintext, 'Release', DEBIAN_ARCHIVE_DEFAULTS.maxInReleaseBytes),
    );
  } catch (cause) {
    throw new ArchiveError('ARCHIVE_INDEX', `${url}: ${(cause as Error).message}`, { cause });
  }
  checkRelease(release, suite, url, settings, context.validAtMs ?? context.now(), context.validAtMs);
  const inRelease = Buffer.from(bytes);
  return Object.freeze({
    mirrorUrl: source.mirrorUrl,
    suite,
    components: source.components,
    release,
    signedBy: verified.fingerprints,
    inRelease,
    inReleaseSha256: sha256Hex(inRelease),
  });
}

/**
 * The verified Release of one suite: from the InRelease cache while young enough, else from the
 * mirror. Undefined when the mirror answers 404/410 and `skipAbsent` is set.
 */
async function loadRelease(
  source: Required<DebianArchiveSourceConfig>,
  suite: string,
  settings: ArchiveSettings,
  context: ArchiveContext,
  skipAbsent: boolean,
): Promise<OpenedSuite | undefined> {
  const url = `${source.mirrorUrl}/dists/${suite}/InRelease`;
  const cachePath = join(settings.cacheDir, 'inrelease', `${sha256Hex(url)}.InRelease`);
  const info = await stat(cachePath).catch(() => undefined);
  const ageMs = info ? context.now() - info.mtimeMs : Number.POSITIVE_INFINITY;
  if (info && ageMs >= 0 && ageMs < settings.indexMaxAgeSeconds * 1000) {
    try {
      const cached = await readFile(cachePath);
      const opened = await verifyInRelease(cached, source, suite, url, settings, context);
      context.logger.debug({ url, ageSeconds: Math.round(ageMs / 1000) }, 'cached InRelease reused');
      return opened;
    } catch (err) {
      context.logger.info({ url, err }, 'cached InRelease not usable; fetching again');
    }
  }
  const outcome = await fetchBytes(url, DEBIAN_ARCHIVE_DEFAULTS.maxInReleaseBytes, {
    fetch: context.fetch,
    inactivityTimeoutMs: settings.requestTimeoutMs,
    retries: DEBIAN_ARCHIVE_DEFAULTS.downloadRetries,
    what: `${suite} InRelease`,
  });
  if (outcome.kind === 'not-found') {
    if (skipAbsent) {
      context.logger.info({ url, status: outcome.status }, 'suite absent; left out');
      return undefined;
    }
    throw new ArchiveError('ARCHIVE_UNREACHABLE', `${suite} InRelease: HTTP ${outcome.status} from ${url}`);
  }
  const opened = await verifyInRelease(outcome.value, source, suite, url, settings, context);
  await mkdir(dirname(cachePath), { recursive: true });
  const partial = `${cachePath}.${randomBytes(6).toString('hex')}.part`;
  await writeFile(partial, outcome.value);
  await rename(partial, cachePath);
  context.logger.info(
    { url, date: new Date(opened.release.date * 1000).toISOString(), signedBy: opened.signedBy },
    'InRelease verified',
  );
  return opened;
}

/**
 * The decompressed bytes of index `path` (e.g. `main/binary-amd64/Packages.xz`) of a verified suite,
 * with its Release entry and cache file: from `indexes/<sha256>` when cached, else downloaded (by
 * hash when the Release allows, falling back to the plain path), its size and sha256 checked against
 * the signed Release before xz sees it.
 */
async function loadIndexBytes(
  settings: ArchiveSettings,
  context: ArchiveContext,
  opened: OpenedSuite,
  path: string,
): Promise<{ bytes: Buffer; digest: ReleaseFileDigest; file: string }> {
  const what = `${opened.suite} ${path}`;
  const entry: ReleaseFileDigest | undefined = opened.release.sha256.get(path);
  if (!entry) throw new ArchiveError('ARCHIVE_INDEX', `${what} is not listed in the signed Release`);
  if (entry.size > settings.maxIndexBytes) {
    throw new ArchiveError(
      'ARCHIVE_TOO_LARGE',
      `${what}: ${entry.size} bytes, over the limit of ${settings.maxIndexBytes}`,
    );
  }
  const directory = join(settings.cacheDir, 'indexes');
  await mkdir(directory, { recursive: true });
  const cachePath = join(directory, entry.sha256);
  context.usedIndexes.add(entry.sha256);
  let cached = false;
  const info = await stat(cachePath).catch(() => undefined);
  if (info?.isFile() && info.size === entry.size && (await sha256File(cachePath)).sha256 === entry.sha256) {
    cached = true;
    const now = new Date(context.now());
    await utimes(cachePath, now, now);
  } else {
    await rm(cachePath, { force: true, recursive: true });
    const base = `${opened.mirrorUrl}/dists/${opened.suite}`;
    const urls = [`${base}/${path}`];
    if (opened.release.acquireByHash) {
      urls.unshift(`${base}/${path.slice(0, path.lastIndexOf('/') + 1)}by-hash/SHA256/${entry.sha256}`);
    }
    let fetched = false;
    for (const url of urls) {
      const outcome = await downloadVerifiedFile(url, cachePath, entry, {
        fetch: context.fetch,
        inactivityTimeoutMs: settings.requestTimeoutMs,
        retries: DEBIAN_ARCHIVE_DEFAULTS.downloadRetries,
        what,
      });
      if (outcome.kind === 'ok') {
        fetched = true;
        break;
      }
    }
    if (!fetched) throw new ArchiveError('ARCHIVE_UNREACHABLE', `${what}: not found at ${urls.join(' or ')}`);
  }
  // The Release usually lists the decompressed index too; its size lets xz write into one buffer.
  const plain = path.endsWith('.xz') ? opened.release.sha256.get(path.slice(0, -3)) : undefined;
  const bytes = await decompressXzFile(cachePath, {
    maxOutputBytes: settings.maxIndexBytes,
    timeoutMs: DEBIAN_ARCHIVE_DEFAULTS.decompressTimeoutMs,
    what,
    ...(plain ? { expectedOutputBytes: plain.size } : {}),
  });
  if (plain && sha256Hex(bytes) !== plain.sha256) {
    throw new ArchiveError(
      'ARCHIVE_DIGEST',
      `${what}: decompresses to bytes whose sha256 is not the ${plain.sha256} the signed Release lists for ${path.slice(0, -3)}`,
    );
  }
  context.logger.info(
    { index: what, compressedBytes: entry.size, bytes: bytes.length, cached },
    'index verified',
  );
  return { bytes, digest: entry, file: cachePath };
}

/** Runs an index parser, reporting a refusal as ARCHIVE_INDEX (the mirror served it) with the parser's error as cause. */
function parseIndex<T>(
  parse: (bytes: Uint8Array, what: string, limits: { maxBytes: number }) => T,
  bytes: Uint8Array,
  what: string,
  maxBytes: number,
): T {
  try {
    return parse(bytes, what, { maxBytes });
  } catch (cause) {
    throw new ArchiveError('ARCHIVE_INDEX', (cause as Error).message, { cause });
  }
}

/** Deletes cached index files unused by this process and untouched for the retention period. */
async function pruneIndexCache(settings: ArchiveSettings, context: ArchiveContext): Promise<void> {
  const directory = join(settings.cacheDir, 'indexes');
  const cutoff = context.now() - DEBIAN_ARCHIVE_DEFAULTS.indexRetentionSeconds * 1000;
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    if (context.usedIndexes.has(name)) continue;
    const info = await stat(join(directory, name)).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await rm(join(directory, name), { force: true, recursive: true });
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
