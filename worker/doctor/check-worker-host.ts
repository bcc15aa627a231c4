// `rbnet worker doctor`'s checks: is this host fit to rebuild (engine, disk, keys, clock, Redis)?
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Redis, RedisOptions } from 'ioredis';
import { isHealthAnswer } from '../../services/api/health.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import { resolveEnvironment } from '../environment/environment-registry.ts';
import { AUTH_KEY_FILE, NETWORK_FILE, type NetworkSettings } from '../network/enrol-with-coordinator.ts';
import { redisUrlWithCredentials } from '../network/start-network-worker.ts';
import { redisOptionsFromUrl } from '../queue/job-consumer.ts';
import { readEngineFacts } from '../sandbox/engine-facts.ts';

/** `skip`: not checked because something it needs failed or is absent (that check says what). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export type HostCheckId =
  | 'engine'
  | 'userns-remap'
  | 'storage-driver'
  | 'engine-network'
  | 'engine-disk'
  | 'state-disk'
  | 'environments'
  | 'identity'
  | 'key-files'
  | 'coordinator'
  | 'clock'
  | 'redis';

export interface HostCheck {
  readonly id: HostCheckId;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly detail: string;
  /** One line: what to do about it; present when the status is `warn` or `fail`. */
  readonly fix?: string;
}

export interface WorkerHostReport {
  /** True when no check failed (warnings and skips allowed). */
  readonly ok: boolean;
  readonly checks: readonly HostCheck[];
}

/** Thresholds; units in the names. */
export interface DoctorThresholds {
  /** Clock skew against the coordinator that certainly exceeds this warns. */
  readonly clockSkewWarnMs: number;
  /** …and this fails (the coordinator refuses worker requests beyond ±120 s). */
  readonly clockSkewFailMs: number;
  /** Less free space than this (state dir, engine data root) warns. */
  readonly minFreeDiskBytes: number;
  /** Each engine, HTTP and Redis probe gives up after this long. */
  readonly probeTimeoutMs: number;
}

export const doctorDefaults: DoctorThresholds = Object.freeze({
  clockSkewWarnMs: 2_000,
  clockSkewFailMs: 60_000,
  minFreeDiskBytes: 10 * 1024 ** 3,
  probeTimeoutMs: 5_000,
});

/** Where the worker's things are; the same values `loadWorkerConfig` resolves. */
export interface WorkerHostTarget {
  readonly workerDir: string;
  readonly stateDir: string;
  /** The engine's URL; its data root's free space is read only for a local (`unix://`) engine. */
  readonly dockerHost: string;
  /** As `WorkerConfig.requireDiskLimit`: the worker refuses to build without a size-limiting driver. */
  readonly requireDiskLimit: boolean;
}

/** The clients the checks talk through; the composition root (the CLI) builds them. */
export interface WorkerHostProbes {
  readonly docker: Docker;
  readonly fetch: typeof fetch;
  /** Makes an unconnected ioredis client (the options carry `lazyConnect`). */
  readonly createRedis: (options: RedisOptions) => Redis;
  /** Local wall-clock time in ms since the epoch. */
  readonly nowMs: () => number;
}

const GiB = 1024 ** 3;

function ok(id: HostCheckId, detail: string): HostCheck {
  return { id, status: 'ok', detail };
}
function warn(id: HostCheckId, detail: string, fix: string): HostCheck {
  return { id, status: 'warn', detail, fix };
}
function fail(id: HostCheckId, detail: string, fix: string): HostCheck {
  return { id, status: 'fail', detail, fix };
}
function skip(id: HostCheckId, detail: string): HostCheck {
  return { id, status: 'skip', detail };
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const own = err instanceof Error ? err.message : String(err);
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause.
  const why = cause?.code ?? cause?.message;
  return (why && !own.includes(why) ? `${own}: ${why}` : own).split('\n')[0]!.slice(0, 300);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- pure classifications

/**
 * Judges clock skew from the coordinator's `Date` header. The header has whole seconds and was
 * written somewhere while the request was in flight, so the coordinator's clock read a value in
 * [date, date + 1 s) at a local time in [sentAtMs, receivedAtMs]. Only the skew that no rounding
 * or latency can explain is compared with the thresholds; the estimate shown is the midpoint.
 */
export function classifyClockSkew(
  observation: {
    readonly dateHeader: string | null;
    readonly sentAtMs: number;
    readonly receivedAtMs: number;
  },
  thresholds: Pick<DoctorThresholds, 'clockSkewWarnMs' | 'clockSkewFailMs'> = doctorDefaults,
): HostCheck {
  const fix =
    'synchronise this host with NTP (e.g. `apt-get install chrony`, or `timedatectl set-ntp true`); the coordinator refuses worker requests more than 120 s off';
  const serverMs = observation.dateHeader ? Date.parse(observation.dateHeader) : Number.NaN;
  if (!Number.isFinite(serverMs)) {
    return warn(
      'clock',
      `the coordinator sent no usable Date header (${JSON.stringify(observation.dateHeader)}), so skew is unknown`,
      'compare clocks another way (`chronyc tracking`); a proxy in front of the coordinator may strip Date',
    );
  }
  const lowestMs = serverMs - observation.receivedAtMs;
  const highestMs = serverMs + 1000 - observation.sentAtMs;
  const certainMs = lowestMs > 0 ? lowestMs : highestMs < 0 ? -highestMs : 0;
  const estimateMs = serverMs + 500 - (observation.sentAtMs + observation.receivedAtMs) / 2;
  const uncertaintyS = ((highestMs - lowestMs) / 2000).toFixed(1);
  const direction = estimateMs >= 0 ? 'behind' : 'ahead of';
  const detail = `this host's clock is about ${(Math.abs(estimateMs) / 1000).toFixed(1)} s ${direction} the coordinator's (±${uncertaintyS} s)`;
  if (certainMs > thresholds.clockSkewFailMs) return fail('clock', detail, fix);
  if (certainMs > thresholds.clockSkewWarnMs) return warn('clock', detail, fix);
  return ok('clock', detail);
}

/** Judges free space on a file system; `what` names it in the detail. */
export function classifyFreeDisk(
  id: 'engine-disk' | 'state-disk',
  what: string,
  freeBytes: number,
  thresholds: Pick<DoctorThresholds, 'minFreeDiskBytes'> = doctorDefaults,
): HostCheck {
  const detail = `${(freeBytes / GiB).toFixed(1)} GiB free in ${what}`;
  if (freeBytes >= thresholds.minFreeDiskBytes) return ok(id, detail);
  return warn(
    id,
    `${detail}, under ${(thresholds.minFreeDiskBytes / GiB).toFixed(1)} GiB`,
    id === 'engine-disk'
      ? 'remove unused images (`docker image prune`), or grow the engine file (`infra/start-dockerd.sh --disk-gb N` on a new image file)'
      : 'free space there, or move RBNET_STATE_DIR (--state-dir) to a larger disk',
  );
}

/** Networks other than `none` and `host`: a bridge would give any container attached to it the network. */
export function classifyEngineNetworks(
  networks: readonly { readonly Name: string; readonly Driver: string }[],
): HostCheck {
  const extra = networks.filter((n) => !['none', 'host'].includes(n.Name));
  if (extra.length === 0) return ok('engine-network', 'only the none and host networks exist (no bridge)');
  const bridges = extra.filter((n) => n.Driver === 'bridge');
  const names = extra.map((n) => `${n.Name} (${n.Driver})`).join(', ');
  return warn(
    'engine-network',
    `the engine has network(s) besides none and host: ${names}`,
    bridges.length > 0
      ? 'start the engine with --bridge=none (bash infra/stop-dockerd.sh && bash infra/start-dockerd.sh); builds run with no network regardless'
      : `remove them (\`docker network rm ${extra.map((n) => n.Name).join(' ')}\`)`,
  );
}

// ---------------------------------------------------------------- engine

interface EngineState {
  readonly checks: HostCheck[];
  readonly answered: boolean;
  /** The engine's data root (`DockerRootDir`), when it answered with one. */
  readonly dataRoot?: string;
}

async function checkEngine(
  target: WorkerHostTarget,
  docker: Docker,
  thresholds: DoctorThresholds,
): Promise<EngineState> {
  const ids: HostCheckId[] = ['userns-remap', 'storage-driver', 'engine-network'];
  let facts: Awaited<ReturnType<typeof readEngineFacts>>;
  let info: { DockerRootDir?: string };
  let networks: Docker.NetworkInspectInfo[];
  try {
    await withTimeout(docker.ping(), thresholds.probeTimeoutMs, 'engine ping');
    [facts, info, networks] = await withTimeout(
      Promise.all([readEngineFacts(docker), docker.info(), docker.listNetworks()]),
      thresholds.probeTimeoutMs,
      'engine /info',
    );
  } catch (err) {
    return {
      answered: false,
      checks: [
        fail(
          'engine',
          `the engine at ${target.dockerHost} does not answer: ${messageOf(err)}`,
          'start it with `bash infra/start-dockerd.sh`, or point --docker-host / RBNET_DOCKER_HOST at it',
        ),
        ...ids.map((id) => skip(id, 'the engine did not answer')),
      ],
    };
  }
  const checks: HostCheck[] = [
    ok(
      'engine',
      `engine ${facts.engineVersion} answers on ${target.dockerHost} (kernel ${facts.kernelVersion}, ${facts.cpuCount} CPUs)`,
    ),
    facts.usernsRemap
      ? ok('userns-remap', 'containers run in a remapped user namespace (root in a build is not root here)')
      : fail(
          'userns-remap',
          'userns-remap is off: root in a build container is root on this host',
          'run the engine with --userns-remap=default (bash infra/start-dockerd.sh does)',
        ),
  ];
  const driverFix =
    'run the engine with --storage-driver=btrfs on a btrfs data root (bash infra/start-dockerd.sh does)';
  if (facts.diskLimitSupported) {
    checks.push(ok('storage-driver', `${facts.storageDriver} enforces a per-container disk limit`));
  } else if (target.requireDiskLimit) {
    checks.push(
      fail(
        'storage-driver',
        `${facts.storageDriver} cannot limit a container's disk, so the worker refuses to build`,
        driverFix,
      ),
    );
  } else {
    checks.push(
      warn(
        'storage-driver',
        `${facts.storageDriver} cannot limit a container's disk (RBNET_REQUIRE_DISK_LIMIT=0): a build can fill it`,
        driverFix,
      ),
    );
  }
  checks.push(classifyEngineNetworks(networks));
  return { checks, answered: true, ...(info.DockerRootDir ? { dataRoot: info.DockerRootDir } : {}) };
}

async function checkFreeSpace(
  id: 'engine-disk' | 'state-disk',
  path: string,
  thresholds: DoctorThresholds,
): Promise<HostCheck> {
  try {
    const fs = await statfs(path);
    return classifyFreeDisk(id, path, fs.bavail * fs.bsize, thresholds);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (id === 'state-disk' && missing) {
      return fail(
        id,
        `the state directory ${path} does not exist`,
        'build an environment (`bash infra/build-env-busybox.sh`), which creates it, or pass --state-dir',
      );
    }
    return warn(
      id,
      `cannot read free space of ${path}: ${messageOf(err)}`,
      'run the doctor as the user the worker runs as (root for the engine data root)',
    );
  }
}

async function checkEnvironments(stateDir: string, docker: Docker): Promise<HostCheck> {
  const dir = join(stateDir, 'environments');
  const buildFix = 'build one: `bash infra/build-env-busybox.sh` (or infra/build-env-debian.sh)';
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).sort();
  } catch {
    names = [];
  }
  if (names.length === 0) return fail('environments', `no environment is registered in ${dir}`, buildFix);
  const ready: string[] = [];
  const broken: string[] = [];
  for (const name of names) {
    const sha256 = name.slice(0, 64) as Sha256Hex;
    try {
      const resolved = await resolveEnvironment(docker, stateDir, sha256);
      ready.push(`${resolved.recipe ?? 'unnamed'} (${sha256.slice(0, 12)}…, ${resolved.origin})`);
    } catch (err) {
      broken.push(`${sha256.slice(0, 12)}…: ${messageOf(err).split('. ')[0]}`);
    }
  }
  if (ready.length === 0)
    return fail('environments', `no registered environment is usable: ${broken.join('; ')}`, buildFix);
  if (broken.length > 0) {
    return warn(
      'environments',
      `${ready.length} ready (${ready.join(', ')}); ${broken.length} not: ${broken.join('; ')}`,
      `rebuild or remove the broken ones; ${buildFix}`,
    );
  }
  return ok('environments', `${ready.length} ready: ${ready.join(', ')}`);
}

// ---------------------------------------------------------------- identity and keys

interface IdentityState {
  readonly checks: HostCheck[];
  /** Set when network.json is present and agrees with worker.json. */
  readonly settings?: NetworkSettings;
}

async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function checkIdentity(workerDir: string): Promise<IdentityState> {
  const enrolFix = `enrol this host: \`rbnet worker enrol --coordinator URL --token TOKEN --id ID --worker-dir ${workerDir}\``;
  const identity = await readJsonFile(join(workerDir, 'worker.json'));
  const network = await readJsonFile(join(workerDir, NETWORK_FILE));
  const checks: HostCheck[] = [];
  let settings: NetworkSettings | undefined;
  if (typeof identity?.id !== 'string' || typeof identity.operator !== 'string') {
    checks.push(fail('identity', `no readable worker.json in ${workerDir}`, enrolFix));
  } else if (!network) {
    checks.push(
      fail(
        'identity',
        `worker ${identity.id} (${identity.operator}) has no readable ${NETWORK_FILE}: it is not enrolled with a coordinator`,
        enrolFix,
      ),
    );
  } else {
    const redis = network.redis as Record<string, unknown> | undefined;
    const complete =
      typeof network.coordinatorUrl === 'string' &&
      typeof network.queueName === 'string' &&
      typeof network.queuePrefix === 'string' &&
      typeof redis?.url === 'string' &&
      typeof redis.username === 'string' &&
      typeof redis.password === 'string';
    if (!complete) {
      checks.push(fail('identity', `${NETWORK_FILE} lacks coordinator or Redis settings`, enrolFix));
    } else if (network.workerId !== identity.id || network.operator !== identity.operator) {
      checks.push(
        fail(
          'identity',
          `worker.json (${identity.id}/${identity.operator}) and ${NETWORK_FILE} (${String(network.workerId)}/${String(network.operator)}) disagree`,
          'restore the files of one enrolment, or enrol again into a new --worker-dir',
        ),
      );
    } else {
      settings = network as unknown as NetworkSettings;
      checks.push(
        ok(
          'identity',
          `worker ${identity.id} of operator ${identity.operator}, enrolled with ${settings.coordinatorUrl}`,
        ),
      );
    }
  }
  // Without worker.json there is no worker here: the identity failure says so, and says it once.
  checks.push(identity ? await checkKeyFiles(workerDir) : skip('key-files', 'no worker in this directory'));
  return { checks, ...(settings ? { settings } : {}) };
}

/** Private keys and the Redis password must be readable by their owner only. */
async function checkKeyFiles(workerDir: string): Promise<HostCheck> {
  const problems: string[] = [];
  const loose: string[] = [];
  for (const file of ['worker-signing.key', AUTH_KEY_FILE, NETWORK_FILE]) {
    const path = join(workerDir, file);
    try {
      const mode = (await stat(path)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        problems.push(`${file} is mode ${mode.toString(8).padStart(4, '0')}`);
        loose.push(path);
      }
    } catch {
      problems.push(`${file} is missing`);
    }
  }
  if (problems.length === 0)
    return ok('key-files', 'signing key, auth key and network.json are readable by their owner only');
  return fail(
    'key-files',
    `${problems.join('; ')} (private keys and the Redis password must be 0600)`,
    loose.length > 0 ? `chmod 600 ${loose.join(' ')}` : 'enrol again into a new --worker-dir',
  );
}

// ---------------------------------------------------------------- coordinator, clock, Redis

async function checkCoordinatorAndClock(
  settings: NetworkSettings,
  probes: WorkerHostProbes,
  thresholds: DoctorThresholds,
): Promise<HostCheck[]> {
  const url = `${settings.coordinatorUrl.replace(/\/$/, '')}/healthz`;
  const sentAtMs = probes.nowMs();
  let response: Response;
  try {
    response = await probes.fetch(url, { signal: AbortSignal.timeout(thresholds.probeTimeoutMs) });
  } catch (err) {
    return [
      fail(
        'coordinator',
        `cannot reach ${url}: ${messageOf(err)}`,
        'check that the coordinator runs and this host can reach it (URL in network.json, DNS, firewall, TLS)',
      ),
      skip('clock', 'the coordinator did not answer'),
    ];
  }
  const receivedAtMs = probes.nowMs();
  const body = await response.text().catch(() => '');
  const coordinator =
    response.status === 200 && isHealthAnswer(body)
      ? ok('coordinator', `${url} answered in ${receivedAtMs - sentAtMs} ms`)
      : fail(
          'coordinator',
          `${url} answered ${response.status} ${JSON.stringify(body.slice(0, 100))}`,
          'check the coordinator log; the URL in network.json must be the coordinator itself',
        );
  return [
    coordinator,
    classifyClockSkew({ dateHeader: response.headers.get('date'), sentAtMs, receivedAtMs }, thresholds),
  ];
}

/**
 * Connects with the worker's own ACL user, sends PING, and reads whether its own queue's `meta`
 * key exists. The worker's ACL grants only BullMQ's commands, so PING answering NOPERM is expected
 * and fine: authentication succeeded. EXISTS on its own queue proves the key pattern reaches it.
 */
async function checkRedis(
  settings: NetworkSettings,
  probes: WorkerHostProbes,
  thresholds: DoctorThresholds,
): Promise<HostCheck> {
  let options: RedisOptions;
  try {
    options = redisOptionsFromUrl(
      redisUrlWithCredentials(settings.redis.url, settings.redis.username, settings.redis.password),
    );
  } catch (err) {
    return fail('redis', `${NETWORK_FILE}: ${messageOf(err)}`, 'enrol again into a new --worker-dir');
  }
  const where = `${options.host}:${options.port} as ${settings.redis.username}`;
  const client = probes.createRedis({
    ...options,
    lazyConnect: true,
    connectTimeout: thresholds.probeTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  // connect() only says "Connection is closed"; the reason (WRONGPASS, ECONNREFUSED) comes as an event.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await withTimeout(client.connect(), thresholds.probeTimeoutMs, 'Redis connect');
    let pong = 'PONG';
    try {
      pong = await withTimeout(client.ping(), thresholds.probeTimeoutMs, 'Redis PING');
    } catch (err) {
      if (!messageOf(err).startsWith('NOPERM')) throw err;
      pong = 'NOPERM (as its ACL intends)';
    }
    await withTimeout(
      client.exists(`${settings.queuePrefix}:${settings.queueName}:meta`),
      thresholds.probeTimeoutMs,
      'Redis EXISTS',
    );
    return ok(
      'redis',
      `authenticated at ${where}; PING → ${pong}; its queue ${settings.queueName} is reachable`,
    );
  } catch (err) {
    const reason = lastError && messageOf(err) === 'Connection is closed.' ? lastError : err;
    const message = messageOf(reason);
    if (message.startsWith('WRONGPASS')) {
      return fail(
        'redis',
        `Redis at ${where} refused the worker's credentials (WRONGPASS)`,
        'the worker may be revoked, or Redis lost its ACL users on a restart: ask the coordinator admin (a coordinator restart re-creates them)',
      );
    }
    if (message.startsWith('NOPERM')) {
      return fail(
        'redis',
        `authenticated at ${where}, but the ACL does not reach queue ${settings.queueName}: ${message}`,
        "ask the coordinator admin to re-apply this worker's Redis user",
      );
    }
    return fail(
      'redis',
      `cannot reach Redis at ${where}: ${message}`,
      'check the Redis URL in network.json and that this host may connect to it (firewall, TLS)',
    );
  } finally {
    client.disconnect();
  }
}

// ---------------------------------------------------------------- all of it

/**
 * Runs every check, in a fixed order, and never throws for a broken host: each problem is a
 * `fail` or `warn` with a fix. Checks that need something that failed are `skip`ped.
 * @returns the checks and `ok` = no check failed.
 */
export async function checkWorkerHost(
  target: WorkerHostTarget,
  probes: WorkerHostProbes,
  thresholds: DoctorThresholds = doctorDefaults,
): Promise<WorkerHostReport> {
  const engine = await checkEngine(target, probes.docker, thresholds);
  const checks: HostCheck[] = [...engine.checks];
  if (!engine.answered) checks.push(skip('engine-disk', 'the engine did not answer'));
  else if (!target.dockerHost.startsWith('unix://') || !engine.dataRoot)
    checks.push(
      skip('engine-disk', `the data root of the engine at ${target.dockerHost} is not on this host`),
    );
  else checks.push(await checkFreeSpace('engine-disk', engine.dataRoot, thresholds));
  checks.push(await checkFreeSpace('state-disk', target.stateDir, thresholds));
  checks.push(
    engine.answered
      ? await checkEnvironments(target.stateDir, probes.docker)
      : skip('environments', 'the engine did not answer'),
  );
  const identity = await checkIdentity(target.workerDir);
  checks.push(...identity.checks);
  if (identity.settings) {
    checks.push(...(await checkCoordinatorAndClock(identity.settings, probes, thresholds)));
    checks.push(await checkRedis(identity.settings, probes, thresholds));
  } else {
    for (const id of ['coordinator', 'clock', 'redis'] as const)
      checks.push(skip(id, 'this worker is not enrolled (see identity)'));
  }
  return Object.freeze({ ok: checks.every((c) => c.status !== 'fail'), checks: Object.freeze(checks) });
}
