// A rogue worker holding valid credentials (its Redis ACL user and its auth key) attacks the queues
// and the leases: against real Redis servers and the real coordinator. Each test is one attack and
// the refusal (or containment) rbnet owes everyone else.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../worker/network/coordinator-client.ts';
import { AUTH_KEY_FILE, loadNetworkSettings } from '../../worker/network/enrol-with-coordinator.ts';
import { type NetworkHarness, startNetworkHarness } from '../support/network-harness.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A worker as an attacker holds it: its raw Redis connection and its signed HTTP client. */
interface HeldWorker {
  readonly workerId: string;
  readonly operator: string;
  /** Connected as the worker's own ACL user. */
  readonly redis: Redis;
  readonly client: CoordinatorClient;
  /** `<prefix>:<queue>:` — the start of every key this worker may touch. */
  readonly keyBase: string;
}

async function startNet(env: Record<string, string> = {}): Promise<NetworkHarness> {
  const net = await startNetworkHarness({
    threshold: 2,
    replicas: 2,
    prefix: `rogue-${randomBytes(3).toString('hex')}`,
    env: { RBNET_RETRY_BACKOFF_MS: '0', ...env },
  });
  cleanups.push(() => net.close());
  return net;
}

/** Enrols a worker the ordinary way and opens what its operator holds, without starting the worker. */
async function holdWorker(net: NetworkHarness, operator: string, workerId: string): Promise<HeldWorker> {
  const dir = await net.enrolOnly(operator, workerId);
  const settings = await loadNetworkSettings(dir);
  const url = new URL(settings.redis.url);
  const redis = new Redis({
    host: url.hostname,
    port: Number(url.port),
    username: settings.redis.username,
    password: settings.redis.password,
    enableReadyCheck: false,
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  await redis.connect();
  cleanups.push(async () => redis.disconnect());
  const authKey = createPrivateKey(await readFile(join(dir, AUTH_KEY_FILE)));
  const client = new CoordinatorClient(net.coordinator.url, workerId, authKey, 5_000);
  return {
    workerId,
    operator,
    redis,
    client,
    keyBase: `${settings.queuePrefix}:${settings.queueName}:`,
  };
}

/** A generic manifest as a maintainer submits it: no inputs, so nothing needs uploading first. */
function wireManifest(options: { readonly timeLimitSeconds: number }): string {
  return JSON.stringify({
    schema: 'rbnet.manifest/v1',
    name: `rogue-${randomBytes(4).toString('hex')}`,
    architecture: 'amd64',
    backend: 'generic',
    environment: {
      image: { sha256: 'a'.repeat(64) },
      env: { PATH: '/bin', HOME: '/build' },
      locale: 'C.UTF-8',
      timezone: 'UTC',
      umask: '0022',
      uid: 1000,
      gid: 1000,
      hostname: 'rbnet-build',
      buildPath: '/build/rogue',
      sourceDateEpoch: 1700000000,
    },
    inputs: [],
    build: { argv: ['/bin/sh', 'build.sh'], workingDir: '.', timeLimitSeconds: options.timeLimitSeconds },
    outputDir: 'out',
    claimedOutputs: [],
  });
}

/** Submits a build no worker can finish (nothing consumes the queues here); returns its id and jobs. */
async function submitBuild(
  net: NetworkHarness,
  token: string,
): Promise<{ buildId: string; jobOf: (workerId: string) => string }> {
  const manifestText = wireManifest({ timeLimitSeconds: 60 });
  const buildId = await net.submitPrepared({ manifestText, uploads: [] }, token);
  const status = await net.api('GET', `/v1/builds/${buildId}`);
  const attempts = status.json.attempts as { workerId: string; jobId: string }[];
  return {
    buildId,
    jobOf: (workerId) => {
      const attempt = attempts.find((a) => a.workerId === workerId);
      if (!attempt) throw new Error(`no attempt of ${workerId} in ${JSON.stringify(attempts)}`);
      return attempt.jobId;
    },
  };
}

async function attemptState(net: NetworkHarness, buildId: string, jobId: string): Promise<string> {
  const status = await net.api('GET', `/v1/builds/${buildId}`);
  return (status.json.attempts as { jobId: string; state: string }[]).find((a) => a.jobId === jobId)!.state;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Heartbeats naming `running` until stopped, the way a worker keeps what it runs. */
function keepBeating(worker: HeldWorker, running: () => string[]): () => void {
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      await worker.client.heartbeat(running()).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };
  void loop();
  const stop = () => {
    stopped = true;
  };
  cleanups.push(async () => stop());
  return stop;
}

describe('rogue worker: queue removal', () => {
  it("planting another operator's keys in its own job's dependency sets: the lease expiry removes only the rogue's own job", async () => {
    const net = await startNet({ RBNET_LEASE_TIMEOUT_MS: '3000', RBNET_PICKUP_TIMEOUT_MS: '2000' });
    const rogue = await holdWorker(net, 'rogue-op', 'rogue-1');
    const honest = await holdWorker(net, 'honest-op', 'honest-1');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const rogueJob = jobOf(rogue.workerId);
    const honestJob = jobOf(honest.workerId);
    const admin = new Redis(net.redis.url);
    cleanups.push(async () => admin.disconnect());
    const honestJobKey = `${honest.keyBase}${honestJob}`;
    const honestMetaKey = `${honest.keyBase}meta`;
    expect(await admin.exists(honestJobKey, honestMetaKey)).toBe(2);

    // The honest worker keeps its attempt; the rogue plants the honest keys where BullMQ's recursive
    // removal looks for children, and goes silent so the coordinator removes its job.
    keepBeating(honest, () => [honestJob]);
    const rogueJobKey = `${rogue.keyBase}${rogueJob}`;
    await rogue.redis.sadd(`${rogueJobKey}:dependencies`, honestJobKey);
    await rogue.redis.hset(`${rogueJobKey}:processed`, honestMetaKey, '"x"');

    await until('the rogue attempt to expire', async () => {
      return (await attemptState(net, buildId, rogueJob)) === 'expired';
    });
    // The expiry's removal has run once the rogue's job hash is gone.
    await until('the rogue job to be removed', async () => (await admin.exists(rogueJobKey)) === 0);
    expect(await admin.exists(honestJobKey)).toBe(1);
    expect(await admin.exists(honestMetaKey)).toBe(1);
    expect(await attemptState(net, buildId, honestJob)).toBe('open');
  });
});

describe('rogue worker: leases', () => {
  it('heartbeating without naming its job: the job lapses at its pickup deadline and is reassigned', async () => {
    const net = await startNet({ RBNET_LEASE_TIMEOUT_MS: '30000', RBNET_PICKUP_TIMEOUT_MS: '2000' });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    await holdWorker(net, 'spare-op', 'c-spare');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const rogueJob = jobOf(rogue.workerId);
    const honestJob = jobOf(honest.workerId);
    keepBeating(rogue, () => []);
    keepBeating(honest, () => [honestJob]);

    await until('the rogue attempt to lapse', async () => {
      return (await attemptState(net, buildId, rogueJob)) === 'expired';
    });
    const status = await net.api('GET', `/v1/builds/${buildId}`);
    const open = (status.json.attempts as { workerId: string; state: string }[])
      .filter((a) => a.state === 'open')
      .map((a) => a.workerId)
      .sort();
    expect(open).toEqual(['b-honest', 'c-spare']);
  });

  it("naming another worker's job: nothing is renewed, the answer calls it stale, and that job still lapses", async () => {
    const net = await startNet({ RBNET_LEASE_TIMEOUT_MS: '30000', RBNET_PICKUP_TIMEOUT_MS: '2000' });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const victim = await holdWorker(net, 'victim-op', 'b-victim');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const victimJob = jobOf(victim.workerId);
    const answer = await rogue.client.heartbeat([victimJob]);
    expect(answer).toMatchObject({ renewed: [], stale: [victimJob] });
    // The rogue tries to keep the silent victim's job alive (holding the build up); it lapses anyway.
    keepBeating(rogue, () => [victimJob]);
    await until('the victim attempt to lapse', async () => {
      return (await attemptState(net, buildId, victimJob)) === 'expired';
    });
  });

  it('naming its own job it never builds: the lease ends at the time limit plus the allowance', async () => {
    const net = await startNet({
      RBNET_LEASE_TIMEOUT_MS: '30000',
      RBNET_PICKUP_TIMEOUT_MS: '2000',
      RBNET_RUN_ALLOWANCE_MS: '1000',
    });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    await holdWorker(net, 'honest-op', 'b-honest');
    const manifestText = wireManifest({ timeLimitSeconds: 1 });
    const buildId = await net.submitPrepared({ manifestText, uploads: [] }, await net.maintainerToken());
    const status = await net.api('GET', `/v1/builds/${buildId}`);
    const rogueJob = (status.json.attempts as { workerId: string; jobId: string }[]).find(
      (a) => a.workerId === rogue.workerId,
    )!.jobId;
    expect(await rogue.client.heartbeat([rogueJob])).toMatchObject({ renewed: [rogueJob], stale: [] });
    keepBeating(rogue, () => [rogueJob]);
    await until('the held attempt to expire', async () => {
      return (await attemptState(net, buildId, rogueJob)) === 'expired';
    });
    expect(await rogue.client.heartbeat([rogueJob])).toMatchObject({ renewed: [], stale: [rogueJob] });
  });
});
