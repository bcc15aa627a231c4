// The coordinator's tiled log on its real SQLite file: the hash-chained entries recorded before
// migration 10 enter the tree first, in their order; key events are sequenced by the database itself;
// a restart signs the same checkpoint again and only ever extends it; the /log app and the proof
// route refuse what is not in the log.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { WorkerEnrolment } from '../../services/storage/registry-store.ts';
import { parseCheckpointText } from '../../services/tlog/checkpoint.ts';
import { parseLogEntry } from '../../services/tlog/log-entry.ts';
import { leafHash } from '../../services/tlog/merkle-hash.ts';
import { verifyConsistency, verifyInclusion } from '../../services/tlog/merkle-proofs.ts';
import { parseSignedNote } from '../../services/tlog/signed-note.ts';
import { newLogSigner } from '../../services/tlog/tlog-fixtures.ts';
import { parseTlogProof } from '../../services/tlog/tlog-proof.ts';
import { undoMigrationsAbove } from '../../test/support/undo-migrations.ts';
import { createTlogTilesApp } from '../http/tlog-tiles-app.ts';
import { openSqliteStores, type SqliteStores } from '../storage/sqlite/open-sqlite-stores.ts';
import { CoordinatorLog } from './coordinator-log.ts';

const ORIGIN = 'rbnet.example/log';
const signer = newLogSigner(ORIGIN);
const T0 = new Date('2026-01-01T00:00:00.000Z');
let root: string;
let opened: SqliteStores[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-coordinator-log-'));
  opened = [];
});
afterEach(async () => {
  for (const stores of opened) await stores.close();
  await rm(root, { recursive: true, force: true });
});

function open(): SqliteStores {
  const stores = openSqliteStores(join(root, 'db.sqlite'));
  opened.push(stores);
  return stores;
}

const logOn = (stores: SqliteStores) =>
  CoordinatorLog.open({
    store: stores.tiledLog,
    origin: ORIGIN,
    signer,
    witnesses: [],
    logger: pino({ level: 'silent' }),
  });

function worker(n: number): WorkerEnrolment {
  const { publicKey } = generateKeyPairSync('ed25519');
  return {
    workerId: `worker-${n}`,
    operator: 'acme',
    signingKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    signingKeyid: sha256Hex(`keyid-${n}`),
    architectures: ['amd64'],
    backends: ['generic'],
    capacity: { cores: 4, memoryBytes: 2 ** 33, diskBytes: 2 ** 36 },
    queueName: `rbnet-worker-${n}`,
    redisUser: `rbnet-worker-${n}`,
    enrolledAt: T0,
  };
}

async function chainEntry(stores: SqliteStores, n: number): Promise<void> {
  const buildId = randomUUID();
  const manifestJson = canonicalizeJcs({ name: 'hello', n });
  await stores.builds.createBuild({
    buildId,
    manifestSha256: sha256Hex(manifestJson),
    manifestJson,
    name: 'hello',
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 1, maxAttempts: 1, decisionDeadlineMs: 1000 },
    submittedBy: 'maint',
    createdAt: T0,
  });
  const body = { n, verdict: 'failed' };
  await stores.log.appendLogEntry({
    kind: 'verdict',
    buildId,
    bodySha256: sha256Hex(canonicalizeJcs(body)) as Sha256Hex,
    body,
  });
}

describe('the coordinator tiled log', () => {
  it('takes the hash-chained entries in first, in their order, then the keys in use', async () => {
    const before = open();
    await before.registry.addOperator('acme');
    await before.registry.addMaintainer('maint');
    for (let n = 0; n < 3; n++) await chainEntry(before, n);
    await before.registry.enrolWorker(worker(1));
    const chain = await before.log.getLogEntries(0, 10);
    await before.close();
    // Back to a version 9 file holding those records, as one written before this release.
    const db = new Database(join(root, 'db.sqlite'));
    undoMigrationsAbove(db, 9);
    db.close();

    const stores = open();
    const log = await logOn(stores);
    // Each batch's entries are stored while the appender's thread hashes them, then its tiles with
    // the head's move, which checks the entries are still there; never tiles then head.
    const entriesFirst = vi.spyOn(stores.tiledLog, 'writeEntries');
    const combined = vi.spyOn(stores.tiledLog, 'swapHeadWithTiles');
    const split = vi.spyOn(stores.tiledLog, 'writeTiles');
    expect(await log.integrate()).toBe(4);
    expect(entriesFirst).toHaveBeenCalledTimes(1);
    expect(combined).toHaveBeenCalledTimes(1);
    expect(combined.mock.calls[0]![3]).toHaveLength(4);
    expect(split).not.toHaveBeenCalled();
    const entries = await Promise.all([0, 1, 2, 3].map(async (i) => parseLogEntry(await log.entry(i))));
    expect(entries.slice(0, 3)).toEqual(
      chain.map((e) => ({
        type: 'rbnet.tlog.chain-entry/v1',
        index: e.index,
        kind: 'verdict',
        buildId: e.buildId,
        bodySha256: e.bodySha256,
        prevEntryHash: e.prevEntryHash,
        entryHash: e.entryHash,
      })),
    );
    expect(entries[3]).toMatchObject({
      type: 'rbnet.tlog.key-event/v1',
      event: 'enrolled',
      workerId: 'worker-1',
    });
  });

  it('sequences key events itself, and after a restart signs the same checkpoint and only extends it', async () => {
    const stores = open();
    await stores.registry.addOperator('acme');
    await stores.registry.enrolWorker(worker(1));
    await stores.registry.enrolWorker(worker(2));
    const first = await logOn(stores);
    await first.integrate();
    const checkpointA = await first.checkpoint();
    await stores.registry.revokeWorker('worker-2', new Date('2026-01-02T00:00:00.000Z'), {
      kind: 'compromised',
      since: T0,
    });
    // Sequenced in the revocation's transaction, integrated when a proof asks.
    expect(stores.tiledLog.sequencedSize()).toBe(3);
    const proof = parseTlogProof(await first.tlogProof(2));
    expect(parseLogEntry(proof.extra!)).toMatchObject({
      event: 'compromised',
      workerId: 'worker-2',
      compromisedSince: T0.toISOString(),
    });
    const b = parseCheckpointText(parseSignedNote(proof.checkpoint).text);
    verifyInclusion(2, b.size, leafHash(proof.extra!), proof.inclusionProof, b.rootHash);

    // A restart: the same head, the same signed bytes, and a consistency proof from before.
    const restarted = await logOn(stores);
    expect(restarted.size).toBe(3);
    expect(await restarted.checkpoint()).toBe(proof.checkpoint);
    const a = parseCheckpointText(parseSignedNote(checkpointA).text);
    expect(a.size).toBe(2);
    verifyConsistency(a.size, b.size, a.rootHash, b.rootHash, await restarted.consistencyProof(a.size));
  });

  it('serves tiles and proofs only for what is in the log', async () => {
    const stores = open();
    await stores.registry.addOperator('acme');
    await stores.registry.enrolWorker(worker(1));
    const log = await logOn(stores);
    await log.integrate();
    const app = createTlogTilesApp(log);
    expect((await app.request('/tile/0/000.p/1')).status).toBe(200);
    expect((await app.request('/tile/entries/000.p/1')).status).toBe(200);
    for (const path of [
      '/tile/0/000.p/2',
      '/tile/0/000',
      '/tile/0/001.p/1',
      '/tile/../../etc/passwd',
      '/tile/0/x000/000.p/1',
    ])
      expect((await app.request(path)).status, path).toBe(404);
    expect(await (await app.request('/vkey')).text()).toBe(`${signer.vkey}\n`);
    await expect(log.tlogProof(5)).rejects.toMatchObject({ code: 'PROOF_INVALID' });
  });
});
