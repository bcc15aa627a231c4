// The queue path over TLS (`rediss://`): a TLS-only redis-server, a worker ACL user, dispatch, consumption, completion.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerRedisUser } from '../coordinator/queue/redis-acl.ts';
import { sha256Hex } from '../services/digest.ts';
import { JOB_PAYLOAD_SCHEMA_V1, type RebuildJobPayload } from '../services/queue/queue-contract.ts';
import { redisUrlWithCredentials } from '../worker/network/start-network-worker.ts';
import { JobConsumer, redisOptionsFromUrl } from '../worker/queue/job-consumer.ts';
import { dispatchAndListen } from './support/dispatch-and-listen.ts';
import {
  createTestCertificates,
  startTlsRedisServer,
  type TestTlsFiles,
  type TestTlsRedisServer,
} from './support/tls-fixture.ts';

const MANIFEST = '{"name":"redis-tls-fixture","schema":"rbnet.manifest/v1"}';
/** Node's verification failures for a chain whose root is not trusted. */
const CERTIFICATE_ERROR =
  /SELF_SIGNED_CERT_IN_CHAIN|self[- ]signed certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE/;

let files: TestTlsFiles | undefined;
let server: TestTlsRedisServer | undefined;
let admin: Redis;
/** Run newest first in afterAll; each step is independent, so one failure does not skip the rest. */
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  const { stdout } = await promisify(execFile)('redis-server', ['--version']);
  expect(stdout).toMatch(/^Redis server v=\d+\./);
  files = await createTestCertificates();
  server = await startTlsRedisServer(files);
  admin = new Redis(server.url, { tls: { ca: files.ca }, maxRetriesPerRequest: null });
  cleanups.push(() => admin.disconnect());
}, 20_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Best effort: the server and the temp directory still go below.
    }
  }
  await server?.stop();
  if (files) await rm(files.dir, { recursive: true, force: true });
}, 20_000);

function payload(jobId: string): RebuildJobPayload {
  return {
    schema: JOB_PAYLOAD_SCHEMA_V1,
    buildId: randomUUID(),
    jobId,
    attempt: 1,
    nonce: randomBytes(32).toString('base64url'),
    manifestSha256: sha256Hex(MANIFEST) as RebuildJobPayload['manifestSha256'],
    manifest: MANIFEST,
    coordinatorUrl: 'http://127.0.0.1:1/',
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Connects once, without retries, and returns every error the client reported (the connect rejection
 * and its 'error' events), or [] when it connected.
 */
async function connectErrors(options: RedisOptions): Promise<string[]> {
  const client = new Redis({
    ...options,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
  });
  cleanups.push(() => client.disconnect());
  const errors: string[] = [];
  client.on('error', (error: Error & { code?: string }) =>
    errors.push(`${error.code ?? ''} ${error.message}`),
  );
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    errors.push((error as Error).message);
  } finally {
    client.disconnect();
  }
  return errors;
}

/** Sends an inline PING over plain TCP and collects whatever comes back until the server closes. */
async function plainTcpPing(port: number): Promise<{ reply: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    let settled = false;
    const done = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ reply, closedByServer });
    };
    socket.setTimeout(3000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
    });
    socket.once('error', () => done(true));
    socket.once('close', () => done(true));
  });
}

describe('Redis over TLS (rediss://) with a per-worker ACL user', () => {
  it('dispatches a job, lets the worker consume it under its ACL user, and delivers the completion', async () => {
    if (!server || !files) throw new Error('the TLS redis-server did not start');
    const ca = files.ca;
    // The server has no plain-TCP listener: every connection below is TLS.
    expect(await admin.call('CONFIG', 'GET', 'port')).toEqual(['port', '0']);
    expect(await admin.call('CONFIG', 'GET', 'tls-port')).toEqual(['tls-port', String(server.tlsPort)]);

    const prefix = `rbnet-t${randomBytes(4).toString('hex')}`;
    const workerId = `w${randomBytes(3).toString('hex')}`;
    const creds = await createWorkerRedisUser(admin, { workerId, prefix });

    const { dispatcher, listener, completions, listenerErrors } = dispatchAndListen(admin, prefix, cleanups);
    listener.watch(workerId);

    await dispatcher.enqueue(workerId, payload('tls-job-1'));
    expect(await dispatcher.queueDepth(workerId)).toEqual({ waiting: 1, active: 0 });

    const redisUrl = redisUrlWithCredentials(server.url, creds.username, creds.password);
    expect(redisUrl.startsWith('rediss://')).toBe(true);
    const envelopeSha256 = sha256Hex('envelope:tls-job-1');
    const handled: string[] = [];
    const consumer = new JobConsumer({
      redisUrl,
      tls: { ca },
      workerId,
      prefix,
      handler: async (job) => {
        handled.push(job.jobId);
        return { envelopeSha256 };
      },
    });
    cleanups.push(() => consumer.close({ graceMs: 1000, abortGraceMs: 1000 }));
    await consumer.start();

    await waitFor(() => completions.length >= 1, 'the completion of tls-job-1');
    expect(completions).toEqual([
      { workerId, jobId: 'tls-job-1', streamId: expect.any(String), returnValue: { envelopeSha256 } },
    ]);
    expect(handled).toEqual(['tls-job-1']);
    // BullMQ's main and blocking connections, authenticated as the worker's user (over TLS: port is 0).
    const clients = String(await admin.call('CLIENT', 'LIST')).split('\n');
    expect(clients.filter((line) => line.includes(` user=${creds.username} `))).toHaveLength(2);

    expect(await consumer.close({ graceMs: 1000, abortGraceMs: 1000 })).toBe('drained');
    expect(await dispatcher.queueDepth(workerId)).toEqual({ waiting: 0, active: 0 });
    expect(listenerErrors).toEqual([]);
  }, 20_000);

  it('refuses plain TCP on the TLS port', async () => {
    if (!server) throw new Error('the TLS redis-server did not start');
    const raw = await plainTcpPing(server.tlsPort);
    expect(raw.closedByServer).toBe(true);
    expect(raw.reply).not.toContain('PONG');

    const errors = await connectErrors({ host: '127.0.0.1', port: server.tlsPort });
    expect(errors.join('\n')).toMatch(/ECONNRESET|Connection is closed/);
  }, 15_000);

  it('refuses a TLS connection that does not trust the test CA (certificate error)', async () => {
    if (!server) throw new Error('the TLS redis-server did not start');
    // ioredis's own rediss:// handling: `tls: true`, the system trust store, rejectUnauthorized by default.
    const bare = new Redis(server.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: 3000,
    });
    cleanups.push(() => bare.disconnect());
    const bareErrors: string[] = [];
    bare.on('error', (error: Error & { code?: string }) =>
      bareErrors.push(`${error.code ?? ''} ${error.message}`),
    );
    await expect(bare.connect()).rejects.toThrow();
    bare.disconnect();
    expect(bareErrors.join('\n')).toMatch(CERTIFICATE_ERROR);

    // The worker's own options from a rediss:// URL, without the `tls.ca` pin: also refused.
    const workerUrl = redisUrlWithCredentials(server.url, 'worker:nobody', 'x');
    const workerErrors = await connectErrors(redisOptionsFromUrl(workerUrl));
    expect(workerErrors.join('\n')).toMatch(CERTIFICATE_ERROR);
  }, 15_000);
});
