// Follows one sync profile's archive: reads each Packages index the verified InRelease vouches for
// when its digest changed, records the uploads its rules select, and submits each one's .buildinfo
// as the profile's maintainer through the same checks as POST /v1/builds. What cannot be honoured
// waits with a reason and a growing delay; nothing is ever submitted twice (the upload's key is
// unique, and its build id is recorded before the build is created).
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { viewPackagesIndex } from '../../services/debian/archive-indexes.ts';
import { type ParsedBuildinfo, parseBuildinfo } from '../../services/debian/buildinfo.ts';
import { buildinfoDeterminedFields } from '../../services/debian/debian-manifest-from-buildinfo.ts';
import { verifyClearsignedWithGpgv } from '../../services/debian/gpgv-verify.ts';
import { parseRelease } from '../../services/debian/release-index.ts';
import { sha256Hex } from '../../services/digest.ts';
import { ArchiveError, RbnetError, SubmissionError } from '../../services/errors.ts';
import type { SyncProfileRecord } from '../../services/storage/sync-profile-store.ts';
import type {
  SyncReason,
  SyncUploadClass,
  SyncUploadRecord,
} from '../../services/storage/sync-progress-store.ts';
import { buildinfoUrlOf, uploadSelection, uploadsOf } from '../../services/sync/archive-uploads.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { submitManifest } from '../scheduler/submit-manifest.ts';
import { boundedFetch } from './bounded-fetch.ts';
import { withKeyringFile } from './sync-keyring.ts';

/** Limits and delays of the poller, in one place. */
export const archiveSyncDefaults = Object.freeze({
  maxInReleaseBytes: 1024 * 1024,
  /** A compressed or plain Packages index (bookworm main amd64 is about 45 MiB plain). */
  maxIndexBytes: 256 * 1024 * 1024,
  maxBuildinfoBytes: 1024 * 1024,
  fetchTimeoutMs: 120_000,
  gpgvTimeoutMs: 30_000,
  /** First delay after a failure; doubled per try up to maxRetryDelayMs. */
  retryDelayMs: 10 * 60_000,
  maxRetryDelayMs: 24 * 3_600_000,
  /** Uploads one pass submits at most (the profile's hourly rate limits it further). */
  maxUploadsPerPass: 200,
  /** A Debian build's default wall-time request: 2 hours. */
  timeLimitSeconds: 7200,
});

export type ArchiveSyncSettings = { readonly [K in keyof typeof archiveSyncDefaults]: number };

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

/** The index the profile reads for one suite/component/architecture: plain if listed, else gzip. */
function pickIndex(release: ReturnType<typeof parseRelease>, component: string, arch: string) {
  const plain = `${component}/binary-${arch}/Packages`;
  const listedPlain = release.sha256.get(plain);
  for (const path of [plain, `${plain}.gz`]) {
    const listed = release.sha256.get(path);
    if (listed) return { plain, path, listed, listedPlain };
  }
  throw new ArchiveError('ARCHIVE_INDEX', `${plain}: not listed (plain or .gz) in the Release`);
}

/** Reads the profile's indexes whose digest changed and records the uploads they select. */
async function readIndexes(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  settings: ArchiveSyncSettings,
): Promise<{ indexesRead: number; uploadsAdded: number }> {
  const base = profile.archive.url.replace(/\/+$/, '');
  const selection = uploadSelection(profile.include, profile.exclude);
  let indexesRead = 0;
  let uploadsAdded = 0;
  for (const suite of profile.archive.suites) {
    const what = `${suite} InRelease`;
    const fetched = await boundedFetch(`${base}/dists/${suite}/InRelease`, {
      maxBytes: settings.maxInReleaseBytes,
      timeoutMs: settings.fetchTimeoutMs,
      what,
    });
    if (fetched.kind === 'not-found')
      throw new ArchiveError('ARCHIVE_INDEX', `${what}: HTTP ${fetched.status}`);
    const verified = await withKeyringFile(profile.archive.keyring, (keyringPath) =>
      verifyClearsignedWithGpgv({
        signedBytes: fetched.bytes,
        keyringPath,
        timeoutMs: settings.gpgvTimeoutMs,
      }),
    );
    const release = parseRelease(verified.plaintext.toString('utf8'));
    for (const component of profile.archive.components) {
      for (const arch of profile.archive.architectures) {
        const index = pickIndex(release, component, arch);
        const key = `${suite}/${index.plain}`;
        // The plain index's digest identifies the content whichever compression is fetched.
        const digest = (index.listedPlain ?? index.listed).sha256;
        const seen = await deps.syncProgress.getIndexDigest(profile.name, key);
        if (seen === digest) continue;
        const indexWhat = `${suite} ${index.path}`;
        if (index.listed.size > settings.maxIndexBytes)
          throw new ArchiveError(
            'ARCHIVE_TOO_LARGE',
            `${indexWhat}: ${index.listed.size} bytes, over the limit of ${settings.maxIndexBytes}`,
          );
        const got = await boundedFetch(`${base}/dists/${suite}/${index.path}`, {
          maxBytes: index.listed.size,
          timeoutMs: settings.fetchTimeoutMs,
          what: indexWhat,
        });
        if (got.kind === 'not-found')
          throw new ArchiveError('ARCHIVE_INDEX', `${indexWhat}: HTTP ${got.status}`);
        if (got.bytes.byteLength !== index.listed.size || sha256Hex(got.bytes) !== index.listed.sha256)
          throw new ArchiveError('ARCHIVE_DIGEST', `${indexWhat}: not the size and sha256 the Release lists`);
        const plain = index.path.endsWith('.gz')
          ? gunzipSync(got.bytes, { maxOutputLength: settings.maxIndexBytes })
          : got.bytes;
        if (index.listedPlain && index.path !== index.plain && sha256Hex(plain) !== index.listedPlain.sha256)
          throw new ArchiveError(
            'ARCHIVE_DIGEST',
            `${indexWhat}: decompressed, not the sha256 the Release lists`,
          );
        // A compact view, read one name at a time: the whole index never exists as records at once.
        const view = viewPackagesIndex(plain, indexWhat);
        const uploads = uploadsOf(
          (function* () {
            for (const name of view.names()) yield* view.lookup(name);
          })(),
          selection,
        );
        // The first read of an index is backfill; later reads find new uploads.
        const uploadClass: SyncUploadClass = seen === undefined ? 'backfill' : 'new';
        uploadsAdded += await deps.syncProgress.recordIndex(
          profile.name,
          key,
          digest,
          uploads,
          uploadClass,
          deps.now(),
          suite,
        );
        indexesRead++;
      }
    }
  }
  return { indexesRead, uploadsAdded };
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

/** Fetches, checks and stores one upload's .buildinfo; @returns its bytes. */
async function fetchBuildinfo(
  deps: CoordinatorDeps,
  profile: SyncProfileRecord,
  upload: SyncUploadRecord,
  settings: ArchiveSyncSettings,
): Promise<{ bytes: Buffer; buildinfo: ParsedBuildinfo }> {
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
    !buildinfo.architectures.includes(upload.architecture)
  )
    throw new Deferral(
      'buildinfo-invalid',
      `${url}: describes ${buildinfo.source} ${buildinfo.sourceVersion.text} (${buildinfo.architectures.join(' ')}), not this upload`,
    );
  const keyring = profile.buildinfo.keyring;
  if (keyring !== undefined) {
    if (!buildinfo.signature) throw new Deferral('buildinfo-signature', `${url}: not clearsigned`);
    try {
      const verified = await withKeyringFile(keyring, (keyringPath) =>
        verifyClearsignedWithGpgv({ signedBytes: bytes, keyringPath, timeoutMs: settings.gpgvTimeoutMs }),
      );
      // What gpgv verified must say exactly what the parser read (no unsigned text beside it).
      const { signature: _signed, ...read } = buildinfo;
      const { signature: _none, ...signedText } = parseBuildinfo(verified.plaintext);
      if (JSON.stringify(read) !== JSON.stringify(signedText))
        throw new Deferral('buildinfo-signature', `${url}: the signed text is not what the file says`);
    } catch (err) {
      if (err instanceof Deferral) throw err;
      throw new Deferral('buildinfo-signature', (err as Error).message);
    }
  }
  const sha256 = sha256Hex(bytes);
  await deps.content.put(Readable.from([bytes]), { sha256, maxBytes: bytes.byteLength });
  return { bytes, buildinfo };
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
    const { bytes, buildinfo } = await fetchBuildinfo(deps, profile, upload, settings);
    const manifest = JSON.stringify({
      ...buildinfoDeterminedFields(buildinfo, sha256Hex(bytes)),
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
      ({ indexesRead, uploadsAdded } = await readIndexes(deps, profile, settings));
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
