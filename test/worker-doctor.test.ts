// `rbnet worker doctor` on the real engine, a private Redis, a loopback coordinator with a skewed Date.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerDoctorCommand } from '../cli/commands/worker-doctor-command.ts';
import { createWorkerRedisUser, deleteWorkerRedisUser } from '../coordinator/queue/redis-acl.ts';
import { generateEd25519KeyFiles } from '../services/attestation/ed25519-key.ts';
import { queueNameForWorker, rbnetQueuePrefix } from '../services/queue/queue-contract.ts';
import { checkWorkerHost } from '../worker/doctor/check-worker-host.ts';
import { classifyClockSkew } from '../worker/doctor/classify-host-facts.ts';
import {
  type DoctorThresholds,
  doctorDefaults,
  type HostCheck,
  type WorkerHostProbes,
  type WorkerHostReport,
  type WorkerHostTarget,
} from '../worker/doctor/host-check.ts';
import { createDockerClient } from '../worker/main.ts';
import { AUTH_KEY_FILE, NETWORK_FILE } from '../worker/network/enrol-with-coordinator.ts';
import { startRedisServer, type TestRedisServer } from './support/redis-server.ts';
import { busyboxEnvironmentSha256, ENGINE_HOST, REPO_ROOT, STATE_DIR } from './support/runner-harness.ts';

const run = promisify(execFile);
const WORKER_ID = `doctor-${process.pid}`;

let root: string;
let redis: TestRedisServer;
let admin: Redis;
let redisUser: string;
let redisPassword: string;
let coordinator: Server;
let coordinatorUrl: string;
/** What the stand-in coordinator's clock is ahead of ours, in ms. */
let skewMs = 0;
let workerDir: string;
let stateDir: string;

const probes: WorkerHostProbes = {
  docker: createDockerClient(ENGINE_HOST),
  fetch: globalThis.fetch,
  createRedis: (options) => new Redis(options),
  nowMs: () => Date.now(),
};
/** Disk thresholds that any host passes, so only the checks under test decide. */
const lenient: DoctorThresholds = { ...doctorDefaults, minFreeDiskBytes: 1 };

function target(overrides: Partial<WorkerHostTarget> = {}): WorkerHostTarget {
  return { workerDir, stateDir, dockerHost: ENGINE_HOST, requireDiskLimit: true, ...overrides };
}

function byId(report: WorkerHostReport): Record<string, HostCheck> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

/** A worker directory as `rbnet worker enrol` leaves it; `network` patches network.json. */
async function makeWorkerDir(name: string, network: Record<string, unknown> = {}): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const signing = await generateEd25519KeyFiles(join(dir, 'worker-signing.key'));
  await generateEd25519KeyFiles(join(dir, AUTH_KEY_FILE));
  await writeFile(
    join(dir, 'worker.json'),
    JSON.stringify({ id: WORKER_ID, operator: 'doctors', keyid: signing.keyid }),
    { mode: 0o644 },
  );
  await writeFile(
    join(dir, NETWORK_FILE),
    JSON.stringify({
      coordinatorUrl,
      workerId: WORKER_ID,
      operator: 'doctors',
      queueName: queueNameForWorker(WORKER_ID),
      queuePrefix: rbnetQueuePrefix,
      redis: { url: redis.url, username: redisUser, password: redisPassword },
      ...network,
    }),
    { mode: 0o600 },
  );
  return dir;
}

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  // The suite fails loudly if the engine cannot start, rather than skipping.
  await run('bash', ['infra/start-dockerd.sh'], { cwd: REPO_ROOT, timeout: 280_000 });
  root = await mkdtemp(join(tmpdir(), 'rbnet-doctor-'));
  redis = await startRedisServer();
  admin = new Redis(redis.url);
  const credentials = await createWorkerRedisUser(admin, { workerId: WORKER_ID });
  redisUser = credentials.username;
  redisPassword = credentials.password;

  coordinator = createServer((req, res) => {
    // Node would stamp its own Date; this stand-in reports a clock skewed by skewMs.
    res.sendDate = false;
    res.setHeader('date', new Date(Date.now() + skewMs).toUTCString());
    if (req.url === '/healthz') {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => coordinator.listen(0, '127.0.0.1', resolve));
  coordinatorUrl = `http://127.0.0.1:${(coordinator.address() as AddressInfo).port}`;

  // The busybox environment the suite's set-up builds (infra/build-env-busybox.sh), registered here.
  const sha256 = await busyboxEnvironmentSha256();
  stateDir = join(root, 'state');
  await mkdir(join(stateDir, 'environments'), { recursive: true });
  await copyFile(
    join(STATE_DIR, 'environments', `${sha256}.json`),
    join(stateDir, 'environments', `${sha256}.json`),
  );
  workerDir = await makeWorkerDir('worker');
});

afterAll(async () => {
  if (admin && redisUser) await deleteWorkerRedisUser(admin, redisUser).catch(() => undefined);
  admin?.disconnect();
  await redis?.stop();
  await new Promise<void>((resolve) => (coordinator ? coordinator.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a healthy worker host', () => {
  it('passes every check: userns, btrfs, no bridge, environment, keys, coordinator, clock, Redis', async () => {
    skewMs = 0;
    const report = await checkWorkerHost(target(), probes, lenient);
    const checks = byId(report);
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['engine', 'ok'],
      ['userns-remap', 'ok'],
      ['storage-driver', 'ok'],
      ['engine-network', 'ok'],
      ['engine-disk', 'ok'],
      ['state-disk', 'ok'],
      ['environments', 'ok'],
      ['identity', 'ok'],
      ['key-files', 'ok'],
      ['coordinator', 'ok'],
      ['clock', 'ok'],
      ['redis', 'ok'],
    ]);
    expect(report.ok).toBe(true);
    expect(checks['storage-driver']!.detail).toContain('btrfs');
    expect(checks.environments!.detail).toContain('busybox-static');
    // The worker's ACL user may not run PING; authenticating and reaching its own queue is the proof.
    expect(checks.redis!.detail).toContain('NOPERM');
    expect(checks.redis!.detail).toContain(queueNameForWorker(WORKER_ID));
  });
});

describe('clock skew against the coordinator', () => {
  it('warns when the coordinator is 30 s ahead (a warning does not fail the host)', async () => {
    skewMs = 30_000;
    const report = await checkWorkerHost(target(), probes, lenient);
    const clock = byId(report).clock!;
    expect(clock.status).toBe('warn');
    expect(clock.detail).toMatch(/about (29|30)\.\d s behind the coordinator's/);
    expect(clock.fix).toContain('NTP');
    expect(report.ok).toBe(true);
  });

  it('fails when this host is 5 minutes ahead', async () => {
    skewMs = -300_000;
    const report = await checkWorkerHost(target(), probes, lenient);
    expect(byId(report).clock).toMatchObject({ status: 'fail' });
    expect(byId(report).clock!.detail).toContain('ahead of');
    expect(report.ok).toBe(false);
  });

  it('judges only skew that the whole-second Date header and latency cannot explain', () => {
    const date = new Date(Date.UTC(2026, 0, 1, 0, 0, 10));
    const header = date.toUTCString();
    const t = date.getTime();
    // Sent and received within the same second the header names: no skew is certain.
    expect(classifyClockSkew({ dateHeader: header, sentAtMs: t + 900, receivedAtMs: t + 950 }).status).toBe(
      'ok',
    );
    // The coordinator's second began 1.5 s after we received: at least 1.5 s, under the 2 s warning.
    expect(classifyClockSkew({ dateHeader: header, sentAtMs: t - 1600, receivedAtMs: t - 1500 }).status).toBe(
      'ok',
    );
    expect(classifyClockSkew({ dateHeader: header, sentAtMs: t - 2600, receivedAtMs: t - 2500 }).status).toBe(
      'warn',
    );
    // This host ahead by over a minute.
    expect(
      classifyClockSkew({ dateHeader: header, sentAtMs: t + 62_000, receivedAtMs: t + 62_100 }).status,
    ).toBe('fail');
    expect(classifyClockSkew({ dateHeader: null, sentAtMs: t, receivedAtMs: t }).status).toBe('warn');
  });
});

describe('problems, each with a fix', () => {
  it('warns about low free space on the engine data root and the state dir', async () => {
    skewMs = 0;
    const report = await checkWorkerHost(target(), probes, { ...doctorDefaults, minFreeDiskBytes: 2 ** 60 });
    const checks = byId(report);
    expect(checks['engine-disk']).toMatchObject({ status: 'warn' });
    expect(checks['state-disk']).toMatchObject({ status: 'warn' });
    expect(checks['state-disk']!.detail).toContain(stateDir);
    expect(report.ok).toBe(true);
  });

  it('fails a private key another user can read, and names the chmod', async () => {
    const dir = await makeWorkerDir('loose-keys');
    await chmod(join(dir, 'worker-signing.key'), 0o644);
    const report = await checkWorkerHost(target({ workerDir: dir }), probes, lenient);
    const keys = byId(report)['key-files']!;
    expect(keys.status).toBe('fail');
    expect(keys.detail).toContain('worker-signing.key is mode 0644');
    expect(keys.fix).toBe(`chmod 600 ${join(dir, 'worker-signing.key')}`);
    expect(report.ok).toBe(false);
  });

  it('fails Redis credentials the server refuses (WRONGPASS)', async () => {
    const dir = await makeWorkerDir('wrong-password', {
      redis: { url: redis.url, username: redisUser, password: 'not-the-password' },
    });
    const check = byId(await checkWorkerHost(target({ workerDir: dir }), probes, lenient)).redis!;
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('WRONGPASS');
  });

  it('fails an unreachable coordinator and skips the clock', async () => {
    const dir = await makeWorkerDir('no-coordinator', {
      coordinatorUrl: `http://127.0.0.1:${await closedLoopbackPort()}`,
    });
    const checks = byId(await checkWorkerHost(target({ workerDir: dir }), probes, lenient));
    expect(checks.coordinator).toMatchObject({ status: 'fail' });
    expect(checks.coordinator!.detail).toContain('ECONNREFUSED');
    expect(checks.clock).toMatchObject({ status: 'skip' });
  });

  it('warns about a registered environment the engine does not have, when another one is ready', async () => {
    const otherState = join(root, 'state-with-missing');
    await mkdir(join(otherState, 'environments'), { recursive: true });
    const sha256 = await busyboxEnvironmentSha256();
    await copyFile(
      join(stateDir, 'environments', `${sha256}.json`),
      join(otherState, 'environments', `${sha256}.json`),
    );
    const missing = 'f'.repeat(64);
    await writeFile(
      join(otherState, 'environments', `${missing}.json`),
      JSON.stringify({ sha256: missing, origin: 'built-locally', recipe: 'gone' }),
    );
    const check = byId(await checkWorkerHost(target({ stateDir: otherState }), probes, lenient))
      .environments!;
    expect(check.status).toBe('warn');
    expect(check.detail).toContain('1 ready');
    expect(check.detail).toContain('ffffffffffff');
  });

  it('fails an engine that does not answer and skips what needs it', async () => {
    const host = `unix://${join(root, 'no-engine.sock')}`;
    const report = await checkWorkerHost(
      target({ dockerHost: host }),
      { ...probes, docker: createDockerClient(host) },
      lenient,
    );
    const checks = byId(report);
    expect(checks.engine).toMatchObject({ status: 'fail' });
    expect(checks.engine!.fix).toContain('infra/start-dockerd.sh');
    for (const id of ['userns-remap', 'storage-driver', 'engine-network', 'engine-disk', 'environments'])
      expect(checks[id]!.status, id).toBe('skip');
    expect(report.ok).toBe(false);
  });

  it('says a directory without a worker is not enrolled, once', async () => {
    const checks = byId(await checkWorkerHost(target({ workerDir: join(root, 'empty') }), probes, lenient));
    expect(checks.identity).toMatchObject({ status: 'fail' });
    expect(checks.identity!.fix).toContain('rbnet worker enrol');
    for (const id of ['key-files', 'coordinator', 'clock', 'redis'])
      expect(checks[id]!.status, id).toBe('skip');
  });
});

describe('rbnet worker doctor', () => {
  async function doctor(argv: Record<string, string | boolean>) {
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const code = await workerDoctorCommand.run(
      {
        positionals: [],
        values: { 'worker-dir': workerDir, 'state-dir': stateDir, 'docker-host': ENGINE_HOST, ...argv },
      },
      { stdout, stderr: new PassThrough(), env: {}, cwd: REPO_ROOT },
    );
    return { code, text: Buffer.concat(chunks).toString('utf8') };
  }

  it('exits 0 and prints every check as JSON when nothing fails', async () => {
    skewMs = 0;
    const { code, text } = await doctor({ json: true });
    const report = JSON.parse(text) as WorkerHostReport;
    expect(report.checks).toHaveLength(12);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  it('exits 1 and prints the fix under a failed check', async () => {
    skewMs = -300_000;
    const { code, text } = await doctor({});
    expect(code).toBe(1);
    expect(text).toMatch(/^fail {2}clock +this host's clock is about (299|300)\.\d s ahead of/m);
    expect(text).toMatch(/^ +fix: synchronise this host with NTP/m);
    expect(text).toMatch(/\d+ ok, \d+ warn, 1 fail, 0 skipped$/m);
  });
});
