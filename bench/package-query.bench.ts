// The bulk consensus query a release tool sends hourly: 1,000 source versions in one
// POST /v1/packages/query with 100,000 builds stored, through the real app and a real SQLite file;
// and one 1,000-entry page of GET /v1/feed from the middle of the feed. Baseline, in the same run: a
// hono route that reads the same body and answers a constant JSON object of the same answer (the
// HTTP, body and serialisation cost with no query at all). Medians and p99 (docs/benchmarks.md,
// "Bulk consensus queries").
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Hono } from 'hono';
import { createCoordinatorApp } from '../coordinator/http/create-app.ts';
import type { NewBuild } from '../services/storage/build-store.ts';
import { createTestCoordinatorDeps } from '../test/support/coordinator-deps-fixture.ts';
import { decisionOf, packageBuild } from '../test/support/package-builds.ts';
import { formatRow, median, timeMs } from './bench-support.ts';

const STORED = Number(process.env.BENCH_STORED_BUILDS ?? 100_000);
const QUESTIONS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const BATCH = 10_000;
/** Versions per source, one build each (a third arm64): about 16,700 sources for 100,000 builds. */
const VERSIONS_PER_SOURCE = 6;
const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const OPERATORS = ['acme', 'globex', 'initech', 'umbrella'];

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function buildOf(i: number): NewBuild {
  const version = i % VERSIONS_PER_SOURCE;
  return packageBuild({
    source: `src${Math.floor(i / VERSIONS_PER_SOURCE)}`,
    version: `${1 + Math.floor(version / 2)}.0-${1 + (version % 2)}`,
    architecture: i % 3 === 2 ? 'arm64' : 'amd64',
  });
}

const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-package-query-'));
try {
  const { deps, store } = await createTestCoordinatorDeps(root);
  const built: NewBuild[] = [];
  for (let made = 0; made < STORED; ) {
    const batch: NewBuild[] = [];
    for (; batch.length < BATCH && made < STORED; made += 1) batch.push(buildOf(made));
    await store.builds.createBuilds(batch);
    built.push(...batch);
    process.stderr.write(`\r[fill] ${made}/${STORED}`);
  }
  process.stderr.write('\n');
  // Every build decided once, in one transaction on a second connection: recording 100,000
  // verdicts one by one (an fsync each) measures nothing this bench is about. The schema's
  // triggers keep the current verdict, the package index and the feed for these rows as for any.
  const db = new Database(join(root, 'db.sqlite'));
  const insert = db.prepare(
    `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json, decided_at)
     VALUES (?, 1, ?, 'pending', ?, ?)`,
  );
  db.transaction(() => {
    for (const [i, build] of built.entries()) {
      const verdict = i % 10 === 0 ? 'diverged' : 'reproducible';
      const agreeing = OPERATORS.slice(0, 2 + (i % 3));
      const v = decisionOf(build, verdict, agreeing, verdict === 'diverged' ? ['umbrella'] : []);
      insert.run(build.buildId, verdict, v.decisionJson, Date.now());
    }
  })();
  db.close();
  process.stderr.write('[fill] verdicts recorded\n');

  const app = createCoordinatorApp(deps);
  // 1,000 distinct source versions spread over the whole history.
  const step = Math.floor(built.length / QUESTIONS);
  const questions = Array.from({ length: QUESTIONS }, (_, i) => {
    const build = built[i * step]!;
    const manifest = JSON.parse(build.manifestJson) as { name: string; version: string };
    return { source: manifest.name, version: manifest.version };
  });
  const body = JSON.stringify({ packages: questions });
  const query = async () => {
    const response = await app.request(
      '/v1/packages/query',
      { method: 'POST', body, headers: { 'content-type': 'application/json' } },
      LOOPBACK_ENV,
    );
    if (response.status !== 200) throw new Error(`query answered ${response.status}`);
    return response.text();
  };
  const answerText = await query();
  const feedLatest = await deps.feed.latestFeedSeq();
  const feedPath = `/v1/feed?limit=1000&since=${Math.floor(feedLatest / 2)}`;
  const feed = async () => {
    const response = await app.request(feedPath, { method: 'GET' }, LOOPBACK_ENV);
    if (response.status !== 200) throw new Error(`feed answered ${response.status}`);
    return response.text();
  };
  const feedText = await feed();

  // The baseline: the same HTTP path, body read and answer serialised, and no query.
  const answerObject = JSON.parse(answerText) as unknown;
  const feedObject = JSON.parse(feedText) as unknown;
  const baseline = new Hono();
  baseline.post('/v1/packages/query', async (c) => {
    await c.req.text();
    return c.json(answerObject as object);
  });
  baseline.get('/v1/feed', (c) => c.json(feedObject as object));
  const constant = async () =>
    (
      await baseline.request('/v1/packages/query', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      })
    ).text();
  const constantFeed = async () => (await baseline.request(feedPath)).text();

  for (let warm = 0; warm < 10; warm += 1) await Promise.all([query(), constant(), feed(), constantFeed()]);
  const samples: number[][] = [[], [], [], []];
  const measures = [query, constant, feed, constantFeed];
  for (let run = 0; run < RUNS; run += 1)
    for (const [i, measure] of measures.entries()) samples[i]!.push(await timeMs(measure));
  const [q, c, f, cf] = samples as [number[], number[], number[], number[]];
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const stored = STORED.toLocaleString('en');
  console.log(`## Bulk consensus queries (${RUNS} runs each, interleaved)\n`);
  console.log(
    `answer of the bulk query: ${(answerText.length / 1024).toFixed(0)} KiB; feed page: ${(feedText.length / 1024).toFixed(0)} KiB\n`,
  );
  console.log('| request | median ms | p99 ms | median ratio vs its baseline | p99 ratio |');
  console.log('|---|---|---|---|---|');
  console.log(
    formatRow([
      `POST /v1/packages/query, ${QUESTIONS} versions, ${stored} builds`,
      median(q),
      percentile(q, 99),
      ratio(median(q), median(c)),
      ratio(percentile(q, 99), percentile(c, 99)),
    ]),
  );
  console.log(
    formatRow(['baseline: constant JSON of that answer', median(c), percentile(c, 99), '1.00×', '1.00×']),
  );
  console.log(
    formatRow([
      `GET /v1/feed, 1,000 entries from the middle of ${feedLatest.toLocaleString('en')}`,
      median(f),
      percentile(f, 99),
      ratio(median(f), median(cf)),
      ratio(percentile(f, 99), percentile(cf, 99)),
    ]),
  );
  console.log(
    formatRow(['baseline: constant JSON of that page', median(cf), percentile(cf, 99), '1.00×', '1.00×']),
  );
  await store.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
