// A rogue worker holding valid credentials (its Redis ACL user and its auth key) attacks the queues
// and the leases: against real Redis servers and the real coordinator. Each test is one attack and
// the refusal (or containment) rbnet owes everyone else.
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REMOVE_QUEUED_JOB_LUA } from '../../../coordinator/queue/remove-queued-job.ts';
import { workerScripts } from '../../../coordinator/queue/worker-scripts.ts';
import { CoordinatorClient } from '../../../worker/network/coordinator-client.ts';
import { AUTH_KEY_FILE, loadNetworkSettings } from '../../../worker/network/enrol-with-coordinator.ts';
import { redisUrlWithCredentials } from '../../../worker/network/start-network-worker.ts';
import { JobConsumer } from '../../../worker/queue/job-consumer.ts';
import { type NetworkHarness, startNetworkHarness } from '../../support/network-harness.ts';
import { startRedisServer, type TestRedisServer } from '../../support/redis-server.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A worker as an attacker holds it: its raw Redis connection and its signed HTTP client. */
interface HeldWorker {
  readonly workerId: string;
  readonly operator: string;
  /** Connected as the worker's own ACL user; commands time out after 5 s. */
  readonly redis: Redis;
  /** Opens another connection as the worker's ACL user. */
  connect(options?: { readonly commandTimeoutMs?: number }): Promise<Redis>;
  /** `redis[s]://user:password@host:port` with the worker's credentials, for a real JobConsumer. */
  readonly redisUrl: string;
  readonly client: CoordinatorClient;
  /** `<prefix>:<queue>:` — the start of every key this worker may touch. */
  readonly keyBase: string;
}

async function startNet(
  env: Record<string, string> = {},
  options: { readonly threshold?: number } = {},
): Promise<NetworkHarness> {
  const threshold = options.threshold ?? 2;
  const net = await startNetworkHarness({
    threshold,
    replicas: 2,
    prefix: `rogue-${randomBytes(3).toString('hex')}`,
    env: { RBNET_RETRY_BACKOFF_MS: '0', ...env },
  });
  cleanups.push(() => net.close());
  return net;
}

/** A Redis server of its own for one operator's queues (a shard), stopped after the test. */
async function startShard(): Promise<TestRedisServer> {
  const server = await startRedisServer();
  cleanups.push(() => server.stop());
  return server;
}

/**
 * A network whose operator `rogue-op` has a Redis of its own (a shard); everyone else shares the
 * default one. Coordinator commands to Redis time out after 1 s.
 */
async function startNetWithRogueShard(
  env: Record<string, string>,
): Promise<{ net: NetworkHarness; rogueShard: TestRedisServer }> {
  const rogueShard = await startShard();
  const net = await startNet({
    RBNET_REDIS_SHARDS: JSON.stringify([{ name: 'rogue', url: rogueShard.url, operators: ['rogue-op'] }]),
    RBNET_REDIS_COMMAND_TIMEOUT_MS: '1000',
    ...env,
  });
  return { net, rogueShard };
}

/** Runs each attempt; every one must be refused with a message matching `refused`. */
async function expectAllRefused(
  attempts: ReadonlyArray<readonly [string, () => Promise<unknown>]>,
  refused: RegExp,
): Promise<void> {
  const accepted: string[] = [];
  for (const [name, attempt] of attempts) {
    try {
      await attempt();
      accepted.push(name);
    } catch (error) {
      expect((error as Error).message, name).toMatch(refused);
    }
  }
  expect(accepted).toEqual([]);
}

/** Enrols a worker the ordinary way and opens what its operator holds, without starting the worker. */
async function holdWorker(net: NetworkHarness, operator: string, workerId: string): Promise<HeldWorker> {
  const dir = await net.enrolOnly(operator, workerId);
  const settings = await loadNetworkSettings(dir);
  const url = new URL(settings.redis.url);
  const connect = async (options: { readonly commandTimeoutMs?: number } = {}) => {
    const redis = new Redis({
      host: url.hostname,
      port: Number(url.port),
      username: settings.redis.username,
      password: settings.redis.password,
      enableReadyCheck: false,
      disableClientInfo: true,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    });
    redis.on('error', () => undefined);
    await redis.connect();
    cleanups.push(async () => redis.disconnect());
    return redis;
  };
  const authKey = createPrivateKey(await readFile(join(dir, AUTH_KEY_FILE)));
  return {
    workerId,
    operator,
    redis: await connect({ commandTimeoutMs: 5_000 }),
    connect,
    redisUrl: redisUrlWithCredentials(settings.redis.url, settings.redis.username, settings.redis.password),
    client: new CoordinatorClient(net.coordinator.url, workerId, authKey, 5_000),
    keyBase: `${settings.queuePrefix}:${settings.queueName}:`,
  };
}

/**
 * Runs a real BullMQ consumer for `worker` whose handler fails every job: the job then fails on the
 * worker's queue, and the coordinator, reading that queue's events, closes the attempt as failed.
 * A visible round trip through the worker's Redis and the coordinator.
 */
async function consumeAndFail(worker: HeldWorker): Promise<string[]> {
  const taken: string[] = [];
  const consumer = new JobConsumer({
    redisUrl: worker.redisUrl,
    workerId: worker.workerId,
    handler: async (payload) => {
      taken.push(payload.jobId);
      throw new Error('this test worker builds nothing');
    },
  });
  cleanups.push(() => consumer.close({ graceMs: 1_000, abortGraceMs: 1_000 }));
  await consumer.start();
  return taken;
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

/** MessagePack for the small option maps BullMQ's scripts unpack (strings, unsigned ints, maps). */
function msgpack(value: unknown): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 31) throw new Error('msgpack: short strings only');
    return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
  }
  if (typeof value === 'number') {
    if (value < 128) return Buffer.from([value]);
    const bytes = Buffer.alloc(5);
    bytes[0] = 0xce;
    bytes.writeUInt32BE(value, 1);
    return bytes;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 15) throw new Error('msgpack: small maps only');
  return Buffer.concat([
    Buffer.from([0x80 | entries.length]),
    ...entries.flatMap(([key, item]) => [msgpack(key), msgpack(item)]),
  ]);
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const bullmqScripts = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js') as Record<
  string,
  { content: string }
>;

/**
 * As the rogue: makes a job of its own look locked and active, then calls BullMQ's moveToFinished —
 * a script its ACL allows — with a metrics size and timestamp of its choosing. The script writes, then
 * builds a Lua table of `points` entries: Redis answers nobody until it is done, and SCRIPT KILL
 * cannot stop it. Resolves when the script ends.
 */
async function haltWithWorkerScript(rogue: HeldWorker, points: number): Promise<unknown> {
  const base = rogue.keyBase;
  const jobId = 'halt-1';
  await rogue.redis.hset(`${base}${jobId}`, 'name', 'x', 'data', '"x"', 'opts', '{}');
  await rogue.redis.set(`${base}${jobId}:lock`, 'token');
  await rogue.redis.rpush(`${base}active`, jobId);
  await rogue.redis.hset(`${base}metrics:completed`, 'prevTS', '0', 'prevCount', '0');
  const keys = [
    'wait',
    'active',
    'prioritized',
    'events',
    'stalled',
    'limiter',
    'delayed',
    'paused',
    'meta',
    'pc',
    'completed',
    jobId,
    'metrics:completed',
    'marker',
  ].map((name) => `${base}${name}`);
  const opts = msgpack({
    token: 'token',
    keepJobs: { count: 10 },
    lockDuration: 30_000,
    attempts: 1,
    maxMetricsSize: points,
  });
  const moveToFinished = workerScripts.find((script) => script.name === 'moveToFinished')!;
  const connection = await rogue.connect();
  return connection.evalsha(
    moveToFinished.sha1,
    keys.length,
    ...keys,
    jobId,
    String(60_000 * points),
    'returnvalue',
    '1',
    'completed',
    '0',
    base,
    opts,
    '',
  );
}

/** True once `url`'s server stops answering PING within 300 ms (busy with a script, or stopped). */
async function notAnswering(url: string): Promise<boolean> {
  const probe = new Redis(url, { commandTimeout: 300, maxRetriesPerRequest: 0, lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return false;
  } catch {
    return true;
  } finally {
    probe.disconnect();
  }
}

describe('rogue worker: halting or filling Redis', () => {
  it('running script text of its own (a write, then an endless loop): refused before it runs, as is every way to load or reach a script', async () => {
    const net = await startNet();
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    await holdWorker(net, 'honest-op', 'b-honest');
    // The coordinator's own EVALs (enqueue, removal) leave their scripts in Redis's script cache.
    const { jobOf } = await submitBuild(net, await net.maintainerToken());
    const admin = new Redis(net.redis.url);
    cleanups.push(async () => admin.disconnect());
    const addStandardJob = sha1(bullmqScripts.addStandardJob!.content);
    expect(await admin.call('SCRIPT', 'EXISTS', addStandardJob)).toEqual([1]);
    await admin.eval(REMOVE_QUEUED_JOB_LUA, 0).catch(() => undefined);
    const removal = sha1(REMOVE_QUEUED_JOB_LUA);

    const own = `${rogue.keyBase}probe`;
    const loop = `redis.call('SET', KEYS[1], '1') while true do end`;
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['EVAL write-then-loop', () => rogue.redis.eval(loop, 1, own)],
      ['EVAL_RO loop', () => rogue.redis.call('EVAL_RO', 'while true do end', '0')],
      ['EVALSHA of the loop', () => rogue.redis.evalsha(sha1(loop), 1, own)],
      ["EVALSHA of the coordinator's cached addStandardJob", () => rogue.redis.evalsha(addStandardJob, 0)],
      ["EVALSHA of the coordinator's cached removal", () => rogue.redis.evalsha(removal, 0)],
      ['EVALSHA_RO of a worker script', () => rogue.redis.call('EVALSHA_RO', workerScripts[0]!.sha1, '0')],
      ['SCRIPT LOAD', () => rogue.redis.call('SCRIPT', 'LOAD', loop)],
      ['SCRIPT FLUSH', () => rogue.redis.call('SCRIPT', 'FLUSH')],
      [
        'FUNCTION LOAD',
        () =>
          rogue.redis.call(
            'FUNCTION',
            'LOAD',
            "#!lua name=rogue\nredis.register_function('spin', function() while true do end end)",
          ),
      ],
      ['FCALL', () => rogue.redis.call('FCALL', 'spin', '0')],
    ];
    await expectAllRefused(attempts, /NOPERM/);
    expect(await admin.exists(own)).toBe(0);
    expect(await admin.ping()).toBe('PONG');
    expect(jobOf(rogue.workerId)).toBeDefined();
  });

  it("halting its own Redis with an allowed worker script and crafted arguments: other operators' queues, on their own Redis, keep working", async () => {
    const { net, rogueShard } = await startNetWithRogueShard({
      RBNET_LEASE_TIMEOUT_MS: '30000',
      RBNET_PICKUP_TIMEOUT_MS: '3000',
    });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    // Enrolment placed each operator's workers on its own Redis.
    expect(new URL(rogue.redisUrl).port).toBe(String(rogueShard.port));
    expect(new URL(honest.redisUrl).port).toBe(String(net.redis.port));
    const taken = await consumeAndFail(honest);

    let haltEnded = false;
    const halt = haltWithWorkerScript(rogue, 20_000_000).finally(() => {
      haltEnded = true;
    });
    halt.catch(() => undefined);
    await until('the rogue shard to stop answering', () => notAnswering(rogueShard.url));

    // While the rogue's Redis is busy: a build is submitted, assigned to both, and the honest
    // operator's worker takes its job; its failure reaches the coordinator through its own Redis.
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const honestJob = jobOf(honest.workerId);
    await until('the honest job to fail through the coordinator', async () => {
      return (await attemptState(net, buildId, honestJob)) === 'failed';
    });
    // The honest queue delivered its job at once; retries of that infrastructure failure may come
    // back to the honest operator (it is not the operator's build failing), never anything else.
    expect(taken[0]).toBe(honestJob);
    expect(taken.every((jobId) => jobId.startsWith(`${buildId}:`))).toBe(true);
    expect(haltEnded).toBe(false);

    await halt.catch(() => undefined);
    // The rogue's own attempt was never deliverable: it lapses at its pickup deadline.
    await until('the rogue attempt to lapse', async () => {
      return (await attemptState(net, buildId, jobOf(rogue.workerId))) === 'expired';
    });
  });

  it("filling its own Redis until it refuses writes: other operators' queues, on their own Redis, keep working", async () => {
    const { net, rogueShard } = await startNetWithRogueShard({
      RBNET_PICKUP_TIMEOUT_MS: '2000',
    });
    const shardAdmin = new Redis(rogueShard.url);
    cleanups.push(async () => shardAdmin.disconnect());
    await shardAdmin.config('SET', 'maxmemory', '32mb');
    expect(await shardAdmin.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    const taken = await consumeAndFail(honest);

    // Large writes until refused, then smaller ones: a refused write's own bytes are freed again, so
    // only ever smaller writes fill the last of the memory.
    let written = 0;
    let refusal = '';
    for (const size of [1024 * 1024, 1024, 16]) {
      const chunk = 'x'.repeat(size);
      for (refusal = ''; !refusal && written < 100_000; written += 1) {
        try {
          await rogue.redis.set(`${rogue.keyBase}fill:${written}`, chunk);
        } catch (error) {
          refusal = (error as Error).message;
        }
      }
    }
    expect(refusal).toMatch(/^OOM /);

    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const honestJob = jobOf(honest.workerId);
    await until('the honest job to fail through the coordinator', async () => {
      return (await attemptState(net, buildId, honestJob)) === 'failed';
    });
    expect(taken[0]).toBe(honestJob);
    expect(taken.every((jobId) => jobId.startsWith(`${buildId}:`))).toBe(true);
    await until('the rogue attempt to lapse', async () => {
      return (await attemptState(net, buildId, jobOf(rogue.workerId))) === 'expired';
    });
    expect((await net.api('GET', '/metrics')).status).toBe(200);
  });

  it("getting its own Redis restarted again and again: the restores renew no other operator's lease", async () => {
    const { net, rogueShard } = await startNetWithRogueShard({
      RBNET_LEASE_TIMEOUT_MS: '30000',
      RBNET_PICKUP_TIMEOUT_MS: '3000',
    });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const victim = await holdWorker(net, 'victim-op', 'b-victim');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const shardAdmin = new Redis(rogueShard.url, { maxRetriesPerRequest: null });
    shardAdmin.on('error', () => undefined);
    cleanups.push(async () => shardAdmin.disconnect());

    // The victim is silent; its job must lapse at its pickup deadline however often the rogue's
    // Redis comes back empty and the coordinator restores that Redis from the database.
    let restarts = 0;
    let restored = 0;
    await until('the victim attempt to lapse', async () => {
      if ((await attemptState(net, buildId, jobOf(victim.workerId))) === 'expired') return true;
      if ((await shardAdmin.call('ACL', 'GETUSER', `worker:rbnet:${rogue.workerId}`)) !== null) {
        restored += 1;
        await rogueShard.restart({ wipeData: true });
        restarts += 1;
      }
      return false;
    });
    expect(restarts).toBeGreaterThan(1);
    expect(restored).toBe(restarts);
    expect(await attemptState(net, buildId, jobOf(rogue.workerId))).toBe('open');
  });
});

describe('rogue worker: its own queue', () => {
  it("corrupting its own queue's keys so the coordinator cannot enqueue: other operators are still assigned, the rogue's attempt lapses", async () => {
    const net = await startNet({ RBNET_PICKUP_TIMEOUT_MS: '2000' });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    await holdWorker(net, 'spare-op', 'c-spare');
    await rogue.redis.set(`${rogue.keyBase}meta`, 'not a hash');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const admin = new Redis(net.redis.url);
    cleanups.push(async () => admin.disconnect());
    expect(await admin.exists(`${honest.keyBase}${jobOf(honest.workerId)}`)).toBe(1);
    expect(await admin.exists(`${rogue.keyBase}${jobOf(rogue.workerId)}`)).toBe(0);
    await until('the rogue attempt to lapse and the build to move on', async () => {
      const status = await net.api('GET', `/v1/builds/${buildId}`);
      return (status.json.attempts as { workerId: string; state: string }[]).some(
        (a) => a.workerId === 'c-spare' && a.state === 'open',
      );
    });
    expect(await attemptState(net, buildId, jobOf(rogue.workerId))).toBe('expired');
  });

  it("forging a failure of another worker's job in its own events stream: ignored", async () => {
    const net = await startNet();
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const events = `${rogue.keyBase}events`;
    await rogue.redis.xadd(
      events,
      '*',
      'event',
      'failed',
      'jobId',
      jobOf(honest.workerId),
      'failedReason',
      'forged',
    );
    // A genuine failure of its own job, written after the forgery: once the coordinator has handled
    // it, it has read the forgery too (one stream, in order).
    await rogue.redis.xadd(
      events,
      '*',
      'event',
      'failed',
      'jobId',
      jobOf(rogue.workerId),
      'failedReason',
      'x',
    );
    await until('the rogue failure to be handled', async () => {
      return (await attemptState(net, buildId, jobOf(rogue.workerId))) === 'failed';
    });
    expect(await attemptState(net, buildId, jobOf(honest.workerId))).toBe('open');
  });

  it('deleting its own job to hide it: the attempt lapses at its pickup deadline and is reassigned', async () => {
    const net = await startNet({ RBNET_PICKUP_TIMEOUT_MS: '2000' });
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    await holdWorker(net, 'spare-op', 'c-spare');
    const { buildId, jobOf } = await submitBuild(net, await net.maintainerToken());
    const rogueJob = jobOf(rogue.workerId);
    expect(await rogue.redis.lrem(`${rogue.keyBase}wait`, 0, rogueJob)).toBe(1);
    expect(await rogue.redis.del(`${rogue.keyBase}${rogueJob}`)).toBe(1);
    keepBeating(honest, () => [jobOf(honest.workerId)]);
    await until('the hidden attempt to lapse and be reassigned', async () => {
      const status = await net.api('GET', `/v1/builds/${buildId}`);
      return (status.json.attempts as { workerId: string; state: string }[]).some(
        (a) => a.workerId === 'c-spare' && a.state === 'open',
      );
    });
    expect(await attemptState(net, buildId, rogueJob)).toBe('expired');
    expect(await attemptState(net, buildId, jobOf(honest.workerId))).toBe('open');
  });

  it("writing into another operator's queue, directly or through an allowed worker script: refused, nothing changes", async () => {
    const net = await startNet();
    const rogue = await holdWorker(net, 'rogue-op', 'a-rogue');
    const honest = await holdWorker(net, 'honest-op', 'b-honest');
    const { jobOf } = await submitBuild(net, await net.maintainerToken());
    const admin = new Redis(net.redis.url);
    cleanups.push(async () => admin.disconnect());
    const honestJobKey = `${honest.keyBase}${jobOf(honest.workerId)}`;
    const before = await admin.hgetall(honestJobKey);
    const extendLock = workerScripts.find((script) => script.name === 'extendLock')!;
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['HSET job data', () => rogue.redis.hset(honestJobKey, 'data', '"forged"')],
      ['DEL job', () => rogue.redis.del(honestJobKey)],
      ['LPUSH wait', () => rogue.redis.lpush(`${honest.keyBase}wait`, 'forged')],
      [
        'XADD events',
        () => rogue.redis.xadd(`${honest.keyBase}events`, '*', 'event', 'failed', 'jobId', 'x'),
      ],
      ['SET lock', () => rogue.redis.set(`${honestJobKey}:lock`, 'mine')],
      [
        'EVALSHA extendLock on its lock',
        () =>
          rogue.redis.evalsha(
            extendLock.sha1,
            2,
            `${honestJobKey}:lock`,
            `${honest.keyBase}stalled`,
            't',
            '1',
            'x',
          ),
      ],
    ];
    await expectAllRefused(attempts, /NOPERM|can't access/);
    expect(await admin.hgetall(honestJobKey)).toEqual(before);
    expect(await admin.llen(`${honest.keyBase}wait`)).toBe(1);
  });
});
