// Migration 9's aggregates against the history they summarise: after any sequence of builds and
// verdicts they equal a recomputation from every row, each query reads an index (never a row per
// build stored), and a database written before the migration is summarised when it is opened.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newKey } from '../../../services/consensus/consensus-test-fixtures.ts';
import { VERDICTS, type Verdict } from '../../../services/consensus/verdict.ts';
import { genericBuild } from '../../../test/support/generic-build.ts';
import { testJobNonce } from '../../../test/support/test-identifiers.ts';
import { undoMigrationsAbove } from '../../../test/support/undo-migrations.ts';
import { createStoreReadModel } from '../../web/store-read-model.ts';
import { zeroCounts } from '../../web/verdict-style.ts';
import { sqliteSchemaVersion } from './migrations/migrate.ts';
import { openSqliteStores, type SqliteStores } from './open-sqlite-stores.ts';
import { SqliteWebAggregates, WEB_AGGREGATE_SQL } from './sqlite-web-aggregates.ts';

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 8);

let root: string;
let store: SqliteStores;
let aggregates: SqliteWebAggregates;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-web-aggregates-'));
  store = openSqliteStores(join(root, 'db.sqlite'));
  aggregates = new SqliteWebAggregates(join(root, 'db.sqlite'));
});
afterEach(async () => {
  await aggregates.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

/** The pages' read model over this test's store (these tests read no blob). */
function readModel() {
  return createStoreReadModel({
    registry: store.registry,
    builds: store.builds,
    results: store.results,
    aptLinks: store.aptLinks,
    content: undefined as never,
    aggregates,
    publicUrl: 'http://x',
    threshold: 2,
  });
}

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Row {
  seq: number;
  build_id: string;
  name: string;
  backend: string;
  architecture: string;
  created_at: number;
}

/** What the aggregates must say, recomputed from every build and verdict: the state at the end of `day`. */
function recompute(db: Database.Database, day: number) {
  const builds = db
    .prepare('SELECT seq, build_id, name, backend, architecture, created_at FROM builds ORDER BY seq')
    .all() as Row[];
  const history = db
    .prepare('SELECT build_id, verdict, decided_at FROM verdict_history ORDER BY build_id, sequence')
    .all() as { build_id: string; verdict: Verdict; decided_at: number }[];
  const end = (day + 1) * DAY_MS;
  const latest = new Map<string, Row>();
  for (const b of builds) if (b.created_at < end) latest.set(`${b.name}|${b.backend}|${b.architecture}`, b);
  const families = new Map<string, Record<Verdict, number>>();
  for (const b of latest.values()) {
    const decided = history.filter((h) => h.build_id === b.build_id && h.decided_at < end);
    const verdict = decided.at(-1)?.verdict ?? 'pending';
    const key = `${b.backend}/${b.architecture}`;
    const counts = families.get(key) ?? zeroCounts();
    counts[verdict]++;
    families.set(key, counts);
  }
  return families;
}

/** The packages that are alarms now, recomputed: `name|backend|arch|kind`. */
function recomputeAlarms(db: Database.Database): string[] {
  const packages = db
    .prepare(
      `SELECT name, backend, architecture, MAX(seq) AS seq,
         SUM(EXISTS (SELECT 1 FROM verdict_history h WHERE h.build_id = b.build_id AND h.verdict IN ('reproducible', 'agreed'))) AS good
       FROM builds b GROUP BY name, backend, architecture`,
    )
    .all() as { name: string; backend: string; architecture: string; seq: number; good: number }[];
  const out: string[] = [];
  for (const p of packages) {
    const { verdict } = db.prepare('SELECT verdict FROM builds WHERE seq = ?').get(p.seq) as {
      verdict: string;
    };
    if (verdict === 'mismatch-upstream')
      out.push(`${p.name}|${p.backend}|${p.architecture}|mismatch-upstream`);
    else if (p.good > 0 && ['diverged', 'inputs-differ', 'failed'].includes(verdict))
      out.push(`${p.name}|${p.backend}|${p.architecture}|regression`);
  }
  return out.sort();
}

describe('web aggregates kept by migration 9', () => {
  it.each([17, 23, 101, 4242])(
    'equal a recomputation from every row after a random history of builds and verdicts, every day of the trend (seed %i)',
    async (seed) => {
      const next = random(seed);
      const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
      const ids: string[] = [];
      let now = T0;
      for (let step = 0; step < 160; step++) {
        now += Math.floor(next() * DAY_MS * 0.4);
        if (ids.length === 0 || next() < 0.4) {
          const name = names[Math.floor(next() * names.length)]!;
          const build = {
            ...genericBuild(name, { createdAt: new Date(now) }),
            architecture: next() < 0.5 ? 'amd64' : 'arm64',
          };
          await store.builds.createBuild(build);
          ids.push(build.buildId);
        } else {
          // Mostly recent builds (a package's latest), sometimes an old one decided again.
          const from = next() < 0.7 ? Math.max(0, ids.length - 6) : 0;
          const buildId = ids[from + Math.floor(next() * (ids.length - from))]!;
          const current = (await store.builds.getBuild(buildId))!.verdict;
          const choices = VERDICTS.filter((v) => v !== 'pending' && v !== current);
          const verdict = choices[Math.floor(next() * choices.length)]!;
          await store.builds.recordVerdict({
            buildId,
            verdict,
            decisionJson: JSON.stringify({ step }),
            decidedAt: new Date(now),
          });
        }
      }
      const db = new Database(join(root, 'db.sqlite'), { readonly: true });
      try {
        const model = readModel();
        const overview = await model.overview(new Date(now));
        const today = Math.floor(now / DAY_MS);
        const expectedNow = recompute(db, today);
        expect(new Map(overview.families.map((f) => [`${f.backend}/${f.architecture}`, f.counts]))).toEqual(
          expectedNow,
        );
        for (const family of overview.trend) {
          for (const point of family.days) {
            const day = Math.floor(Date.parse(`${point.day}T00:00:00Z`) / DAY_MS);
            const expected =
              recompute(db, day).get(`${family.backend}/${family.architecture}`) ?? zeroCounts();
            expect(point.counts, `${family.backend}/${family.architecture} on ${point.day}`).toEqual(
              expected,
            );
          }
        }
        expect(overview.trend.some((t) => t.days.length > 10)).toBe(true);
        const alarms = await aggregates.alarms(1000);
        expect(
          alarms
            .map(
              (a) =>
                `${a.name}|${a.backend}|${a.architecture}|${a.latestVerdict === 'mismatch-upstream' ? 'mismatch-upstream' : 'regression'}`,
            )
            .sort(),
        ).toEqual(recomputeAlarms(db));
        expect(await aggregates.countAlarms()).toBe(alarms.length);
        const sorted = [...alarms].sort((a, b) => b.changedAtMs - a.changedAtMs);
        expect(alarms.map((a) => a.changedAtMs)).toEqual(sorted.map((a) => a.changedAtMs));
      } finally {
        db.close();
      }
    },
  );

  it('name as alarms mismatch upstream and regressions to diverged, inputs-differ or failed, nothing else', async () => {
    const cases: [string, Verdict[], string | undefined][] = [
      ['mismatch', ['mismatch-upstream'], 'mismatch-upstream'],
      ['to-diverged', ['reproducible', 'diverged'], 'regression'],
      ['to-failed', ['agreed', 'failed'], 'regression'],
      ['to-inputs', ['reproducible', 'inputs-differ'], 'regression'],
      ['to-no-quorum', ['reproducible', 'insufficient-operators'], undefined],
      ['to-unavailable', ['reproducible', 'environment-unavailable'], undefined],
      ['never-good', ['diverged', 'failed'], undefined],
      ['good-again', ['reproducible', 'diverged', 'reproducible'], undefined],
    ];
    let t = T0;
    for (const [name, verdicts] of cases) {
      for (const verdict of verdicts) {
        t += 1000;
        const build = genericBuild(name, { createdAt: new Date(t) });
        await store.builds.createBuild(build);
        await store.builds.recordVerdict({
          buildId: build.buildId,
          verdict,
          decisionJson: '{}',
          decidedAt: new Date(t),
        });
      }
    }
    // The same build reproduced, then decided again as diverged (a compromised worker taken out).
    t += 1000;
    const redecided = genericBuild('redecided', { createdAt: new Date(t) });
    await store.builds.createBuild(redecided);
    for (const verdict of ['reproducible', 'diverged'] as const) {
      t += 1000;
      await store.builds.recordVerdict({
        buildId: redecided.buildId,
        verdict,
        decisionJson: JSON.stringify({ verdict }),
        decidedAt: new Date(t),
      });
    }
    const alarms = await aggregates.alarms(100);
    expect(alarms.map((a) => `${a.name}:${a.latestVerdict}`).sort()).toEqual([
      'mismatch:mismatch-upstream',
      'redecided:diverged',
      'to-diverged:diverged',
      'to-failed:failed',
      'to-inputs:inputs-differ',
    ]);
    expect(alarms.find((a) => a.name === 'redecided')?.lastGoodBuildId).toBe(redecided.buildId);
  });

  it('pages alarms and packages by key: every row once, in order', async () => {
    for (let i = 0; i < 30; i++) {
      const build = genericBuild(`pkg-${String(i).padStart(2, '0')}`, {
        createdAt: new Date(T0 + i * 60_000),
      });
      await store.builds.createBuild(build);
      await store.builds.recordVerdict({
        buildId: build.buildId,
        verdict: 'mismatch-upstream',
        decisionJson: '{}',
        decidedAt: new Date(T0 + i * 60_000),
      });
    }
    const seen: string[] = [];
    let after: Parameters<typeof aggregates.alarms>[1];
    for (;;) {
      const page = await aggregates.alarms(7, after);
      seen.push(...page.map((p) => p.name));
      if (page.length < 7) break;
      const last = page.at(-1)!;
      after = {
        changedAtMs: last.changedAtMs,
        name: last.name,
        backend: last.backend,
        architecture: last.architecture,
      };
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `pkg-${String(29 - i).padStart(2, '0')}`));
    const first = await aggregates.packagesByPrefix('pkg-1', 4);
    expect(first.map((p) => p.name)).toEqual(['pkg-10', 'pkg-11', 'pkg-12', 'pkg-13']);
    const rest = await aggregates.packagesByPrefix('pkg-1', 10, first.at(-1)!);
    expect(rest.map((p) => p.name)).toEqual(['pkg-14', 'pkg-15', 'pkg-16', 'pkg-17', 'pkg-18', 'pkg-19']);
  });

  it('counts finished work per hour and worker: results by kind, attempts closed without one', async () => {
    await store.registry.addOperator('acme');
    const key = newKey();
    await store.registry.enrolWorker({
      workerId: 'w1',
      operator: 'acme',
      signingKeyPem: key.publicKeyPem,
      signingKeyid: key.keyid,
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
      queueName: 'q1',
      redisUser: 'worker:rbnet:w1',
    });
    const build = genericBuild('counted', { createdAt: new Date(T0) });
    await store.builds.createBuild(build);
    const attempt = (n: number) => ({
      buildId: build.buildId,
      workerId: 'w1',
      operator: 'acme',
      attempt: n,
      jobId: `job-${n}`,
      nonce: testJobNonce(`aggregates job ${n}`),
      assignedAt: new Date(T0),
    });
    for (const n of [1, 2, 3, 4]) await store.builds.createAttempt(attempt(n));
    const result = (n: number, kind: 'built' | 'failed') => ({
      ...attempt(n),
      envelopeSha256: String(n).repeat(64) as never,
      kind,
      ...(kind === 'failed' && { failureReason: 'timeout' }),
      outputs: [],
      environmentSha256: 'e'.repeat(64) as never,
      environmentOrigin: 'built-locally',
      inputsKey: 'k',
      logSha256: 'f'.repeat(64) as never,
      counted: true,
      receivedAt: new Date(T0 + 3_600_000),
    });
    await store.results.recordResult(result(1, 'built'));
    await store.results.recordResult(result(2, 'failed'));
    await store.builds.finishAttempt('job-3', { state: 'expired', finishedAt: new Date(T0 + 2 * 3_600_000) });
    await store.builds.finishAttempt('job-4', {
      state: 'cancelled',
      finishedAt: new Date(T0 + 2 * 3_600_000),
    });
    const hour = Math.floor(T0 / 3_600_000);
    expect(await aggregates.hourlyOutcomesFrom(hour)).toEqual([
      { hour: hour + 1, workerId: 'w1', outcome: 'build-failure:timeout', count: 1 },
      { hour: hour + 1, workerId: 'w1', outcome: 'built', count: 1 },
      { hour: hour + 2, workerId: 'w1', outcome: 'cancelled', count: 1 },
      { hour: hour + 2, workerId: 'w1', outcome: 'infrastructure:expired', count: 1 },
    ]);
  });

  it('tells a reader that something was written: the data version changes with every commit of another connection', async () => {
    const before = aggregates.dataVersion();
    expect(aggregates.dataVersion()).toBe(before);
    await store.builds.createBuild(genericBuild('changes'));
    expect(aggregates.dataVersion()).not.toBe(before);
  });

  it('reads every query through an index: no statement scans builds, results, attempts or the history', () => {
    const db = new Database(join(root, 'db.sqlite'), { readonly: true });
    try {
      for (const [name, sql] of Object.entries(WEB_AGGREGATE_SQL)) {
        const params = (sql.match(/\?/g) ?? []).map(() => 1);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
          (r) => r.detail,
        );
        for (const step of plan) {
          expect(step, `${name}: ${plan.join(' | ')}`).not.toMatch(
            /^SCAN (builds|results|attempts|verdict_history|web_daily_changes|web_hourly_outcomes)\b/,
          );
          if (step.startsWith('SCAN web_packages'))
            expect(step, name).toMatch(/USING (COVERING )?INDEX web_packages_alarms/);
        }
        if (name.startsWith('alarms')) expect(plan.join(' | '), name).not.toContain('TEMP B-TREE');
        if (name === 'countAlarms')
          expect(plan.join(' | ')).toContain('USING COVERING INDEX web_packages_alarms');
      }
    } finally {
      db.close();
    }
  });
});

describe('migration 9 on a database written before it', () => {
  it('summarises the builds already stored when the database is opened', async () => {
    const a = genericBuild('old-a', { createdAt: new Date(T0) });
    const b = genericBuild('old-a', { createdAt: new Date(T0 + DAY_MS) });
    const c = genericBuild('old-c', { createdAt: new Date(T0) });
    await store.builds.createBuilds([a, b, c]);
    await store.builds.recordVerdict({
      buildId: a.buildId,
      verdict: 'reproducible',
      decisionJson: '{}',
      decidedAt: new Date(T0),
    });
    await store.builds.recordVerdict({
      buildId: b.buildId,
      verdict: 'diverged',
      decisionJson: '{}',
      decidedAt: new Date(T0 + DAY_MS),
    });
    await store.builds.recordVerdict({
      buildId: c.buildId,
      verdict: 'mismatch-upstream',
      decisionJson: '{}',
      decidedAt: new Date(T0),
    });
    await aggregates.close();
    await store.close();
    // Back to version 8: what migration 9 and those after it made is dropped by hand.
    const old = new Database(join(root, 'db.sqlite'));
    undoMigrationsAbove(old, 8);
    old.close();
    store = openSqliteStores(join(root, 'db.sqlite'));
    aggregates = new SqliteWebAggregates(join(root, 'db.sqlite'));
    expect(store.schemaVersion()).toBe(sqliteSchemaVersion);
    const counts = await aggregates.familyCounts();
    expect(counts.map((r) => `${r.verdict}:${r.packages}`).sort()).toEqual([
      'diverged:1',
      'mismatch-upstream:1',
    ]);
    const alarms = await aggregates.alarms(10);
    expect(
      alarms.map((p) => `${p.name}:${p.latestVerdict}:${p.lastGoodBuildId === a.buildId}`).sort(),
    ).toEqual(['old-a:diverged:true', 'old-c:mismatch-upstream:false']);
    const model = readModel();
    const trend = (await model.overview(new Date(T0 + 2 * DAY_MS))).trend[0]!;
    // Before the migration the days' changes were not kept: each package enters on its latest decision.
    expect(trend.days.map((d) => `${d.day}:${d.counts['mismatch-upstream']}:${d.counts.diverged}`)).toEqual([
      '2026-01-01:1:0',
      '2026-01-02:1:1',
      '2026-01-03:1:1',
    ]);
  });
});
