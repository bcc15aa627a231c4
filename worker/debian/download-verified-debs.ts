// Exact .debs into a directory by content: each reused only when its bytes still hash to what the
// signed index lists, else downloaded into a temporary file that is renamed only once verified.
import { mkdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArchivePackage } from '../../services/debian/archive-indexes.ts';
import { type Sha256Hex, sha256File } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { downloadVerifiedFile, type FetchFunction } from './archive-http.ts';
import { DEBIAN_ARCHIVE_DEFAULTS } from './debian-archive-config.ts';

export interface DownloadProgress {
  /** Files finished so far (downloaded or found in the cache). */
  readonly completed: number;
  readonly total: number;
  readonly package: ArchivePackage;
  /** True when the file came from the cache. */
  readonly cached: boolean;
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

/** True when `path` exists with exactly the expected size and sha256; a wrong file is deleted. */
export async function reuseVerifiedFile(
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
