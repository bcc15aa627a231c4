// Migration 16 on real SQLite files written by older schemas: every result recorded before the
// log logged results enters the tree after what was already there, in the order recorded, as the
// entry the live trigger writes (marked backfilled); each has an inclusion proof; a second open
// logs nothing twice; and the monitor's rule passes an honest upgraded log and catches a verdict
// that hid a result the upgrade then logged.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCheckpointText } from '../../services/tlog/checkpoint.ts';
import {
  type LogEntry,
  RESULT_ENTRY,
  resultKeyText,
  type VerdictEntry,
} from '../../services/tlog/log-entry.ts';
import { leafHash } from '../../services/tlog/merkle-hash.ts';
import { verifyInclusion } from '../../services/tlog/merkle-proofs.ts';
import { newLogSigner } from '../../services/tlog/tlog-fixtures.ts';
import { parseTlogProof } from '../../services/tlog/tlog-proof.ts';
import { accountEntry, emptyAccountingState, endOfRound } from '../../services/tlog/verdict-accounting.ts';
import {
  dbFileIn,
  integratedLog,
  recordedJobs,
  rewriteAsSchema,
  seedLoggedWorld,
} from '../../test/support/backfilled-log.ts';
import { undoMigrationsAbove } from '../../test/support/undo-migrations.ts';
import { migration16 } from '../storage/sqlite/migrations/m016-backfill-results-into-log.ts';
import { sqliteSchemaVersion } from '../storage/sqlite/migrations/migrate.ts';
import { openSqliteStores, type SqliteStores } from '../storage/sqlite/open-sqlite-stores.ts';

const ORIGIN = 'rbnet.example/log';
const signer = newLogSigner(ORIGIN);
let root: string;
let opened: SqliteStores[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-log-backfill-'));
  opened = [];
});
afterEach(async () => {
  for (const stores of opened) await stores.close();
  await rm(root, { recursive: true, force: true });
});

const dbPath = () => dbFileIn(root);

function open(): SqliteStores {
  const stores = openSqliteStores(dbPath());
  opened.push(stores);
  return stores;
}

function alarmsOver(entries: readonly LogEntry[]) {
  const state = emptyAccountingState();
  return [...entries.flatMap((e, i) => accountEntry(state, i, e)), ...endOfRound(state)];
}

describe('migration 16: the results recorded before the log', () => {
  it('from schema 9: logs every result after the chain and the keys, in the order recorded, as the live entry marked backfilled, each provable, once', async () => {
    const { liveResults } = await seedLoggedWorld(root);
    rewriteAsSchema(dbPath(), 9);
    const stores = open();
    expect(stores.schemaVersion()).toBe(sqliteSchemaVersion);
    const { log, entries } = await integratedLog(stores, ORIGIN, signer);
    expect(log.size).toBe(stores.tiledLog.sequencedSize());

    const jobs = recordedJobs(dbPath());
    expect(jobs.length).toBeGreaterThan(20);
    const firstResult = entries.findIndex((e) => e.type === RESULT_ENTRY);
    expect(entries.slice(0, firstResult).map((e) => e.type)).not.toContain(RESULT_ENTRY);
    expect(entries.slice(firstResult).map((e) => (e as { jobId?: string }).jobId)).toEqual(jobs);
    // The same bytes the live path writes, plus the marker.
    for (const job of jobs)
      expect(entries.find((e) => (e as { jobId?: string }).jobId === job)).toEqual({
        ...liveResults.get(job),
        backfilled: true,
      });
    for (let index = firstResult; index < entries.length; index++) {
      const proof = parseTlogProof(await log.tlogProof(index));
      const { size, rootHash } = parseCheckpointText(proof.note.text);
      verifyInclusion(index, size, leafHash(proof.extra!), proof.inclusionProof, rootHash);
    }
    // Only chain entries stand for the old verdicts: nothing to account against, nothing wrong.
    expect(alarmsOver(entries)).toEqual([]);

    // A second open, and the migration's statement run again, log nothing twice.
    const size = stores.tiledLog.sequencedSize();
    await stores.close();
    const again = open();
    expect(again.tiledLog.sequencedSize()).toBe(size);
    again.connection.db.exec(migration16.sql);
    expect(again.tiledLog.sequencedSize()).toBe(size);
  });

  it('is undone for tests (back to 15 before integration) and done again the same way', async () => {
    await seedLoggedWorld(root);
    rewriteAsSchema(dbPath(), 9);
    const first = open();
    const sequenced = first.tiledLog.sequencedFrom(0, 1_000_000);
    expect(sequenced.some((s) => s.factsJson.includes('"backfilled":true'))).toBe(true);
    await first.close();
    const db = new Database(dbPath());
    undoMigrationsAbove(db, 15);
    expect(
      db.prepare("SELECT COUNT(*) FROM tlog_sequence WHERE facts_json LIKE '%backfilled%'").pluck().get(),
    ).toBe(0);
    expect(() => db.exec('DELETE FROM tlog_sequence')).toThrow(/append-only/);
    db.close();
    const again = open();
    expect(again.tiledLog.sequencedFrom(0, 1_000_000)).toEqual(sequenced);
  });

  describe('from schema 13, where a verdict entry was logged before the results it decided on', () => {
    /** The verdict of the diverged build as the schema-13 coordinator logged it, and which result it cites. */
    async function upgradedWith(edit: (verdict: VerdictEntry) => VerdictEntry) {
      const { world, verdicts } = await seedLoggedWorld(root);
      const diverged = verdicts.filter((v) => v.buildId === world.builds.diverged).at(-1)!;
      const verdict = edit(JSON.parse(diverged.factsJson) as VerdictEntry);
      // After migration 10 the old coordinator logged results live; these were recorded before it.
      // It decided the build again and sequenced the verdict as its store does.
      rewriteAsSchema(dbPath(), 13, (db) =>
        db
          .prepare(
            `INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
             VALUES ((SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_sequence), 'verdict', ?, ?)`,
          )
          .run(verdict.buildId, JSON.stringify(verdict)),
      );
      const stores = open();
      const { entries } = await integratedLog(stores, ORIGIN, signer);
      return { world, entries, verdict };
    }

    it('an honest one passes the monitor rule: its citations wait for the backfill', async () => {
      const { world, entries, verdict } = await upgradedWith((v) => v);
      const verdictIndex = entries.findIndex((e) => e.type === 'rbnet.tlog.verdict/v1');
      const backfilledOfBuild = entries
        .map((e, index) => ({ e, index }))
        .filter(({ e }) => e.type === RESULT_ENTRY && e.buildId === world.builds.diverged);
      expect(backfilledOfBuild.length).toBe(verdict.results.length);
      expect(backfilledOfBuild.every(({ index }) => index > verdictIndex)).toBe(true);
      expect(alarmsOver(entries)).toEqual([]);
    });

    it('one that left out the dissent raises hidden-result once the dissent is backfilled', async () => {
      let dropped = '';
      const { entries } = await upgradedWith((v) => {
        const dissent = v.results.find((r) => r.standing === 'counted')!;
        dropped = resultKeyText(dissent);
        return { ...v, results: v.results.filter((r) => r !== dissent) };
      });
      const alarms = alarmsOver(entries);
      expect(alarms.map((a) => a.kind)).toEqual(['hidden-result']);
      expect(alarms[0]!.message).toContain(`the backfilled built result ${dropped}`);
    });
  });
});
