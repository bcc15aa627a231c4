// How a worker's Debian archive client is configured: the signed archives it reads (mirror, suites,
// components, keyring), its cache, its limits, and their checked, normalised form.
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../services/errors.ts';

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

/** The configuration after checking, every default filled in. */
export interface ArchiveSettings {
  readonly archives: readonly Required<DebianArchiveSourceConfig>[];
  readonly cacheDir: string;
  readonly debsDir: string;
  readonly architecture: string;
  readonly maxIndexBytes: number;
  readonly requestTimeoutMs: number;
  readonly indexMaxAgeSeconds: number;
  readonly clockSkewSeconds: number;
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

/** Checks `config` and fills in the defaults. @throws ConfigError CONFIG_INVALID naming the setting. */
export function normaliseConfig(config: DebianArchiveConfig): ArchiveSettings {
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
