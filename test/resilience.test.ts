// Real faults against the real network: a worker process killed mid-build, Redis restarted with and
// without its data, the coordinator restarted mid-run. Every build still reaches a verdict, and no
// result is lost or counted twice.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_WORKER } from '../worker/sandbox/container-labels.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import {
  createRunnerHarness,
  ENGINE_HOST,
  REPO_ROOT,
  type RunnerHarness,
  STATE_DIR,
} from './support/runner-harness.ts';

let manifests: RunnerHarness;
const children: ChildProcess[] = [];

function startWorkerProcess(workerDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      `${REPO_ROOT}/bin/rbnet.mjs`,
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
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${output}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('consuming its queue')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${output}`)));
  });
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
    await net.addWorker('alpha', 'alpha-1');
    const deltaDir = await net.enrolOnly('delta', 'delta-1');
    await net.addWorker('gamma', 'gamma-1');
    const delta = await startWorkerProcess(deltaDir);
    const { path } = await manifests.writeManifest({
      script: '#!/bin/sh\nsleep 6\nmkdir -p out\necho stable > out/a.txt\n',
    });
    const buildId = await net.submit(path, await net.maintainerToken());

    // Least loaded first, ties by id: alpha-1 and delta-1 get the build.
    await until(
      'delta-1 to be building',
      async () => (await containersOf(manifests, 'delta-1', false)) === 1,
    );
    delta.kill('SIGKILL');
    await new Promise((resolve) => delta.once('exit', resolve));

    const status = await net.waitForVerdict(buildId, 120_000);
    expect(status.verdict).toBe('agreed');
    expect(status.decision.countedOperators).toEqual(['alpha', 'gamma']);
    const deltaAttempt = status.attempts.find((a: { workerId: string }) => a.workerId === 'delta-1');
    expect(deltaAttempt.state).toBe('expired');
    expect(status.results.map((r: { workerId: string }) => r.workerId).sort()).toEqual([
      'alpha-1',
      'gamma-1',
    ]);

    // The container the killed worker left behind is still there until the worker comes back.
    expect(await containersOf(manifests, 'delta-1', true)).toBe(1);
    const restarted = await startWorkerProcess(deltaDir);
    expect(await containersOf(manifests, 'delta-1', true)).toBe(0);
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
    await net.addWorker('alpha', 'alpha-r');
    await net.addWorker('beta', 'beta-r');
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

describe('the coordinator restarted mid-run', () => {
  let net: NetworkHarness;
  afterAll(async () => net?.close());

  it('loses no result and counts none twice', async () => {
    net = await startNetworkHarness({
      threshold: 2,
      replicas: 2,
      prefix: 'coord',
      env: { RBNET_LEASE_TIMEOUT_MS: '20000', RBNET_RETRY_BACKOFF_MS: '0' },
    });
    await net.addWorker('alpha', 'alpha-c');
    await net.addWorker('beta', 'beta-c');
    const token = await net.maintainerToken();
    const { path } = await manifests.writeManifest({
      script: '#!/bin/sh\nsleep 1\nmkdir -p out\necho stable > out/a.txt\n',
    });
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) ids.push(await net.submit(path, token));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await net.restartCoordinator();
    for (const id of ids) {
      const status = await net.waitForVerdict(id, 180_000);
      expect(status.verdict).toBe('agreed');
      const keys = status.results.map(
        (r: { workerId: string; attempt: number }) => `${r.workerId}:${r.attempt}`,
      );
      expect(new Set(keys).size).toBe(keys.length);
      expect(status.results.filter((r: { counted: boolean }) => r.counted)).toHaveLength(2);
    }
  });
});
