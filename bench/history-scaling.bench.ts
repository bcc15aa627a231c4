// Hot paths against the history stored: the sweep with 100 pending builds among 100,000 stored vs the
// same 100 in an otherwise empty store, and a /metrics scrape with 100,000 builds vs 100. Medians and
// ratios against baselines measured in the same run (docs/benchmarks.md, "History on hot paths").
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CoordinatorDeps } from '../coordinator/coordinator-deps.ts';
import { createCoordinatorApp } from '../coordinator/http/create-app.ts';
import { sweepPendingBuilds } from '../coordinator/scheduler/sweep-pending-builds.ts';
import type { SqliteStores } from '../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { newKey } from '../services/consensus/consensus-test-fixtures.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import type { NewBuild } from '../services/storage/build-store.ts';
import { createTestCoordinatorDeps } from '../test/support/coordinator-deps-fixture.ts';
import { genericBuild } from '../test/support/generic-build.ts';
import { formatRow, median, timeMs } from './bench-support.ts';

const STORED = Number(process.env.BENCH_STORED_BUILDS ?? 100_000);
const PENDING = 100;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BATCH = 10_000;
const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

/** A pending build: a real generic manifest the sweep parses, with a day to be decided. */
function pendingBuild(i: number): NewBuild {
  return genericBuild(`pending-${i}`, { policy: { decisionDeadlineMs: 86_400_000 } });
}

/** A decided build of history: a manifest of realistic size that nothing on a hot path should read. */
function historicBuild(i: number): NewBuild {
  const manifestJson = JSON.stringify({ name: `pkg-${i}`, padding: 'x'.repeat(2000) });
  return {
    buildId: randomUUID(),
    manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
    manifestJson,
    name: `pkg-${i}`,
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [{ path: `pkg-${i}.deb`, sha256: sha256Hex(`deb-${i}`) as Sha256Hex }],
    policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'bench',
    createdAt: new Date(),
  };
}

interface World {
  readonly deps: CoordinatorDeps;
  readonly store: SqliteStores;
  readonly app: ReturnType<typeof createCoordinatorApp>;
}

/**
 * A coordinator store holding `stored` builds, `pending` of them pending (spread evenly through the
 * history), and two workers of two operators so pending builds get (and keep) open attempts.
 */
async function world(root: string, label: string, stored: number, pending: number): Promise<World> {
  const dir = join(root, label);
  await mkdir(dir, { recursive: true });
  const { deps, store } = await createTestCoordinatorDeps(dir, { threshold: 2, replicas: 2 });
  for (const operator of ['alpha', 'beta']) {
    const key = newKey();
    await store.registry.addOperator(operator);
    await store.registry.enrolWorker({
      workerId: `${operator}-1`,
      operator,
      signingKeyPem: key.publicKeyPem,
      signingKeyid: key.keyid,
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 4, memoryBytes: 2 ** 33, diskBytes: 2 ** 36 },
      queueName: `rbnet-w-${operator}-1`,
      redisUser: `worker:rbnet:${operator}-1`,
    });
  }
  const every = pending === 0 ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(stored / pending));
  const decided: string[] = [];
  let made = 0;
  let pendingMade = 0;
  while (made < stored) {
    const batch: NewBuild[] = [];
    for (; batch.length < BATCH && made < stored; made += 1) {
      const isPending = pendingMade < pending && made % every === 0;
      const build = isPending ? pendingBuild(made) : historicBuild(made);
      if (isPending) pendingMade += 1;
      else decided.push(build.buildId);
      batch.push(build);
    }
    await store.builds.createBuilds(batch);
    process.stderr.write(`\r[fill ${label}] ${made}/${stored}`);
  }
  process.stderr.write('\n');
  // History decided in one transaction through a second connection: recording 99,900 verdicts one
  // by one (each an fsync) would take minutes and measure nothing this bench is about. The store's
  // triggers keep its verdict counters right for these updates as for any other.
  const db = new Database(join(dir, 'db.sqlite'));
  const decide = db.prepare("UPDATE builds SET verdict = 'reproducible', verdict_at = ? WHERE build_id = ?");
  db.transaction(() => {
    for (const buildId of decided) decide.run(Date.now(), buildId);
  })();
  db.close();
  // The first sweep assigns the pending builds to both workers; later sweeps find them waiting.
  await sweepPendingBuilds(deps);
  return { deps, store, app: createCoordinatorApp(deps) };
}

async function scrape(app: World['app']): Promise<void> {
  const response = await app.request('/metrics', { method: 'GET' }, LOOPBACK_ENV);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  await response.text();
}

/** What a scrape did before this change: page through every build to count verdicts. */
async function pageEveryBuild(store: SqliteStores): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const page = await store.builds.listBuilds({ limit: 1000, ...(after ? { after } : {}) });
    if (page.length < 1000) return;
    after = page.at(-1)!.buildId;
  }
}

/** Runs each measurement `RUNS` times, interleaved, and returns the medians in ms. */
async function interleaved(measures: readonly (() => Promise<unknown>)[]): Promise<number[]> {
  const samples = measures.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run += 1) {
    for (const [i, measure] of measures.entries()) samples[i]!.push(await timeMs(measure));
  }
  return samples.map(median);
}

const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-history-'));
try {
  const empty = await world(root, 'empty', 0, 0);
  const small = await world(root, 'pending-only', PENDING, PENDING);
  const full = await world(root, 'full', STORED, PENDING);
  const [sweepEmpty = 0, sweepSmall = 0, sweepFull = 0] = await interleaved([
    () => sweepPendingBuilds(empty.deps),
    () => sweepPendingBuilds(small.deps),
    () => sweepPendingBuilds(full.deps),
  ]);
  const [scrapeSmall = 0, scrapeFull = 0, pagingSmall = 0, pagingFull = 0] = await interleaved([
    () => scrape(small.app),
    () => scrape(full.app),
    () => pageEveryBuild(small.store),
    () => pageEveryBuild(full.store),
  ]);
  const stored = STORED.toLocaleString('en');
  const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
  console.log(`## History on hot paths (${RUNS} runs each, medians)\n`);
  console.log('| sweep | median ms | ratio vs 100 pending only |');
  console.log('|---|---|---|');
  console.log(formatRow(['empty store', sweepEmpty, ratio(sweepEmpty, sweepSmall)]));
  console.log(formatRow([`${PENDING} pending, nothing else (baseline)`, sweepSmall, '1.00×']));
  console.log(
    formatRow([`${PENDING} pending among ${stored} stored`, sweepFull, ratio(sweepFull, sweepSmall)]),
  );
  console.log('\n| /metrics scrape | median ms | ratio vs 100 builds |');
  console.log('|---|---|---|');
  console.log(formatRow([`${PENDING} builds (baseline)`, scrapeSmall, '1.00×']));
  console.log(formatRow([`${stored} builds`, scrapeFull, ratio(scrapeFull, scrapeSmall)]));
  console.log(
    formatRow([
      `before this change: paging every build, ${PENDING} / ${stored}`,
      `${pagingSmall.toFixed(2)} / ${pagingFull.toFixed(0)}`,
      ratio(pagingFull, pagingSmall),
    ]),
  );
  for (const w of [empty, small, full]) await w.store.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
