// The archive poller's limits and delays, in one place.
import { DEFAULT_DEBIAN_TIME_LIMIT_SECONDS } from '../../services/debian/debian-manifest-from-buildinfo.ts';

/** Limits and delays of the poller, in one place. */
export const archiveSyncDefaults = Object.freeze({
  maxInReleaseBytes: 1024 * 1024,
  /**
   * A Packages or Sources index, decompressed (bookworm main's are about 50 MB each plain); what is
   * fetched is held to the size the Release lists.
   */
  maxIndexBytes: 256 * 1024 * 1024,
  maxBuildinfoBytes: 1024 * 1024,
  fetchTimeoutMs: 120_000,
  gpgvTimeoutMs: 30_000,
  /** First delay after a failure; doubled per try up to maxRetryDelayMs. */
  retryDelayMs: 10 * 60_000,
  maxRetryDelayMs: 24 * 3_600_000,
  /** Uploads one pass submits at most (the profile's hourly rate limits it further). */
  maxUploadsPerPass: 200,
  /** A Debian build's default wall-time request, as the CLI's. */
  timeLimitSeconds: DEFAULT_DEBIAN_TIME_LIMIT_SECONDS,
});

export type ArchiveSyncSettings = { readonly [K in keyof typeof archiveSyncDefaults]: number };
