// `rbnet worker doctor`'s enrolment checks: the worker's identity and key files, its coordinator and
// the clock against it, and its Redis queue with its own credentials.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { isHealthAnswer } from '../../services/api/health.ts';
import { AUTH_KEY_FILE, NETWORK_FILE, type NetworkSettings } from '../network/enrol-with-coordinator.ts';
import { redisUrlWithCredentials } from '../network/start-network-worker.ts';
import { redisOptionsFromUrl } from '../queue/job-consumer.ts';
import { classifyClockSkew } from './classify-host-facts.ts';
import {
  type DoctorThresholds,
  fail,
  type HostCheck,
  messageOf,
  ok,
  skip,
  type WorkerHostProbes,
  withTimeout,
} from './host-check.ts';

export interface IdentityState {
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

export async function checkIdentity(workerDir: string): Promise<IdentityState> {
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
export async function checkKeyFiles(workerDir: string): Promise<HostCheck> {
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

export async function checkCoordinatorAndClock(
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
export async function checkRedis(
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
