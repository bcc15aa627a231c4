// The signed side of a Debian archive: an InRelease verified with gpgv and checked for suite, date and
// validity, and the indexes it lists, each checked against its signed digest before xz sees it; both
// cached under the archive's cache directory and re-verified on every use.
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { decodeControlText } from '../../services/debian/deb822.ts';
import { verifyClearsignedWithGpgv } from '../../services/debian/gpgv-verify.ts';
import {
  parseRelease,
  type ReleaseFileDigest,
  type ReleaseIndex,
} from '../../services/debian/release-index.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { downloadVerifiedFile, type FetchFunction, fetchBytes } from './archive-http.ts';
import { writeFileAtomically } from './atomic-file.ts';
import {
  type ArchiveSettings,
  DEBIAN_ARCHIVE_DEFAULTS,
  type DebianArchiveSourceConfig,
} from './debian-archive-config.ts';
import { decompressXzFile } from './xz-decompress.ts';

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

/** What loading needs beside the settings: the network, the log, the clock, and what this process used. */
export interface ArchiveContext {
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
export async function loadRelease(
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
  await writeFileAtomically(cachePath, outcome.value);
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
export async function loadIndexBytes(
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
export function parseIndex<T>(
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
export async function pruneIndexCache(settings: ArchiveSettings, context: ArchiveContext): Promise<void> {
  const directory = join(settings.cacheDir, 'indexes');
  const cutoff = context.now() - DEBIAN_ARCHIVE_DEFAULTS.indexRetentionSeconds * 1000;
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    if (context.usedIndexes.has(name)) continue;
    const info = await stat(join(directory, name)).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await rm(join(directory, name), { force: true, recursive: true });
  }
}
