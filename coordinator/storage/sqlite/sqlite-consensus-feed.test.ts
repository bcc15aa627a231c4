// The consensus feed's reads stay bounded by the page, not by what is stored: each statement's
// query plan walks one index in order (no full scan, no sort), read from the real SQLite file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionOf, packageBuild } from '../../../test/support/package-builds.ts';
import { openSqliteStores, type SqliteStores } from './open-sqlite-stores.ts';
import { CONSENSUS_FEED_SQL } from './sqlite-consensus-feed.ts';

let root: string;
let store: SqliteStores;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-feed-store-'));
  store = openSqliteStores(join(root, 'db.sqlite'));
  // Enough rows, over several architectures, that ANALYZE gives the planner real statistics.
  const builds = Array.from({ length: 300 }, (_, i) =>
    packageBuild({
      source: `pkg${i % 50}`,
      version: `1.${i}-1`,
      architecture: ['amd64', 'arm64', 'i386'][i % 3]!,
    }),
  );
  await store.builds.createBuilds(builds);
  for (const build of builds)
    await store.builds.recordVerdict(decisionOf(build, 'reproducible', ['acme', 'globex']));
  store.connection.db.exec('ANALYZE');
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function planOf(sql: string): string {
  const bound = sql
    .replace(/@after|@limit/g, '1')
    .replace(/@architecture/g, "'amd64'")
    .replace(/@suite/g, "'trixie'");
  const args = (sql.match(/\?/g) ?? []).map((_, i) => (i === 0 ? 'pkg1' : i === 1 ? '1.1-1' : 10));
  const rows = store.connection.db.prepare(`EXPLAIN QUERY PLAN ${bound}`).all(...args) as {
    detail: string;
  }[];
  return rows.map((r) => r.detail).join('\n');
}

describe('SqliteConsensusFeed query plans', () => {
  it.each([
    ['feed', /SEARCH f USING INTEGER PRIMARY KEY \(rowid>\?\)/],
    ['feedByArchitecture', /SEARCH f USING INDEX verdict_feed_architecture \(architecture=\? AND seq>\?\)/],
    ['feedBySuite', /SEARCH sf USING INDEX suite_feed_suite \(suite=\? AND seq>\?\)/],
    [
      'feedBySuiteArchitecture',
      /SEARCH sf USING INDEX suite_feed_suite_architecture \(suite=\? AND architecture=\? AND seq>\?\)/,
    ],
    ['buildsOfVersion', /SEARCH p USING INDEX package_builds_version \(source=\? AND version=\?\)/],
    ['buildsOfSource', /SEARCH p USING INDEX package_builds_source \(source=\?\)/],
    ['latestSuiteSeq', /SEARCH suite_feed USING COVERING INDEX suite_feed_suite \(suite=\?\)/],
  ] as const)('%s reads one index range, in order, and sorts nothing', (name, expected) => {
    const plan = planOf(CONSENSUS_FEED_SQL[name]);
    expect(plan).toMatch(expected);
    expect(plan).not.toMatch(/TEMP B-TREE|^SCAN/m);
    // The build row of an entry is one lookup by its unique id.
    if (name.startsWith('feed'))
      expect(plan).toMatch(/SEARCH b USING INDEX sqlite_autoindex_builds_1 \(build_id=\?\)/);
  });

  it('keeps one entry per verdict change, with a cursor that only grows, and refuses to be rewritten', async () => {
    const { entries, more } = await store.feed.readFeed({ after: 0, limit: 1000 });
    expect(entries).toHaveLength(300);
    expect(more).toBe(false);
    expect(entries.every((e, i) => i === 0 || e.seq > entries[i - 1]!.seq)).toBe(true);
    const next = await store.feed.readFeed({ after: entries[99]!.seq, limit: 100, architecture: 'arm64' });
    expect(next.entries.every((e) => e.architecture === 'arm64' && e.seq > entries[99]!.seq)).toBe(true);
    expect(() => store.connection.db.exec("UPDATE verdict_feed SET verdict = 'failed'")).toThrow(
      /append-only/,
    );
    expect(() => store.connection.db.exec('DELETE FROM verdict_feed')).toThrow(/append-only/);
    await expect(store.feed.readFeed({ after: -1, limit: 10 })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(store.feed.readFeed({ after: 0, limit: 1001 })).rejects.toMatchObject({ code: 'INVALID' });
  });
});
