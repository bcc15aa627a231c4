// Decision cost per new result with 10, 100 and 1,000 results stored for one build: what a new
// result costs the coordinator once its worker is authenticated (intake, then top up assignments
// and decide again), what deciding again costs alone, and what deciding cost before this change
// (every stored envelope read and verified again), each against the 10-result case measured in the
// same run. Medians (docs/benchmarks.md, "Decision cost per new result").
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decideBuild } from '../coordinator/consensus/decide-build.ts';
import type { CoordinatorDeps } from '../coordinator/coordinator-deps.ts';
import { acceptResult } from '../coordinator/intake/accept-result.ts';
import { readVerifiedResult } from '../coordinator/intake/verified-facts.ts';
import { progressBuild } from '../coordinator/scheduler/progress-build.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../test/support/coordinator-deps-fixture.ts';
import { DebianBuildRecords } from '../test/support/debian-build-records.ts';
import { formatRow, median, timeMs } from './bench-support.ts';

const SIZES = (process.env.BENCH_RESULTS ?? '10,100,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const NOW = new Date();
const DEB = 'hello_2.10-3_amd64.deb';

interface World {
  readonly dir: string;
  readonly fixture: TestCoordinatorDeps;
  readonly records: DebianBuildRecords;
  readonly buildId: string;
  readonly deb: Sha256Hex;
  /** Results stored so far (the next one's index). */
  posted: number;
}

/** The job of result `i`: alpha's and beta's workers take turns, attempt after attempt. */
function jobOf(buildId: string, i: number) {
  const workerId = i % 2 === 0 ? 'alpha-1' : 'beta-1';
  return {
    workerId,
    operator: workerId.split('-')[0]!,
    job: { jobId: `${buildId}:${i}`, attempt: Math.floor(i / 2) + 1, nonce: `nonce-of-job-${i}-padding` },
  };
}

/**
 * A Debian build that needs three operators, with `stored` agreeing results of two operators
 * posted through intake, and gamma's attempt still open: the build stays pending however many
 * results arrive (as a build does while its quorum is still out; a decided one would embed every
 * envelope, at most 256, in its attestation), so every decision runs in full and records nothing.
 */
async function world(root: string, stored: number): Promise<World> {
  const dir = join(root, String(stored));
  await mkdir(dir);
  const fixture = await createTestCoordinatorDeps(dir, { now: () => NOW, threshold: 2, replicas: 2 });
  const { deps } = fixture;
  const records = new DebianBuildRecords(deps, NOW);
  for (const operator of ['alpha', 'beta', 'gamma']) await records.enrol(operator, `${operator}-1`);
  const buildId = await records.createBuild({
    name: 'hello',
    version: '2.10-3',
    claimedOutputs: [{ path: DEB, sha256: sha256Hex('published hello') as Sha256Hex }],
    threshold: 3,
    policy: { maxAttempts: 100, decisionDeadlineMs: 86_400_000 },
  });
  await deps.builds.createAttempt({
    buildId,
    workerId: 'gamma-1',
    operator: 'gamma',
    attempt: 1,
    jobId: `${buildId}:gamma`,
    nonce: 'nonce-of-gamma-attempt-1',
    assignedAt: NOW,
  });
  const w: World = { dir, fixture, records, buildId, deb: await records.putBlob('rebuilt hello'), posted: 0 };
  while (w.posted < stored) {
    await postNext(w, fixture.deps);
    if (w.posted % 50 === 0) process.stderr.write(`\r[fill ${stored}] ${w.posted}/${stored}`);
  }
  process.stderr.write('\n');
  return w;
}

/** Signs the next result of `w` (its blobs go to `w`'s content store) and returns the post. */
async function signNext(w: World) {
  const { workerId, operator, job } = jobOf(w.buildId, w.posted);
  const signed = await w.records.signBuilt(w.buildId, workerId, {
    outputs: [{ path: DEB, sha256: w.deb }],
    job,
  });
  w.posted += 1;
  return { workerId, operator, job, envelope: signed.envelopeJson };
}

/** What POST /v1/results does once the worker is authenticated: intake, then progress the build. */
async function post(deps: CoordinatorDeps, buildId: string, next: Awaited<ReturnType<typeof signNext>>) {
  await deps.builds.createAttempt({
    buildId,
    workerId: next.workerId,
    operator: next.operator,
    attempt: next.job.attempt,
    jobId: next.job.jobId,
    nonce: next.job.nonce,
    assignedAt: NOW,
  });
  const worker = (await deps.registry.getWorker(next.workerId))!;
  return async () => {
    await acceptResult(deps, worker, { jobId: next.job.jobId, envelope: next.envelope });
    await progressBuild(deps, buildId);
  };
}

async function postNext(w: World, deps: CoordinatorDeps): Promise<void> {
  await (await post(deps, w.buildId, await signNext(w)))();
}

/**
 * One new result arriving at a coordinator that holds `w`'s records: a copy of its database and
 * content store, opened and warmed by one decision as a running coordinator is; only the new
 * result's intake and progress are timed. Each run starts again from exactly `stored` results.
 */
async function newResultMs(w: World, run: number): Promise<number> {
  const next = await signNext(w);
  w.posted -= 1; // the copy gets it; the original keeps `stored` results
  w.fixture.store.connection.db.pragma('wal_checkpoint(TRUNCATE)');
  const dir = join(w.dir, `copy-${run}`);
  await mkdir(dir);
  await cp(join(w.dir, 'db.sqlite'), join(dir, 'db.sqlite'));
  await cp(join(w.dir, 'cas'), join(dir, 'cas'), { recursive: true });
  const copy = await createTestCoordinatorDeps(dir, { now: () => NOW, threshold: 2, replicas: 2 });
  try {
    await progressBuild(copy.deps, w.buildId);
    const arrive = await post(copy.deps, w.buildId, next);
    return await timeMs(arrive);
  } finally {
    await copy.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What deciding did before this change: every stored envelope read and verified again. */
async function reverifyAll({ fixture, buildId }: World): Promise<void> {
  const { deps } = fixture;
  const build = (await deps.builds.getBuild(buildId))!;
  for (const row of await deps.results.listResults(buildId)) {
    if (!(await readVerifiedResult(deps, build, row))) throw new Error('a stored envelope is missing');
  }
}

const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-decision-'));
try {
  const worlds: World[] = [];
  for (const size of SIZES) worlds.push(await world(root, size));
  for (const w of worlds) {
    const verdict = (await decideBuild(w.fixture.deps, w.buildId, { maxAttemptsReached: false })).verdict;
    if (verdict !== 'pending') throw new Error(`expected a pending build, got ${verdict}`);
  }
  const samples = worlds.map(() => ({
    arrive: [] as number[],
    decide: [] as number[],
    before: [] as number[],
  }));
  for (let run = 0; run < RUNS; run += 1) {
    for (const [i, w] of worlds.entries()) {
      samples[i]!.arrive.push(await newResultMs(w, run));
      samples[i]!.decide.push(
        await timeMs(() => decideBuild(w.fixture.deps, w.buildId, { maxAttemptsReached: false })),
      );
      samples[i]!.before.push(await timeMs(() => reverifyAll(w)));
    }
  }
  const medians = samples.map((s) => ({
    arrive: median(s.arrive),
    decide: median(s.decide),
    before: median(s.before),
  }));
  const base = medians[0]!;
  const ratio = (value: number, of: number) => `${(value / of).toFixed(2)}×`;
  console.log(`## Decision cost per new result (${RUNS} runs each, medians)\n`);
  console.log(
    '| results stored | a new result: intake + progressBuild ms | ratio | decideBuild alone ms | ratio | before: re-verify every stored envelope ms | ratio |',
  );
  console.log('|---|---|---|---|---|---|---|');
  SIZES.forEach((size, i) => {
    const m = medians[i]!;
    console.log(
      formatRow([
        size.toLocaleString('en'),
        m.arrive,
        ratio(m.arrive, base.arrive),
        m.decide,
        ratio(m.decide, base.decide),
        m.before,
        ratio(m.before, base.before),
      ]),
    );
  });
  for (const w of worlds) await w.fixture.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
