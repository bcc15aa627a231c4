// Separate hosts, for real (issue 4): two workers each in its own network namespace, with its own
// Docker engine, state and keys, reaching the coordinator (behind TLS) and Redis by URL over a veth
// link only; a third worker of a third operator in the root namespace. Worker A's link is pulled
// mid-build: its lease runs out, the build goes to the third operator and is decided without A, and
// A's late result, if any, is never counted.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '../worker/main.ts';
import { LABEL_WORKER } from '../worker/sandbox/container-labels.ts';
import {
  createTestNetwork,
  type HostKey,
  pidAlive,
  run,
  TEST_NET,
  type TestNetwork,
} from './support/netns.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { runScopedId } from './support/run-scoped-id.ts';
import {
  busyboxEnvironmentSha256,
  createRunnerHarness,
  ENGINE_HOST,
  REPO_ROOT,
  type RunnerHarness,
  STATE_DIR,
} from './support/runner-harness.ts';
import { stopChild } from './support/stop-child.ts';

const PID = process.pid;
const ENGINE_KEYS: readonly HostKey[] = ['a', 'b'];
/** Ids sort so that the build goes to A and B first (least loaded, ties by id); C is the spare. */
const WORKERS = {
  a: { id: runScopedId('a-ns-1'), operator: 'alpha' },
  b: { id: runScopedId('b-ns-1'), operator: 'beta' },
  c: { id: runScopedId('c-root-1'), operator: 'gamma' },
} as const;
/** Small per-build limits for the worker processes (as testLimits for in-process workers). */
const WORKER_LIMIT_ENV = {
  RBNET_MAX_BUILD_TIME_SECONDS: '60',
  RBNET_MEMORY_BYTES: String(128 * 1024 ** 2),
  RBNET_PIDS_LIMIT: '64',
  RBNET_DISK_BYTES: String(256 * 1024 ** 2),
  RBNET_MAX_LOG_BYTES: String(64 * 1024),
  RBNET_MAX_OUTPUT_BYTES: String(8 * 1024 ** 2),
};

/** This process's environment without any RBNET_* setting: every child gets exactly ours. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('RBNET_')) env[name] = value;
  return { ...env, ...extra };
}

// ---------------------------------------------------------------- extra engines

interface ExtraEngine {
  readonly key: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly host: string;
  readonly env: NodeJS.ProcessEnv;
}

function extraEngine(pid: number, key: string): ExtraEngine {
  const stateDir = `/var/tmp/rbnet-t-${pid}/${key}`;
  const runDir = `/run/rbnet-t-${pid}-${key}`;
  const host = `unix://${runDir}/docker.sock`;
  return {
    key,
    stateDir,
    runDir,
    host,
    env: baseEnv({
      RBNET_STATE_DIR: stateDir,
      RBNET_RUN_DIR: runDir,
      RBNET_DOCKER_HOST: host,
      RBNET_DOCKERD_LOG: join(stateDir, 'dockerd.log'),
      RBNET_DOCKERD_TIMEOUT: '90',
    }),
  };
}

function script(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'infra', name), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`infra/${name} ${args.join(' ')}: exit ${code}\n${stderr}`)),
    );
  });
}

async function isMountPoint(path: string): Promise<boolean> {
  return run('mountpoint', ['-q', path]).then(
    () => true,
    () => false,
  );
}

async function startEngine(engine: ExtraEngine): Promise<void> {
  await mkdir(engine.stateDir, { recursive: true });
  await script('start-dockerd.sh', ['--disk-gb', '2'], engine.env);
}

/** Stops the engine (its containers with it), unmounts its btrfs file and removes its directories. */
async function destroyEngine(engine: ExtraEngine): Promise<void> {
  await script('stop-dockerd.sh', ['--unmount', '--timeout', '15'], engine.env);
  if (await isMountPoint(join(engine.stateDir, 'docker'))) {
    throw new Error(`${engine.stateDir}/docker is still mounted; left in place`);
  }
  await rm(engine.stateDir, { recursive: true, force: true });
  await rm(engine.runDir, { recursive: true, force: true });
}

/** Removes /var/tmp/rbnet-t-PID (all engines' state of run PID), unless something is mounted below it. */
async function removeEngineRoot(pid: number): Promise<void> {
  const dir = `/var/tmp/rbnet-t-${pid}`;
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  if (mounts.split('\n').some((line) => line.split(' ')[1]?.startsWith(`${dir}/`))) {
    throw new Error(`${dir} still has mounts below it; left in place`);
  }
  await rm(dir, { recursive: true, force: true });
}

/** What earlier runs of this file left behind when they were killed before their cleanup. */
async function removeStaleRuns(): Promise<void> {
  // Worker processes such a run started (they name their worker directory in their argv).
  const stalePrefix = new RegExp(`${tmpdir()}/rbnet-hosts-(\\d+)-`);
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const match = stalePrefix.exec(argv);
    if (match && argv.includes('rbnet.mjs') && !pidAlive(Number(match[1]))) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const name of await readdir('/run').catch(() => [] as string[])) {
    const match = /^rbnet-t-(\d+)-([a-z])$/.exec(name);
    if (!match || pidAlive(Number(match[1]))) continue;
    await destroyEngine(extraEngine(Number(match[1]), match[2]!)).catch(() => undefined);
  }
  for (const name of await readdir('/var/tmp').catch(() => [] as string[])) {
    const match = /^rbnet-t-(\d+)$/.exec(name);
    if (match && !pidAlive(Number(match[1]))) await removeEngineRoot(Number(match[1])).catch(() => undefined);
  }
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const match = /^rbnet-hosts-(\d+)-/.exec(name);
    if (match && !pidAlive(Number(match[1])))
      await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- processes and relays

const children: ChildProcess[] = [];

interface Started {
  readonly child: ChildProcess;
  output(): string;
}

/** Spawns argv; resolves once its stderr shows READY (rejects if it exits or 60 s pass first). */
function startProcess(argv: readonly string[], env: NodeJS.ProcessEnv, ready: string): Promise<Started> {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-200_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start: ${output}`)), 60_000);
    child.stderr!.on('data', () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited ${code ?? signal}: ${output}`));
    });
  });
}

/** Forwards every connection to TARGET (read when the connection comes, so it can be set later). */
const relayed = new Set<Socket>();
function pipeTo(socket: Socket, target: () => number): void {
  const upstream = tcpConnect(target(), '127.0.0.1');
  for (const s of [socket, upstream]) {
    relayed.add(s);
    s.once('close', () => relayed.delete(s));
  }
  socket.on('error', () => upstream.destroy());
  upstream.on('error', () => socket.destroy());
  socket.pipe(upstream).pipe(socket);
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return address.port;
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of relayed) socket.destroy();
  await closed;
}

/** A throwaway CA and a server certificate for the bridge address, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; key: string; cert: string }> {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-subj',
    '/CN=rbnet separate-hosts test CA',
    '-days',
    '1',
    '-out',
    ca,
  ]);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${TEST_NET.bridgeAddress}`, '-out', csr]);
  await writeFile(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${TEST_NET.bridgeAddress}\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { ca, key, cert };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Containers labelled for WORKERID that ENGINE created since SINCE (unix seconds). */
async function containersCreated(docker: Docker, workerId: string, since: number): Promise<number> {
  const stream = await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000),
    filters: { type: ['container'], event: ['create'], label: [`${LABEL_WORKER}=${workerId}`] },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text.split('\n').filter((line) => line.trim()).length;
}

async function runningContainers(docker: Docker, workerId: string, all = false): Promise<number> {
  const list = await docker.listContainers({ all, filters: { label: [`${LABEL_WORKER}=${workerId}`] } });
  return list.length;
}

// ---------------------------------------------------------------- setup and teardown

let root: string | undefined;
let network: TestNetwork | undefined;
const engines = new Map<HostKey, ExtraEngine>();
let manifests: RunnerHarness | undefined;
let net: NetworkHarness | undefined;
let tlsProxy: Server | undefined;
let redisRelay: Server | undefined;
let publicUrl = '';
let caPath = '';
const workerDirs = new Map<string, string>();

beforeAll(async () => {
  await removeStaleRuns();
  root = await mkdtemp(join(tmpdir(), `rbnet-hosts-${PID}-`));
  network = await createTestNetwork(PID);

  // Two more engines, one per namespaced host; then the busybox environment built into each.
  const expectedEnv = await busyboxEnvironmentSha256();
  await Promise.all(
    ENGINE_KEYS.map(async (key) => {
      const engine = extraEngine(PID, key);
      engines.set(key, engine);
      await startEngine(engine);
      const out = await script(
        'build-env-busybox.sh',
        ['--state-dir', engine.stateDir, '--docker-host', engine.host],
        engine.env,
      );
      expect(out.trim().split('\n').at(-1)).toBe(expectedEnv);
    }),
  );

  // The coordinator behind a TLS terminator on the bridge address, Redis behind a relay there.
  const certs = await makeCertificates(root);
  caPath = certs.ca;
  let coordinatorPort = 0;
  let redisPort = 0;
  tlsProxy = createTlsServer({ key: await readFile(certs.key), cert: await readFile(certs.cert) }, (socket) =>
    pipeTo(socket, () => coordinatorPort),
  );
  tlsProxy.on('tlsClientError', () => undefined);
  const tlsPort = await listen(tlsProxy, TEST_NET.bridgeAddress);
  redisRelay = createServer((socket) => pipeTo(socket, () => redisPort));
  const relayPort = await listen(redisRelay, TEST_NET.bridgeAddress);
  publicUrl = `https://${TEST_NET.bridgeAddress}:${tlsPort}`;
  net = await startNetworkHarness({
    threshold: 2,
    replicas: 2,
    prefix: `hosts-${PID}`,
    env: {
      RBNET_LEASE_TIMEOUT_MS: '4000',
      RBNET_RETRY_BACKOFF_MS: '0',
      RBNET_PUBLIC_URL: publicUrl,
      RBNET_WORKER_REDIS_URL: `redis://${TEST_NET.bridgeAddress}:${relayPort}`,
    },
  });
  coordinatorPort = Number(new URL(net.coordinator.url).port);
  redisPort = net.redis.port;
  expect(net.coordinator.deps.config.publicUrl).toBe(publicUrl);
  manifests = await createRunnerHarness(`hosts-${PID}`);
}, 240_000);

afterAll(async () => {
  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    const started = Date.now();
    try {
      await step();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
    }
    if (Date.now() - started > 10_000)
      console.log(`[separate-hosts] cleanup: ${what} took ${Date.now() - started} ms`);
  };
  await attempt('processes', () => Promise.all(children.map((child) => stopChild(child))));
  // C builds on the shared engine: nothing of it may stay there.
  await attempt('containers of C', async () => {
    const docker = createDockerClient(ENGINE_HOST);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_WORKER}=${WORKERS.c.id}`] },
    });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
  });
  await attempt('tls proxy', () => closeServer(tlsProxy));
  await attempt('redis relay', () => closeServer(redisRelay));
  await attempt('harness', async () => net?.close());
  await Promise.all(
    [...engines.values()].map((engine) => attempt(`engine ${engine.key}`, () => destroyEngine(engine))),
  );
  await attempt('engine dir', () => removeEngineRoot(PID));
  await attempt('network', async () => network?.destroy());
  await attempt('manifests', async () => manifests?.cleanup());
  if (root) await attempt('temp dir', () => rm(root!, { recursive: true, force: true }));
  if (problems.length > 0) throw new Error(`cleanup failed:\n${problems.join('\n')}`);
}, 120_000);

// ---------------------------------------------------------------- workers

/** Creates the operator and a token with the admin API, then enrols with the real CLI on its "host". */
async function enrol(worker: { id: string; operator: string }, where: HostKey | 'root'): Promise<string> {
  const added = await net!.api('POST', '/v1/admin/operators', { name: worker.operator });
  expect(added.status).toBe(201);
  const token = await net!.api('POST', '/v1/admin/enrolment-tokens', { operator: worker.operator });
  expect(token.status).toBe(201);
  const workerDir = join(root!, 'hosts', worker.id, 'worker');
  const command = [
    process.execPath,
    join(REPO_ROOT, 'bin', 'rbnet.mjs'),
    'worker',
    'enrol',
    '--coordinator',
    publicUrl,
    '--token',
    token.json.token,
    '--id',
    worker.id,
    '--worker-dir',
    workerDir,
    '--cores',
    '2',
    '--memory-bytes',
    String(4 * 1024 ** 3),
    '--disk-bytes',
    String(20 * 1024 ** 3),
  ];
  const argv = where === 'root' ? command : network!.execArgv(where, command);
  await run(argv[0]!, argv.slice(1), workerEnv()).catch(async (error: Error) => {
    throw new Error(`enrol ${worker.id}: ${error.message}`);
  });
  workerDirs.set(worker.id, workerDir);
  return workerDir;
}

function workerEnv(): NodeJS.ProcessEnv {
  return baseEnv({ NODE_EXTRA_CA_CERTS: caPath, ...WORKER_LIMIT_ENV });
}

async function startWorker(
  worker: { id: string },
  where: HostKey | 'root',
  stateDir: string,
  dockerHost: string,
): Promise<Started> {
  const command = [
    process.execPath,
    join(REPO_ROOT, 'bin', 'rbnet.mjs'),
    'worker',
    'run',
    '--worker-dir',
    workerDirs.get(worker.id)!,
    '--state-dir',
    stateDir,
    '--docker-host',
    dockerHost,
    '--log-level',
    'info',
  ];
  const argv = where === 'root' ? command : network!.execArgv(where, command);
  return startProcess(argv, workerEnv(), 'consuming its queue');
}

// ---------------------------------------------------------------- the test

describe('workers on separate hosts (network namespaces, own engines)', () => {
  it('a worker cut off mid-build loses its lease; the build is decided without it and its late result is never counted', async () => {
    const engineA = engines.get('a')!;
    const engineB = engines.get('b')!;
    // The namespaced hosts really are cut off from the root namespace's loopback.
    await expect(
      network!.exec('a', ['curl', '-sS', '--max-time', '2', `http://127.0.0.1:${net!.redis.port}`]),
    ).rejects.toThrow();
    for (const key of ENGINE_KEYS) {
      expect(await network!.exec(key, ['ip', '-o', 'route', 'show', 'default'])).toBe('');
    }
    const since = Math.floor(Date.now() / 1000) - 1;

    await enrol(WORKERS.a, 'a');
    await enrol(WORKERS.b, 'b');
    await enrol(WORKERS.c, 'root');
    const network0 = JSON.parse(await readFile(join(workerDirs.get(WORKERS.a.id)!, 'network.json'), 'utf8'));
    expect(network0.coordinatorUrl).toBe(publicUrl);
    expect(network0.redis.url).toMatch(/^redis:\/\/10\.231\.77\.1:\d+$/);

    const [workerA] = await Promise.all([
      startWorker(WORKERS.a, 'a', engineA.stateDir, engineA.host),
      startWorker(WORKERS.b, 'b', engineB.stateDir, engineB.host),
      startWorker(WORKERS.c, 'root', STATE_DIR, ENGINE_HOST),
    ]);

    const { path } = await manifests!.writeManifest({
      script: '#!/bin/sh\nsleep 8\nmkdir -p out\necho separate hosts > out/a.txt\n',
    });
    const buildId = await net!.submit(path, await net!.maintainerToken());
    const first = await net!.api('GET', `/v1/builds/${buildId}`);
    expect(first.json.attempts.map((a: { workerId: string }) => a.workerId).sort()).toEqual([
      WORKERS.a.id,
      WORKERS.b.id,
    ]);

    // A builds on its own engine; then its link goes down.
    const dockerA = createDockerClient(engineA.host);
    await until(
      'A to be building on its own engine',
      async () => (await runningContainers(dockerA, WORKERS.a.id)) === 1,
    );
    await network!.linkDown('a');

    const status = await net!.waitForVerdict(buildId, 90_000);
    expect(status.verdict).toBe('agreed');
    expect(status.decision.countedOperators).toEqual([WORKERS.b.operator, WORKERS.c.operator]);
    const attemptA = status.attempts.find((a: { workerId: string }) => a.workerId === WORKERS.a.id);
    expect(attemptA.state).toBe('expired');
    expect(status.attempts.some((a: { workerId: string }) => a.workerId === WORKERS.c.id)).toBe(true);
    expect(
      status.results
        .filter((r: { counted: boolean }) => r.counted)
        .map((r: { workerId: string }) => r.workerId)
        .sort(),
    ).toEqual([WORKERS.b.id, WORKERS.c.id]);
    // B built on its own engine (and left nothing there); C on the shared one; none elsewhere.
    const dockerB = createDockerClient(engineB.host);
    const dockerShared = createDockerClient(ENGINE_HOST);
    expect(await containersCreated(dockerB, WORKERS.b.id, since)).toBe(1);
    expect(await runningContainers(dockerB, WORKERS.b.id, true)).toBe(0);
    expect(await containersCreated(dockerShared, WORKERS.c.id, since)).toBe(1);
    for (const id of [WORKERS.a.id, WORKERS.b.id]) {
      expect(await containersCreated(dockerShared, id, since)).toBe(0);
    }
    expect(await containersCreated(dockerA, WORKERS.b.id, since)).toBe(0);

    // A comes back. Its attempt is not current any more: it stops the job or, if it reports
    // anyway, the result is recorded but not counted. Either way A is never counted.
    await network!.linkUp('a');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const settled =
        (await runningContainers(dockerA, WORKERS.a.id, true)) === 0 &&
        /not signing|result reported|stale|aborted/i.test(workerA.output());
      const now = await net!.api('GET', `/v1/builds/${buildId}`);
      expect(
        now.json.results.filter(
          (r: { workerId: string; counted: boolean }) => r.workerId === WORKERS.a.id && r.counted,
        ),
      ).toEqual([]);
      if (settled) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const final = await net!.api('GET', `/v1/builds/${buildId}`);
    expect(final.json.verdict).toBe('agreed');
    expect(final.json.decision.countedOperators).toEqual([WORKERS.b.operator, WORKERS.c.operator]);
    expect(
      final.json.results.filter(
        (r: { workerId: string; counted: boolean }) => r.workerId === WORKERS.a.id && r.counted,
      ),
    ).toEqual([]);
    const seen = workerA.output();
    const outcome = /not signing/.test(seen)
      ? 'refused to sign (attempt no longer current), posted nothing'
      : /result reported/.test(seen)
        ? 'posted a result, recorded but not counted'
        : 'nothing within 20 s';
    console.log(`[separate-hosts] A after its link came back: ${outcome}`);
  }, 180_000);
});
