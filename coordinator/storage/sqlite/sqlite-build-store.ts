// The builds aggregate on SQLite: builds, attempts with their leases, and the verdict history. Rows
// are checked, claims indexed and the current verdict kept by the schema (migration 8).
import { sha256Hex } from '../../../services/digest.ts';
import {
  type AttemptOutcome,
  type AttemptRecord,
  type AttemptSummary,
  type BuildRecord,
  type BuildStore,
  type BuildVerdict,
  buildVerdicts,
  type HeartbeatLeases,
  type ListBuildsOptions,
  type ListPendingBuildsOptions,
  type NewAttempt,
  type NewBuild,
  type NewVerdict,
  type VerdictRecord,
} from '../../../services/storage/build-store.ts';
import { BuildStoreError, MAX_PAGE } from '../../../services/storage/store-error.ts';
import {
  type AttemptRow,
  type BuildRow,
  mapAttempt,
  mapBuild,
  mapVerdict,
  type VerdictRow,
} from './build-rows.ts';
import { pageLimit } from './page-arguments.ts';
import { epochMs, optionalEpochMs, type SqliteConnection } from './sqlite-connection.ts';
import { asStoreErrors, withFieldPrefix } from './sqlite-errors.ts';

/** The lease an attempt gets from `renewLeases` (parameters `@until` and `@queued`). */
const RENEWED_LEASE_SQL = `CASE
  WHEN started_at IS NULL THEN @queued
  WHEN run_limit_ms IS NULL THEN @until
  ELSE MIN(@until, started_at + run_limit_ms) END`;

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insertBuild: db.prepare(
      `INSERT INTO builds (build_id, manifest_sha256, manifest_json, name, architecture, backend,
         claimed_outputs_json, threshold, max_attempts, decision_deadline_ms, submitted_by, created_at)
       VALUES (@build_id, @manifest_sha256, @manifest_json, @name, @architecture, @backend,
         @claimed_outputs_json, @threshold, @max_attempts, @decision_deadline_ms, @submitted_by, @created_at)`,
    ),
    buildById: db.prepare<[string], BuildRow>('SELECT * FROM builds WHERE build_id = ?'),
    seqOf: db.prepare<[string], { seq: number }>('SELECT seq FROM builds WHERE build_id = ?'),
    listBuilds: db.prepare<[number, number], BuildRow>(
      'SELECT * FROM builds WHERE seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    pendingBuildIds: db.prepare<[number, number], { build_id: string }>(
      "SELECT build_id FROM builds WHERE verdict = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
    ),
    verdictCounts: db.prepare<[], { verdict: string; builds: number }>(
      'SELECT verdict, builds FROM verdict_counts',
    ),
    insertAttempt: db.prepare(
      `INSERT INTO attempts (job_id, build_id, worker_id, operator, attempt, nonce, state, assigned_at,
         lease_expires_at, run_limit_ms)
       VALUES (@job_id, @build_id, @worker_id, @operator, @attempt, @nonce, 'open', @assigned_at,
         @lease_expires_at, @run_limit_ms)`,
    ),
    attemptByJobId: db.prepare<[string], AttemptRow>('SELECT * FROM attempts WHERE job_id = ?'),
    listAttempts: db.prepare<[string], AttemptRow>(
      'SELECT * FROM attempts WHERE build_id = ? ORDER BY assigned_at, rowid',
    ),
    countOpenAttempts: db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM attempts WHERE build_id = ? AND state = 'open'",
    ),
    attemptsByWorker: db.prepare<
      [string],
      { worker_id: string; operator: string; attempts: number; open: number }
    >(
      `SELECT worker_id, operator, COUNT(*) AS attempts, SUM(state = 'open') AS open
       FROM attempts WHERE build_id = ? GROUP BY worker_id, operator ORDER BY MIN(rowid)`,
    ),
    // The retry rule's classes (coordinator/scheduler/retry-policy.ts, classifyFailures), counted here.
    attemptFailures: db.prepare<
      [string],
      { build_failures: number; infrastructure_failures: number; last_failure_at: number }
    >(
      `SELECT COALESCE(SUM(r.kind = 'failed'), 0) AS build_failures,
         COALESCE(SUM(r.job_id IS NULL AND a.state IN ('failed', 'expired')), 0) AS infrastructure_failures,
         COALESCE(MAX(CASE WHEN r.kind = 'failed' THEN r.received_at
           WHEN r.job_id IS NULL AND a.state IN ('failed', 'expired') THEN COALESCE(a.finished_at, a.assigned_at)
           END), 0) AS last_failure_at
       FROM attempts a LEFT JOIN results r ON r.job_id = a.job_id WHERE a.build_id = ?`,
    ),
    openAttemptsByWorker: db.prepare<[], { worker_id: string; n: number }>(
      "SELECT worker_id, COUNT(*) AS n FROM attempts WHERE state = 'open' GROUP BY worker_id",
    ),
    listOpenAttempts: db.prepare<[], AttemptRow>(
      "SELECT * FROM attempts WHERE state = 'open' ORDER BY assigned_at, rowid",
    ),
    // Started attempts: never past their run limit; attempts still queued: their own deadline.
    renewWorkerLeases: db.prepare<{ until: number | null; queued: number | null; worker_id: string }>(
      `UPDATE attempts SET lease_expires_at = ${RENEWED_LEASE_SQL}
       WHERE worker_id = @worker_id AND state = 'open'`,
    ),
    renewAllLeases: db.prepare<{ until: number | null; queued: number | null }>(
      `UPDATE attempts SET lease_expires_at = ${RENEWED_LEASE_SQL} WHERE state = 'open'`,
    ),
    // A named running attempt: started at its first naming, renewed up to its run limit, never past it.
    renewRunningLease: db.prepare<{ job_id: string; worker_id: string; now: number; until: number }>(
      `UPDATE attempts SET
         started_at = COALESCE(started_at, @now),
         lease_expires_at = CASE WHEN run_limit_ms IS NULL THEN @until
           ELSE MIN(@until, COALESCE(started_at, @now) + run_limit_ms) END
       WHERE job_id = @job_id AND worker_id = @worker_id AND state = 'open'
         AND (run_limit_ms IS NULL OR started_at IS NULL OR started_at + run_limit_ms > @now)`,
    ),
    extendQueuedLeases: db.prepare<{ worker_id: string; until: number }>(
      `UPDATE attempts SET lease_expires_at = MAX(COALESCE(lease_expires_at, 0), @until)
       WHERE worker_id = @worker_id AND state = 'open' AND started_at IS NULL`,
    ),
    expiredAttempts: db.prepare<[number], AttemptRow>(
      "SELECT * FROM attempts WHERE state = 'open' AND lease_expires_at IS NOT NULL AND lease_expires_at < ? ORDER BY lease_expires_at, rowid",
    ),
    // The schema keeps at most 500 characters of the reason, and refuses any state but a finished one.
    finishAttempt: db.prepare<[string, number | null, string | null, string]>(
      "UPDATE attempts SET state = ?, finished_at = ?, failure_reason = substr(?, 1, 500) WHERE job_id = ? AND state = 'open'",
    ),
    insertVerdict: db.prepare<[VerdictRow]>(
      `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json,
         consensus_envelope_sha256, divergence_report_sha256, decided_at)
       VALUES (@build_id, @sequence, @verdict, @previous_verdict, @decision_json,
         @consensus_envelope_sha256, @divergence_report_sha256, @decided_at)`,
    ),
    latestVerdict: db.prepare<[string], VerdictRow>(
      'SELECT * FROM verdict_history WHERE build_id = ? ORDER BY sequence DESC LIMIT 1',
    ),
    verdictHistory: db.prepare<[string], VerdictRow>(
      'SELECT * FROM verdict_history WHERE build_id = ? ORDER BY sequence',
    ),
  };
}

/** The {@link BuildStore} on the coordinator's SQLite file. */
export class SqliteBuildStore implements BuildStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async createBuild(input: NewBuild): Promise<BuildRecord> {
    this.#c.write(() => this.#insertBuild(input));
    return mapBuild(this.#s.buildById.get(input.buildId)!);
  }

  /** @inheritdoc */
  async createBuilds(inputs: readonly NewBuild[]): Promise<readonly BuildRecord[]> {
    this.#c.write(() => {
      inputs.forEach((input, i) => {
        withFieldPrefix(`inputs[${i}].`, () => this.#insertBuild(input));
      });
    });
    return Object.freeze(inputs.map((input) => mapBuild(this.#s.buildById.get(input.buildId)!)));
  }

  /** Inserts one build; the schema checks the row, this the one thing SQL cannot: the digest. */
  #insertBuild(input: NewBuild): void {
    asStoreErrors(() =>
      this.#s.insertBuild.run({
        build_id: input.buildId,
        manifest_sha256: input.manifestSha256,
        manifest_json: input.manifestJson,
        name: input.name,
        architecture: input.architecture,
        backend: input.backend,
        claimed_outputs_json: JSON.stringify(
          (input.claimedOutputs ?? []).map((c) => ({ path: c.path, sha256: c.sha256 })),
        ),
        threshold: input.policy?.threshold ?? null,
        max_attempts: input.policy?.maxAttempts ?? null,
        decision_deadline_ms: input.policy?.decisionDeadlineMs ?? null,
        submitted_by: input.submittedBy,
        created_at: epochMs(input.createdAt),
      }),
    );
    // Checked inside the transaction, after the schema accepted the row: the insert is undone.
    const actual = sha256Hex(input.manifestJson);
    if (actual !== input.manifestSha256) {
      throw new BuildStoreError(
        'DIGEST_MISMATCH',
        `manifestSha256: ${input.manifestSha256} is not the sha256 of manifestJson (${actual})`,
      );
    }
  }

  /** @inheritdoc */
  async getBuild(buildId: string): Promise<BuildRecord | undefined> {
    const row = this.#s.buildById.get(buildId);
    return row === undefined ? undefined : mapBuild(row);
  }

  /** @inheritdoc */
  async listBuilds(options: ListBuildsOptions = {}): Promise<readonly BuildRecord[]> {
    const limit = pageLimit(options.limit, 100);
    const before = options.after === undefined ? Number.MAX_SAFE_INTEGER : this.#seqOf(options.after);
    return Object.freeze(this.#s.listBuilds.all(before, limit).map(mapBuild));
  }

  /** @inheritdoc */
  async listPendingBuildIds(options: ListPendingBuildsOptions = {}): Promise<readonly string[]> {
    const limit = pageLimit(options.limit, MAX_PAGE);
    const after = options.after === undefined ? 0 : this.#seqOf(options.after);
    return Object.freeze(this.#s.pendingBuildIds.all(after, limit).map((r) => r.build_id));
  }

  /** The position of build `after`, a keyset cursor. @throws BuildStoreError `NOT_FOUND`. */
  #seqOf(after: string): number {
    const cursor = this.#s.seqOf.get(after);
    if (cursor === undefined) throw new BuildStoreError('NOT_FOUND', `after: no build ${after}`);
    return cursor.seq;
  }

  /** @inheritdoc */
  async countBuildsByVerdict(): Promise<Readonly<Record<BuildVerdict, number>>> {
    const counts = Object.fromEntries(buildVerdicts.map((v) => [v, 0])) as Record<BuildVerdict, number>;
    for (const row of this.#s.verdictCounts.all()) {
      if ((buildVerdicts as readonly string[]).includes(row.verdict))
        counts[row.verdict as BuildVerdict] = row.builds;
    }
    return Object.freeze(counts);
  }

  /** @inheritdoc */
  async createAttempt(input: NewAttempt): Promise<AttemptRecord> {
    this.#c.write(() =>
      this.#s.insertAttempt.run({
        job_id: input.jobId,
        build_id: input.buildId,
        worker_id: input.workerId,
        operator: input.operator,
        attempt: input.attempt,
        nonce: input.nonce,
        assigned_at: epochMs(input.assignedAt),
        lease_expires_at: optionalEpochMs(input.leaseExpiresAt),
        run_limit_ms: input.runLimitMs ?? null,
      }),
    );
    return mapAttempt(this.#s.attemptByJobId.get(input.jobId)!);
  }

  /** @inheritdoc */
  async getAttemptByJobId(jobId: string): Promise<AttemptRecord | undefined> {
    const row = this.#s.attemptByJobId.get(jobId);
    return row === undefined ? undefined : mapAttempt(row);
  }

  /** @inheritdoc */
  async listAttempts(buildId: string): Promise<readonly AttemptRecord[]> {
    return Object.freeze(this.#s.listAttempts.all(buildId).map(mapAttempt));
  }

  /** @inheritdoc */
  async countOpenAttempts(buildId: string): Promise<number> {
    return this.#s.countOpenAttempts.get(buildId)!.n;
  }

  /** @inheritdoc */
  async summarizeAttempts(buildId: string): Promise<AttemptSummary> {
    return this.#c.read(() => {
      const byWorker = this.#s.attemptsByWorker.all(buildId).map((row) =>
        Object.freeze({
          workerId: row.worker_id,
          operator: row.operator,
          attempts: row.attempts,
          open: row.open,
        }),
      );
      const failures = this.#s.attemptFailures.get(buildId)!;
      return Object.freeze({
        total: byWorker.reduce((sum, worker) => sum + worker.attempts, 0),
        byWorker: Object.freeze(byWorker),
        buildFailures: failures.build_failures,
        infrastructureFailures: failures.infrastructure_failures,
        lastFailureAtMs: failures.last_failure_at,
      });
    });
  }

  /** @inheritdoc */
  async finishAttempt(jobId: string, outcome: AttemptOutcome): Promise<AttemptRecord> {
    const row = this.#c.write(() => {
      const current = this.#s.attemptByJobId.get(jobId);
      if (current === undefined) throw new BuildStoreError('NOT_FOUND', `jobId: no attempt for job ${jobId}`);
      // Finishing again in the same state is a retry: the first finish stands.
      if (current.state !== 'open' && current.state === outcome.state) return current;
      this.#s.finishAttempt.run(outcome.state, epochMs(outcome.finishedAt), outcome.reason ?? null, jobId);
      const after = this.#s.attemptByJobId.get(jobId)!;
      // The schema refuses reopening; a finished attempt left as it was is a conflicting finish.
      if (after.state !== outcome.state) {
        throw new BuildStoreError('CONFLICT', `state: attempt ${jobId} already finished as ${current.state}`);
      }
      return after;
    });
    return mapAttempt(row);
  }

  /** @inheritdoc */
  async renewLeases(workerId: string | undefined, until: Date, queuedUntil: Date = until): Promise<number> {
    const times = { until: epochMs(until), queued: epochMs(queuedUntil) };
    if (times.until === null || times.queued === null)
      throw new BuildStoreError('INVALID', 'until: expected a valid Date');
    if (workerId === undefined) return this.#s.renewAllLeases.run(times).changes;
    return this.#s.renewWorkerLeases.run({ ...times, worker_id: workerId }).changes;
  }

  /** @inheritdoc */
  async renewRunningLeases(
    workerId: string,
    running: readonly string[],
    leases: HeartbeatLeases,
  ): Promise<readonly string[]> {
    const now = epochMs(leases.now);
    const until = epochMs(leases.runningUntil);
    const queuedUntil = epochMs(leases.queuedUntil);
    if (now === null || until === null || queuedUntil === null)
      throw new BuildStoreError('INVALID', 'leases: expected valid Dates');
    return this.#c.write(() => {
      const renewed: string[] = [];
      for (const jobId of new Set(running)) {
        const changed = this.#s.renewRunningLease.run({ job_id: jobId, worker_id: workerId, now, until });
        if (changed.changes > 0) renewed.push(jobId);
      }
      if (renewed.length > 0) this.#s.extendQueuedLeases.run({ worker_id: workerId, until: queuedUntil });
      return Object.freeze(renewed);
    });
  }

  /** @inheritdoc */
  async listExpiredAttempts(now: Date): Promise<readonly AttemptRecord[]> {
    return Object.freeze(this.#s.expiredAttempts.all(now.getTime()).map(mapAttempt));
  }

  /** @inheritdoc */
  async listOpenAttempts(): Promise<readonly AttemptRecord[]> {
    return Object.freeze(this.#s.listOpenAttempts.all().map(mapAttempt));
  }

  /** @inheritdoc */
  async countOpenAttemptsByWorker(): Promise<ReadonlyMap<string, number>> {
    return new Map(this.#s.openAttemptsByWorker.all().map((row) => [row.worker_id, row.n]));
  }

  /** @inheritdoc */
  async recordVerdict(input: NewVerdict): Promise<VerdictRecord & { readonly duplicate: boolean }> {
    const consensus = input.consensusEnvelopeSha256 ?? null;
    const divergence = input.divergenceReportSha256 ?? null;
    return this.#c.write(() => {
      const build = this.#s.buildById.get(input.buildId);
      const latest = this.#s.latestVerdict.get(input.buildId);
      if (
        latest !== undefined &&
        latest.verdict === input.verdict &&
        latest.decision_json === input.decisionJson &&
        latest.consensus_envelope_sha256 === consensus &&
        latest.divergence_report_sha256 === divergence
      ) {
        return Object.freeze({ ...mapVerdict(latest), duplicate: true });
      }
      // The schema refuses an unknown build, a malformed row, and any sequence or previous verdict
      // but the next one; it then makes this the build's current verdict.
      const row: VerdictRow = {
        build_id: input.buildId,
        sequence: (latest?.sequence ?? 0) + 1,
        verdict: input.verdict,
        previous_verdict: build?.verdict ?? 'pending',
        decision_json: input.decisionJson,
        consensus_envelope_sha256: consensus,
        divergence_report_sha256: divergence,
        decided_at: epochMs(input.decidedAt) as number,
      };
      this.#s.insertVerdict.run(row);
      return Object.freeze({ ...mapVerdict(row), duplicate: false });
    });
  }

  /** @inheritdoc */
  async getVerdictHistory(buildId: string): Promise<readonly VerdictRecord[]> {
    return Object.freeze(this.#s.verdictHistory.all(buildId).map(mapVerdict));
  }

  /** @inheritdoc */
  async getLatestVerdict(buildId: string): Promise<VerdictRecord | undefined> {
    const row = this.#s.latestVerdict.get(buildId);
    return row === undefined ? undefined : mapVerdict(row);
  }
}
