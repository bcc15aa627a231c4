// Tests for the scheduler against a real SQLite store in a temp directory: who is eligible for a
// build (platform and resource minimums), why others are not, and who gets assigned.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestResources } from '../../services/manifest/manifest.ts';
import { parseManifest } from '../../services/manifest/parse-manifest.ts';
import type { BuildRecord } from '../../services/storage/build-store.ts';
import type { WorkerCapacity } from '../../services/storage/registry-store.ts';
import { testJobNonce, testKeyid } from '../../test/support/test-identifiers.ts';
import { loadCoordinatorConfig } from '../coordinator-config.ts';
import type { DispatchedJob, JobQueues } from '../coordinator-deps.ts';
import { openSqliteStores, type SqliteStores } from '../storage/sqlite/open-sqlite-stores.ts';
import {
  eligibleOperatorCount,
  eligibleWorkers,
  explainIneligible,
  fillAssignments,
  type SchedulerDeps,
  schedulingNeedsOf,
} from './build-scheduler.ts';

const GiB = 2 ** 30;
const T0 = new Date('2024-05-01T12:00:00.000Z');

let dir: string;
let store: SqliteStores;
let enqueued: { workerId: string; job: DispatchedJob }[];
let workerCount: number;

/** Records what would have gone on each worker's queue; the queue itself is tested in test/queue-acl. */
const queues: JobQueues = {
  enqueue: async (workerId, job) => {
    enqueued.push({ workerId, job });
  },
  remove: async () => undefined,
  depth: async () => 0,
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-scheduler-'));
  store = openSqliteStores(join(dir, 'db.sqlite'));
  enqueued = [];
  workerCount = 0;
  for (const operator of ['alpha', 'beta', 'gamma']) await store.registry.addOperator(operator);
  // The three capacities operators reported: a small, a medium and a big worker.
  await enrol('alpha-1', 'alpha', { memoryBytes: 2 * GiB });
  await enrol('beta-1', 'beta', { memoryBytes: 8 * GiB });
  await enrol('gamma-1', 'gamma', { memoryBytes: 24 * GiB });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function enrol(
  workerId: string,
  operator: string,
  capacity: Partial<WorkerCapacity> = {},
  architectures: readonly string[] = ['amd64'],
): Promise<void> {
  const n = ++workerCount;
  await store.registry.enrolWorker({
    workerId,
    operator,
    signingKeyPem: generateKeyPairSync('ed25519')
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString(),
    signingKeyid: testKeyid(`keyid-${n}`),
    architectures,
    backends: ['generic'],
    capacity: { cores: 4, memoryBytes: 8 * GiB, diskBytes: 100 * GiB, ...capacity },
    queueName: `rbnet-w-${workerId}`,
    redisUser: `worker:rbnet:${workerId}`,
    enrolledAt: T0,
  });
}

function deps(replicas: number, threshold = 2): SchedulerDeps {
  return {
    config: loadCoordinatorConfig({ env: {}, flags: { dataDir: dir, threshold, replicas } }),
    registry: store.registry,
    builds: store.builds,
    results: store.results,
    queues,
    logger: pino({ level: 'silent' }),
    now: () => T0,
  };
}

let manifestCount = 0;
/** A real rbnet.manifest/v1, parsed, so a stored build's manifestJson is what the submit route stores. */
function manifest(resources?: ManifestResources, architecture = 'amd64') {
  return parseManifest(
    JSON.stringify({
      schema: 'rbnet.manifest/v1',
      name: `big-package-${++manifestCount}`,
      architecture,
      backend: 'generic',
      environment: {
        image: { sha256: 'a'.repeat(64) },
        env: { PATH: '/bin' },
        locale: 'C.UTF-8',
        timezone: 'UTC',
        umask: '0022',
        uid: 1000,
        gid: 1000,
        hostname: 'rbnet-build',
        buildPath: '/build/big',
        sourceDateEpoch: 1_700_000_000,
      },
      inputs: [],
      build: { argv: ['/bin/sh', '-c', 'true'], workingDir: '.', timeLimitSeconds: 60 },
      outputDir: 'out',
      ...(resources !== undefined && { resources }),
    }),
  );
}

async function submit(resources?: ManifestResources, architecture = 'amd64'): Promise<BuildRecord> {
  const parsed = manifest(resources, architecture);
  return store.builds.createBuild({
    buildId: randomUUID(),
    manifestSha256: parsed.manifestSha256,
    manifestJson: parsed.canonicalJson,
    name: parsed.manifest.name,
    architecture: parsed.manifest.architecture,
    backend: parsed.manifest.backend,
    claimedOutputs: [],
    policy: { threshold: 2, maxAttempts: 6, decisionDeadlineMs: 3_600_000 },
    submittedBy: 'maint',
    createdAt: T0,
  });
}

/** Gives a worker `count` open attempts on a build of its own, so it counts as that busy. */
async function load(workerId: string, operator: string, count: number): Promise<void> {
  const other = await submit();
  for (let attempt = 1; attempt <= count; attempt++) {
    await store.builds.createAttempt({
      buildId: other.buildId,
      workerId,
      operator,
      attempt,
      jobId: `${other.buildId}:load:${attempt}`,
      nonce: testJobNonce(`${attempt}-0123456789abcdef`),
      assignedAt: T0,
    });
  }
}

describe('eligibility by declared capacity', () => {
  it('gives a build needing 16 GiB only to the operator of the 24 GiB worker', async () => {
    const build = await submit({ minMemoryBytes: 16 * GiB });
    const state = await fillAssignments(deps(3), build.buildId);
    expect(state.assigned.map((a) => a.workerId)).toEqual(['gamma-1']);
    expect(state.maxAttemptsReached).toBe(true);
    expect(enqueued.map((e) => e.workerId)).toEqual(['gamma-1']);
    expect(enqueued[0]!.job.manifestJson).toBe(build.manifestJson);
    // Asking again changes nothing: the small workers never become candidates.
    expect((await fillAssignments(deps(3), build.buildId)).assigned).toEqual([]);
    expect(enqueued).toHaveLength(1);
  });

  it('counts the same operators for the parsed manifest and for the stored build', async () => {
    const parsed = manifest({ minMemoryBytes: 16 * GiB });
    const build = await submit({ minMemoryBytes: 16 * GiB });
    expect(await eligibleOperatorCount(store.registry, parsed.manifest)).toBe(1);
    expect(await eligibleOperatorCount(store.registry, build)).toBe(1);
    expect(schedulingNeedsOf(build)).toEqual({
      architecture: 'amd64',
      backend: 'generic',
      resources: { minMemoryBytes: 16 * GiB },
      timeLimitSeconds: parsed.manifest.build.timeLimitSeconds,
    });
  });

  it('treats a minimum as inclusive, and checks cores, memory and disk together', async () => {
    const exact = manifest({ minMemoryBytes: 8 * GiB }).manifest;
    expect((await eligibleWorkers(store.registry, exact)).map((w) => w.workerId)).toEqual([
      'beta-1',
      'gamma-1',
    ]);
    await enrol('gamma-2', 'gamma', { cores: 16, memoryBytes: 32 * GiB, diskBytes: 10 * GiB });
    const all = manifest({ minCores: 8, minMemoryBytes: 16 * GiB, minDiskBytes: 10 * GiB }).manifest;
    expect((await eligibleWorkers(store.registry, all)).map((w) => w.workerId)).toEqual(['gamma-2']);
    const tooMuchDisk = manifest({ minCores: 8, minDiskBytes: 11 * GiB }).manifest;
    expect(await eligibleWorkers(store.registry, tooMuchDisk)).toEqual([]);
  });

  it('leaves revoked workers out', async () => {
    await store.registry.revokeWorker('gamma-1', T0);
    expect(await eligibleOperatorCount(store.registry, manifest({ minMemoryBytes: 16 * GiB }).manifest)).toBe(
      0,
    );
  });
});

describe('explainIneligible', () => {
  it('with threshold 2, names the field and the largest capacity of the operators left out', async () => {
    const needs = manifest({ minMemoryBytes: 16 * GiB }).manifest;
    expect(await eligibleOperatorCount(store.registry, needs)).toBe(1);
    expect(await explainIneligible(store.registry, needs)).toBe(
      'only 1 operator(s) can build it (gamma); no active worker of alpha, beta declares ≥ 16 GiB memory ' +
        '(largest: 8 GiB on beta-1); needed by resources.minMemoryBytes',
    );
  });

  it('says plainly when nothing fits, for the stored build as for the manifest', async () => {
    const expected =
      'no active worker declares ≥ 64 GiB memory (largest: 24 GiB on gamma-1); needed by resources.minMemoryBytes';
    expect(await explainIneligible(store.registry, manifest({ minMemoryBytes: 64 * GiB }).manifest)).toBe(
      expected,
    );
    expect(await explainIneligible(store.registry, await submit({ minMemoryBytes: 64 * GiB }))).toBe(
      expected,
    );
  });

  it('explains an architecture no worker builds', async () => {
    const arm = manifest(undefined, 'arm64').manifest;
    expect(await eligibleOperatorCount(store.registry, arm)).toBe(0);
    expect(await explainIneligible(store.registry, arm)).toBe(
      'no active worker builds arm64/generic (active workers build: amd64/generic)',
    );
    await enrol('alpha-arm', 'alpha', {}, ['arm64']);
    expect(await explainIneligible(store.registry, arm)).toBe(
      'only 1 operator(s) can build it (alpha); no active worker of beta, gamma builds arm64/generic',
    );
  });

  it('names every field that leaves operators out, and operators no single worker fits', async () => {
    await enrol('beta-2', 'beta', { cores: 32, memoryBytes: 1 * GiB });
    // beta-1 has the memory but not the cores, beta-2 the cores but not the memory.
    const needs = manifest({ minCores: 8, minMemoryBytes: 8 * GiB }).manifest;
    expect(await eligibleOperatorCount(store.registry, needs)).toBe(0);
    expect(await explainIneligible(store.registry, needs)).toBe(
      'no active worker of alpha, gamma declares ≥ 8 cores (largest: 4 cores on alpha-1); needed by resources.minCores; ' +
        'no active worker of alpha declares ≥ 8 GiB memory (largest: 2 GiB on alpha-1); needed by resources.minMemoryBytes; ' +
        'each minimum in resources is met by some worker of beta, but no single worker meets them all',
    );
  });

  it('shows exact bytes when a size is not a whole number of its unit', async () => {
    await enrol('beta-2', 'beta', { diskBytes: 1.5 * GiB });
    const needs = manifest({ minDiskBytes: 200 * GiB }).manifest;
    expect(await explainIneligible(store.registry, needs)).toBe(
      'no active worker declares ≥ 200 GiB disk (largest: 100 GiB on alpha-1); needed by resources.minDiskBytes',
    );
    const small = manifest({ minDiskBytes: 2 * GiB + 1 }).manifest;
    await store.registry.revokeWorker('alpha-1', T0);
    await store.registry.revokeWorker('beta-1', T0);
    await store.registry.revokeWorker('gamma-1', T0);
    expect(await explainIneligible(store.registry, small)).toBe(
      'no active worker declares ≥ 2.00 GiB (2147483649 bytes) disk (largest: 1.50 GiB (1610612736 bytes) on beta-2); ' +
        'needed by resources.minDiskBytes',
    );
  });

  it('says so when every active operator can build it, or when no worker is enrolled', async () => {
    expect(await explainIneligible(store.registry, manifest().manifest)).toBe(
      "every active operator (3) has a worker for amd64/generic that meets the manifest's resources",
    );
    for (const id of ['alpha-1', 'beta-1', 'gamma-1']) await store.registry.revokeWorker(id, T0);
    expect(await explainIneligible(store.registry, manifest().manifest)).toBe('no active worker is enrolled');
  });
});

describe('fillAssignments', () => {
  it('never assigns to a worker too small for the build, even when it is the least loaded', async () => {
    await enrol('alpha-2', 'alpha', { memoryBytes: 32 * GiB });
    await load('alpha-2', 'alpha', 3);
    const build = await submit({ minMemoryBytes: 16 * GiB });
    const state = await fillAssignments(deps(3), build.buildId);
    expect(state.assigned.map((a) => a.workerId).sort()).toEqual(['alpha-2', 'gamma-1']);

    // gamma-1's attempt ends without a report (an infrastructure failure); the only operator left
    // untried (beta) has no worker big enough, so after the backoff gamma is asked again.
    const gamma = state.assigned.find((a) => a.workerId === 'gamma-1')!;
    await store.builds.finishAttempt(gamma.jobId, {
      state: 'failed',
      finishedAt: T0,
      reason: 'interrupted: killed',
    });
    const backingOff = await fillAssignments(deps(3), build.buildId);
    expect(backingOff).toEqual({ assigned: [], maxAttemptsReached: false });
    const later = { ...deps(3), now: () => new Date(T0.getTime() + 3_600_000) };
    const again = await fillAssignments(later, build.buildId);
    expect(again.assigned.map((a) => a.workerId)).toEqual(['gamma-1']);
    const sent = enqueued.map((e) => e.workerId);
    expect(sent).not.toContain('alpha-1');
    expect(sent).not.toContain('beta-1');
    expect((await store.builds.getAttemptByJobId(gamma.jobId))?.failureReason).toBe('interrupted: killed');
  });

  it('after an infrastructure failure asks every untried operator first, and never one that reported', async () => {
    const build = await submit();
    const first = await fillAssignments(deps(1, 1), build.buildId);
    expect(first.assigned.map((a) => a.workerId)).toEqual(['alpha-1']);
    await store.builds.finishAttempt(first.assigned[0]!.jobId, { state: 'failed', finishedAt: T0 });
    const later = (hours: number) => ({
      ...deps(1, 1),
      now: () => new Date(T0.getTime() + hours * 3_600_000),
    });
    const second = await fillAssignments(later(1), build.buildId);
    expect(second.assigned.map((a) => a.workerId)).toEqual(['beta-1']);
    await store.builds.finishAttempt(second.assigned[0]!.jobId, {
      state: 'expired',
      finishedAt: later(1).now(),
    });
    const third = await fillAssignments(later(2), build.buildId);
    expect(third.assigned.map((a) => a.workerId)).toEqual(['gamma-1']);
    await store.builds.finishAttempt(third.assigned[0]!.jobId, {
      state: 'failed',
      finishedAt: later(2).now(),
    });
    // Every operator tried once, none reported: the first is asked again, within the caps.
    const fourth = await fillAssignments(later(3), build.buildId);
    expect(fourth.assigned.map((a) => a.workerId)).toEqual(['alpha-1']);
  });

  it('without minimums, assigns distinct operators, least loaded first', async () => {
    await enrol('alpha-2', 'alpha', { memoryBytes: 1 * GiB });
    await load('alpha-1', 'alpha', 1);
    await load('alpha-2', 'alpha', 1);
    await load('beta-1', 'beta', 2);
    const build = await submit();
    const two = await fillAssignments(deps(2), build.buildId);
    expect(two.assigned.map((a) => [a.operator, a.workerId])).toEqual([
      ['gamma', 'gamma-1'],
      ['alpha', 'alpha-1'],
    ]);
    // Raising the replicas adds the busiest operator last, and still one worker per operator.
    const three = await fillAssignments(deps(3), build.buildId);
    expect(three.assigned.map((a) => a.workerId)).toEqual(['beta-1']);
    expect(new Set(enqueued.filter((e) => e.job.buildId === build.buildId).map((e) => e.workerId))).toEqual(
      new Set(['gamma-1', 'alpha-1', 'beta-1']),
    );
  });
});
