// Real faults against the real network: a worker process killed mid-build, Redis restarted with and
// without its data, the coordinator restarted mid-run. Every build still reaches a verdict, and no
// result is lost or counted twice.

import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_WORKER } from '../worker/sandbox/container-labels.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { startRbnet } from './support/rbnet-process.ts';
import { runScopedId } from './support/run-scoped-id.ts';
import { createRunnerHarness, ENGINE_HOST, type RunnerHarness, STATE_DIR } from './support/runner-harness.ts';

const ALPHA = runScopedId('alpha-1');
const DELTA = runScopedId('delta-1');
const GAMMA = runScopedId('gamma-1');
let manifests: RunnerHarness;
// biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field in the tests
type ApiAnswer = Record<string, any>;
const children: ChildProcess[] = [];

async function startWorkerProcess(workerDir: string): Promise<ChildProcess> {
  const { child } = await startRbnet(
    [
      'worker',
      'run',
      '--worker-dir',
      workerDir,
      '--state-dir',
      STATE_DIR,
      '--docker-host',
      ENGINE_HOST,
      '--log-level',
      'warn',
    ],
    { ready: /consuming its queue/ },
  );
  children.push(child);
  return child;
}

async function containersOf(
  net: NetworkHarness | RunnerHarness,
  workerId: string,
  all: boolean,
): Promise<number> {
  const docker = 'docker' in net ? net.docker : undefined;
  const list = await docker!.listContainers({ all, filters: { label: [`${LABEL_WORKER}=${workerId}`] } });
  return list.length;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  manifests = await createRunnerHarness('resilience');
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await manifests?.cleanup();
});

describe('a worker killed with SIGKILL mid-build', () => {
  let net: NetworkHarness;
  afterAll(async () => net?.close());

  it('loses its lease; the build is reassigned to another operator and decided; the restarted worker removes its orphan', async () => {
    net = await startNetworkHarness({
      threshold: 2,
      replicas: 2,
      prefix: 'kill',
      env: { RBNET_LEASE_TIMEOUT_MS: '3000', RBNET_RETRY_BACKOFF_MS: '0' },
    });
    await net.addWorker('alpha', ALPHA);
    const deltaDir = await net.enrolOnly('delta', DELTA);
    await net.addWorker('gamma', GAMMA);
    const delta = await startWorkerProcess(deltaDir);
    const { path } = await manifests.writeManifest({
      script: '#!/bin/sh\nsleep 6\nmkdir -p out\necho stable > out/a.txt\n',
    });
    const buildId = await net.submit(path, await net.maintainerToken());

    // Least loaded first, ties by id: alpha and delta get the build.
    await until('delta to be building', async () => (await containersOf(manifests, DELTA, false)) === 1);
    delta.kill('SIGKILL');
    await new Promise((resolve) => delta.once('exit', resolve));

    const status = await net.waitForVerdict(buildId, 120_000);
    expect(status.verdict).toBe('agreed');
    expect(status.decision.countedOperators).toEqual(['alpha', 'gamma']);
    const deltaAttempt = status.attempts.find((a: { workerId: string }) => a.workerId === DELTA);
    expect(deltaAttempt.state).toBe('expired');
    expect(status.results.map((r: { workerId: string }) => r.workerId).sort()).toEqual([ALPHA, GAMMA]);

    // The container the killed worker left behind is still there until the worker comes back.
    expect(await containersOf(manifests, DELTA, true)).toBe(1);
    const restarted = await startWorkerProcess(deltaDir);
    expect(await containersOf(manifests, DELTA, true)).toBe(0);
    restarted.kill('SIGTERM');
  });
});

describe('Redis restarts', () => {
  let net: NetworkHarness;
  afterAll(async () => net?.close());

  it('with its data, and empty: every one of 30 submitted builds reaches a verdict', async () => {
    net = await startNetworkHarness({
      threshold: 2,
      replicas: 2,
      prefix: 'redis',
      redisAppendOnly: true,
      env: { RBNET_LEASE_TIMEOUT_MS: '5000', RBNET_RETRY_BACKOFF_MS: '0' },
    });
    await net.addWorker('alpha', runScopedId('alpha-r'));
    await net.addWorker('beta', runScopedId('beta-r'));
    const token = await net.maintainerToken();
    const { path } = await manifests.writeManifest({
      script: '#!/bin/sh\nmkdir -p out\necho stable > out/a.txt\n',
    });
    const ids: string[] = [];
    for (let i = 0; i < 15; i += 1) ids.push(await net.submit(path, token));
    await net.redis.restart({ wipeData: false });
    for (let i = 0; i < 10; i += 1) ids.push(await net.submit(path, token));
    await net.redis.restart({ wipeData: true });
    for (let i = 0; i < 5; i += 1) ids.push(await net.submit(path, token));
    const verdicts = [];
    for (const id of ids) verdicts.push((await net.waitForVerdict(id, 240_000)).verdict);
    expect(verdicts).toHaveLength(30);
    expect(new Set(verdicts)).toEqual(new Set(['agreed']));
  });
});

describe('the coordinator killed with SIGKILL mid-run and restarted', () => {
  const stopped: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stopped.reverse()) await stop().catch(() => undefined);
  });

  it('loses no result and counts none twice', async () => {
    const { startRedisServer } = await import('./support/redis-server.ts');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const pino = (await import('pino')).default;
    const { enrolWithCoordinator } = await import('../worker/network/enrol-with-coordinator.ts');
    const { startNetworkWorker } = await import('../worker/network/start-network-worker.ts');
    const { loadWorkerConfig } = await import('../worker/worker-config.ts');
    const { testLimits } = await import('./support/runner-harness.ts');
    const { sha256Hex } = await import('../services/digest.ts');
    const { readFile } = await import('node:fs/promises');

    const root = await mkdtemp(join(tmpdir(), 'rbnet-kill-coord-'));
    stopped.push(() => rm(root, { recursive: true, force: true }));
    const redis = await startRedisServer();
    stopped.push(() => redis.stop());
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const url = `http://127.0.0.1:${port}`;
    const startCoordinatorProcess = async () => {
      const started = await startRbnet(
        [
          'coordinator',
          'run',
          '--data-dir',
          join(root, 'coordinator'),
          '--listen',
          `127.0.0.1:${port}`,
          '--redis',
          redis.url,
          '--threshold',
          '2',
          '--replicas',
          '2',
          '--log-level',
          'warn',
        ],
        {
          env: {
            RBNET_SWEEP_INTERVAL_MS: '500',
            RBNET_LEASE_TIMEOUT_MS: '30000',
            RBNET_RETRY_BACKOFF_MS: '0',
          },
          ready: /listening/,
        },
      );
      children.push(started.child);
      return started;
    };
    const first = await startCoordinatorProcess();
    await new Promise((r) => setTimeout(r, 100));
    const adminToken = /admin token[^:]*: (\S+)/.exec(first.output())![1]!;
    const api = async (method: string, path: string, body: unknown, token = adminToken) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return response.json() as Promise<ApiAnswer>;
    };
    const logger = pino({ level: 'silent' });
    for (const operator of ['alpha', 'beta']) {
      await api('POST', '/v1/admin/operators', { name: operator });
      const { token } = await api('POST', '/v1/admin/enrolment-tokens', { operator });
      const workerDir = join(root, operator);
      await enrolWithCoordinator({
        coordinatorUrl: url,
        token,
        workerDir,
        workerId: runScopedId(`${operator}-k`),
        architectures: ['amd64'],
        backends: ['generic'],
        capacity: { cores: 2, memoryBytes: 2 ** 32, diskBytes: 2 ** 34 },
      });
      const worker = await startNetworkWorker(
        loadWorkerConfig({
          env: {},
          flags: { stateDir: STATE_DIR, workerDir, dockerHost: ENGINE_HOST, limits: testLimits },
        }),
        logger,
      );
      stopped.push(() => worker.stop(5_000));
    }
    const { token: maintainer } = await api('POST', '/v1/admin/maintainers', { name: 'm' });
    const { path, dir } = await manifests.writeManifest({
      script: '#!/bin/sh\nsleep 2\nmkdir -p out\necho stable > out/a.txt\n',
    });
    for (const file of ['build.sh']) {
      const bytes = await readFile(join(dir, file));
      await fetch(`${url}/v1/cas/sha256/${sha256Hex(bytes)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${maintainer}` },
        body: bytes,
      });
    }
    const manifestText = await readFile(path, 'utf8');
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1)
      ids.push((await api('POST', '/v1/builds', manifestText, maintainer)).buildId);

    // Mid-run: builds are running in containers when the coordinator dies without any cleanup.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await startCoordinatorProcess();

    for (const id of ids) {
      let status: ApiAnswer = {};
      const deadline = Date.now() + 180_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 300));
        status = (await (await fetch(`${url}/v1/builds/${id}`)).json()) as ApiAnswer;
      } while (status.verdict === 'pending' && Date.now() < deadline);
      expect(status.verdict).toBe('agreed');
      const keys = status.results.map(
        (r: { workerId: string; attempt: number }) => `${r.workerId}:${r.attempt}`,
      );
      expect(new Set(keys).size).toBe(keys.length);
      expect(status.results.filter((r: { counted: boolean }) => r.counted)).toHaveLength(2);
    }
  });
});
