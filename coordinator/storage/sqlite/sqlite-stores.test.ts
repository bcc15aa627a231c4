// Tests for the SQLite stores (registry, builds, results, log, apt links) against real SQLite files
// in a temp directory, one database per test. Rows are refused by the schema itself (migration 8).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { canonicalizeJcs } from '../../../services/jcs.ts';
import type { NewAptLink } from '../../../services/storage/apt-link-store.ts';
import type { NewBuild } from '../../../services/storage/build-store.ts';
import type { WorkerEnrolment } from '../../../services/storage/registry-store.ts';
import type { NewResult } from '../../../services/storage/result-store.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import { logEntryHash } from '../../../services/storage/transparency-log.ts';
import { testJobNonce, testKeyid } from '../../../test/support/test-identifiers.ts';
import { undoMigrationsAbove } from '../../../test/support/undo-migrations.ts';
import { classifyFailures } from '../../scheduler/retry-policy.ts';
import { sqliteSchemaVersion } from './migrations/migrate.ts';
import { openSqliteStores, type SqliteStores } from './open-sqlite-stores.ts';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);
const digest = (label: string) => sha256Hex(label);

let dir: string;
let dbPath: string;
let store: SqliteStores;
const opened: { close(): unknown }[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-db-'));
  dbPath = join(dir, 'rbnet.sqlite');
  store = open();
});

afterEach(async () => {
  for (const handle of opened.splice(0)) await handle.close();
  await rm(dir, { recursive: true, force: true });
});

function open(): SqliteStores {
  const s = openSqliteStores(dbPath);
  opened.push(s);
  return s;
}

/** A second, raw connection: what an attacker or a careless admin with the sqlite3 shell could do. */
function raw(): Database.Database {
  const db = new Database(dbPath);
  opened.push(db);
  return db;
}

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(BuildStoreError);
  expect((error as BuildStoreError).code).toBe(code);
  if (field !== undefined) expect((error as BuildStoreError).message.startsWith(`${field}:`)).toBe(true);
}

function publicKeyPem(): string {
  return generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

let workerCounter = 0;
function workerInput(overrides: Partial<WorkerEnrolment> = {}): WorkerEnrolment {
  const n = ++workerCounter;
  return {
    workerId: `worker-${n}`,
    operator: 'acme',
    signingKeyPem: publicKeyPem(),
    signingKeyid: testKeyid(`keyid-${n}`),
    architectures: ['amd64'],
    backends: ['docker'],
    capacity: { cores: 4, memoryBytes: 8 * 2 ** 30, diskBytes: 100 * 2 ** 30 },
    queueName: `rbnet-worker-${n}`,
    redisUser: `rbnet-worker-${n}`,
    enrolledAt: T0,
    ...overrides,
  };
}

function buildInput(overrides: Partial<NewBuild> = {}): NewBuild {
  const buildId = overrides.buildId ?? randomUUID();
  const manifestJson = canonicalizeJcs({ name: 'hello', version: '2.10-3', buildId });
  return {
    buildId,
    manifestSha256: sha256Hex(manifestJson),
    manifestJson,
    name: 'hello_2.10-3',
    architecture: 'amd64',
    backend: 'debian',
    claimedOutputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: digest('published deb') }],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'debian-maint',
    createdAt: T0,
    ...overrides,
  };
}

/** An operator, two workers of distinct operators, a build and one open attempt per worker. */
async function scenario() {
  await store.registry.addOperator('acme');
  await store.registry.addOperator('globex');
  const w1 = await store.registry.enrolWorker(workerInput({ operator: 'acme' }));
  const w2 = await store.registry.enrolWorker(workerInput({ operator: 'globex' }));
  const build = await store.builds.createBuild(buildInput());
  const a1 = await store.builds.createAttempt({
    buildId: build.buildId,
    workerId: w1.workerId,
    operator: 'acme',
    attempt: 1,
    jobId: `job-${w1.workerId}-1`,
    nonce: testJobNonce('0123456789abcdef'),
    assignedAt: at(1000),
    leaseExpiresAt: at(61_000),
  });
  const a2 = await store.builds.createAttempt({
    buildId: build.buildId,
    workerId: w2.workerId,
    operator: 'globex',
    attempt: 1,
    jobId: `job-${w2.workerId}-1`,
    nonce: testJobNonce('fedcba9876543210'),
    assignedAt: at(2000),
  });
  return { w1, w2, build, a1, a2 };
}

function resultInput(
  attempt: { buildId: string; workerId: string; operator: string; attempt: number; jobId: string },
  overrides: Partial<NewResult> = {},
): NewResult {
  return {
    buildId: attempt.buildId,
    workerId: attempt.workerId,
    operator: attempt.operator,
    attempt: attempt.attempt,
    jobId: attempt.jobId,
    envelopeSha256: digest(`envelope ${attempt.jobId}`),
    kind: 'built',
    outputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: digest('rebuilt deb'), sizeBytes: 1234 }],
    environmentSha256: digest('environment'),
    environmentOrigin: 'worker-built',
    inputsKey: digest('inputs'),
    logSha256: digest(`log ${attempt.jobId}`),
    counted: true,
    receivedAt: at(30_000),
    ...overrides,
  };
}

describe('SqliteBuildStore: leases', () => {
  it('renews open attempts of one worker or of all, and lists the expired ones', async () => {
    const { w1, a1, a2 } = await scenario(); // leases end at 61 s and later
    expect((await store.builds.listExpiredAttempts(at(62_000))).map((a) => a.jobId)).toContain(a1.jobId);
    expect(await store.builds.renewLeases(w1.workerId, at(120_000))).toBe(1);
    expect((await store.builds.listExpiredAttempts(at(62_000))).map((a) => a.jobId)).not.toContain(a1.jobId);
    expect(await store.builds.renewLeases(undefined, at(5_000))).toBe(2);
    expect(await store.builds.listExpiredAttempts(at(20_000))).toHaveLength(2);
    await store.builds.finishAttempt(a1.jobId, { state: 'expired', finishedAt: at(21_000) });
    expect((await store.builds.listExpiredAttempts(at(99_000))).map((a) => a.jobId)).not.toContain(a1.jobId);
    // Load per worker, counted in the store: the one still open.
    expect(await store.builds.countOpenAttemptsByWorker()).toEqual(new Map([[a2.workerId, 1]]));
  });

  it('a heartbeat renews only the named open attempts of its own worker, up to their run limit', async () => {
    const { w1, a1, a2 } = await scenario(); // a1 leased to 61 s, a2 has no lease
    const queued = await store.builds.createAttempt({
      buildId: (await store.builds.createBuild(buildInput())).buildId,
      workerId: w1.workerId,
      operator: 'acme',
      attempt: 1,
      jobId: `job-${w1.workerId}-queued`,
      nonce: testJobNonce('queued-0123456789'),
      assignedAt: at(3000),
      leaseExpiresAt: at(33_000),
      runLimitMs: 100_000,
    });
    const leases = (nowMs: number) => ({
      now: at(nowMs),
      runningUntil: at(nowMs + 60_000),
      queuedUntil: at(nowMs + 30_000),
    });
    // Naming nothing, or someone else's job, renews nothing and starts nothing.
    expect(await store.builds.renewRunningLeases(w1.workerId, [], leases(10_000))).toEqual([]);
    expect(await store.builds.renewRunningLeases(w1.workerId, [a2.jobId], leases(10_000))).toEqual([]);
    expect((await store.builds.getAttemptByJobId(a2.jobId))?.startedAt).toBeUndefined();
    expect((await store.builds.getAttemptByJobId(queued.jobId))?.leaseExpiresAt).toBe(
      at(33_000).toISOString(),
    );

    // Naming the queued job starts it; the worker's other unstarted job (a1) waits behind it.
    expect(await store.builds.renewRunningLeases(w1.workerId, [queued.jobId], leases(20_000))).toEqual([
      queued.jobId,
    ]);
    const started = await store.builds.getAttemptByJobId(queued.jobId);
    expect(started).toMatchObject({ startedAt: at(20_000).toISOString(), runLimitMs: 100_000 });
    expect(started?.leaseExpiresAt).toBe(at(80_000).toISOString());
    expect((await store.builds.getAttemptByJobId(a1.jobId))?.leaseExpiresAt).toBe(at(61_000).toISOString());
    expect(await store.builds.renewRunningLeases(w1.workerId, [queued.jobId], leases(40_000))).toEqual([
      queued.jobId,
    ]);
    expect((await store.builds.getAttemptByJobId(a1.jobId))?.leaseExpiresAt).toBe(at(70_000).toISOString());

    // Never past startedAt + runLimitMs (120 s), and not at all once it is over.
    await store.builds.renewRunningLeases(w1.workerId, [queued.jobId], leases(100_000));
    expect((await store.builds.getAttemptByJobId(queued.jobId))?.leaseExpiresAt).toBe(
      at(120_000).toISOString(),
    );
    expect(await store.builds.renewRunningLeases(w1.workerId, [queued.jobId], leases(120_000))).toEqual([]);
    // A restore's renewal respects the run limit too, and gives what is still queued its own deadline.
    await store.builds.renewLeases(w1.workerId, at(500_000), at(130_000));
    expect((await store.builds.getAttemptByJobId(queued.jobId))?.leaseExpiresAt).toBe(
      at(120_000).toISOString(),
    );
    expect((await store.builds.getAttemptByJobId(a1.jobId))?.leaseExpiresAt).toBe(at(130_000).toISOString());
    // A finished attempt is never renewed again.
    await store.builds.finishAttempt(a1.jobId, { state: 'expired', finishedAt: at(121_000) });
    expect(await store.builds.renewRunningLeases(w1.workerId, [a1.jobId], leases(122_000))).toEqual([]);
  });
});

describe('SqliteBuildStore: opening and migrations', () => {
  it('creates the schema once, in WAL mode, and reopening the same file changes nothing', async () => {
    expect(store.schemaVersion()).toBe(sqliteSchemaVersion);
    await store.registry.addOperator('acme');
    const second = open(); // while the first is still open
    const third = open();
    expect(second.schemaVersion()).toBe(sqliteSchemaVersion);
    expect(await third.registry.listOperators()).toHaveLength(1);
    const db = raw();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const rows = db.prepare('SELECT version, name FROM schema_migrations').all();
    expect(rows).toEqual([
      { version: 1, name: 'initial schema' },
      { version: 2, name: 'worker redis password hash; lease lookups' },
      { version: 3, name: 'apt links served to apt-transport-in-toto' },
      {
        version: 4,
        name: 'revocation kinds; apt link products and conflicts; pending index; verdict counters; byproduct index',
      },
      { version: 5, name: 'durable replay record; content-store ledger: owners, usage, references' },
      { version: 6, name: 'attempts: started by a heartbeat, run limit' },
      { version: 7, name: 'why an attempt closed without a report' },
      { version: 8, name: 'integrity in SQL; derived rows kept by triggers; verified result facts' },
      {
        version: 9,
        name: 'web page aggregates: packages, counts per family, daily changes, hourly outcomes',
      },
      { version: 10, name: 'tiled transparency log: sequence, tiles, head' },
      { version: 11, name: 'consensus feed and package index' },
      { version: 12, name: 'sync profiles and their progress' },
      { version: 13, name: 'alerts: subscriptions, event outbox, webhook deliveries' },
      { version: 14, name: 'sync uploads keyed by binary version (binNMUs), skipped uploads' },
      { version: 15, name: 'build suites, suite feeds, verdict log indexes' },
      { version: 16, name: 'transparency log: backfill the results recorded before it' },
      { version: 17, name: 'transparency log entries in chunks of 16' },
      { version: 18, name: 'transparency log entries one per row' },
    ]);
  });

  it('migrates a version 3 database: revoked workers retired, verdicts counted, unproven apt links dropped', async () => {
    await store.close();
    await rm(dbPath, { force: true });
    // A version 3 file, written the way version 3 wrote it.
    const old = raw();
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
      applied_at INTEGER NOT NULL) STRICT`);
    const v3 = openSqliteStores(dbPath);
    opened.push(v3);
    await v3.registry.addOperator('acme');
    const retired = await v3.registry.enrolWorker(workerInput());
    await v3.registry.enrolWorker(workerInput());
    const pending = await v3.builds.createBuild(buildInput());
    const decided = await v3.builds.createBuild(buildInput());
    await v3.builds.recordVerdict({
      buildId: decided.buildId,
      verdict: 'failed',
      decisionJson: '{}',
      decidedAt: T0,
    });
    await v3.registry.revokeWorker(retired.workerId, at(5));
    await v3.aptLinks.replaceAptLinks(
      decided.buildId,
      [
        {
          architecture: 'amd64',
          operator: 'acme',
          package: 'hello',
          version: '1',
          linkSha256: digest('l'),
          productsSha256: digest('p'),
          workerId: retired.workerId,
        },
      ],
      T0,
    );
    await v3.close();
    // Roll the file back to version 3: what migrations 9 to 4 added is undone by hand.
    undoMigrationsAbove(old, 7);
    old.exec(`DELETE FROM schema_migrations WHERE version = 7; ALTER TABLE attempts DROP COLUMN failure_reason;
      DELETE FROM schema_migrations WHERE version = 6;
      ALTER TABLE attempts DROP COLUMN started_at; ALTER TABLE attempts DROP COLUMN run_limit_ms;
      DELETE FROM schema_migrations WHERE version = 5;
      DROP TRIGGER builds_blob_refs; DROP TRIGGER results_blob_refs; DROP TRIGGER verdict_history_blob_refs;
      DROP TRIGGER log_entries_blob_refs; DROP TRIGGER apt_links_blob_refs; DROP TRIGGER apt_links_blob_refs_update;
      DROP TABLE blob_refs; DROP TABLE blob_usage; DROP TABLE blob_owners; DROP TABLE blobs; DROP TABLE auth_nonces;
      DELETE FROM schema_migrations WHERE version = 4;
      DROP TRIGGER builds_count_insert; DROP TRIGGER builds_count_verdict; DROP TRIGGER builds_count_delete;
      DROP TABLE verdict_counts; DROP TABLE apt_link_conflicts; DROP TABLE result_byproducts;
      DROP INDEX builds_pending; DROP INDEX results_worker_received; DROP INDEX attempts_open_worker;
      ALTER TABLE workers DROP COLUMN revocation_kind; ALTER TABLE workers DROP COLUMN compromised_since;
      DROP TABLE apt_links;
      CREATE TABLE apt_links (architecture TEXT NOT NULL, operator TEXT NOT NULL, package TEXT NOT NULL,
        version TEXT NOT NULL, link_sha256 TEXT NOT NULL, build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (architecture, operator, package, version)) STRICT, WITHOUT ROWID;
      INSERT INTO apt_links VALUES ('amd64', 'acme', 'hello', '1', '${digest('l')}', '${decided.buildId}', '${retired.workerId}', 0);`);
    expect(old.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: 3 });

    const migrated = open();
    expect(migrated.schemaVersion()).toBe(sqliteSchemaVersion);
    expect((await migrated.registry.getWorker(retired.workerId))?.revocation).toEqual({ kind: 'retired' });
    // Migration 10: the keys in use, then the revocation, enter the tiled log's sequence.
    const sequenced = migrated.tiledLog.sequencedFrom(0, 10).map((e) => JSON.parse(e.factsJson).event);
    expect(sequenced).toEqual(['enrolled', 'enrolled', 'retired']);
    const counts = await migrated.builds.countBuildsByVerdict();
    expect([counts.pending, counts.failed, counts.reproducible]).toEqual([1, 1, 0]);
    expect(await migrated.builds.listPendingBuildIds()).toEqual([pending.buildId]);
    expect(await migrated.aptLinks.getAptLink('amd64', 'acme', 'hello', '1')).toBeUndefined();
    // Migration 11 projects what was recorded before it: every build, every verdict change.
    const feed = await migrated.feed.readFeed({ after: 0, limit: 10 });
    expect(feed.entries.map((e) => [e.buildId, e.verdict])).toEqual([[decided.buildId, 'failed']]);
    const [builds] = await migrated.feed.findPackageBuilds([{ source: decided.name }], 10);
    expect(builds?.map((b) => b.verdict)).toContain('failed');
  });

  it('refuses a database written by a newer rbnet', async () => {
    await store.close();
    raw()
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(999, 'future', 0);
    expect(() => openSqliteStores(dbPath)).toThrow(
      expect.objectContaining({ code: 'SCHEMA', message: expect.stringContaining('999') }),
    );
  });

  it('closes idempotently', async () => {
    await store.close();
    await store.close();
    await expect(store.registry.listOperators()).rejects.toThrow();
  });
});

describe('SqliteBuildStore: operators and maintainers', () => {
  it('adds and lists operators by name, refusing duplicates and bad names', async () => {
    const acme = await store.registry.addOperator('acme', T0);
    expect(acme).toEqual({ name: 'acme', createdAt: '2024-05-01T12:00:00.000Z' });
    expect(Object.isFrozen(acme)).toBe(true);
    await store.registry.addOperator('0xdeadbeef.org');
    expect((await store.registry.listOperators()).map((o) => o.name)).toEqual(['0xdeadbeef.org', 'acme']);
    await expectError(store.registry.addOperator('acme'), 'CONFLICT', 'name');
    for (const bad of ['', 'Acme', '-acme', 'a'.repeat(64), 'a b', 'a/b']) {
      await expectError(store.registry.addOperator(bad), 'INVALID', 'name');
    }
  });

  it('adds and lists maintainers', async () => {
    await store.registry.addMaintainer('debian-maint', T0);
    expect(await store.registry.listMaintainers()).toEqual([
      { name: 'debian-maint', createdAt: T0.toISOString() },
    ]);
    await expectError(store.registry.addMaintainer('debian-maint'), 'CONFLICT', 'name');
    await expectError(store.registry.addMaintainer('Debian'), 'INVALID', 'name');
  });
});

describe('SqliteBuildStore: tokens', () => {
  beforeEach(async () => {
    await store.registry.addOperator('acme');
    await store.registry.addMaintainer('debian-maint');
  });

  it('returns a secret once, stores only its hash, and authenticates by scope', async () => {
    const { tokenId, secret } = await store.registry.createToken({
      kind: 'maintainer',
      subject: 'debian-maint',
      scopes: ['submit'],
      singleUse: false,
      createdAt: T0,
    });
    expect(secret).toMatch(/^rbnet_maintainer_[A-Za-z0-9_-]{43}$/);
    const token = await store.registry.authenticateToken(secret, 'submit', at(1));
    expect(token).toEqual({
      tokenId,
      kind: 'maintainer',
      subject: 'debian-maint',
      scopes: ['submit'],
      singleUse: false,
      createdAt: T0.toISOString(),
    });
    expect(Object.isFrozen(token)).toBe(true);
    expect(Object.isFrozen(token?.scopes)).toBe(true);
    // A multi-use token keeps working.
    expect(await store.registry.authenticateToken(secret, 'submit', at(2))).toBeDefined();
    expect(await store.registry.authenticateToken(secret, 'admin', at(2))).toBeUndefined();
    const altered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await store.registry.authenticateToken(altered, 'submit', at(2))).toBeUndefined();
    expect(await store.registry.authenticateToken('rbnet_admin_short', 'submit', at(2))).toBeUndefined();
    expect(await store.registry.authenticateToken(42 as unknown as string, 'submit', at(2))).toBeUndefined();
    await expectError(
      store.registry.authenticateToken(secret, 'Not A Scope', at(2)),
      'INVALID',
      'requiredScope',
    );
  });

  it('never writes the secret to the database files', async () => {
    const secrets: string[] = [];
    for (const kind of ['admin', 'maintainer', 'enrolment'] as const) {
      const subject = kind === 'enrolment' ? 'acme' : kind === 'maintainer' ? 'debian-maint' : 'root';
      const scopes = kind === 'enrolment' ? ['enrol'] : kind === 'admin' ? ['admin'] : ['submit'];
      const { secret } = await store.registry.createToken({
        kind,
        subject,
        scopes,
        singleUse: kind === 'enrolment',
      });
      secrets.push(secret);
    }
    expect(await store.registry.consumeEnrolmentToken(secrets[2]!, new Date())).toBe('acme');
    const search = async () => {
      const names = (await readdir(dir)).filter((name) => name.startsWith('rbnet.sqlite'));
      const bytes = Buffer.concat(await Promise.all(names.map((name) => readFile(join(dir, name)))));
      return bytes;
    };
    // Both while open (main file plus write-ahead log) and after the log was checkpointed on close.
    for (const phase of ['open', 'closed']) {
      if (phase === 'closed') await store.close();
      const bytes = await search();
      for (const secret of secrets) {
        // The prefix has two underscores and base64url may contain more: cut by the known length.
        const randomPart = secret.slice(-43);
        expect(Buffer.from(randomPart, 'base64url')).toHaveLength(32);
        expect(bytes.includes(Buffer.from(secret)), `${phase}: secret in files`).toBe(false);
        expect(bytes.includes(Buffer.from(randomPart)), `${phase}: secret bytes in files`).toBe(false);
        expect(
          bytes.includes(Buffer.from(Buffer.from(randomPart, 'base64url'))),
          `${phase}: raw secret`,
        ).toBe(false);
        // The search does look in the right place: the secret's hash is there.
        expect(bytes.includes(Buffer.from(sha256Hex(secret))), `${phase}: hash in files`).toBe(true);
      }
    }
  });

  it('stops authenticating at expiresAt and after revocation', async () => {
    const { tokenId, secret } = await store.registry.createToken({
      kind: 'admin',
      subject: 'root',
      scopes: ['admin', 'submit'],
      singleUse: false,
      createdAt: T0,
      expiresAt: at(60_000),
    });
    expect(await store.registry.authenticateToken(secret, 'submit', at(59_999))).toMatchObject({
      expiresAt: at(60_000).toISOString(),
    });
    expect(await store.registry.authenticateToken(secret, 'submit', at(60_000))).toBeUndefined();
    const other = await store.registry.createToken({
      kind: 'admin',
      subject: 'root',
      scopes: ['admin'],
      singleUse: false,
    });
    const revoked = await store.registry.revokeToken(other.tokenId, at(5));
    expect(revoked.revokedAt).toBe(at(5).toISOString());
    expect((await store.registry.revokeToken(other.tokenId, at(9))).revokedAt).toBe(at(5).toISOString());
    expect(await store.registry.authenticateToken(other.secret, 'admin', at(6))).toBeUndefined();
    await expectError(store.registry.revokeToken(randomUUID(), at(1)), 'NOT_FOUND', 'tokenId');
    expect(tokenId).not.toBe(other.tokenId);
  });

  it('spends a single-use token exactly once', async () => {
    const { secret } = await store.registry.createToken({
      kind: 'maintainer',
      subject: 'debian-maint',
      scopes: ['submit'],
      singleUse: true,
    });
    // The wrong scope does not spend it.
    expect(await store.registry.authenticateToken(secret, 'admin', at(1))).toBeUndefined();
    const results = await Promise.all([
      store.registry.authenticateToken(secret, 'submit', at(2)),
      open().registry.authenticateToken(secret, 'submit', at(2)),
    ]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    expect(results.find((r) => r !== undefined)?.usedAt).toBe(at(2).toISOString());
    expect(await store.registry.authenticateToken(secret, 'submit', at(3))).toBeUndefined();
  });

  it('consumes an enrolment token once and returns its operator', async () => {
    const { secret } = await store.registry.createToken({
      kind: 'enrolment',
      subject: 'acme',
      scopes: ['enrol'],
      singleUse: true,
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    expect(await store.registry.consumeEnrolmentToken(secret, new Date())).toBe('acme');
    expect(await store.registry.consumeEnrolmentToken(secret, new Date())).toBeUndefined();

    const expiring = await store.registry.createToken({
      kind: 'enrolment',
      subject: 'acme',
      scopes: ['enrol'],
      singleUse: true,
      createdAt: T0,
      expiresAt: at(1000),
    });
    expect(await store.registry.consumeEnrolmentToken(expiring.secret, at(1000))).toBeUndefined();
    // Expiry refused it without spending it.
    expect(await store.registry.consumeEnrolmentToken(expiring.secret, at(999))).toBe('acme');

    const admin = await store.registry.createToken({
      kind: 'admin',
      subject: 'root',
      scopes: ['enrol'],
      singleUse: true,
    });
    expect(await store.registry.consumeEnrolmentToken(admin.secret, new Date())).toBeUndefined();
  });

  it('validates tokens at creation', async () => {
    const base = { kind: 'enrolment', subject: 'acme', scopes: ['enrol'], singleUse: true } as const;
    await expectError(
      store.registry.createToken({ ...base, scopes: ['enrol', 'admin'] }),
      'INVALID',
      'scopes',
    );
    await expectError(store.registry.createToken({ ...base, subject: 'nobody' }), 'NOT_FOUND', 'subject');
    await expectError(
      store.registry.createToken({ ...base, kind: 'maintainer', subject: 'nobody' }),
      'NOT_FOUND',
      'subject',
    );
    await expectError(store.registry.createToken({ ...base, kind: 'root' as 'admin' }), 'INVALID', 'kind');
    await expectError(
      store.registry.createToken({ ...base, kind: 'admin', scopes: [] }),
      'INVALID',
      'scopes',
    );
    await expectError(
      store.registry.createToken({ ...base, kind: 'admin', scopes: ['A B'] }),
      'INVALID',
      'scopes[0]',
    );
    await expectError(
      store.registry.createToken({ ...base, createdAt: T0, expiresAt: T0 }),
      'INVALID',
      'expiresAt',
    );
  });
});

describe('SqliteBuildStore: workers', () => {
  beforeEach(async () => {
    await store.registry.addOperator('acme');
  });

  it('enrols, gets, lists and finds workers', async () => {
    const authKeyPem = publicKeyPem();
    const input = workerInput({ authKeyPem, authKeyid: testKeyid('auth-keyid-1') });
    const worker = await store.registry.enrolWorker(input);
    expect(worker).toEqual({
      workerId: input.workerId,
      operator: 'acme',
      signingKeyPem: input.signingKeyPem,
      signingKeyid: input.signingKeyid,
      authKeyPem,
      authKeyid: testKeyid('auth-keyid-1'),
      architectures: ['amd64'],
      backends: ['docker'],
      capacity: input.capacity,
      queueName: input.queueName,
      redisUser: input.redisUser,
      enrolledAt: T0.toISOString(),
    });
    expect(Object.isFrozen(worker.capacity)).toBe(true);
    expect(await store.registry.getWorker(input.workerId)).toEqual(worker);
    expect(await store.registry.getWorker('nobody')).toBeUndefined();
    expect(await store.registry.findWorkerBySigningKeyid(input.signingKeyid)).toEqual(worker);
    expect(await store.registry.listWorkers()).toEqual([worker]);
  });

  it('refuses unknown operators, reused identities and private keys', async () => {
    const first = await store.registry.enrolWorker(workerInput());
    await expectError(
      store.registry.enrolWorker(workerInput({ operator: 'nobody' })),
      'NOT_FOUND',
      'operator',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ workerId: first.workerId })),
      'CONFLICT',
      'workerId',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ signingKeyid: first.signingKeyid })),
      'CONFLICT',
      'signingKeyid',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ queueName: first.queueName })),
      'CONFLICT',
      'queueName',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ redisUser: first.redisUser })),
      'CONFLICT',
      'redisUser',
    );
    const privatePem = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await expectError(
      store.registry.enrolWorker(workerInput({ signingKeyPem: privatePem })),
      'INVALID',
      'signingKeyPem',
    );
    await expectError(
      store.registry.enrolWorker(
        workerInput({ signingKeyPem: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n' }),
      ),
      'INVALID',
      'signingKeyPem',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ authKeyPem: publicKeyPem() })),
      'INVALID',
      'authKeyPem',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ architectures: [] })),
      'INVALID',
      'architectures',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ backends: ['docker', 'docker'] })),
      'INVALID',
      'backends',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ capacity: { cores: 0, memoryBytes: 1, diskBytes: 1 } })),
      'INVALID',
      'capacity.cores',
    );
    await expectError(
      store.registry.enrolWorker(workerInput({ queueName: 'has:colon' })),
      'INVALID',
      'queueName',
    );
    expect(await store.registry.listWorkers()).toHaveLength(1);
  });

  it('revokes for good: idempotent, left out of active lists, key never re-enrolled', async () => {
    const worker = await store.registry.enrolWorker(workerInput());
    const other = await store.registry.enrolWorker(workerInput());
    const revoked = await store.registry.revokeWorker(worker.workerId, at(10));
    expect(revoked.revokedAt).toBe(at(10).toISOString());
    expect((await store.registry.revokeWorker(worker.workerId, at(20))).revokedAt).toBe(at(10).toISOString());
    expect((await store.registry.listWorkers({ activeOnly: true })).map((w) => w.workerId)).toEqual([
      other.workerId,
    ]);
    expect(await store.registry.listWorkers()).toHaveLength(2);
    await expectError(
      store.registry.enrolWorker(
        workerInput({ signingKeyid: worker.signingKeyid, signingKeyPem: worker.signingKeyPem }),
      ),
      'CONFLICT',
      'signingKeyid',
    );
    await expectError(store.registry.revokeWorker('nobody', at(1)), 'NOT_FOUND', 'workerId');
  });

  it('retires, or marks compromised since a time that only ever moves earlier, never the other way', async () => {
    const worker = await store.registry.enrolWorker(workerInput());
    const retired = await store.registry.revokeWorker(worker.workerId, at(100), { kind: 'retired' });
    expect(retired).toMatchObject({ revokedAt: at(100).toISOString(), revocation: { kind: 'retired' } });
    // Found out later: the key was stolen before it was retired.
    const compromised = await store.registry.revokeWorker(worker.workerId, at(200), {
      kind: 'compromised',
      since: at(50),
    });
    expect(compromised).toMatchObject({
      revokedAt: at(100).toISOString(),
      revocation: { kind: 'compromised', since: at(50).toISOString() },
    });
    // A later date would let results count again; retiring would forget the compromise.
    await store.registry.revokeWorker(worker.workerId, at(300), { kind: 'compromised', since: at(90) });
    await store.registry.revokeWorker(worker.workerId, at(300), { kind: 'retired' });
    expect((await store.registry.getWorker(worker.workerId))?.revocation).toEqual({
      kind: 'compromised',
      since: at(50).toISOString(),
    });
    await store.registry.revokeWorker(worker.workerId, at(300), { kind: 'compromised', since: at(10) });
    expect((await store.registry.getWorker(worker.workerId))?.revocation).toEqual({
      kind: 'compromised',
      since: at(10).toISOString(),
    });
    const active = await store.registry.enrolWorker(workerInput());
    await expectError(
      store.registry.revokeWorker(active.workerId, at(100), { kind: 'compromised', since: at(101) }),
      'INVALID',
      'revocation.since',
    );
    expect((await store.registry.getWorker(active.workerId))?.revokedAt).toBeUndefined();
  });

  it('records last seen, never moving it backwards', async () => {
    const worker = await store.registry.enrolWorker(workerInput());
    await store.registry.touchWorker(worker.workerId, at(5000));
    await store.registry.touchWorker(worker.workerId, at(1000));
    expect((await store.registry.getWorker(worker.workerId))?.lastSeenAt).toBe(at(5000).toISOString());
    await expectError(store.registry.touchWorker('nobody', at(1)), 'NOT_FOUND', 'workerId');
  });
});

describe('SqliteBuildStore: builds', () => {
  it('creates and reads back a build, checking the manifest digest', async () => {
    const input = buildInput();
    const build = await store.builds.createBuild(input);
    expect(build).toEqual({
      buildId: input.buildId,
      manifestSha256: input.manifestSha256,
      manifestJson: input.manifestJson,
      name: 'hello_2.10-3',
      architecture: 'amd64',
      backend: 'debian',
      claimedOutputs: input.claimedOutputs,
      policy: input.policy,
      submittedBy: 'debian-maint',
      createdAt: T0.toISOString(),
      verdict: 'pending',
    });
    expect(Object.isFrozen(build.claimedOutputs[0])).toBe(true);
    expect(await store.builds.getBuild(input.buildId)).toEqual(build);
    expect(await store.builds.getBuild(randomUUID())).toBeUndefined();
    await expectError(store.builds.createBuild(input), 'CONFLICT', 'buildId');
    await expectError(
      store.builds.createBuild(buildInput({ manifestJson: '{"tampered":true}' })),
      'DIGEST_MISMATCH',
      'manifestSha256',
    );
  });

  it('names the field it refuses', async () => {
    await expectError(store.builds.createBuild(buildInput({ buildId: 'not-a-uuid' })), 'INVALID', 'buildId');
    await expectError(
      store.builds.createBuild(buildInput({ manifestSha256: 'abc' as Sha256Hex })),
      'INVALID',
      'manifestSha256',
    );
    await expectError(
      store.builds.createBuild(buildInput({ architecture: 'AMD64' })),
      'INVALID',
      'architecture',
    );
    await expectError(store.builds.createBuild(buildInput({ name: 'bad\nname' })), 'INVALID', 'name');
    await expectError(
      store.builds.createBuild(buildInput({ claimedOutputs: [{ path: '../escape', sha256: digest('x') }] })),
      'INVALID',
      'claimedOutputs[0].path',
    );
    await expectError(
      store.builds.createBuild(buildInput({ claimedOutputs: [{ path: 'a', sha256: 'nope' as Sha256Hex }] })),
      'INVALID',
      'claimedOutputs[0].sha256',
    );
    await expectError(
      store.builds.createBuild(
        buildInput({ policy: { threshold: 0, maxAttempts: 1, decisionDeadlineMs: 1 } }),
      ),
      'INVALID',
      'policy.threshold',
    );
    await expectError(
      store.builds.createBuild(buildInput({ createdAt: new Date('nope') })),
      'INVALID',
      'createdAt',
    );
    expect(await store.builds.listBuilds()).toEqual([]);
  });

  it('lists newest first with keyset pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await store.builds.createBuild(buildInput({ createdAt: at(i) }))).buildId);
    const page1 = await store.builds.listBuilds({ limit: 2 });
    expect(page1.map((b) => b.buildId)).toEqual([ids[4], ids[3]]);
    const page2 = await store.builds.listBuilds({ limit: 2, after: page1[1]!.buildId });
    expect(page2.map((b) => b.buildId)).toEqual([ids[2], ids[1]]);
    const page3 = await store.builds.listBuilds({ limit: 2, after: page2[1]!.buildId });
    expect(page3.map((b) => b.buildId)).toEqual([ids[0]]);
    await expectError(store.builds.listBuilds({ after: randomUUID() }), 'NOT_FOUND', 'after');
    await expectError(store.builds.listBuilds({ limit: 0 }), 'INVALID', 'limit');
  });

  it('lists pending builds oldest first through their index, and counts builds per verdict on write', async () => {
    const builds = [];
    for (let i = 0; i < 5; i++) builds.push(await store.builds.createBuild(buildInput()));
    await store.builds.recordVerdict({
      buildId: builds[1]!.buildId,
      verdict: 'failed',
      decisionJson: '{}',
      decidedAt: T0,
    });
    await store.builds.recordVerdict({
      buildId: builds[3]!.buildId,
      verdict: 'diverged',
      decisionJson: '{}',
      decidedAt: T0,
    });
    await store.builds.recordVerdict({
      buildId: builds[3]!.buildId,
      verdict: 'failed',
      decisionJson: '{"a":1}',
      decidedAt: T0,
    });
    const pending = [builds[0]!, builds[2]!, builds[4]!].map((b) => b.buildId);
    expect(await store.builds.listPendingBuildIds()).toEqual(pending);
    expect(await store.builds.listPendingBuildIds({ limit: 2 })).toEqual(pending.slice(0, 2));
    expect(await store.builds.listPendingBuildIds({ limit: 2, after: pending[1] })).toEqual(pending.slice(2));
    // A decided build is a valid cursor too: paging goes on from where it stood.
    expect(await store.builds.listPendingBuildIds({ after: builds[1]!.buildId })).toEqual(pending.slice(1));
    await expectError(store.builds.listPendingBuildIds({ limit: 0 }), 'INVALID', 'limit');
    await expectError(store.builds.listPendingBuildIds({ after: randomUUID() }), 'NOT_FOUND', 'after');
    const counts = await store.builds.countBuildsByVerdict();
    expect(counts).toMatchObject({ pending: 3, failed: 2, diverged: 0, reproducible: 0 });
    expect(Object.keys(counts).sort()).toEqual([...Object.keys(counts)].sort());
    const db = raw();
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT build_id FROM builds WHERE verdict = 'pending' AND seq > 0 ORDER BY seq LIMIT 10",
      )
      .all() as { detail: string }[];
    expect(plan.map((row) => row.detail).join('\n')).toContain('builds_pending');
  });

  it('inserts 10,000 builds in one transaction, all or nothing', async () => {
    const inputs = Array.from({ length: 10_000 }, (_, i) =>
      buildInput({ claimedOutputs: [{ path: `pkg-${i}.deb`, sha256: digest(`deb ${i}`) }] }),
    );
    const created = await store.builds.createBuilds(inputs);
    expect(created).toHaveLength(10_000);
    expect(created[9_999]?.buildId).toBe(inputs[9_999]?.buildId);
    expect(await store.builds.listBuilds({ limit: 1000 })).toHaveLength(1000);
    expect((await store.results.findBuildsByArtifact(digest('deb 5000')))[0]?.buildId).toBe(
      inputs[5000]?.buildId,
    );

    const batch = [buildInput(), buildInput(), inputs[0]!];
    await expectError(store.builds.createBuilds(batch), 'CONFLICT', 'inputs[2].buildId');
    expect(await store.builds.getBuild(batch[0]!.buildId)).toBeUndefined();
    await expectError(
      store.builds.createBuilds([buildInput({ backend: '' })]),
      'INVALID',
      'inputs[0].backend',
    );
  });
});

describe('SqliteBuildStore: attempts', () => {
  it('creates, finds, lists and finishes attempts', async () => {
    const { build, a1, a2 } = await scenario();
    expect(a1).toEqual({
      buildId: build.buildId,
      workerId: a1.workerId,
      operator: 'acme',
      attempt: 1,
      jobId: a1.jobId,
      nonce: testJobNonce('0123456789abcdef'),
      state: 'open',
      assignedAt: at(1000).toISOString(),
      leaseExpiresAt: at(61_000).toISOString(),
    });
    expect(await store.builds.getAttemptByJobId(a1.jobId)).toEqual(a1);
    expect(await store.builds.getAttemptByJobId('job-unknown')).toBeUndefined();
    expect(await store.builds.listAttempts(build.buildId)).toEqual([a1, a2]);
    expect(await store.builds.listOpenAttempts()).toEqual([a1, a2]);

    const expired = await store.builds.finishAttempt(a1.jobId, { state: 'expired', finishedAt: at(61_000) });
    expect(expired).toMatchObject({ state: 'expired', finishedAt: at(61_000).toISOString() });
    // Idempotent in the same state; a different one is a conflict.
    expect(await store.builds.finishAttempt(a1.jobId, { state: 'expired', finishedAt: at(99_000) })).toEqual(
      expired,
    );
    await expectError(
      store.builds.finishAttempt(a1.jobId, { state: 'cancelled', finishedAt: at(1) }),
      'CONFLICT',
      'state',
    );
    await expectError(
      store.builds.finishAttempt('job-unknown', { state: 'failed', finishedAt: at(1) }),
      'NOT_FOUND',
      'jobId',
    );
    await expectError(
      store.builds.finishAttempt(a2.jobId, { state: 'open' as 'failed', finishedAt: at(1) }),
      'INVALID',
      'state',
    );
    expect((await store.builds.listOpenAttempts()).map((a) => a.jobId)).toEqual([a2.jobId]);
  });

  it('refuses attempts that break the assignment rules', async () => {
    const { w1, build, a1 } = await scenario();
    const base = {
      buildId: build.buildId,
      workerId: w1.workerId,
      operator: 'acme',
      attempt: 2,
      jobId: 'job-new',
      nonce: testJobNonce('aaaaaaaaaaaaaaaa'),
      assignedAt: at(5000),
    };
    await expectError(store.builds.createAttempt({ ...base, operator: 'globex' }), 'CONFLICT', 'operator');
    await expectError(store.builds.createAttempt({ ...base, jobId: a1.jobId }), 'CONFLICT', 'jobId');
    await expectError(store.builds.createAttempt({ ...base, attempt: 1 }), 'CONFLICT', 'attempt');
    await expectError(store.builds.createAttempt({ ...base, buildId: randomUUID() }), 'NOT_FOUND', 'buildId');
    await expectError(store.builds.createAttempt({ ...base, workerId: 'nobody' }), 'NOT_FOUND', 'workerId');
    await expectError(store.builds.createAttempt({ ...base, attempt: 0 }), 'INVALID', 'attempt');
    await expectError(store.builds.createAttempt({ ...base, nonce: 'short' }), 'INVALID', 'nonce');
    await expectError(
      store.builds.createAttempt({ ...base, leaseExpiresAt: at(4000) }),
      'INVALID',
      'leaseExpiresAt',
    );
    await store.registry.revokeWorker(w1.workerId, at(4000));
    await expectError(store.builds.createAttempt(base), 'CONFLICT', 'workerId');
    expect(await store.builds.listAttempts(build.buildId)).toHaveLength(2);
  });
});

describe('SqliteBuildStore: attempt summaries', () => {
  it('counts what scheduling needs in the store, classifying failures as the retry rule does', async () => {
    const { w1, w2, build, a1, a2 } = await scenario();
    const more = async (worker: typeof w1, attempt: number, jobId: string) =>
      store.builds.createAttempt({
        buildId: build.buildId,
        workerId: worker.workerId,
        operator: worker.operator,
        attempt,
        jobId,
        nonce: testJobNonce(`${jobId}-0123456789`),
        assignedAt: at(3000 + attempt),
      });
    // a1 answered by a failed result; a2 expired silently; w1's second failed silently; w1's third
    // expired but its late built result arrived; w2's second is still open.
    await store.results.recordResult(
      resultInput(a1, { kind: 'failed', failureReason: 'exit-code', outputs: [], receivedAt: at(40_000) }),
    );
    await store.builds.finishAttempt(a2.jobId, { state: 'expired', finishedAt: at(50_000) });
    const b1 = await more(w1, 2, 'job-b1');
    await store.builds.finishAttempt(b1.jobId, {
      state: 'failed',
      finishedAt: at(45_000),
      reason: 'interrupted',
    });
    const c1 = await more(w1, 3, 'job-c1');
    await store.builds.finishAttempt(c1.jobId, { state: 'expired', finishedAt: at(60_000) });
    await store.results.recordResult(resultInput(c1, { receivedAt: at(70_000) }));
    await more(w2, 2, 'job-d2');

    const summary = await store.builds.summarizeAttempts(build.buildId);
    const expected = classifyFailures(
      await store.builds.listAttempts(build.buildId),
      await store.results.listResults(build.buildId),
    );
    expect(expected).toEqual({
      buildFailures: 1,
      infrastructureFailures: 2,
      lastFailureAtMs: at(50_000).getTime(),
    });
    expect(summary).toMatchObject(expected);
    expect(summary.total).toBe(5);
    expect(summary.byWorker).toEqual([
      { workerId: w1.workerId, operator: 'acme', attempts: 3, open: 0 },
      { workerId: w2.workerId, operator: 'globex', attempts: 2, open: 1 },
    ]);
  });
});

describe('SqliteBuildStore: results', () => {
  it('records a result once per (build, worker, attempt) and marks the attempt reported', async () => {
    const { build, a1 } = await scenario();
    const input = resultInput(a1);
    const first = await store.results.recordResult(input);
    expect(first).toEqual({
      buildId: build.buildId,
      workerId: a1.workerId,
      operator: 'acme',
      attempt: 1,
      jobId: a1.jobId,
      envelopeSha256: input.envelopeSha256,
      kind: 'built',
      outputs: input.outputs,
      environmentSha256: input.environmentSha256,
      environmentOrigin: 'worker-built',
      inputsKey: input.inputsKey,
      logSha256: input.logSha256,
      counted: true,
      receivedAt: at(30_000).toISOString(),
      duplicate: false,
    });
    expect(await store.builds.getAttemptByJobId(a1.jobId)).toMatchObject({
      state: 'reported',
      finishedAt: at(30_000).toISOString(),
    });

    // The same post again, even with a later receipt time: the stored row, unchanged.
    const again = await store.results.recordResult({ ...input, receivedAt: at(90_000) });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await store.results.listResults(build.buildId)).toHaveLength(1);

    await expectError(
      store.results.recordResult({ ...input, envelopeSha256: digest('another envelope') }),
      'CONFLICT',
      'envelopeSha256',
    );
    const db = raw();
    expect(db.prepare('SELECT COUNT(*) AS n FROM results').get()).toEqual({ n: 1 });
    expect(() => db.prepare('UPDATE results SET counted = 0').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM results').run()).toThrow(/append-only/);
  });

  it('refuses results that do not answer their attempt', async () => {
    const { a1, a2 } = await scenario();
    // An envelope already recorded for one attempt cannot be replayed into another.
    await store.results.recordResult(resultInput(a1, { envelopeSha256: digest('shared') }));
    await expectError(
      store.results.recordResult(resultInput(a2, { envelopeSha256: digest('shared') })),
      'CONFLICT',
      'envelopeSha256',
    );
    await expectError(store.results.recordResult(resultInput(a2, { jobId: a1.jobId })), 'CONFLICT', 'jobId');
    await expectError(
      store.results.recordResult(resultInput(a2, { operator: 'acme' })),
      'CONFLICT',
      'operator',
    );
    await expectError(
      store.results.recordResult(resultInput({ ...a2, attempt: 2, jobId: 'job-none' })),
      'NOT_FOUND',
      'jobId',
    );
    await expectError(
      store.results.recordResult(resultInput(a2, { kind: 'failed', failureReason: 'exit-code' })),
      'INVALID',
      'outputs',
    );
    await expectError(
      store.results.recordResult(resultInput(a2, { kind: 'failed', outputs: [] })),
      'INVALID',
      'failureReason',
    );
    await expectError(
      store.results.recordResult(resultInput(a2, { failureReason: 'x' })),
      'INVALID',
      'failureReason',
    );
    await expectError(
      store.results.recordResult(resultInput(a2, { refusedReason: 'x' })),
      'INVALID',
      'refusedReason',
    );
    await expectError(
      store.results.recordResult(
        resultInput(a2, {
          outputs: [
            { path: 'a', sha256: digest('a'), sizeBytes: 1 },
            { path: 'a', sha256: digest('b'), sizeBytes: 1 },
          ],
        }),
      ),
      'INVALID',
      'outputs[1].path',
    );
    await expectError(
      store.results.recordResult(resultInput(a2, { logSha256: 'x' as Sha256Hex })),
      'INVALID',
      'logSha256',
    );
    expect(await store.results.listResults(a2.buildId)).toHaveLength(1);
  });

  it('indexes the byproducts a result signs, so one digest is found without reading envelopes', async () => {
    const { build, a1, a2 } = await scenario();
    const html = digest('diffoscope html');
    await store.results.recordResult(
      resultInput(a1, {
        byproducts: [
          { name: 'build.log', sha256: digest(`log ${a1.jobId}`) },
          { name: 'rbnet/diffoscope-1.html', sha256: html },
        ],
      }),
    );
    await store.results.recordResult(resultInput(a2)); // recorded without an index, as before version 4
    expect(await store.results.findResultByproducts(build.buildId, html)).toEqual([
      {
        buildId: build.buildId,
        sha256: html,
        envelopeSha256: digest(`envelope ${a1.jobId}`),
        name: 'rbnet/diffoscope-1.html',
      },
    ]);
    expect(await store.results.findResultByproducts(build.buildId, digest('nothing'))).toEqual([]);
    expect((await store.results.listUnindexedBuiltResults(build.buildId)).map((r) => r.jobId)).toEqual([
      a2.jobId,
    ]);
    // The schema checks the result row before its byproducts: the attempt it answers must exist.
    await store.builds.createAttempt({
      buildId: a2.buildId,
      workerId: a2.workerId,
      operator: a2.operator,
      attempt: 2,
      jobId: 'x',
      nonce: a2.nonce,
      assignedAt: at(3000),
    });
    await expectError(
      store.results.recordResult(
        resultInput({ ...a2, attempt: 2, jobId: 'x' }, { byproducts: [{ name: 'a\u0000', sha256: html }] }),
      ),
      'INVALID',
      'byproducts[0].name',
    );
    expect(() => raw().prepare('DELETE FROM result_byproducts').run()).toThrow(/append-only/);
  });

  it('lists the builds a worker reported to from a time on, and withdraws their links on a compromise', async () => {
    const { w1, build, a1 } = await scenario();
    const earlier = await store.builds.createBuild(buildInput());
    const a0 = await store.builds.createAttempt({
      buildId: earlier.buildId,
      workerId: w1.workerId,
      operator: 'acme',
      attempt: 1,
      jobId: 'job-earlier',
      nonce: testJobNonce('earlier-0123456'),
      assignedAt: at(0),
    });
    await store.results.recordResult(resultInput(a0, { receivedAt: at(10_000) }));
    await store.results.recordResult(resultInput(a1, { receivedAt: at(30_000) }));
    expect(await store.results.listBuildIdsWithResultsFrom(w1.workerId, at(0))).toEqual([
      earlier.buildId,
      build.buildId,
    ]);
    expect(await store.results.listBuildIdsWithResultsFrom(w1.workerId, at(30_000))).toEqual([build.buildId]);
    expect(await store.results.listBuildIdsWithResultsFrom(w1.workerId, at(30_001))).toEqual([]);
    const link = (pkg: string): NewAptLink => ({
      architecture: 'amd64',
      operator: 'acme',
      package: pkg,
      version: '1',
      linkSha256: digest(pkg),
      productsSha256: digest(`products ${pkg}`),
      workerId: w1.workerId,
    });
    await store.aptLinks.replaceAptLinks(earlier.buildId, [link('early')], at(11_000));
    await store.aptLinks.replaceAptLinks(build.buildId, [link('late')], at(31_000));
    await store.registry.revokeWorker(w1.workerId, at(40_000), { kind: 'compromised', since: at(20_000) });
    expect(await store.aptLinks.getAptLink('amd64', 'acme', 'early', '1')).toBeDefined();
    expect(await store.aptLinks.getAptLink('amd64', 'acme', 'late', '1')).toBeUndefined();
  });

  it('keeps a late result, leaving its expired attempt expired, and never counts a revoked worker', async () => {
    const { a1, a2, w2 } = await scenario();
    await store.builds.finishAttempt(a1.jobId, { state: 'expired', finishedAt: at(61_000) });
    const failed = await store.results.recordResult(
      resultInput(a1, {
        kind: 'failed',
        failureReason: 'timeout',
        outputs: [],
        counted: false,
        refusedReason: 'late',
      }),
    );
    expect(failed).toMatchObject({
      kind: 'failed',
      failureReason: 'timeout',
      refusedReason: 'late',
      counted: false,
    });
    expect((await store.builds.getAttemptByJobId(a1.jobId))?.state).toBe('expired');

    await store.registry.revokeWorker(w2.workerId, at(10_000));
    await expectError(store.results.recordResult(resultInput(a2)), 'CONFLICT', 'counted');
    const refused = await store.results.recordResult(
      resultInput(a2, { counted: false, refusedReason: 'worker revoked' }),
    );
    expect(refused.counted).toBe(false);
  });
});

describe('SqliteBuildStore: findBuildsByArtifact', () => {
  it('finds builds by claimed and by rebuilt digests, newest first', async () => {
    const { build, a1 } = await scenario();
    const shared = digest('shared artifact');
    const later = await store.builds.createBuild(
      buildInput({ claimedOutputs: [{ path: 'other.deb', sha256: shared }], createdAt: at(5) }),
    );
    await store.results.recordResult(
      resultInput(a1, { outputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: shared, sizeBytes: 10 }] }),
    );
    expect((await store.results.findBuildsByArtifact(shared)).map((b) => b.buildId)).toEqual([
      later.buildId,
      build.buildId,
    ]);
    expect((await store.results.findBuildsByArtifact(digest('published deb'))).map((b) => b.buildId)).toEqual(
      [build.buildId],
    );
    expect(await store.results.findBuildsByArtifact(shared, { limit: 1 })).toHaveLength(1);
    expect(
      (await store.results.findBuildsByArtifact(shared, { limit: 1, after: later.buildId })).map(
        (b) => b.buildId,
      ),
    ).toEqual([build.buildId]);
    expect(await store.results.findBuildsByArtifact(shared, { after: build.buildId })).toEqual([]);
    await expectError(
      store.results.findBuildsByArtifact(shared, { after: randomUUID() }),
      'NOT_FOUND',
      'after',
    );
    expect(await store.results.findBuildsByArtifact(digest('unknown'))).toEqual([]);
    await expectError(store.results.findBuildsByArtifact('ABC' as Sha256Hex), 'INVALID', 'sha256');
  });
});

describe('SqliteBuildStore: verdicts', () => {
  it('appends history, updates the current verdict, and never rewrites a row', async () => {
    const build = await store.builds.createBuild(buildInput());
    const first = await store.builds.recordVerdict({
      buildId: build.buildId,
      verdict: 'diverged',
      decisionJson: '{"agreeing":1}',
      divergenceReportSha256: digest('report'),
      decidedAt: at(1000),
    });
    expect(first).toEqual({
      sequence: 1,
      buildId: build.buildId,
      verdict: 'diverged',
      previousVerdict: 'pending',
      decisionJson: '{"agreeing":1}',
      divergenceReportSha256: digest('report'),
      decidedAt: at(1000).toISOString(),
      duplicate: false,
    });
    const retry = await store.builds.recordVerdict({
      buildId: build.buildId,
      verdict: 'diverged',
      decisionJson: '{"agreeing":1}',
      divergenceReportSha256: digest('report'),
      decidedAt: at(1500),
    });
    expect(retry).toEqual({ ...first, duplicate: true });
    const second = await store.builds.recordVerdict({
      buildId: build.buildId,
      verdict: 'reproducible',
      decisionJson: '{"agreeing":2}',
      consensusEnvelopeSha256: digest('consensus'),
      decidedAt: at(2000),
    });
    expect(second).toMatchObject({ sequence: 2, verdict: 'reproducible', previousVerdict: 'diverged' });
    const history = await store.builds.getVerdictHistory(build.buildId);
    expect(history.map((v) => [v.sequence, v.previousVerdict, v.verdict])).toEqual([
      [1, 'pending', 'diverged'],
      [2, 'diverged', 'reproducible'],
    ]);
    expect(await store.builds.getBuild(build.buildId)).toMatchObject({
      verdict: 'reproducible',
      verdictAt: at(2000).toISOString(),
    });

    await expectError(
      store.builds.recordVerdict({
        buildId: build.buildId,
        verdict: 'great' as 'agreed',
        decisionJson: '{}',
        decidedAt: T0,
      }),
      'INVALID',
      'verdict',
    );
    await expectError(
      store.builds.recordVerdict({
        buildId: build.buildId,
        verdict: 'agreed',
        decisionJson: '{nope',
        decidedAt: T0,
      }),
      'INVALID',
      'decisionJson',
    );
    await expectError(
      store.builds.recordVerdict({
        buildId: randomUUID(),
        verdict: 'agreed',
        decisionJson: '{}',
        decidedAt: T0,
      }),
      'NOT_FOUND',
      'buildId',
    );
    const db = raw();
    expect(() => db.prepare("UPDATE verdict_history SET verdict = 'agreed'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM verdict_history').run()).toThrow(/append-only/);
    expect(await store.builds.getVerdictHistory(build.buildId)).toHaveLength(2);
  });
});

describe('SqliteBuildStore: transparency log', () => {
  async function appendThree() {
    const build = await store.builds.createBuild(buildInput());
    const bodies = [
      { verdict: 'diverged', n: 1 },
      { verdict: 'reproducible', n: 2, note: 'é ✓' },
      { verdict: 'reproducible', n: 3 },
    ];
    const appended = [];
    for (const body of bodies) {
      appended.push(
        await store.log.appendLogEntry({
          kind: 'verdict',
          buildId: build.buildId,
          bodySha256: sha256Hex(canonicalizeJcs(body)),
          body,
        }),
      );
    }
    return { build, bodies, appended };
  }

  it('chains every entry to the one before it', async () => {
    const { build, bodies, appended } = await appendThree();
    expect(appended.map((a) => a.index)).toEqual([0, 1, 2]);
    const entries = await store.log.getLogEntries(0, 10);
    expect(entries).toHaveLength(3);
    let prev = '0'.repeat(64);
    entries.forEach((entry, i) => {
      expect(entry.prevEntryHash).toBe(prev);
      expect(entry.bodyJson).toBe(canonicalizeJcs(bodies[i]));
      // The documented formula, computed independently with the JCS implementation.
      const leaf = canonicalizeJcs({ kind: 'verdict', buildId: build.buildId, body: bodies[i] });
      const expected = sha256Hex(Buffer.concat([Buffer.from(prev, 'hex'), Buffer.from(leaf, 'utf8')]));
      expect(entry.entryHash).toBe(expected);
      expect(entry.entryHash).toBe(appended[i]?.entryHash);
      expect(logEntryHash(prev as Sha256Hex, 'verdict', build.buildId, entry.bodyJson)).toBe(expected);
      prev = entry.entryHash;
    });
    expect((await store.log.getLogEntries(1, 1)).map((e) => e.index)).toEqual([1]);
    expect(await store.log.getLogEntries(3, 10)).toEqual([]);
    expect(await store.log.verifyLogChain()).toBeUndefined();
  });

  it('refuses a body whose digest or shape is wrong', async () => {
    const build = await store.builds.createBuild(buildInput());
    const body = { verdict: 'agreed' };
    await expectError(
      store.log.appendLogEntry({
        kind: 'verdict',
        buildId: build.buildId,
        bodySha256: digest('other'),
        body,
      }),
      'DIGEST_MISMATCH',
      'bodySha256',
    );
    await expectError(
      store.log.appendLogEntry({
        kind: 'verdict',
        buildId: build.buildId,
        bodySha256: digest('x'),
        body: { n: Number.NaN },
      }),
      'INVALID',
      'body',
    );
    await expectError(
      store.log.appendLogEntry({
        kind: 'verdict',
        buildId: randomUUID(),
        bodySha256: sha256Hex(canonicalizeJcs(body)),
        body,
      }),
      'NOT_FOUND',
      'buildId',
    );
    await expectError(
      store.log.appendLogEntry({
        kind: 'note' as 'verdict',
        buildId: build.buildId,
        bodySha256: digest('x'),
        body,
      }),
      'INVALID',
      'kind',
    );
    expect(await store.log.getLogEntries(0, 10)).toEqual([]);
  });

  it('refuses UPDATE, DELETE and out-of-order INSERT through SQL', async () => {
    const { build } = await appendThree();
    const db = raw();
    expect(() => db.prepare("UPDATE log_entries SET body_json = '{}' WHERE idx = 1").run()).toThrow(
      /append-only/,
    );
    expect(() => db.prepare('DELETE FROM log_entries WHERE idx = 2').run()).toThrow(/append-only/);
    const forge = db.prepare(
      `INSERT INTO log_entries (idx, kind, build_id, body_sha256, body_json, prev_entry_hash, entry_hash)
       VALUES (?, 'verdict', ?, ?, '{}', ?, ?)`,
    );
    expect(() => forge.run(7, build.buildId, digest('{}'), '0'.repeat(64), digest('forged'))).toThrow(
      /extend the chain/,
    );
    expect(() => forge.run(3, build.buildId, digest('{}'), '0'.repeat(64), digest('forged'))).toThrow(
      /extend the chain/,
    );
    expect(await store.log.verifyLogChain()).toBeUndefined();
  });

  it('detects a row altered behind the store’s back', async () => {
    await appendThree();
    const db = raw();
    db.exec('DROP TRIGGER log_entries_no_update');
    // A changed body with its old digests: entry 1 itself no longer verifies.
    db.prepare(`UPDATE log_entries SET body_json = '{"n":2,"verdict":"agreed"}' WHERE idx = 1`).run();
    expect(await store.log.verifyLogChain()).toBe(1);

    // A forger who also recomputes entry 1's own digests still breaks entry 2's link to it.
    const entry1 = (await store.log.getLogEntries(1, 1))[0]!;
    const prev = (await store.log.getLogEntries(0, 1))[0]!.entryHash;
    db.prepare('UPDATE log_entries SET body_sha256 = ?, entry_hash = ? WHERE idx = 1').run(
      sha256Hex(entry1.bodyJson),
      logEntryHash(prev, 'verdict', entry1.buildId, entry1.bodyJson),
    );
    expect(await store.log.verifyLogChain()).toBe(2);

    // A changed build id is covered by the entry hash too.
    const fresh = await mkdtemp(join(tmpdir(), 'rbnet-db-'));
    try {
      const other = openSqliteStores(join(fresh, 'db.sqlite'));
      opened.push(other);
      const a = await other.builds.createBuild(buildInput());
      const b = await other.builds.createBuild(buildInput());
      const body = { v: 1 };
      await other.log.appendLogEntry({
        kind: 'verdict',
        buildId: a.buildId,
        bodySha256: sha256Hex(canonicalizeJcs(body)),
        body,
      });
      const otherRaw = new Database(join(fresh, 'db.sqlite'));
      opened.push(otherRaw);
      otherRaw.exec('DROP TRIGGER log_entries_no_update');
      otherRaw.prepare('UPDATE log_entries SET build_id = ? WHERE idx = 0').run(b.buildId);
      expect(await other.log.verifyLogChain()).toBe(0);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('validates paging arguments', async () => {
    await expectError(store.log.getLogEntries(-1, 10), 'INVALID', 'fromIndex');
    await expectError(store.log.getLogEntries(0, 0), 'INVALID', 'limit');
    await expectError(store.log.getLogEntries(0, 1001), 'INVALID', 'limit');
  });
});

describe('apt links', () => {
  const link = (overrides: Partial<NewAptLink> = {}): NewAptLink => ({
    architecture: 'amd64',
    operator: 'alpha',
    package: 'hello',
    version: '2.10-3',
    linkSha256: digest('link-alpha'),
    productsSha256: digest('hello 2.10-3 products'),
    workerId: 'alpha-1',
    ...overrides,
  });

  it('serves what replaceAptLinks stored, per architecture, operator, package and version', async () => {
    const build = await store.builds.createBuild(buildInput());
    await store.aptLinks.replaceAptLinks(build.buildId, [link(), link({ package: 'hello-doc' })], T0);
    expect(await store.aptLinks.getAptLink('amd64', 'alpha', 'hello', '2.10-3')).toEqual({
      linkSha256: digest('link-alpha'),
      buildId: build.buildId,
      workerId: 'alpha-1',
    });
    expect(await store.aptLinks.getAptLink('amd64', 'alpha', 'hello-doc', '2.10-3')).toBeDefined();
    expect(await store.aptLinks.getAptLink('arm64', 'alpha', 'hello', '2.10-3')).toBeUndefined();
    expect(await store.aptLinks.getAptLink('amd64', 'beta', 'hello', '2.10-3')).toBeUndefined();
    expect(await store.aptLinks.getAptLink('amd64', 'alpha', 'hello', '2.10-4')).toBeUndefined();
  });

  it('replacing with nothing removes a build’s links (a verdict that is no longer reproducible)', async () => {
    const build = await store.builds.createBuild(buildInput());
    await store.aptLinks.replaceAptLinks(build.buildId, [link()], T0);
    await store.aptLinks.replaceAptLinks(build.buildId, [], at(1));
    expect(await store.aptLinks.getAptLink('amd64', 'alpha', 'hello', '2.10-3')).toBeUndefined();
  });

  it('a later build with the same products never takes over a published row, and adds its other operators', async () => {
    const first = await store.builds.createBuild(buildInput());
    const second = await store.builds.createBuild(buildInput({ buildId: crypto.randomUUID() }));
    expect(await store.aptLinks.replaceAptLinks(first.buildId, [link()], T0)).toEqual({
      published: 1,
      conflicts: [],
    });
    const again = await store.aptLinks.replaceAptLinks(
      second.buildId,
      [link({ linkSha256: digest('newer') }), link({ operator: 'beta', workerId: 'beta-1' })],
      at(1),
    );
    expect(again).toEqual({ published: 1, conflicts: [] });
    expect(await store.aptLinks.getAptLink('amd64', 'alpha', 'hello', '2.10-3')).toMatchObject({
      linkSha256: digest('link-alpha'),
      buildId: first.buildId,
    });
    expect((await store.aptLinks.getAptLink('amd64', 'beta', 'hello', '2.10-3'))?.buildId).toBe(
      second.buildId,
    );
    expect(await store.aptLinks.countAptLinkConflicts()).toBe(0);
  });

  it('records a conflict and publishes none of a later build whose products differ, on any operator', async () => {
    const first = await store.builds.createBuild(buildInput());
    const second = await store.builds.createBuild(buildInput({ buildId: crypto.randomUUID() }));
    await store.aptLinks.replaceAptLinks(first.buildId, [link()], T0);
    const other = digest('other products');
    const contested = [
      link({ operator: 'beta', workerId: 'beta-1', productsSha256: other }),
      link({ operator: 'beta', workerId: 'beta-1', package: 'hello-doc', productsSha256: other }),
    ];
    const expected = {
      architecture: 'amd64',
      package: 'hello',
      version: '2.10-3',
      publishedBuildId: first.buildId,
      publishedProductsSha256: digest('hello 2.10-3 products'),
      contestingBuildId: second.buildId,
      contestingProductsSha256: other,
      detectedAt: at(1).toISOString(),
    };
    expect(await store.aptLinks.replaceAptLinks(second.buildId, contested, at(1))).toEqual({
      published: 0,
      conflicts: [expected],
    });
    // Not even the package the first build never served.
    expect(await store.aptLinks.getAptLink('amd64', 'beta', 'hello', '2.10-3')).toBeUndefined();
    expect(await store.aptLinks.getAptLink('amd64', 'beta', 'hello-doc', '2.10-3')).toBeUndefined();
    // Deciding the second build again finds the same conflict, recorded once.
    expect((await store.aptLinks.replaceAptLinks(second.buildId, contested, at(2))).conflicts).toEqual([
      expected,
    ]);
    expect(await store.aptLinks.countAptLinkConflicts()).toBe(1);
    expect(await store.aptLinks.listAptLinkConflicts(first.buildId)).toEqual([expected]);
    expect(await store.aptLinks.listAptLinkConflicts(second.buildId)).toEqual([expected]);
    expect(() => raw().prepare('DELETE FROM apt_link_conflicts').run()).toThrow(/append-only/);
    await expectError(
      store.aptLinks.replaceAptLinks(second.buildId, [link({ productsSha256: 'nope' as Sha256Hex })], at(3)),
      'INVALID',
      'links[0].productsSha256',
    );
  });
});

describe('the schema itself (migration 8): what any writer gets, the stores included', () => {
  it('refuses malformed rows from a raw connection, naming the field as the stores do', async () => {
    const db = raw();
    expect(() =>
      db.prepare('INSERT INTO operators (name, created_at) VALUES (?, 0)').run('Not A Name'),
    ).toThrow(/^INVALID name: /);
    const input = buildInput({ claimedOutputs: [{ path: 'a/../b', sha256: digest('x') }] });
    expect(() =>
      db
        .prepare(
          `INSERT INTO builds (build_id, manifest_sha256, manifest_json, name, architecture, backend,
             claimed_outputs_json, threshold, max_attempts, decision_deadline_ms, submitted_by, created_at)
           VALUES (?, ?, ?, 'hello', 'amd64', 'debian', ?, 2, 3, 1000, 'maint', 0)`,
        )
        .run(input.buildId, input.manifestSha256, input.manifestJson, JSON.stringify(input.claimedOutputs)),
    ).toThrow(/^INVALID claimedOutputs\[0\]\.path: /);
    expect(await store.builds.listBuilds()).toEqual([]);
  });

  it('keeps derived rows itself: current verdict, reported attempts, artifact index, withdrawn links', async () => {
    const { w1, build, a1 } = await scenario();
    const db = raw();
    db.prepare(
      `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json, decided_at)
       VALUES (?, 1, 'failed', 'pending', '{}', ?)`,
    ).run(build.buildId, at(5).getTime());
    expect(await store.builds.getBuild(build.buildId)).toMatchObject({
      verdict: 'failed',
      verdictAt: iso(5),
    });
    expect(() =>
      db
        .prepare(
          `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json, decided_at)
           VALUES (?, 3, 'agreed', 'failed', '{}', 6)`,
        )
        .run(build.buildId),
    ).toThrow(/^CONFLICT sequence: /);

    await store.results.recordResult(resultInput(a1, { receivedAt: at(30_000) }));
    expect((await store.builds.getAttemptByJobId(a1.jobId))?.state).toBe('reported');
    expect((await store.results.findBuildsByArtifact(digest('rebuilt deb'))).map((b) => b.buildId)).toEqual([
      build.buildId,
    ]);

    await store.aptLinks.replaceAptLinks(
      build.buildId,
      [
        {
          architecture: 'amd64',
          operator: 'acme',
          package: 'hello',
          version: '1',
          linkSha256: digest('link'),
          productsSha256: digest('products'),
          workerId: w1.workerId,
        },
      ],
      at(31_000),
    );
    db.prepare(
      "UPDATE workers SET revoked_at = ?, revocation_kind = 'compromised', compromised_since = ? WHERE worker_id = ?",
    ).run(40_000 + T0.getTime(), 20_000 + T0.getTime(), w1.workerId);
    expect(await store.aptLinks.getAptLink('amd64', 'acme', 'hello', '1')).toBeUndefined();
  });

  it('records the facts a verified result proved once, and never changes them', async () => {
    const { build, a1, a2 } = await scenario();
    const facts = {
      keyid: 'keyid-1',
      inputs: [{ path: 'hello.buildinfo', sha256: digest('bi') }],
      logSizeBytes: 9,
    };
    await store.results.recordResult(resultInput(a1, { facts }));
    await store.results.recordResult(resultInput(a2));
    const [first, second] = await store.results.listVerifiedResults(build.buildId);
    expect(first?.facts).toEqual(facts);
    expect(second?.facts).toBeUndefined();
    await store.results.recordResultFacts(second!.envelopeSha256, facts, []);
    await store.results.recordResultFacts(second!.envelopeSha256, facts, []);
    await expectError(
      store.results.recordResultFacts(second!.envelopeSha256, { ...facts, logSizeBytes: 10 }, []),
      'CONFLICT',
      'facts',
    );
    expect(() => raw().prepare('UPDATE result_facts SET log_size_bytes = 0').run()).toThrow(/append-only/);
  });
});

function iso(offsetMs: number): string {
  return at(offsetMs).toISOString();
}
