// A whole rbnet network on this machine for tests: a private Redis, the real coordinator (started
// through the same constructor production uses), and workers of distinct operators, each with its
// own worker directory and keys, all sharing the one engine.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadCoordinatorConfig } from '../../coordinator/coordinator-config.ts';
import { type RunningCoordinator, startCoordinator } from '../../coordinator/main.ts';
import { parseBuildView } from '../../services/api/build-view.ts';
import { sha256Hex } from '../../services/digest.ts';
import { enrolWithCoordinator } from '../../worker/network/enrol-with-coordinator.ts';
import { type RunningNetworkWorker, startNetworkWorker } from '../../worker/network/start-network-worker.ts';
import type { RunnerLimits } from '../../worker/runner-limits.ts';
import { loadWorkerConfig } from '../../worker/worker-config.ts';
import { startRedisServer, type TestRedisServer } from './redis-server.ts';
import { ENGINE_HOST, STATE_DIR, testLimits } from './runner-harness.ts';

export interface NetworkHarness {
  readonly coordinator: RunningCoordinator;
  readonly redis: TestRedisServer;
  readonly root: string;
  readonly adminToken: string;
  readonly workers: RunningNetworkWorker[];
  readonly workerDirs: Map<string, string>;
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    // biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field in the tests
  ): Promise<{ status: number; json: any; text: string }>;
  /** Creates operator NAME (if new) and enrols + starts one worker for it. */
  addWorker(operator: string, workerId: string, options?: WorkerOptions): Promise<RunningNetworkWorker>;
  /** Creates operator NAME (if new) and enrols a worker without starting it; returns its directory. */
  enrolOnly(operator: string, workerId: string, options?: WorkerOptions): Promise<string>;
  /** Uploads prepared files (e.g. from prepareDebianSubmission) and submits the manifest text. */
  submitPrepared(
    prepared: { manifestText: string; uploads: readonly { path: string; sha256: string }[] },
    token: string,
  ): Promise<string>;
  maintainerToken(): Promise<string>;
  /** Uploads the manifest's inputs (from its directory) and submits it; returns the build id. */
  submit(manifestPath: string, token: string): Promise<string>;
  /**
   * Polls GET /v1/builds/:id until a verdict. Each answer is read with the wire contract's parser
   * (services/api/build-view.ts), so a view that breaks the contract fails the test; the value is
   * typed loosely because the tests assert it field by field.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a parsed BuildView, asserted field by field in the tests
  waitForVerdict(buildId: string, timeoutMs?: number, pollMs?: number): Promise<any>;
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Backends the worker enrols with; default ["generic"]. */
  readonly backends?: readonly string[];
  /** Worker settings as environment variables (e.g. RBNET_INSPECTION_IMAGE). */
  readonly env?: Readonly<Record<string, string>>;
  /** Overrides of the test limits (Debian builds need far more than the busybox tests). */
  readonly limits?: Partial<RunnerLimits>;
}

export async function startNetworkHarness(options: {
  threshold: number;
  replicas?: number;
  prefix: string;
  /** Extra coordinator settings, e.g. RBNET_LEASE_TIMEOUT_MS. */
  env?: Record<string, string>;
  redisAppendOnly?: boolean;
}): Promise<NetworkHarness> {
  const root = await mkdtemp(join(tmpdir(), `rbnet-${options.prefix}-`));
  const redis = await startRedisServer({ appendOnly: options.redisAppendOnly ?? false });
  const logger = pino({ level: process.env.RBNET_TEST_LOG ?? 'silent' });
  const config = loadCoordinatorConfig({
    env: { RBNET_SWEEP_INTERVAL_MS: '500', ...(options.env ?? {}) },
    flags: {
      dataDir: join(root, 'coordinator'),
      listen: '127.0.0.1:0',
      redisUrl: redis.url,
      threshold: options.threshold,
      replicas: options.replicas ?? options.threshold,
    },
  });
  const coordinator = await startCoordinator(config, logger);
  const adminToken = coordinator.adminToken!;
  const workers: RunningNetworkWorker[] = [];
  const workerDirs = new Map<string, string>();
  const operators = new Set<string>();

  const api: NetworkHarness['api'] = async (method, path, body, token = adminToken) => {
    const response = await fetch(`${coordinator.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  };

  const harness: NetworkHarness = {
    coordinator,
    redis,
    root,
    adminToken,
    workers,
    workerDirs,
    api,
    async addWorker(this: NetworkHarness, operator, workerId, workerOptions = {}) {
      const workerDir = await this.enrolOnly(operator, workerId, workerOptions);
      const workerConfig = loadWorkerConfig({
        env: { ...(workerOptions.env ?? {}) },
        flags: {
          stateDir: STATE_DIR,
          workerDir,
          dockerHost: ENGINE_HOST,
          limits: { ...testLimits, ...(workerOptions.limits ?? {}) },
        },
      });
      const worker = await startNetworkWorker(workerConfig, logger);
      workers.push(worker);
      workerDirs.set(workerId, workerDir);
      return worker;
    },
    async enrolOnly(operator, workerId, workerOptions = {}) {
      if (!operators.has(operator)) {
        const added = await api('POST', '/v1/admin/operators', { name: operator });
        if (added.status !== 201) throw new Error(`operator: ${added.text}`);
        operators.add(operator);
      }
      const token = await api('POST', '/v1/admin/enrolment-tokens', { operator });
      const workerDir = join(root, 'workers', workerId);
      await enrolWithCoordinator({
        coordinatorUrl: coordinator.url,
        token: token.json.token,
        workerDir,
        workerId,
        architectures: ['amd64'],
        backends: [...(workerOptions.backends ?? ['generic'])],
        capacity: { cores: 2, memoryBytes: 4 * 1024 ** 3, diskBytes: 20 * 1024 ** 3 },
      });
      workerDirs.set(workerId, workerDir);
      return workerDir;
    },
    async maintainerToken() {
      const created = await api('POST', '/v1/admin/maintainers', {
        name: `maintainer-${Math.random().toString(36).slice(2, 8)}`,
      });
      return created.json.token as string;
    },
    async submit(manifestPath, token) {
      const manifestText = await readFile(manifestPath, 'utf8');
      const manifest = JSON.parse(manifestText) as { inputs: { location: string }[] };
      const dir = join(manifestPath, '..');
      for (const input of manifest.inputs) {
        const bytes = await readFile(join(dir, input.location));
        const digest = sha256Hex(bytes);
        const response = await fetch(`${coordinator.url}/v1/cas/sha256/${digest}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}` },
          body: bytes,
        });
        if (!response.ok) throw new Error(`upload: ${response.status} ${await response.text()}`);
      }
      const submitted = await api('POST', '/v1/builds', manifestText, token);
      if (submitted.status !== 201) throw new Error(`submit: ${submitted.status} ${submitted.text}`);
      return submitted.json.buildId as string;
    },
    async submitPrepared(prepared, token) {
      for (const upload of prepared.uploads) {
        const bytes = await readFile(upload.path);
        const response = await fetch(`${coordinator.url}/v1/cas/sha256/${upload.sha256}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}` },
          body: bytes,
        });
        if (!response.ok) throw new Error(`upload: ${response.status} ${await response.text()}`);
      }
      const submitted = await api('POST', '/v1/builds', prepared.manifestText, token);
      if (submitted.status !== 201) throw new Error(`submit: ${submitted.status} ${submitted.text}`);
      return submitted.json.buildId as string;
    },
    async waitForVerdict(buildId, timeoutMs = 120_000, pollMs = 250) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await api('GET', `/v1/builds/${buildId}`);
        const view = status.status === 200 ? parseBuildView(status.text, buildId) : undefined;
        if (view && view.verdict !== 'pending') return view;
        if (Date.now() > deadline)
          throw new Error(`no verdict for ${buildId} within ${timeoutMs} ms: ${status.text}`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async close() {
      for (const worker of workers) await worker.stop(5_000).catch(() => undefined);
      await coordinator.close().catch(() => undefined);
      await redis.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return harness;
}
