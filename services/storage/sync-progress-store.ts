// What a sync profile has done so far: the index digests it last read, every upload it selected
// (unique per profile, source, version and architecture, so nothing is submitted twice) with its
// state and why it waits, and its last poll. Deleted with the profile.
import type { ArchiveUpload } from '../sync/archive-uploads.ts';
import type { IsoTimestamp } from './store-error.ts';

/** In the order uploads are submitted: new uploads, then retries, then the backfill of a first read. */
export type SyncUploadClass = 'new' | 'retry' | 'backfill';
export const SYNC_UPLOAD_CLASSES: readonly SyncUploadClass[] = ['new', 'retry', 'backfill'];

/**
 * Why an upload waits or a poll failed: `buildinfo-not-published` (within the initial delay),
 * `buildinfo-missing`, `buildinfo-invalid`, `buildinfo-signature`, `buildinfo-unreachable`,
 * `environment-unavailable` (too few operators can build it), `submission-refused`, `source-missing`
 * (recorded, never submitted: its source version is not in the suite's Sources), for polls
 * `archive-unreachable`, `archive-signature`, `archive-index` (digest, size or format).
 */
/** Every reason, in the order documented above (what `?reason=` accepts); the type is read from it. */
export const SYNC_REASONS = [
  'buildinfo-not-published',
  'buildinfo-missing',
  'buildinfo-invalid',
  'buildinfo-signature',
  'buildinfo-unreachable',
  'environment-unavailable',
  'submission-refused',
  'source-missing',
  'archive-unreachable',
  'archive-signature',
  'archive-index',
] as const;
export type SyncReason = (typeof SYNC_REASONS)[number];

/**
 * pending (waiting, perhaps with a reason); submitting (build id chosen); submitted; skipped
 * (recorded with a reason and never submitted: its source version left the suite's Sources).
 */
export const SYNC_UPLOAD_STATES = ['pending', 'submitting', 'submitted', 'skipped'] as const;
export type SyncUploadState = (typeof SYNC_UPLOAD_STATES)[number];

export interface SyncUploadKey {
  readonly profile: string;
  readonly source: string;
  /** The source version. */
  readonly version: string;
  /** The binaries' version: `version`, or a binNMU's `version+bN` (an upload of its own). */
  readonly binaryVersion: string;
  readonly architecture: string;
}

export interface SyncUploadRecord extends SyncUploadKey {
  readonly binaries: readonly string[];
  readonly class: SyncUploadClass;
  readonly state: SyncUploadState;
  readonly firstSeenAt: IsoTimestamp;
  readonly dueAt: IsoTimestamp;
  readonly tries: number;
  readonly reason?: SyncReason;
  readonly detail?: string;
  readonly buildId?: string;
  readonly submittedAt?: IsoTimestamp;
}

/** An upload as an operator lists it: with every suite the profile read it in, by name. */
export interface ListedSyncUpload extends SyncUploadRecord {
  readonly suites: readonly string[];
}

/** One page of a profile's uploads (see {@link SyncProgressStore.listUploadsPage}). */
export interface SyncUploadPageOptions {
  readonly state?: SyncUploadState;
  readonly reason?: SyncReason;
  /** Uploads after this key, in (source, version, binary version, architecture) order; absent: from the first. */
  readonly after?: Omit<SyncUploadKey, 'profile'>;
  /** 1..1000. */
  readonly limit: number;
}

export interface SyncPollRecord {
  readonly profile: string;
  readonly polledAt: IsoTimestamp;
  /** Polls failed in a row (0 after a good one). */
  readonly failures: number;
  readonly nextPollAt: IsoTimestamp;
  readonly reason?: SyncReason;
  readonly detail?: string;
}

/** Why and until when an upload waits (see {@link SyncProgressStore.deferUpload}). */
export interface SyncDeferral {
  readonly reason: SyncReason;
  readonly detail: string;
  readonly dueAt: Date;
  readonly uploadClass: SyncUploadClass;
  /** Adds one to the upload's tries (a wait for a .buildinfo within the initial delay does not). */
  readonly countTry: boolean;
}

export interface SyncProgressStore {
  getIndexDigest(profile: string, path: string): Promise<string | undefined>;
  /**
   * Records that `path` (an index of `suite`) was read whole at `sha256` and adds the uploads it
   * selected that the profile never saw (others are left as they are), in one transaction; an upload
   * marked `cruft` is added `skipped` with reason `source-missing`. Every upload it lists is recorded
   * as found in `suite`, and so is its build, already submitted or not yet (the feed, package
   * queries and alerts read a build's suites). @returns how many were added.
   */
  recordIndex(
    profile: string,
    path: string,
    sha256: string,
    uploads: readonly ArchiveUpload[],
    uploadClass: SyncUploadClass,
    now: Date,
    suite: string,
  ): Promise<number>;
  /** Uploads not yet submitted and due by `now`, new before retry before backfill, oldest first. */
  listDueUploads(profile: string, now: Date, limit: number): Promise<readonly SyncUploadRecord[]>;
  listUploads(profile: string): Promise<readonly SyncUploadRecord[]>;
  /**
   * A profile's uploads matching the filters, in (source, version, architecture) order, after
   * `options.after`, at most `limit`, and whether more match: a walk of the profile's primary key.
   */
  listUploadsPage(
    profile: string,
    options: SyncUploadPageOptions,
  ): Promise<{ readonly uploads: readonly ListedSyncUpload[]; readonly more: boolean }>;
  countSubmittedSince(profile: string, since: Date): Promise<number>;
  /** pending → submitting with the build id about to be created. @returns false if not pending. */
  claimUpload(key: SyncUploadKey, buildId: string): Promise<boolean>;
  /** submitting → submitted. */
  markSubmitted(key: SyncUploadKey, now: Date): Promise<void>;
  /** Back to pending, due again at `dueAt`, with why; `countTry` adds one to its tries. */
  deferUpload(key: SyncUploadKey, why: SyncDeferral): Promise<void>;
  getPoll(profile: string): Promise<SyncPollRecord | undefined>;
  /** Records a poll: a failure (with why) adds one to the failures in a row, a success resets them. */
  recordPoll(
    profile: string,
    outcome: { polledAt: Date; nextPollAt: Date; failure?: { reason: SyncReason; detail: string } },
  ): Promise<SyncPollRecord>;
}
