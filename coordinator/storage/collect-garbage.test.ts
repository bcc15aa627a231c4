// The content-store ledger and garbage collection against real SQLite and a real content store:
// quotas are charged to who created a blob, and nothing any record names is ever removed.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { Principal } from '../../services/storage/blob-ledger.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { testJobNonce, testKeyid } from '../../test/support/test-identifiers.ts';
import { collectGarbage } from './collect-garbage.ts';
import { FsContentStore } from './fs-content-store.ts';
import { migration8Objects } from './sqlite/migrations/m008-integrity-and-facts.ts';
import { migration9Rollback } from './sqlite/migrations/m009-alerts.ts';
import { openSqliteStores, type SqliteStores } from './sqlite/open-sqlite-stores.ts';
import { SqliteBlobLedger } from './sqlite/sqlite-blob-ledger.ts';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const limits = {
  maintainer: { maxBytes: 10_000, maxBlobs: 100 },
  worker: { maxBytes: 10_000, maxBlobs: 100 },
  operator: { maxBytes: 15_000, maxBlobs: 100 },
};
const mallory: Principal = { kind: 'maintainer', name: 'mallory' };

let root: string;
let store: SqliteStores;
let ledger: SqliteBlobLedger;
let content: FsContentStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-gc-'));
  store = openSqliteStores(join(root, 'db.sqlite'), { quotas: limits });
  ledger = store.blobs;
  content = new FsContentStore(join(root, 'cas'));
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

/** Stores `text` as `principal` would through the upload route, at `when`. */
async function upload(text: string, principal: Principal = mallory, when = T0): Promise<Sha256Hex> {
  const sha256 = sha256Hex(text) as Sha256Hex;
  const reservation = await ledger.reserve([principal], Buffer.byteLength(text), 1_000_000);
  try {
    const result = await content.put(Readable.from([Buffer.from(text)]), { sha256, maxBytes: 1_000_000 });
    await ledger.recordUpload([principal], result, when);
  } finally {
    reservation.release();
  }
  return sha256;
}

const gc = (now: Date, dryRun = false, deps: { content: ContentStore } = { content }) =>
  collectGarbage({ blobs: ledger, content: deps.content }, { now, graceMs: DAY, dryRun, maxBlobs: 1000 });

describe('quotas', () => {
  it('charges a created blob to every principal of the upload, and a blob already stored to nobody', async () => {
    const worker: Principal = { kind: 'worker', name: 'w1' };
    const operator: Principal = { kind: 'operator', name: 'acme' };
    const sha256 = sha256Hex('output') as Sha256Hex;
    await content.put(Readable.from([Buffer.from('output')]), { sha256, maxBytes: 100 });
    await ledger.recordUpload([worker, operator], { sha256, sizeBytes: 6, created: true }, T0);
    await ledger.recordUpload([mallory], { sha256, sizeBytes: 6, created: false }, T0);
    expect(await ledger.usage(worker)).toEqual({ bytes: 6, blobs: 1 });
    expect(await ledger.usage(operator)).toEqual({ bytes: 6, blobs: 1 });
    expect(await ledger.usage(mallory)).toEqual({ bytes: 0, blobs: 0 });
  });

  it('refuses past the bytes or the count, naming the principal; the admin has no quota', async () => {
    await upload('x'.repeat(9_000));
    await expect(ledger.reserve([mallory], 2_000, 1_000_000)).rejects.toMatchObject({
      code: 'QUOTA_BYTES_EXCEEDED',
      quota: { principal: 'maintainer:mallory', limit: 10_000, used: 9_000, requested: 2_000 },
    });
    const held = await ledger.reserve([mallory], 500, 1_000_000);
    await expect(ledger.reserve([mallory], 600, 1_000_000)).rejects.toMatchObject({
      code: 'QUOTA_BYTES_EXCEEDED',
    });
    held.release();
    await expect(
      ledger.reserve([{ kind: 'admin', name: 'admin' }], 10 ** 12, 10 ** 13),
    ).resolves.toMatchObject({
      maxBytes: 10 ** 12,
    });
    const small = new SqliteBlobLedger(store.connection, {
      ...limits,
      maintainer: { maxBytes: 10_000, maxBlobs: 1 },
    });
    await expect(small.reserve([mallory], 1, 100)).rejects.toMatchObject({ code: 'QUOTA_BLOBS_EXCEEDED' });
  });

  it('gives an upload of unknown length the tightest room left, and says which quota stopped it', async () => {
    await upload('x'.repeat(9_000));
    const reservation = await ledger.reserve([mallory], undefined, 1_000_000);
    expect(reservation.maxBytes).toBe(1_000);
    expect(reservation.overrun()).toMatchObject({
      code: 'QUOTA_BYTES_EXCEEDED',
      quota: { principal: 'maintainer:mallory' },
    });
    reservation.release();
  });
});

describe('garbage collection', () => {
  it('removes only uploads nothing references, after the grace period; a dry run removes nothing', async () => {
    const junk = await upload('junk');
    expect((await gc(at(DAY - 1))).removed).toEqual([]);
    const dry = await gc(at(DAY + 1), true);
    expect(dry.removed.map((b) => b.sha256)).toEqual([junk]);
    expect(await content.has(junk)).toBe(true);
    const real = await gc(at(DAY + 1));
    expect(real.removed).toEqual([
      expect.objectContaining({ sha256: junk, sizeBytes: 4, owners: ['maintainer:mallory'] }),
    ]);
    expect(real.freedBytes).toBe(4);
    expect(await content.has(junk)).toBe(false);
    expect(await ledger.usage(mallory)).toEqual({ bytes: 0, blobs: 0 });
  });

  it('never removes a blob a build, result, verdict, log entry or apt link names, however old', async () => {
    const names = [
      'input',
      'claimed',
      'envelope',
      'log',
      'output',
      'byproduct',
      'consensus',
      'divergence',
      'log-entry',
      'apt-link',
    ] as const;
    const blob = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await upload(`${n} bytes`)])),
    );
    const junk = await upload('junk');
    await store.registry.addOperator('acme');
    await store.registry.enrolWorker({
      workerId: 'w1',
      operator: 'acme',
      signingKeyPem: generateKeyPairSync('ed25519')
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
      signingKeyid: testKeyid('keyid-1'),
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
      queueName: 'q-w1',
      redisUser: 'u-w1',
    });
    const buildId = randomUUID();
    const manifestJson = canonicalizeJcs({ inputs: [{ path: 'src', sha256: blob.input }], name: 'hello' });
    await store.builds.createBuild({
      buildId,
      manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
      manifestJson,
      name: 'hello',
      architecture: 'amd64',
      backend: 'generic',
      claimedOutputs: [{ path: 'hello.deb', sha256: blob.claimed }],
      policy: { threshold: 1, maxAttempts: 1, decisionDeadlineMs: 1000 },
      submittedBy: 'mallory',
      createdAt: T0,
    });
    await store.builds.createAttempt({
      buildId,
      workerId: 'w1',
      operator: 'acme',
      attempt: 1,
      jobId: 'job-1',
      nonce: testJobNonce('0123456789abcdef'),
      assignedAt: T0,
    });
    await store.results.recordResult({
      buildId,
      workerId: 'w1',
      operator: 'acme',
      attempt: 1,
      jobId: 'job-1',
      envelopeSha256: blob.envelope,
      kind: 'built',
      outputs: [{ path: 'out', sha256: blob.output, sizeBytes: 12 }],
      environmentSha256: sha256Hex('env') as Sha256Hex,
      environmentOrigin: 'built-locally',
      inputsKey: 'k',
      logSha256: blob.log,
      counted: true,
      receivedAt: T0,
      referencedBlobs: [blob.byproduct],
    });
    await store.builds.recordVerdict({
      buildId,
      verdict: 'diverged',
      decisionJson: '{}',
      consensusEnvelopeSha256: blob.consensus,
      divergenceReportSha256: blob.divergence,
      decidedAt: T0,
    });
    const body = { consensus: `sha256:${blob['log-entry']}` };
    await store.log.appendLogEntry({
      kind: 'verdict',
      buildId,
      bodySha256: sha256Hex(canonicalizeJcs(body)) as Sha256Hex,
      body,
    });
    await store.aptLinks.replaceAptLinks(buildId, [
      {
        architecture: 'amd64',
        operator: 'acme',
        package: 'hello',
        version: '1',
        linkSha256: blob['apt-link'],
        productsSha256: sha256Hex('products') as Sha256Hex,
        workerId: 'w1',
      },
    ]);

    const report = await gc(at(10 * 365 * DAY));
    expect(report.removed.map((b) => b.sha256)).toEqual([junk]);
    for (const name of names) expect([name, await content.has(blob[name])]).toEqual([name, true]);
    expect(await ledger.referencesOf(blob.byproduct)).toEqual(['result:job-1']);
    expect(await ledger.referencesOf(blob['apt-link'])).toContain(`apt-link:${buildId}`);
  });

  it('keeps a blob that a submission marks wanted while the pass runs, and puts its bytes back', async () => {
    const input = await upload('input about to be named');
    // A submission arrives between the pass listing the blob and taking it: it marks the input wanted.
    const racing: ContentStore = {
      put: (...args) => content.put(...args),
      has: (sha256) => content.has(sha256),
      stat: (sha256) => content.stat(sha256),
      open: (sha256) => content.open(sha256),
      quarantine: async (sha256) => {
        await ledger.markWanted([sha256], at(2 * DAY));
        return content.quarantine(sha256);
      },
    };
    const report = await gc(at(2 * DAY), false, { content: racing });
    expect(report).toMatchObject({ removed: [], kept: 1 });
    expect(await content.has(input)).toBe(true);
    expect(await ledger.usage(mallory)).toEqual({ bytes: 23, blobs: 1 });
  });

  it('never collects a blob it did not see created (stored before the ledger, or by the coordinator)', async () => {
    const sha256 = sha256Hex('older') as Sha256Hex;
    await content.put(Readable.from([Buffer.from('older')]), { sha256, maxBytes: 100 });
    await ledger.recordUpload([mallory], { sha256, sizeBytes: 5, created: false }, T0);
    expect((await gc(at(10 * DAY))).removed).toEqual([]);
    expect(await content.has(sha256)).toBe(true);
  });
});

describe('migration 5 on an existing database', () => {
  it('references what was recorded before it, so an upgrade never makes an old input collectable', async () => {
    const buildId = randomUUID();
    const input = sha256Hex('old input') as Sha256Hex;
    const manifestJson = canonicalizeJcs({ inputs: [{ path: 'src', sha256: input }], name: 'old' });
    await store.builds.createBuild({
      buildId,
      manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
      manifestJson,
      name: 'old',
      architecture: 'amd64',
      backend: 'generic',
      claimedOutputs: [],
      policy: { threshold: 1, maxAttempts: 1, decisionDeadlineMs: 1000 },
      submittedBy: 'old-maint',
      createdAt: T0,
    });
    await store.close();
    // Turn the file back into a schema-4 database holding that build.
    const db = new Database(join(root, 'db.sqlite'));
    db.exec(migration9Rollback);
    for (const { type, name } of migration8Objects) db.exec(`DROP ${type.toUpperCase()} ${name}`);
    db.exec('DELETE FROM schema_migrations WHERE version = 8');
    db.exec(`
      DROP TRIGGER builds_blob_refs; DROP TRIGGER results_blob_refs; DROP TRIGGER verdict_history_blob_refs;
      DROP TRIGGER log_entries_blob_refs; DROP TRIGGER apt_links_blob_refs; DROP TRIGGER apt_links_blob_refs_update;
      DROP TABLE blob_refs; DROP TABLE blob_usage; DROP TABLE blob_owners; DROP TABLE blobs; DROP TABLE auth_nonces;
      DELETE FROM schema_migrations WHERE version = 5;
      DELETE FROM schema_migrations WHERE version = 6;
      DELETE FROM schema_migrations WHERE version = 7; ALTER TABLE attempts DROP COLUMN failure_reason;
      ALTER TABLE attempts DROP COLUMN started_at; ALTER TABLE attempts DROP COLUMN run_limit_ms;`);
    db.close();
    store = openSqliteStores(join(root, 'db.sqlite'), { quotas: limits });
    ledger = store.blobs;
    expect(await ledger.referencesOf(input)).toEqual([`build:${buildId}`]);
    // Uploading the old input again now (as a maintainer resubmitting) does not make it collectable.
    await upload('old input');
    expect((await gc(at(10 * DAY))).removed).toEqual([]);
  });
});
