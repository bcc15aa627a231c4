// The alerts aggregate on SQLite (migration 13): subscriptions, the pending verdict changes a trigger
// on verdict_history queues, the append-only event outbox, and webhook deliveries.
import type { AlertKind } from '../../../services/alerts/alert-event.ts';
import type { AlertFilter } from '../../../services/api/alerts.ts';
import type { Verdict } from '../../../services/consensus/verdict.ts';
import type { Sha256Hex } from '../../../services/digest.ts';
import {
  type AlertDeadLetterRecord,
  type AlertEventRecord,
  type AlertStore,
  type AlertSubscriptionRecord,
  type DeliveryOutcome,
  type DueDelivery,
  deliveryKey,
  type EarlierBuild,
  type NewAlertEvent,
  type NewAlertSubscription,
  type PendingAlertVerdict,
} from '../../../services/storage/alert-store.ts';
import { BuildStoreError, MAX_PAGE } from '../../../services/storage/store-error.ts';
import { frozenArray, iso, optional } from './row-mapping.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

interface SubscriptionRow {
  subscription_id: string;
  kind: 'webhook';
  url: string;
  maintainer: string | null;
  package: string | null;
  architecture: string | null;
  suite: string | null;
  created_by: string;
  created_at: number;
}

interface EventRow {
  seq: number;
  event_id: string;
  kind: AlertKind;
  build_id: string;
  package: string;
  version: string;
  architecture: string;
  maintainer: string;
  verdict: Verdict;
  summary: string;
  body_json: string;
  occurred_at: number;
}

/** An event filter in SQL: a NULL parameter matches every event. A suite is one of the build's (migration 15). */
const EVENT_FILTER = `(@maintainer IS NULL OR maintainer = @maintainer)
  AND (@package IS NULL OR package = @package)
  AND (@architecture IS NULL OR architecture = @architecture)
  AND (@suite IS NULL OR EXISTS (SELECT 1 FROM build_suites s
    WHERE s.build_id = alert_events.build_id AND s.suite = @suite))`;

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insertSubscription: db.prepare(
      `INSERT INTO alert_subscriptions (subscription_id, kind, url, secret, maintainer, package,
         architecture, suite, created_by, created_at)
       VALUES (@subscription_id, @kind, @url, @secret, @maintainer, @package, @architecture, @suite,
         @created_by, @created_at)`,
    ),
    subscriptions: db.prepare<[], SubscriptionRow>(
      `SELECT subscription_id, kind, url, maintainer, package, architecture, suite, created_by, created_at
       FROM alert_subscriptions ORDER BY created_at, subscription_id`,
    ),
    deleteSubscription: db.prepare<[string]>('DELETE FROM alert_subscriptions WHERE subscription_id = ?'),
    pendingVerdicts: db.prepare<
      [number],
      { build_id: string; sequence: number; verdict: Verdict; previous_verdict: Verdict; decided_at: number }
    >(
      `SELECT p.build_id, p.sequence, v.verdict, v.previous_verdict, v.decided_at
       FROM alert_verdicts_pending p JOIN verdict_history v USING (build_id, sequence)
       ORDER BY v.rowid LIMIT ?`,
    ),
    buildSuites: db
      .prepare<[string], string>('SELECT suite FROM build_suites WHERE build_id = ? ORDER BY suite')
      .pluck(),
    // builds_name indexes (name, seq): a walk back from this build over its package's history only.
    earlierBuilds: db.prepare<
      [string, number],
      { build_id: string; manifest_sha256: Sha256Hex; manifest_json: string; verdict: Verdict }
    >(
      `SELECT e.build_id, e.manifest_sha256, e.manifest_json, e.verdict
       FROM builds b JOIN builds e ON e.name = b.name AND e.seq < b.seq
         AND e.architecture = b.architecture AND e.backend = b.backend
       WHERE b.build_id = ? ORDER BY e.seq DESC LIMIT ?`,
    ),
    insertEvent: db.prepare(
      `INSERT OR IGNORE INTO alert_events (event_id, kind, build_id, verdict_sequence, package, version,
         architecture, maintainer, verdict, summary, body_json, occurred_at)
       VALUES (@event_id, @kind, @build_id, @verdict_sequence, @package, @version, @architecture,
         @maintainer, @verdict, @summary, @body_json, @occurred_at)`,
    ),
    queueDeliveries: db.prepare(
      `INSERT OR IGNORE INTO alert_deliveries (subscription_id, event_seq, state, next_attempt_at)
       SELECT subscription_id, @seq, 'pending', @occurred_at FROM alert_subscriptions
       WHERE (maintainer IS NULL OR maintainer = @maintainer)
         AND (package IS NULL OR package = @package)
         AND (architecture IS NULL OR architecture = @architecture)
         AND (suite IS NULL OR EXISTS (SELECT 1 FROM build_suites s
           WHERE s.build_id = @build_id AND s.suite = alert_subscriptions.suite))`,
    ),
    deletePending: db.prepare<[string, number]>(
      'DELETE FROM alert_verdicts_pending WHERE build_id = ? AND sequence = ?',
    ),
    events: db.prepare<
      [
        {
          maintainer: string | null;
          package: string | null;
          architecture: string | null;
          suite: string | null;
          limit: number;
        },
      ],
      EventRow
    >(`SELECT * FROM alert_events WHERE ${EVENT_FILTER} ORDER BY seq DESC LIMIT @limit`),
    dueDeliveries: db.prepare<[number, number], DueDeliveryRow>(
      `SELECT d.subscription_id, d.event_seq, d.attempts, e.event_id, e.body_json, s.url, s.secret
       FROM alert_deliveries d
         JOIN alert_events e ON e.seq = d.event_seq
         JOIN alert_subscriptions s ON s.subscription_id = d.subscription_id
       WHERE d.state = 'pending' AND d.next_attempt_at <= ?
       ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`,
    ),
    delivered: db.prepare<[number, string, number]>(
      `UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = ?
       WHERE subscription_id = ? AND event_seq = ? AND state = 'pending'`,
    ),
    retry: db.prepare<[string, number, string, number]>(
      `UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
       WHERE subscription_id = ? AND event_seq = ? AND state = 'pending'`,
    ),
    dead: db.prepare<[string, number, string, number]>(
      `UPDATE alert_deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?, finished_at = ?
       WHERE subscription_id = ? AND event_seq = ? AND state = 'pending'`,
    ),
    deadLetters: db.prepare<[number], DeadLetterRow>(
      `SELECT d.subscription_id, e.event_id, e.kind, s.url, d.attempts, d.last_error, d.finished_at
       FROM alert_deliveries d
         JOIN alert_events e ON e.seq = d.event_seq
         JOIN alert_subscriptions s ON s.subscription_id = d.subscription_id
       WHERE d.state = 'dead' ORDER BY d.finished_at DESC, d.event_seq DESC LIMIT ?`,
    ),
  };
}

interface DueDeliveryRow {
  subscription_id: string;
  event_seq: number;
  attempts: number;
  event_id: string;
  body_json: string;
  url: string;
  secret: string;
}

interface DeadLetterRow {
  subscription_id: string;
  event_id: string;
  kind: AlertKind;
  url: string;
  attempts: number;
  last_error: string | null;
  finished_at: number;
}

function mapSubscription(row: SubscriptionRow): AlertSubscriptionRecord {
  return Object.freeze({
    subscriptionId: row.subscription_id,
    kind: row.kind,
    url: row.url,
    ...optional('maintainer', row.maintainer),
    ...optional('package', row.package),
    ...optional('architecture', row.architecture),
    ...optional('suite', row.suite),
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  });
}

function filterParams(filter: AlertFilter) {
  return {
    maintainer: filter.maintainer ?? null,
    package: filter.package ?? null,
    architecture: filter.architecture ?? null,
    suite: filter.suite ?? null,
  };
}

function pageLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new BuildStoreError('INVALID', `limit: expected 1..${MAX_PAGE}`);
  return limit;
}

/** The {@link AlertStore} on the coordinator's SQLite file. */
export class SqliteAlertStore implements AlertStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  async addSubscription(input: NewAlertSubscription): Promise<AlertSubscriptionRecord> {
    this.#c.write(() =>
      this.#s.insertSubscription.run({
        subscription_id: input.subscriptionId,
        kind: input.kind,
        url: input.url,
        secret: input.secret,
        ...filterParams(input),
        created_by: input.createdBy,
        created_at: input.createdAt.getTime(),
      }),
    );
    return mapSubscription({
      subscription_id: input.subscriptionId,
      kind: input.kind,
      url: input.url,
      ...filterParams(input),
      created_by: input.createdBy,
      created_at: input.createdAt.getTime(),
    });
  }

  async listSubscriptions(): Promise<readonly AlertSubscriptionRecord[]> {
    return frozenArray(this.#s.subscriptions.all().map(mapSubscription));
  }

  async removeSubscription(subscriptionId: string): Promise<boolean> {
    return this.#c.write(() => this.#s.deleteSubscription.run(subscriptionId).changes > 0);
  }

  async listPendingVerdicts(limit: number): Promise<readonly PendingAlertVerdict[]> {
    return frozenArray(
      this.#s.pendingVerdicts.all(pageLimit(limit)).map((row) => ({
        buildId: row.build_id,
        sequence: row.sequence,
        verdict: row.verdict,
        previousVerdict: row.previous_verdict,
        decidedAt: iso(row.decided_at),
      })),
    );
  }

  async listBuildSuites(buildId: string): Promise<readonly string[]> {
    return frozenArray(this.#s.buildSuites.all(buildId));
  }

  async listEarlierBuilds(buildId: string, limit: number): Promise<readonly EarlierBuild[]> {
    return frozenArray(
      this.#s.earlierBuilds.all(buildId, pageLimit(limit)).map((row) => ({
        buildId: row.build_id,
        manifestSha256: row.manifest_sha256,
        manifestJson: row.manifest_json,
        verdict: row.verdict,
      })),
    );
  }

  async settlePendingVerdict(
    pending: Pick<PendingAlertVerdict, 'buildId' | 'sequence'>,
    event?: NewAlertEvent,
  ): Promise<void> {
    this.#c.write(() => {
      if (event !== undefined) {
        const occurredAt = event.occurredAt.getTime();
        const inserted = this.#s.insertEvent.run({
          event_id: event.eventId,
          kind: event.kind,
          build_id: event.buildId,
          verdict_sequence: event.verdictSequence,
          package: event.package,
          version: event.version,
          architecture: event.architecture,
          maintainer: event.maintainer,
          verdict: event.verdict,
          summary: event.summary,
          body_json: event.bodyJson,
          occurred_at: occurredAt,
        });
        if (inserted.changes > 0) {
          this.#s.queueDeliveries.run({
            seq: inserted.lastInsertRowid,
            occurred_at: occurredAt,
            maintainer: event.maintainer,
            package: event.package,
            architecture: event.architecture,
            build_id: event.buildId,
          });
        }
      }
      this.#s.deletePending.run(pending.buildId, pending.sequence);
    });
  }

  async listEvents(filter: AlertFilter, limit: number): Promise<readonly AlertEventRecord[]> {
    return frozenArray(
      this.#s.events.all({ ...filterParams(filter), limit: pageLimit(limit) }).map((row) => ({
        seq: row.seq,
        eventId: row.event_id,
        kind: row.kind,
        buildId: row.build_id,
        package: row.package,
        version: row.version,
        architecture: row.architecture,
        maintainer: row.maintainer,
        verdict: row.verdict,
        summary: row.summary,
        bodyJson: row.body_json,
        occurredAt: iso(row.occurred_at),
      })),
    );
  }

  async listDueDeliveries(
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
  ): Promise<readonly DueDelivery[]> {
    // Asks for enough rows that the ones in flight cannot crowd out the rest.
    const rows = this.#s.dueDeliveries.all(now.getTime(), pageLimit(limit) + exclude.size);
    const due: DueDelivery[] = [];
    for (const row of rows) {
      const delivery: DueDelivery = {
        subscriptionId: row.subscription_id,
        eventSeq: row.event_seq,
        eventId: row.event_id,
        url: row.url,
        secret: row.secret,
        bodyJson: row.body_json,
        attempts: row.attempts,
      };
      if (!exclude.has(deliveryKey(delivery)) && due.length < limit) due.push(delivery);
    }
    return frozenArray(due);
  }

  async recordDeliveryAttempt(
    subscriptionId: string,
    eventSeq: number,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    this.#c.write(() => {
      const at = outcome.at.getTime();
      if (outcome.state === 'delivered') this.#s.delivered.run(at, subscriptionId, eventSeq);
      else if (outcome.state === 'retry')
        this.#s.retry.run(
          outcome.error.slice(0, 1024),
          outcome.nextAttemptAt.getTime(),
          subscriptionId,
          eventSeq,
        );
      else this.#s.dead.run(outcome.error.slice(0, 1024), at, subscriptionId, eventSeq);
    });
  }

  async listDeadLetters(limit: number): Promise<readonly AlertDeadLetterRecord[]> {
    return frozenArray(
      this.#s.deadLetters.all(pageLimit(limit)).map((row) => ({
        subscriptionId: row.subscription_id,
        eventId: row.event_id,
        kind: row.kind,
        url: row.url,
        attempts: row.attempts,
        lastError: row.last_error ?? '',
        deadAt: iso(row.finished_at),
      })),
    );
  }
}
