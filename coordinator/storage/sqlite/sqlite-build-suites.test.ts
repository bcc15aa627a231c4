// Where a build was found (migration 15) on a real SQLite file: a sync profile's index read records
// the suite for the upload and its build, before or after the build exists; each suite has its own
// feed in which a build found later is listed with its latest verdict; every feed entry and package
// answer carries the log index of the verdict entry that names it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../../services/consensus/verdict.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { canonicalizeJcs } from '../../../services/jcs.ts';
import type { NewBuild } from '../../../services/storage/build-store.ts';
import type { PackageQuery } from '../../../services/storage/consensus-feed.ts';
import { decisionOf, packageBuild } from '../../../test/support/package-builds.ts';
import {
  decideAndLog,
  loggedAt as loggedAtIn,
  logVerdict,
  readSuiteIndex,
  SUITES_T0,
  submitUpload,
  suitesProfile,
  upload,
} from '../../../test/support/suite-builds.ts';
import { undoMigrationsAbove } from '../../../test/support/undo-migrations.ts';
import { openSqliteStores, type SqliteStores } from './open-sqlite-stores.ts';

let root: string;
let stores: SqliteStores;
const T0 = SUITES_T0;
const PROFILE = 'debian';
const profile = suitesProfile(PROFILE, ['bookworm', 'bookworm-proposed-updates']);

const readIndex = (suite: string, uploads: ReturnType<typeof upload>[]) =>
  readSuiteIndex(stores, PROFILE, suite, uploads);
const submit = (source: string, version: string) => submitUpload(stores, PROFILE, source, version);
const decide = (build: NewBuild, verdict: Verdict) => decideAndLog(stores, build, verdict);
const loggedAt = (index: number | null) => loggedAtIn(stores, index);

/** The builds answering one package question. */
async function buildsOf(questions: readonly PackageQuery[], maxBuilds: number) {
  const [builds] = await stores.feed.findPackageBuilds(questions, maxBuilds);
  return builds!;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-build-suites-'));
  stores = openSqliteStores(join(root, 'db.sqlite'));
  await stores.registry.addMaintainer('bot', T0);
  await stores.syncProfiles.addSyncProfile(profile, T0);
});
afterEach(async () => {
  await stores.close();
  await rm(root, { recursive: true, force: true });
});

describe('build suites and suite feeds', () => {
  it('records the suite of a submitted build, and a suite it is found in later lists its latest verdict there', async () => {
    await readIndex('bookworm', [upload('hello', '2.10-3')]);
    const hello = await submit('hello', '2.10-3');
    const handMade = packageBuild({ source: 'hello', version: '2.10-3' });
    await stores.builds.createBuilds([handMade]);
    const first = await decide(hello, 'reproducible');
    await decide(handMade, 'failed');

    const bookworm = await stores.feed.readFeed({ after: 0, limit: 10, suite: 'bookworm' });
    expect(bookworm.entries.map((e) => [e.buildId, e.verdict, e.suite, e.suites])).toEqual([
      [hello.buildId, 'reproducible', 'bookworm', ['bookworm']],
    ]);
    // A build submitted by hand is found in no suite.
    const all = await stores.feed.readFeed({ after: 0, limit: 10 });
    expect(all.entries.map((e) => [e.buildId, e.suite, e.suites])).toEqual([
      [hello.buildId, 'bookworm', ['bookworm']],
      [handMade.buildId, null, []],
    ]);

    // The same upload shows up in proposed-updates: not submitted again, listed there with the
    // verdict it has, at the end of that suite's feed.
    await readIndex('bookworm-proposed-updates', [upload('hello', '2.10-3')]);
    expect(await stores.builds.listBuilds({ limit: 10 })).toHaveLength(2);
    const pu = await stores.feed.readFeed({ after: 0, limit: 10, suite: 'bookworm-proposed-updates' });
    expect(pu.entries.map((e) => [e.buildId, e.sequence, e.verdict, e.suite, e.suites])).toEqual([
      [
        hello.buildId,
        first,
        'reproducible',
        'bookworm-proposed-updates',
        ['bookworm', 'bookworm-proposed-updates'],
      ],
    ]);
    expect(await stores.feed.latestFeedSeq('bookworm-proposed-updates')).toBe(pu.entries[0]!.seq);
    // A verdict change of a build in two suites: once in each suite's feed, once in the whole feed.
    const second = await decide(hello, 'diverged');
    const changesAfter = async (suite: string, since: number) =>
      (await stores.feed.readFeed({ after: since, limit: 10, suite })).entries.map((e) => [
        e.sequence,
        e.verdict,
        e.suites,
      ]);
    const both = ['bookworm', 'bookworm-proposed-updates'];
    expect(await changesAfter('bookworm', bookworm.entries[0]!.seq)).toEqual([[second, 'diverged', both]]);
    expect(await changesAfter('bookworm-proposed-updates', pu.entries[0]!.seq)).toEqual([
      [second, 'diverged', both],
    ]);
    // Earlier entries keep the suites they were recorded with.
    const whole = await stores.feed.readFeed({ after: 0, limit: 10 });
    expect(whole.entries.map((e) => e.suites)).toEqual([['bookworm'], [], both]);
    // The arch filter of a suite feed walks its own index.
    expect(
      (await stores.feed.readFeed({ after: 0, limit: 10, suite: 'bookworm', architecture: 'arm64' })).entries,
    ).toEqual([]);

    const [versions] = await stores.feed.findPackageBuilds([{ source: 'hello', version: '2.10-3' }], 10);
    expect(versions!.map((b) => [b.buildId, b.suites, b.suite])).toEqual([
      [handMade.buildId, [], null],
      [hello.buildId, both, 'bookworm'],
    ]);
  });

  it('records a suite for an upload read before its build exists, and none for a build never created', async () => {
    await readIndex('bookworm-proposed-updates', [upload('hello', '2.10-4'), upload('zlib', '1.3')]);
    await readIndex('bookworm', [upload('hello', '2.10-4')]);
    const hello = await submit('hello', '2.10-4');
    // Claimed, then the submission failed: no build, so nothing to record.
    const [zlib] = (await stores.syncProgress.listUploads(PROFILE)).filter((u) => u.source === 'zlib');
    await stores.syncProgress.claimUpload(zlib!, packageBuild({ source: 'zlib' }).buildId);
    await decide(hello, 'reproducible');
    const [build] = await buildsOf([{ source: 'hello' }], 10);
    expect(build!.suites).toEqual(['bookworm', 'bookworm-proposed-updates']);
    const rows = stores.connection.db.prepare('SELECT COUNT(*) AS n FROM build_suites').get();
    expect(rows).toEqual({ n: 2 });
    // The suite feed is history: it refuses to be rewritten.
    expect(() => stores.connection.db.exec('DELETE FROM suite_feed')).toThrow(/append-only/);
  });

  it('serves with every feed entry and package answer the log index of the entry that names its verdict', async () => {
    await readIndex('bookworm', [upload('hello', '2.10-3')]);
    const hello = await submit('hello', '2.10-3');
    const other = packageBuild({ source: 'other', version: '1' });
    await stores.builds.createBuilds([other]);
    await decide(other, 'failed');
    const first = await decide(hello, 'reproducible');
    // Recorded, not yet logged (the moment between the two transactions): no index yet.
    const pending = await stores.builds.recordVerdict(decisionOf(hello, 'diverged', ['acme'], ['globex']));
    const [unlogged] = await buildsOf([{ source: 'hello' }], 1);
    expect(unlogged!.logIndex).toBeNull();
    await logVerdict(stores, hello, 'diverged', pending.sequence);

    for (const options of [{}, { suite: 'bookworm' }, { architecture: 'amd64' }]) {
      const { entries } = await stores.feed.readFeed({ after: 0, limit: 10, ...options });
      for (const entry of entries)
        expect(loggedAt(entry.logIndex)).toEqual({
          buildId: entry.buildId,
          sequence: entry.sequence,
          verdict: entry.verdict,
        });
      expect(entries.some((e) => e.sequence === first && e.buildId === hello.buildId)).toBe(true);
    }
    const [current] = await buildsOf([{ source: 'hello', version: '2.10-3' }], 1);
    expect(loggedAt(current!.logIndex)).toEqual({
      buildId: hello.buildId,
      sequence: pending.sequence,
      verdict: 'diverged',
    });
  });

  it("upgrades a version 13 file: a one-suite profile's builds get its suite, a several-suite profile reads its indexes again", async () => {
    await stores.syncProfiles.addSyncProfile(
      { ...profile, name: 'one', archive: { ...profile.archive, suites: ['trixie'] } },
      T0,
    );
    await stores.syncProgress.recordIndex(
      'one',
      'trixie/main/binary-amd64/Packages',
      sha256Hex('t'),
      [upload('hello', '2.10-3')],
      'new',
      T0,
      'trixie',
    );
    const [record] = await stores.syncProgress.listUploads('one');
    const hello = packageBuild({ source: 'hello', version: '2.10-3' });
    await stores.syncProgress.claimUpload(record!, hello.buildId);
    await stores.builds.createBuilds([hello]);
    await stores.syncProgress.markSubmitted(record!, T0);
    const sequence = await decide(hello, 'reproducible');
    await readIndex('bookworm', [upload('zlib', '1.3')]);
    // A verdict chained before the tiled log existed: migration 10 made its chain entry a tiled one.
    const old10 = packageBuild({ source: 'old', version: '1' });
    await stores.builds.createBuilds([old10]);
    const decidedAt = new Date('2026-11-30T12:34:56.789Z');
    const oldVerdict = await stores.builds.recordVerdict({
      ...decisionOf(old10, 'failed', []),
      decidedAt,
    });
    const chained = {
      buildId: old10.buildId,
      verdict: 'failed',
      previousVerdict: 'pending',
      decidedAt: decidedAt.toISOString(),
    };
    const { index } = await stores.log.appendLogEntry({
      kind: 'verdict',
      buildId: old10.buildId,
      bodySha256: sha256Hex(canonicalizeJcs(chained)),
      body: chained,
    });
    const chainIndex = stores.tiledLog.sequencedFrom(0, 1000).length;
    stores.connection.db
      .prepare(
        `INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
         VALUES (?, 'chain', ?, json_object('index', ?, 'kind', 'verdict', 'buildId', ?))`,
      )
      .run(chainIndex, old10.buildId, index, old10.buildId);
    await stores.close();
    const old = new Database(join(root, 'db.sqlite'));
    undoMigrationsAbove(old, 13);
    old.close();

    stores = openSqliteStores(join(root, 'db.sqlite'));
    const { entries } = await stores.feed.readFeed({ after: 0, limit: 10, suite: 'trixie' });
    expect(entries.map((e) => [e.buildId, e.sequence, e.suites])).toEqual([
      [hello.buildId, sequence, ['trixie']],
    ]);
    expect(loggedAt(entries[0]!.logIndex)).toEqual({
      buildId: hello.buildId,
      sequence,
      verdict: 'reproducible',
    });
    const [oldEntry] = (await stores.feed.readFeed({ after: 0, limit: 10 })).entries.filter(
      (e) => e.buildId === old10.buildId,
    );
    expect(oldEntry).toMatchObject({ sequence: oldVerdict.sequence, logIndex: chainIndex });
    // Which of its suites listed an upload was never recorded: its indexes are read again.
    expect(
      await stores.syncProgress.getIndexDigest(PROFILE, 'bookworm/main/binary-amd64/Packages'),
    ).toBeUndefined();
    expect(await stores.syncProgress.getIndexDigest('one', 'trixie/main/binary-amd64/Packages')).toBe(
      sha256Hex('t'),
    );
  });
});
