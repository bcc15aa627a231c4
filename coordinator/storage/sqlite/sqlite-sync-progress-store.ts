// A sync profile's progress on SQLite (migrations 12, 14 and 15): index digests, the uploads it selected
// under a primary key that makes a second submission impossible, and its last poll.

import {
  type ListedSyncUpload,
  SYNC_UPLOAD_CLASSES,
  type SyncDeferral,
  type SyncPollRecord,
  type SyncProgressStore,
  type SyncReason,
  type SyncUploadClass,
  type SyncUploadKey,
  type SyncUploadPageOptions,
  type SyncUploadRecord,
} from '../../../services/storage/sync-progress-store.ts';
import type { ArchiveUpload } from '../../../services/sync/archive-uploads.ts';
import { pageLimit } from './page-arguments.ts';
import { frozenArray, iso, optional, optionalIso } from './row-mapping.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

interface UploadRow {
  profile: string;
  source: string;
  version: string;
  binary_version: string;
  architecture: string;
  binaries_json: string;
  class: number;
  state: SyncUploadRecord['state'];
  first_seen_at: number;
  due_at: number;
  tries: number;
  reason: string | null;
  detail: string | null;
  build_id: string | null;
  submitted_at: number | null;
}

interface PollRow {
  profile: string;
  polled_at: number;
  failures: number;
  next_poll_at: number;
  reason: string | null;
  detail: string | null;
}

const MAX_DETAIL = 2000;

function mapUpload(row: UploadRow): SyncUploadRecord {
  return Object.freeze({
    profile: row.profile,
    source: row.source,
    version: row.version,
    binaryVersion: row.binary_version,
    architecture: row.architecture,
    binaries: Object.freeze(JSON.parse(row.binaries_json) as string[]),
    class: SYNC_UPLOAD_CLASSES[row.class]!,
    state: row.state,
    firstSeenAt: iso(row.first_seen_at),
    dueAt: iso(row.due_at),
    tries: row.tries,
    ...optional('reason', row.reason as SyncReason | null),
    ...optional('detail', row.detail),
    ...optional('buildId', row.build_id),
    ...optionalIso('submittedAt', row.submitted_at),
  });
}

function mapPoll(row: PollRow): SyncPollRecord {
  return Object.freeze({
    profile: row.profile,
    polledAt: iso(row.polled_at),
    failures: row.failures,
    nextPollAt: iso(row.next_poll_at),
    ...optional('reason', row.reason as SyncReason | null),
    ...optional('detail', row.detail),
  });
}

const KEY =
  'profile = @profile AND source = @source AND version = @version AND binary_version = @binary_version ' +
  'AND architecture = @architecture';
/** Rows per INSERT statement of {@link SqliteSyncProgressStore.recordIndex} (12 parameters each). */
const INSERT_BATCH = 200;
const UPLOAD_VALUES = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** SQLite's BINARY order for ASCII names (the order only makes inserts faster). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function insertUploads(c: SqliteConnection, rows: number) {
  return c.db.prepare(
    `INSERT OR IGNORE INTO sync_uploads (profile, source, version, binary_version, architecture,
       binaries_json, class, state, first_seen_at, due_at, reason, detail)
     VALUES ${Array.from({ length: rows }, () => UPLOAD_VALUES).join(', ')}`,
  );
}

// Migration 15: where each upload was read; a trigger records it for the upload's build, if any.
const SUITE_VALUES = '(?, ?, ?, ?, ?, ?, ?)';

function insertUploadSuites(c: SqliteConnection, rows: number) {
  return c.db.prepare(
    `INSERT OR IGNORE INTO sync_upload_suites (profile, source, version, binary_version, architecture,
       suite, first_seen_at)
     VALUES ${Array.from({ length: rows }, () => SUITE_VALUES).join(', ')}`,
  );
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    indexDigest: db.prepare<[string, string], { sha256: string }>(
      'SELECT sha256 FROM sync_indexes WHERE profile = ? AND path = ?',
    ),
    upsertIndex: db.prepare(
      `INSERT INTO sync_indexes (profile, path, sha256, read_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (profile, path) DO UPDATE SET sha256 = excluded.sha256, read_at = excluded.read_at`,
    ),
    insertBatch: insertUploads(c, INSERT_BATCH),
    insertSuiteBatch: insertUploadSuites(c, INSERT_BATCH),
    due: db.prepare<[string, number, number], UploadRow>(
      `SELECT * FROM sync_uploads WHERE profile = ? AND state IN ('pending', 'submitting') AND due_at <= ?
       ORDER BY class, due_at, first_seen_at, source, version, binary_version, architecture LIMIT ?`,
    ),
    // The profile's primary-key range after the cursor; filters read the rows it walks.
    page: db.prepare<Record<string, unknown>, UploadRow & { suites_json: string }>(
      `SELECT u.*, (SELECT json_group_array(s.suite) FROM sync_upload_suites s
          WHERE s.profile = u.profile AND s.source = u.source AND s.version = u.version
            AND s.binary_version = u.binary_version AND s.architecture = u.architecture) AS suites_json
       FROM sync_uploads u
       WHERE u.profile = @profile
         AND (u.source, u.version, u.binary_version, u.architecture)
           > (@source, @version, @binary_version, @architecture)
         AND (@state IS NULL OR u.state = @state) AND (@reason IS NULL OR u.reason = @reason)
       ORDER BY u.source, u.version, u.binary_version, u.architecture LIMIT @limit`,
    ),
    all: db.prepare<[string], UploadRow>(
      'SELECT * FROM sync_uploads WHERE profile = ? ORDER BY source, version, binary_version, architecture',
    ),
    submittedSince: db.prepare<[string, number], { n: number }>(
      "SELECT COUNT(*) AS n FROM sync_uploads WHERE profile = ? AND state = 'submitted' AND submitted_at >= ?",
    ),
    claim: db.prepare(
      `UPDATE sync_uploads SET state = 'submitting', build_id = @build_id WHERE ${KEY} AND state = 'pending'`,
    ),
    submitted: db.prepare(
      `UPDATE sync_uploads SET state = 'submitted', submitted_at = @now, reason = NULL, detail = NULL
       WHERE ${KEY} AND state = 'submitting'`,
    ),
    defer: db.prepare(
      `UPDATE sync_uploads SET state = 'pending', build_id = NULL, class = @class, due_at = @due_at,
         tries = tries + @try, reason = @reason, detail = @detail
       WHERE ${KEY} AND state IN ('pending', 'submitting')`,
    ),
    poll: db.prepare<[string], PollRow>('SELECT * FROM sync_polls WHERE profile = ?'),
    upsertPoll: db.prepare(
      `INSERT INTO sync_polls (profile, polled_at, failures, next_poll_at, reason, detail)
       VALUES (@profile, @polled_at, @failures, @next_poll_at, @reason, @detail)
       ON CONFLICT (profile) DO UPDATE SET polled_at = excluded.polled_at,
         failures = CASE WHEN excluded.reason IS NULL THEN 0 ELSE sync_polls.failures + 1 END,
         next_poll_at = excluded.next_poll_at, reason = excluded.reason, detail = excluded.detail`,
    ),
  };
}

function keyRow(key: SyncUploadKey) {
  return {
    profile: key.profile,
    source: key.source,
    version: key.version,
    binary_version: key.binaryVersion,
    architecture: key.architecture,
  };
}

/** The {@link SyncProgressStore} on the coordinator's SQLite file. */
export class SqliteSyncProgressStore implements SyncProgressStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  async getIndexDigest(profile: string, path: string): Promise<string | undefined> {
    return this.#s.indexDigest.get(profile, path)?.sha256;
  }

  async recordIndex(
    profile: string,
    path: string,
    sha256: string,
    uploads: readonly ArchiveUpload[],
    uploadClass: SyncUploadClass,
    now: Date,
    suite: string,
  ): Promise<number> {
    const nowMs = now.getTime();
    const classIndex = SYNC_UPLOAD_CLASSES.indexOf(uploadClass);
    // Multi-row INSERTs of prepared statements, all in one transaction: a first read of a full
    // Debian index adds ~35,000 rows.
    const values = (upload: ArchiveUpload) => [
      profile,
      upload.source,
      upload.version,
      upload.binaryVersion,
      upload.architecture,
      JSON.stringify(upload.binaries),
      classIndex,
      upload.cruft === undefined ? 'pending' : 'skipped',
      nowMs,
      nowMs,
      upload.cruft === undefined ? null : 'source-missing',
      upload.cruft?.slice(0, MAX_DETAIL) ?? null,
    ];
    const suiteValues = (upload: ArchiveUpload) => [
      profile,
      upload.source,
      upload.version,
      upload.binaryVersion,
      upload.architecture,
      suite,
      nowMs,
    ];
    // In key order: the primary key's B-tree is appended to, not written all over.
    const byKey = (a: ArchiveUpload, b: ArchiveUpload) =>
      compare(a.source, b.source) ||
      compare(a.version, b.version) ||
      compare(a.binaryVersion, b.binaryVersion) ||
      compare(a.architecture, b.architecture);
    const sorted = [...uploads].sort(byKey);
    return this.#c.write(() => {
      let added = 0;
      let at = 0;
      for (; at + INSERT_BATCH <= sorted.length; at += INSERT_BATCH) {
        const batch = sorted.slice(at, at + INSERT_BATCH);
        added += this.#s.insertBatch.run(batch.flatMap(values)).changes;
        this.#s.insertSuiteBatch.run(batch.flatMap(suiteValues));
      }
      if (at < sorted.length) {
        const rest = sorted.slice(at);
        added += insertUploads(this.#c, rest.length).run(rest.flatMap(values)).changes;
        insertUploadSuites(this.#c, rest.length).run(rest.flatMap(suiteValues));
      }
      this.#s.upsertIndex.run(profile, path, sha256, nowMs);
      return added;
    });
  }

  async listDueUploads(profile: string, now: Date, limit: number): Promise<readonly SyncUploadRecord[]> {
    return frozenArray(this.#s.due.all(profile, now.getTime(), limit).map(mapUpload));
  }

  async listUploads(profile: string): Promise<readonly SyncUploadRecord[]> {
    return frozenArray(this.#s.all.all(profile).map(mapUpload));
  }

  async listUploadsPage(
    profile: string,
    options: SyncUploadPageOptions,
  ): Promise<{ readonly uploads: readonly ListedSyncUpload[]; readonly more: boolean }> {
    const limit = pageLimit(options.limit, 1000);
    // One row past the page says whether another follows; '' sorts before every stored name.
    const rows = this.#s.page.all({
      profile,
      source: options.after?.source ?? '',
      version: options.after?.version ?? '',
      binary_version: options.after?.binaryVersion ?? '',
      architecture: options.after?.architecture ?? '',
      state: options.state ?? null,
      reason: options.reason ?? null,
      limit: limit + 1,
    });
    const uploads = rows.slice(0, limit).map((row) =>
      Object.freeze({
        ...mapUpload(row),
        suites: Object.freeze((JSON.parse(row.suites_json) as string[]).sort()),
      }),
    );
    return Object.freeze({ uploads: frozenArray(uploads), more: rows.length > limit });
  }

  async countSubmittedSince(profile: string, since: Date): Promise<number> {
    return this.#s.submittedSince.get(profile, since.getTime())!.n;
  }

  async claimUpload(key: SyncUploadKey, buildId: string): Promise<boolean> {
    return this.#c.write(() => this.#s.claim.run({ ...keyRow(key), build_id: buildId }).changes === 1);
  }

  async markSubmitted(key: SyncUploadKey, now: Date): Promise<void> {
    this.#c.write(() => this.#s.submitted.run({ ...keyRow(key), now: now.getTime() }));
  }

  async deferUpload(key: SyncUploadKey, why: SyncDeferral): Promise<void> {
    this.#c.write(() =>
      this.#s.defer.run({
        ...keyRow(key),
        class: SYNC_UPLOAD_CLASSES.indexOf(why.uploadClass),
        due_at: why.dueAt.getTime(),
        try: why.countTry ? 1 : 0,
        reason: why.reason,
        detail: why.detail.slice(0, MAX_DETAIL),
      }),
    );
  }

  async getPoll(profile: string): Promise<SyncPollRecord | undefined> {
    const row = this.#s.poll.get(profile);
    return row ? mapPoll(row) : undefined;
  }

  async recordPoll(
    profile: string,
    outcome: { polledAt: Date; nextPollAt: Date; failure?: { reason: SyncReason; detail: string } },
  ): Promise<SyncPollRecord> {
    return this.#c.write(() => {
      this.#s.upsertPoll.run({
        profile,
        polled_at: outcome.polledAt.getTime(),
        failures: outcome.failure ? 1 : 0,
        next_poll_at: outcome.nextPollAt.getTime(),
        reason: outcome.failure?.reason ?? null,
        detail: outcome.failure?.detail.slice(0, MAX_DETAIL) ?? null,
      });
      return mapPoll(this.#s.poll.get(profile)!);
    });
  }
}
