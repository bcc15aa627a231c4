// Per-worker queue isolation against a real redis-server: ACL users, dispatch, consumption and completions.
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkerRedisUser,
  deleteWorkerRedisUser,
  drainWorkerQueue,
  RedisAclError,
  type WorkerRedisCredentials,
  workerAclRules,
} from '../coordinator/queue/redis-acl.ts';
import { sha256Hex } from '../services/digest.ts';
import {
  JOB_PAYLOAD_SCHEMA_V1,
  queueNameForWorker,
  type RebuildJobPayload,
} from '../services/queue/queue-contract.ts';
import { JobConsumer, type JobHandler, redisOptionsFromUrl } from '../worker/queue/job-consumer.ts';
import { dispatchAndListen } from './support/dispatch-and-listen.ts';
import { startRedisServer, type TestRedisServer } from './support/redis-server.ts';

const MANIFEST = '{"name":"queue-acl-fixture","schema":"rbnet.manifest/v1"}';
/** Redis refuses a command or key with NOPERM, and a command inside a script with "can't access/run". */
const REFUSED = /NOPERM|can't access|can't run/;

let server: TestRedisServer;
let admin: Redis;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterEach(async () => {
  // Newest first: consumers and listeners close before their users and queues go away.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

function payload(jobId: string, overrides: Partial<RebuildJobPayload> = {}): RebuildJobPayload {
  return {
    schema: JOB_PAYLOAD_SCHEMA_V1,
    buildId: randomUUID(),
    jobId,
    attempt: 1,
    nonce: randomBytes(32).toString('base64url'),
    manifestSha256: sha256Hex(MANIFEST) as RebuildJobPayload['manifestSha256'],
    manifest: MANIFEST,
    coordinatorUrl: 'http://127.0.0.1:1/',
    ...overrides,
  };
}

/** A fresh prefix, two enrolled workers, a dispatcher and a listener; all removed after the test. */
async function setUp() {
  const prefix = `rbnet-t${randomBytes(4).toString('hex')}`;
  const workerA = `a${randomBytes(3).toString('hex')}`;
  const workerB = `b${randomBytes(3).toString('hex')}`;
  const credsA = await createWorkerRedisUser(admin, { workerId: workerA, prefix });
  const credsB = await createWorkerRedisUser(admin, { workerId: workerB, prefix });
  cleanups.push(async () => {
    for (const [workerId, creds] of [
      [workerA, credsA],
      [workerB, credsB],
    ] as const) {
      await deleteWorkerRedisUser(admin, creds.username);
      await drainWorkerQueue(admin, { workerId, prefix });
    }
  });
  const { dispatcher, listener, completions, listenerErrors } = dispatchAndListen(admin, prefix, cleanups);
  return { prefix, workerA, workerB, credsA, credsB, dispatcher, listener, completions, listenerErrors };
}

function workerUrl(creds: WorkerRedisCredentials): string {
  const user = encodeURIComponent(creds.username);
  return `redis://${user}:${encodeURIComponent(creds.password)}@127.0.0.1:${server.port}`;
}

/** A raw connection as a worker user, the way an attacker holding that worker's credentials would open one. */
function connectAs(creds: WorkerRedisCredentials, options: { retry?: boolean } = {}): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port: server.port,
    username: creds.username,
    password: creds.password,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    disableClientInfo: true,
    lazyConnect: true,
    retryStrategy: options.retry ? undefined : () => null,
  });
  redis.on('error', () => undefined);
  cleanups.push(async () => redis.disconnect());
  return redis;
}

function startConsumer(
  workerId: string,
  creds: WorkerRedisCredentials,
  prefix: string,
  handler: JobHandler,
  timing: { lockDurationMs?: number } = {},
): JobConsumer {
  const consumer = new JobConsumer({ redisUrl: workerUrl(creds), workerId, prefix, handler, ...timing });
  cleanups.push(() => consumer.close({ graceMs: 1000, abortGraceMs: 1000 }));
  return consumer;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Usernames in ACL LOG (RESP3 gives each entry as a flattened map). */
async function aclLogUsernames(): Promise<string[]> {
  const entries = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
  return entries.map((entry) => String(entry[entry.indexOf('username') + 1]));
}

/** Every key of a queue with its serialized value (DUMP), to show that nothing changed. */
async function snapshot(pattern: string): Promise<Record<string, string>> {
  const keys = ((await admin.keys(pattern)) as string[]).sort();
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = (await admin.dumpBuffer(key))?.toString('base64') ?? '';
  return out;
}

describe('per-worker queue ACLs', () => {
  it('sets exactly the documented rules', async () => {
    const { prefix, workerA, credsA } = await setUp();
    const rules = workerAclRules({ workerId: workerA, prefix }, credsA.passwordSha256);
    expect(rules.slice(0, 7)).toEqual([
      'reset',
      'on',
      `#${credsA.passwordSha256}`,
      'resetkeys',
      `~${prefix}:rbnet-w-${workerA}:*`,
      'resetchannels',
      '-@all',
    ]);
    const user = (await admin.call('ACL', 'GETUSER', credsA.username)) as unknown[];
    const field = (name: string) => user[user.indexOf(name) + 1];
    expect(field('keys')).toBe(`~${prefix}:rbnet-w-${workerA}:*`);
    expect(field('channels')).toBe('');
    expect(String(field('commands'))).toMatch(/^-@all \+/);
    expect(String(field('commands'))).not.toMatch(/\+@|\+info|\+keys|\+scan|\+flushall|\+select/);
    // The password itself never reached Redis, only its digest.
    expect(JSON.stringify(user)).not.toContain(credsA.password);
    await expect(deleteWorkerRedisUser(admin, 'default')).rejects.toThrow(RedisAclError);
  });

  it("refuses worker A every read, write and script on worker B's queue", async () => {
    const { prefix, workerA, workerB, credsA, dispatcher } = await setUp();
    await dispatcher.enqueue(workerB, payload('job-b1'));
    const bBase = `${prefix}:${queueNameForWorker(workerB)}`;
    const before = await snapshot(`${bBase}:*`);
    expect(Object.keys(before)).toContain(`${bBase}:job-b1`);

    const a = connectAs(credsA);
    await a.connect();
    // Sanity: the same credentials work on A's own keys.
    await a.set(`${prefix}:${queueNameForWorker(workerA)}:probe`, '1');

    const bQueueAsA = new Queue(queueNameForWorker(workerB), {
      connection: a,
      prefix,
      skipVersionCheck: true,
    });
    bQueueAsA.on('error', () => undefined);
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['Queue.add', () => bQueueAsA.add('rebuild', 'forged', { jobId: 'forged-1' })],
      ['Queue.getJobs', () => bQueueAsA.getJobs(['wait', 'active', 'completed'])],
      ['Queue.getJob', () => bQueueAsA.getJob('job-b1')],
      ['Queue.getJobCounts', () => bQueueAsA.getJobCounts()],
      ['Queue.remove', () => bQueueAsA.remove('job-b1')],
      ['Queue.pause', () => bQueueAsA.pause()],
      ['Queue.drain', () => bQueueAsA.drain()],
      ['Queue.obliterate', () => bQueueAsA.obliterate({ force: true })],
      ['KEYS', () => a.call('KEYS', '*')],
      ['SCAN', () => a.call('SCAN', '0', 'MATCH', `${bBase}:*`)],
      ['GET', () => a.call('GET', `${bBase}:id`)],
      ['HGETALL', () => a.call('HGETALL', `${bBase}:job-b1`)],
      ['LRANGE', () => a.call('LRANGE', `${bBase}:wait`, '0', '-1')],
      ['ZRANGE', () => a.call('ZRANGE', `${bBase}:completed`, '0', '-1')],
      ['DEL', () => a.call('DEL', `${bBase}:job-b1`)],
      ['SET', () => a.call('SET', `${bBase}:job-b1`, 'x')],
      [
        'XADD (forge a completion)',
        () => a.call('XADD', `${bBase}:events`, '*', 'event', 'completed', 'jobId', 'job-b1'),
      ],
      ['XREAD', () => a.call('XREAD', 'STREAMS', `${bBase}:events`, '0-0')],
      [
        'EVAL declaring B key',
        () => a.call('EVAL', "return redis.call('HGETALL', KEYS[1])", '1', `${bBase}:job-b1`),
      ],
      [
        'EVAL reaching B key undeclared',
        () =>
          a.call(
            'EVAL',
            `return redis.call('DEL', '${bBase}:job-b1')`,
            '1',
            `${prefix}:rbnet-w-${workerA}:x`,
          ),
      ],
      ['EVAL running KEYS', () => a.call('EVAL', "return redis.call('KEYS', '*')", '0')],
      [
        'EVALSHA of a loaded script with B key',
        async () => {
          const sha = String(await admin.call('SCRIPT', 'LOAD', "return redis.call('DEL', KEYS[1])"));
          return a.call('EVALSHA', sha, '1', `${bBase}:job-b1`);
        },
      ],
      ['FLUSHALL', () => a.call('FLUSHALL')],
      ['FLUSHDB', () => a.call('FLUSHDB')],
      ['SELECT', () => a.call('SELECT', '1')],
      ['INFO', () => a.call('INFO')],
      ['CONFIG GET', () => a.call('CONFIG', 'GET', '*')],
      ['ACL LIST', () => a.call('ACL', 'LIST')],
      ['CLIENT LIST', () => a.call('CLIENT', 'LIST')],
      ['CLIENT KILL', () => a.call('CLIENT', 'KILL', 'USER', 'default')],
      ['SCRIPT FLUSH', () => a.call('SCRIPT', 'FLUSH')],
      ['PUBLISH', () => a.call('PUBLISH', `${bBase}:x`, 'y')],
      ['RENAME into B', () => a.call('RENAME', `${prefix}:rbnet-w-${workerA}:probe`, `${bBase}:job-b1`)],
    ];
    const accepted: string[] = [];
    for (const [name, attempt] of attempts) {
      try {
        await attempt();
        accepted.push(name);
      } catch (error) {
        expect((error as Error).message, name).toMatch(REFUSED);
      }
    }
    expect(accepted).toEqual([]);
    await bQueueAsA.close();

    expect(await snapshot(`${bBase}:*`)).toEqual(before);
    expect(await dispatcher.queueDepth(workerB)).toEqual({ waiting: 1, active: 0 });
    expect(await aclLogUsernames()).toContain(credsA.username);
  });

  it('lets worker A consume its own jobs end to end, with no ACL denial', async () => {
    const { prefix, workerA, credsA, dispatcher, listener, completions, listenerErrors } = await setUp();
    listener.watch(workerA);
    const first = payload('job-a1');
    await dispatcher.enqueue(workerA, first);
    await dispatcher.enqueue(workerA, first); // the same attempt again: still one job
    expect(await dispatcher.queueDepth(workerA)).toEqual({ waiting: 1, active: 0 });

    const handled: string[] = [];
    // A short lock and a handler that outlives it: the lock must be renewed under the worker's ACL user.
    const consumer = startConsumer(
      workerA,
      credsA,
      prefix,
      async (job) => {
        handled.push(job.jobId);
        await new Promise((resolve) => setTimeout(resolve, 800));
        return { envelopeSha256: sha256Hex(`envelope:${job.jobId}`) };
      },
      { lockDurationMs: 300 },
    );
    await consumer.start();
    await waitFor(() => completions.length >= 1, 'the completion of job-a1');
    expect(completions).toEqual([
      {
        workerId: workerA,
        jobId: 'job-a1',
        streamId: expect.any(String),
        returnValue: { envelopeSha256: sha256Hex('envelope:job-a1') },
      },
    ]);
    expect(handled).toEqual(['job-a1']);
    // BullMQ's main and blocking connections; the consumer's template client never connects.
    const clients = String(await admin.call('CLIENT', 'LIST')).split('\n');
    expect(clients.filter((line) => line.includes(` user=${credsA.username} `))).toHaveLength(2);
    expect(await consumer.close()).toBe('drained');
    expect(await dispatcher.queueDepth(workerA)).toEqual({ waiting: 0, active: 0 });
    expect(await dispatcher.remove(workerA, 'job-zz')).toBe('not-found');
    expect(listenerErrors).toEqual([]);
    // The allowlist is enough: a whole lifecycle wrote no denial for A.
    expect(await aclLogUsernames()).not.toContain(credsA.username);
  });

  it('fails a malformed payload with payload-invalid and keeps consuming', async () => {
    const { prefix, workerA, credsA, dispatcher, listener, completions } = await setUp();
    listener.watch(workerA);
    const raw = new Queue(queueNameForWorker(workerA), { connection: admin, prefix });
    cleanups.push(() => raw.close());
    const wrongDigest = JSON.stringify({ ...payload('bad-digest'), manifestSha256: sha256Hex('other') });
    await raw.add('rebuild', { schema: JOB_PAYLOAD_SCHEMA_V1 }, { jobId: 'bad-object' });
    await raw.add('rebuild', wrongDigest, { jobId: 'bad-digest' });
    await raw.add('rebuild', JSON.stringify(payload('other-id')), { jobId: 'bad-jobid' });
    await dispatcher.enqueue(workerA, payload('good-1'));

    const handled: string[] = [];
    const consumer = startConsumer(workerA, credsA, prefix, async (job) => {
      handled.push(job.jobId);
      return { failed: 'exit-code' };
    });
    await consumer.start();
    await waitFor(() => completions.length >= 4, 'four finished jobs');
    const byJob = Object.fromEntries(
      completions.map((c) => [c.jobId, 'failedReason' in c ? c.failedReason : c.returnValue]),
    );
    expect(byJob['bad-object']).toMatch(/^payload-invalid: \$: /);
    expect(byJob['bad-digest']).toMatch(/^payload-invalid: manifest: /);
    expect(byJob['bad-jobid']).toMatch(/^payload-invalid: jobId: /);
    expect(byJob['good-1']).toEqual({ failed: 'exit-code' });
    expect(handled).toEqual(['good-1']);
    expect(consumer.activeJobs).toBe(0);
  });

  it('aborts a job that outlives the shutdown grace period and reports worker-shutdown', async () => {
    const { prefix, workerA, credsA, dispatcher, listener, completions } = await setUp();
    listener.watch(workerA);
    let started = false;
    const consumer = startConsumer(workerA, credsA, prefix, (_job, { signal }) => {
      started = true;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    await consumer.start();
    await dispatcher.enqueue(workerA, payload('slow-1'));
    await waitFor(() => started, 'the handler to start');
    expect(await consumer.close({ graceMs: 200, abortGraceMs: 2000 })).toBe('cancelled');
    await waitFor(() => completions.length >= 1, 'the failure of slow-1');
    expect(completions[0]).toMatchObject({
      jobId: 'slow-1',
      failedReason: expect.stringMatching(/^worker-shutdown: /),
    });
  });

  it('leaves the job of an abandoned handler active until its lock expires; then the coordinator removes it', async () => {
    const { prefix, workerA, credsA, dispatcher } = await setUp();
    let started = false;
    const stubborn = startConsumer(
      workerA,
      credsA,
      prefix,
      () => {
        started = true;
        return new Promise(() => undefined); // ignores its abort signal
      },
      { lockDurationMs: 300 },
    );
    await stubborn.start();
    await dispatcher.enqueue(workerA, payload('stuck-1'));
    await waitFor(() => started, 'the handler to start');
    expect(await stubborn.close({ graceMs: 50, abortGraceMs: 50 })).toBe('abandoned');
    // No stalled check runs on the worker side (the coordinator owns leases): the job stays active, and
    // the coordinator's removal refuses it while the lock is held, then removes it.
    expect(await dispatcher.queueDepth(workerA)).toEqual({ waiting: 0, active: 1 });
    const key = `${prefix}:${queueNameForWorker(workerA)}:stuck-1`;
    await admin.set(`${key}:lock`, 'held-by-the-worker', 'PX', 60_000);
    expect(await dispatcher.remove(workerA, 'stuck-1')).toBe('active');
    await admin.del(`${key}:lock`);
    expect(await dispatcher.remove(workerA, 'stuck-1')).toBe('removed');
    expect(await dispatcher.queueDepth(workerA)).toEqual({ waiting: 0, active: 0 });
    expect(await admin.exists(key)).toBe(0);
    expect(await aclLogUsernames()).not.toContain(credsA.username);
  });

  it("kills a deleted user's open connection, refuses its reconnection, and drains its queue", async () => {
    const { prefix, workerA, credsA, dispatcher } = await setUp();
    await dispatcher.enqueue(workerA, payload('job-left'));
    const a = connectAs(credsA);
    await a.connect();
    expect(await a.call('GET', `${prefix}:${queueNameForWorker(workerA)}:id`)).toBe('1');
    const ended = once(a, 'end');

    expect(await deleteWorkerRedisUser(admin, credsA.username)).toEqual({
      deleted: true,
      killedConnections: 1,
    });
    await ended;
    expect(await admin.call('ACL', 'GETUSER', credsA.username)).toBeNull();

    const again = connectAs(credsA);
    const errors: Error[] = [];
    again.on('error', (error: Error) => errors.push(error));
    await expect(again.connect()).rejects.toThrow();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/WRONGPASS/);

    expect(await drainWorkerQueue(admin, { workerId: workerA, prefix })).toBeGreaterThan(0);
    expect(await admin.keys(`${prefix}:${queueNameForWorker(workerA)}:*`)).toEqual([]);
    expect(await deleteWorkerRedisUser(admin, credsA.username)).toEqual({
      deleted: false,
      killedConnections: 0,
    });
  });
});

describe('redisOptionsFromUrl', () => {
  it('reads ACL credentials, and TLS for rediss://', () => {
    const plain = redisOptionsFromUrl('redis://worker%3Arbnet%3Aw1:p%40ss@127.0.0.1:6390');
    expect(plain).toMatchObject({
      host: '127.0.0.1',
      port: 6390,
      username: 'worker:rbnet:w1',
      password: 'p@ss',
      tls: undefined,
    });
    expect(redisOptionsFromUrl('rediss://u:p@redis.example.org', { ca: 'PEM' }).tls).toEqual({
      servername: 'redis.example.org',
      ca: 'PEM',
    });
  });

  it.each([
    'http://u:p@127.0.0.1:6390',
    'redis://127.0.0.1:6390',
    'redis://u:p@127.0.0.1:6390/1',
    'redis://u:p@127.0.0.1:6390?db=1',
    'not a url',
  ])('refuses %s without echoing it', (url) => {
    expect(() => redisOptionsFromUrl(url)).toThrow(/^redisUrl: /);
    try {
      redisOptionsFromUrl(url);
    } catch (error) {
      expect((error as Error).message).not.toContain('127.0.0.1');
    }
  });
});
