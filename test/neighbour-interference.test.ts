// Builds on a shared engine never disturb each other, and a build stopped by someone else is an
// infrastructure failure, never a failed build (issue 12 §1, issue 13 item 17). Real engine, real
// `rbnet` processes, a real coordinator and Redis for the retry.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../services/errors.ts';
import { rebuildManifest } from '../worker/rebuild-manifest.ts';
import { buildContainerLabels, LABEL_WORKER } from '../worker/sandbox/container-labels.ts';
import { currentOwner } from '../worker/sandbox/container-owner.ts';
import { deadProcessOwner, liveProcessOwner } from './support/container-owners.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { runRbnet } from './support/rbnet-process.ts';
import { runScopedId } from './support/run-scoped-id.ts';
import {
  busyboxEnvironmentSha256,
  createRunnerHarness,
  type RunnerHarness,
} from './support/runner-harness.ts';

let harness: RunnerHarness;
let scratch: string;
beforeAll(async () => {
  harness = await createRunnerHarness('neighbours');
  scratch = await mkdtemp(join(tmpdir(), 'rbnet-neighbours-'));
});
afterAll(async () => {
  await harness?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

/** Calls `act` with the id of the next container labelled for WORKERID as soon as the engine reports ACTION. */
async function onNextContainer(
  docker: Docker,
  workerId: string,
  action: 'create' | 'start',
  act: (containerId: string) => Promise<unknown>,
): Promise<{ done: Promise<void>; stop: () => void }> {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: [action], label: [`${LABEL_WORKER}=${workerId}`] },
  })) as unknown as Readable;
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const line = buffered.split('\n')[0];
    if (!buffered.includes('\n') || !line) return;
    stream.destroy();
    const id = (JSON.parse(line) as { id: string }).id;
    void act(id).finally(settle);
  });
  stream.on('error', () => undefined);
  return { done, stop: () => stream.destroy() };
}

async function createLabelled(
  labels: Record<string, string>,
  cmd: string[] = ['/bin/true'],
): Promise<string> {
  const container = await harness.docker.createContainer({
    Image: `rbnet-env:${await busyboxEnvironmentSha256()}`,
    Cmd: cmd,
    Labels: labels,
    HostConfig: { NetworkMode: 'none' },
  });
  return container.id;
}

async function exists(id: string): Promise<boolean> {
  return harness.docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/** `rbnet worker init` into a fresh directory; returns it with the worker id it holds. */
async function initLocalWorker(name: string): Promise<{ workerDir: string; workerId: string }> {
  const workerDir = join(scratch, `${name}-worker`);
  const init = runRbnet([
    'worker',
    'init',
    '--operator',
    'local',
    '--id',
    runScopedId(name),
    '--worker-dir',
    workerDir,
  ]);
  expect(await init.exited).toBe(0);
  const workerId = JSON.parse(await readFile(join(workerDir, 'worker.json'), 'utf8')).id as string;
  return { workerDir, workerId };
}

/** `rbnet rebuild MANIFEST --quiet --out scratch/OUT --worker-dir DIR` as a process. */
function rebuildProcess(manifestPath: string, out: string, workerDir: string) {
  return runRbnet([
    'rebuild',
    manifestPath,
    '--quiet',
    '--out',
    join(scratch, out),
    '--worker-dir',
    workerDir,
  ]);
}

describe('the start-up sweep removes only containers whose owner is gone', () => {
  it('a running build of a live process carrying the same worker id is never removed; a dead owner’s is', async () => {
    const workerId = harness.workerId;
    const live = await liveProcessOwner();
    const self = await currentOwner();
    const ids: Record<string, string> = {};
    try {
      ids.dead = await createLabelled(
        buildContainerLabels(workerId, 'a'.repeat(64), await deadProcessOwner()),
      );
      ids.live = await createLabelled(buildContainerLabels(workerId, 'b'.repeat(64), live.owner), [
        '/bin/sleep',
        '600',
      ]);
      await harness.docker.getContainer(ids.live).start();
      ids.otherHost = await createLabelled(
        buildContainerLabels(workerId, 'c'.repeat(64), { ...self, host: `not-${self.host}` }),
      );
      ids.otherWorkerDead = await createLabelled(
        buildContainerLabels(`${workerId}-other`, 'd'.repeat(64), await deadProcessOwner()),
      );
      ids.legacyStopped = await createLabelled({ 'dev.rbnet.role': 'build', [LABEL_WORKER]: workerId });

      const sweep = await harness.context().sandbox.removeOrphans(workerId);
      expect(await exists(ids.live)).toBe(true);
      expect(await exists(ids.otherHost)).toBe(true);
      expect(await exists(ids.dead)).toBe(false);
      // Unique ids per run leave orphans under ids no later run uses: the sweep finds them by owner.
      expect(await exists(ids.otherWorkerDead)).toBe(false);
      expect(await exists(ids.legacyStopped)).toBe(false);
      expect(sweep.kept.map((k) => k.containerId)).toEqual(expect.arrayContaining([ids.live, ids.otherHost]));
      expect(sweep.unremovable).toEqual([]);
    } finally {
      live.stop();
      for (const id of Object.values(ids))
        await harness.docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  });
});

describe('rbnet rebuild beside rbnet rebuild', () => {
  it('without a worker identity, each worker directory gets its own id, never a fixed one', async () => {
    const { path } = await harness.writeManifest({ script: '#!/bin/sh\nmkdir -p out\necho a > out/a.txt\n' });
    const ids = [];
    for (const n of [1, 2]) {
      const run = runRbnet([
        'rebuild',
        path,
        '--json',
        '--quiet',
        '--out',
        join(scratch, `fresh-out-${n}`),
        '--worker-dir',
        join(scratch, `fresh-worker-${n}`),
      ]);
      expect(await run.exited, run.output().stderr).toBe(0);
      ids.push(JSON.parse(run.output().stdout).worker.id as string);
    }
    for (const id of ids) expect(id).toMatch(/^local-[0-9a-f]{8}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('two local rebuilds sharing one worker directory: the second starting never removes the first’s running build', async () => {
    const slow = await harness.writeManifest({
      script: '#!/bin/sh\nsleep 6\nmkdir -p out\necho slow > out/slow.txt\n',
    });
    const quick = await harness.writeManifest({
      script: '#!/bin/sh\nmkdir -p out\necho quick > out/quick.txt\n',
    });
    // Both runs use one worker directory, so both carry the same worker id.
    const { workerDir, workerId } = await initLocalWorker('shared');
    const started = await onNextContainer(harness.docker, workerId, 'start', async () => undefined);
    const first = rebuildProcess(slow.path, 'first', workerDir);
    await started.done;
    const second = rebuildProcess(quick.path, 'second', workerDir);
    expect(await second.exited, second.output().stderr).toBe(0);
    expect(await first.exited, first.output().stderr + first.output().stdout).toBe(0);
    expect(first.output().stdout).toContain('slow.txt');
  });
});

describe('a build stopped by someone else is an infrastructure failure', () => {
  async function slowRebuild(): Promise<Promise<unknown>> {
    const { dir, parsed } = await harness.writeManifest({
      script: '#!/bin/sh\nsleep 60\n',
      timeLimitSeconds: 120,
    });
    return rebuildManifest(harness.context(), {
      parsed,
      inputs: harness.inputsFor(dir),
      outDir: await harness.freshOutDir(),
    }).catch((err: unknown) => err);
  }

  it('killed through the engine mid-build: BUILD_INTERRUPTED, never exit-code 137', async () => {
    const killer = await onNextContainer(harness.docker, harness.workerId, 'start', (id) =>
      harness.docker.getContainer(id).kill({ signal: 'SIGKILL' }),
    );
    const outcome = await slowRebuild();
    await killer.done;
    expect(outcome).toBeInstanceOf(EngineError);
    expect((outcome as EngineError).code).toBe('BUILD_INTERRUPTED');
    expect((outcome as EngineError).message).toMatch(/killed \(signal 9\).*someone other than this worker/);
    expect(await harness.labelledContainers()).toBe(0);
  });

  it('force-removed mid-build (another process’s sweep): BUILD_INTERRUPTED', async () => {
    const remover = await onNextContainer(harness.docker, harness.workerId, 'start', (id) =>
      harness.docker.getContainer(id).remove({ force: true }),
    );
    const outcome = await slowRebuild();
    await remover.done;
    expect((outcome as EngineError).code).toBe('BUILD_INTERRUPTED');
    expect(await harness.labelledContainers()).toBe(0);
  });

  it('removed before it started: rbnet rebuild exits 1 naming the interruption, and does not hang', async () => {
    const { workerDir, workerId } = await initLocalWorker('early');
    const remover = await onNextContainer(harness.docker, workerId, 'create', (id) =>
      harness.docker.getContainer(id).remove({ force: true }),
    );
    const { path } = await harness.writeManifest({ script: '#!/bin/sh\nsleep 60\n' });
    const run = rebuildProcess(path, 'early-out', workerDir);
    await remover.done;
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toContain('BUILD_INTERRUPTED');
    expect(run.output().stderr).toMatch(/removed by someone else/);
  });
});

describe('on the network', () => {
  let net: NetworkHarness;
  afterAll(async () => net?.close());

  it('a worker whose build container is killed by someone else: the attempt fails as interrupted, is retried, and the operator still counts', async () => {
    net = await startNetworkHarness({
      threshold: 2,
      replicas: 2,
      prefix: 'interrupted',
      env: { RBNET_RETRY_BACKOFF_MS: '0' },
    });
    const alpha = runScopedId('alpha-i');
    await net.addWorker('alpha', alpha);
    await net.addWorker('beta', runScopedId('beta-i'));
    const killer = await onNextContainer(harness.docker, alpha, 'start', (id) =>
      harness.docker.getContainer(id).kill({ signal: 'SIGKILL' }),
    );
    const { path } = await harness.writeManifest({
      script: '#!/bin/sh\nsleep 3\nmkdir -p out\necho stable > out/a.txt\n',
    });
    const buildId = await net.submit(path, await net.maintainerToken());
    await killer.done;
    const status = await net.waitForVerdict(buildId, 120_000);
    expect(status.verdict, JSON.stringify(status.decision)).toBe('agreed');
    expect(status.decision.countedOperators).toEqual(['alpha', 'beta']);
    const alphaAttempts = status.attempts.filter((a: { workerId: string }) => a.workerId === alpha);
    expect(alphaAttempts.map((a: { state: string }) => a.state)).toEqual(['failed', 'reported']);
    expect(alphaAttempts[0].failureReason).toMatch(/^interrupted: /);
    // Never a failed build on record for the operator whose container was killed.
    expect(status.results.filter((r: { kind: string }) => r.kind === 'failed')).toEqual([]);
  });
});
