// Follows one sync profile's archive: reads the Packages and Sources indexes the verified InRelease
// vouches for when a digest changed (read-archive-indexes.ts), records the uploads its rules select, and submits each one's .buildinfo
// as the profile's maintainer through the same checks as POST /v1/builds. What cannot be honoured
// waits with a reason and a growing delay; nothing is ever submitted twice (the upload's key is
// unique, and its build id is recorded before the build is created).
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type ParsedBuildinfo, parseBuildinfo } from '../../services/debian/buildinfo.ts';
import { buildinfoDeterminedFields } from '../../services/debian/debian-manifest-from-buildinfo.ts';
import { verifySignedBuildinfo } from '../../services/debian/verify-signed-buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { ArchiveError, RbnetError, SubmissionError } from '../../services/errors.ts';
import type { SyncProfileRecord } from '../../services/storage/sync-profile-store.ts';
import type { SyncReason, SyncUploadRecord } from '../../services/storage/sync-progress-store.ts';
import { buildinfoUrlOf } from '../../services/sync/archive-uploads.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { submitManifest } from '../scheduler/submit-manifest.ts';
import { type ArchiveSyncSettings, archiveSyncDefaults } from './archive-sync-settings.ts';
import { boundedFetch } from './bounded-fetch.ts';
import { readArchiveIndexes } from './read-archive-indexes.ts';
import { withKeyringFile } from './sync-keyring.ts';

export { type ArchiveSyncSettings, archiveSyncDefaults } from './archive-sync-settings.ts';

/** What one pass did, for the log and for tests. */
export interface SyncPassReport {
  readonly indexesRead: number;
  readonly uploadsAdded: number;
  readonly submitted: number;
  readonly deferred: number;
  readonly pollFailure?: { readonly reason: SyncReason; readonly detail: string };
}

function retryDelayMs(tries: number, settings: ArchiveSyncSettings): number {
  return Math.min(settings.maxRetryDelayMs, settings.retryDelayMs * 2 ** Math.min(tries, 20));
}

function archiveReason(err: unknown): SyncReason {
  if (err instanceof ArchiveError && err.code === 'ARCHIVE_SIGNATURE') return 'archive-signature';
  if (err instanceof ArchiveError && err.code === 'ARCHIVE_UNREACHABLE') return 'archive-unreachable';
  return 'archive-index';
}

/** Why an upload cannot be submitted now. */
class Deferral extends Error {
  constructor(
    readonly reason: SyncReason,
    detail: string,
    readonly dueAt?: Date,
  ) {
    super(detail);
  }
}

/** Fetches, checks and stores one upload's .buildinfo; @returns it parsed, with its digest. */
async function fetchBuildinfo(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  upload: SyncUploadRecord,
  settings: ArchiveSyncSettings,
): Promise<{ sha256: Sha256Hex; buildinfo: ParsedBuildinfo }> {
  const url = buildinfoUrlOf(profile.buildinfo.urlTemplate, upload);
  let fetched: Awaited<ReturnType<typeof boundedFetch>>;
  try {
    fetched = await boundedFetch(url, {
      maxBytes: settings.maxBuildinfoBytes,
      timeoutMs: settings.fetchTimeoutMs,
      what: `${upload.source} ${upload.version} ${upload.architecture} .buildinfo`,
    });
  } catch (err) {
    throw new Deferral('buildinfo-unreachable', (err as Error).message);
  }
  if (fetched.kind === 'not-found') {
    const publishBy = new Date(Date.parse(upload.firstSeenAt) + profile.initialDelaySeconds * 1000);
    if (deps.now() < publishBy)
      throw new Deferral(
        'buildinfo-not-published',
        `${url}: HTTP ${fetched.status}, within the initial delay`,
        publishBy,
      );
    throw new Deferral('buildinfo-missing', `${url}: HTTP ${fetched.status}`);
  }
  const bytes = fetched.bytes;
  let buildinfo: ParsedBuildinfo;
  try {
    buildinfo = parseBuildinfo(bytes);
  } catch (err) {
    throw new Deferral('buildinfo-invalid', (err as Error).message);
  }
  if (
    buildinfo.source !== upload.source ||
    buildinfo.sourceVersion.text !== upload.version ||
    buildinfo.version.text !== upload.binaryVersion ||
    !buildinfo.architectures.includes(upload.architecture)
  )
    throw new Deferral(
      'buildinfo-invalid',
      `${url}: describes ${buildinfo.source} ${buildinfo.sourceVersion.text} version ${buildinfo.version.text} (${buildinfo.architectures.join(' ')}), not this upload`,
    );
  const keyring = profile.buildinfo.keyring;
  if (keyring !== undefined) {
    try {
      await withKeyringFile(keyring, (keyringPath) =>
        verifySignedBuildinfo(bytes, buildinfo, { keyringPath, timeoutMs: settings.gpgvTimeoutMs }),
      );
    } catch (err) {
      throw new Deferral('buildinfo-signature', `${url}: ${(err as Error).message}`);
    }
  }
  const sha256 = sha256Hex(bytes);
  await deps.content.put(Readable.from([bytes]), { sha256, maxBytes: bytes.byteLength });
  return { sha256, buildinfo };
}

/** Submits one upload (claimed first with its build id, so a restart never submits it twice). */
async function submitUpload(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  upload: SyncUploadRecord,
  settings: ArchiveSyncSettings,
): Promise<'submitted' | 'deferred' | 'skipped'> {
  if (upload.state === 'submitting' && upload.buildId && (await deps.builds.getBuild(upload.buildId))) {
    // The build was created before a crash; only the mark was lost.
    await deps.syncProgress.markSubmitted(upload, deps.now());
    return 'submitted';
  }
  try {
    const { sha256, buildinfo } = await fetchBuildinfo(deps, profile, upload, settings);
    const manifest = JSON.stringify({
      ...buildinfoDeterminedFields(buildinfo, sha256),
      source: { from: 'archive' },
      timeLimitSeconds: settings.timeLimitSeconds,
    });
    const buildId = upload.buildId ?? randomUUID();
    if (upload.state === 'pending' && !(await deps.syncProgress.claimUpload(upload, buildId)))
      return 'skipped';
    try {
      await submitManifest(deps, Buffer.from(manifest), { submittedBy: profile.maintainer, buildId });
    } catch (err) {
      if (err instanceof SubmissionError && err.code === 'INSUFFICIENT_OPERATORS')
        throw new Deferral('environment-unavailable', err.message);
      if (err instanceof RbnetError) throw new Deferral('submission-refused', `${err.code}: ${err.message}`);
      throw err;
    }
    await deps.syncProgress.markSubmitted(upload, deps.now());
    deps.logger.info(
      {
        profile: profile.name,
        source: upload.source,
        version: upload.version,
        binaryVersion: upload.binaryVersion,
        architecture: upload.architecture,
        buildId,
      },
      'sync upload submitted',
    );
    return 'submitted';
  } catch (err) {
    if (!(err instanceof Deferral)) throw err;
    const now = deps.now();
    const countTry = err.reason !== 'buildinfo-not-published';
    await deps.syncProgress.deferUpload(upload, {
      reason: err.reason,
      detail: err.message,
      dueAt: err.dueAt ?? new Date(now.getTime() + retryDelayMs(upload.tries, settings)),
      uploadClass: countTry ? 'retry' : upload.class,
      countTry,
    });
    deps.logger.info(
      {
        profile: profile.name,
        source: upload.source,
        version: upload.version,
        reason: err.reason,
        detail: err.message,
      },
      'sync upload deferred',
    );
    return 'deferred';
  }
}

/**
 * One pass over one profile: reads its archive if its poll is due (a failure is recorded with its
 * reason and the next poll backs off), then submits what is due within its hourly rate limit.
 */
export async function syncProfileOnce(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  options: { readonly pollIntervalMs: number; readonly settings?: ArchiveSyncSettings },
): Promise<SyncPassReport> {
  const settings = options.settings ?? archiveSyncDefaults;
  let indexesRead = 0;
  let uploadsAdded = 0;
  let pollFailure: SyncPassReport['pollFailure'];
  const poll = await deps.syncProgress.getPoll(profile.name);
  const now = deps.now();
  if (poll === undefined || Date.parse(poll.nextPollAt) <= now.getTime()) {
    try {
      ({ indexesRead, uploadsAdded } = await readArchiveIndexes(deps, profile, settings));
    } catch (err) {
      if (!(err instanceof RbnetError)) throw err;
      pollFailure = { reason: archiveReason(err), detail: err.message };
      deps.logger.warn({ profile: profile.name, ...pollFailure }, 'sync poll refused');
    }
    const failures = pollFailure ? (poll?.failures ?? 0) + 1 : 0;
    // A failing archive is polled less and less often, never sooner than the retry delay.
    const delayMs = pollFailure
      ? Math.min(
          settings.maxRetryDelayMs,
          Math.max(options.pollIntervalMs, settings.retryDelayMs) * 2 ** Math.min(failures - 1, 10),
        )
      : options.pollIntervalMs;
    await deps.syncProgress.recordPoll(profile.name, {
      polledAt: now,
      nextPollAt: new Date(now.getTime() + delayMs),
      ...(pollFailure && { failure: pollFailure }),
    });
  }
  const hourAgo = new Date(deps.now().getTime() - 3_600_000);
  const budget =
    profile.rateLimitPerHour - (await deps.syncProgress.countSubmittedSince(profile.name, hourAgo));
  let submitted = 0;
  let deferred = 0;
  if (budget > 0) {
    const due = await deps.syncProgress.listDueUploads(
      profile.name,
      deps.now(),
      Math.min(budget, settings.maxUploadsPerPass),
    );
    for (const upload of due) {
      const outcome = await submitUpload(deps, profile, upload, settings);
      if (outcome === 'submitted') submitted++;
      else if (outcome === 'deferred') deferred++;
    }
  }
  return { indexesRead, uploadsAdded, submitted, deferred, ...(pollFailure && { pollFailure }) };
}
