// The coordinator's one configuration object: defaults, then a config file, then environment
// variables, then flags; frozen and logged once at start (no secrets in it).
import { join } from 'node:path';
import { integerSetting, readOptionalConfigFile } from '../services/config-settings.ts';
import { ConfigError } from '../services/errors.ts';
import type { QuotaLimits } from '../services/storage/blob-ledger.ts';
import { type AlertSettings, alertDefaults, alertsFrom } from './alerts/alert-settings.ts';
import {
  type ContentGcSettings,
  contentStoreDefaults,
  gcFrom,
  quotasFrom,
} from './content-store-settings.ts';
import {
  DEFAULT_REDIS_SHARD,
  type RedisShardConfig,
  redisShardsSetting,
  withoutUrlPassword,
} from './redis-shard-settings.ts';
import { type TlogSettings, tlogSettingsFrom } from './tlog/tlog-settings.ts';

export interface NetworkPolicyDefaults {
  /** k: agreeing successful rebuilds from distinct operators needed for a verdict. */
  readonly threshold: number;
  /** How many distinct operators each build is assigned to at first (>= threshold). */
  readonly replicas: number;
  /** Attempts per build across all workers, retries included. */
  readonly maxAttempts: number;
  /** After this, a build without quorum becomes `insufficient-operators`. */
  readonly decisionDeadlineMs: number;
  readonly allowFetchedEnvironments: boolean;
  /**
   * A running attempt (one the worker names in its signed heartbeats) whose worker has not named it
   * for this long is expired and reassigned.
   */
  readonly leaseTimeoutMs: number;
  /**
   * An assigned attempt the worker has not yet named as running is expired and reassigned this long
   * after it was assigned (<= leaseTimeoutMs). While the worker names other jobs as running, the jobs
   * queued behind them wait: their pickup deadline moves with each such heartbeat.
   */
  readonly pickupTimeoutMs: number;
  /**
   * How long past the manifest's own time limit a running attempt may still be renewed (environment
   * preparation, input download, upload). A worker that names a job for longer loses it anyway.
   */
  readonly runAllowanceMs: number;
  /** Retries after build failures (exit-code, timeout, oom, ...), each on another operator. */
  readonly buildFailureRetries: number;
  /** Retries after infrastructure errors (worker crash, lease lost, engine down), each on another operator. */
  readonly infrastructureRetries: number;
  /** Wait before the first retry; doubles with each further retry of the same build. */
  readonly retryBackoffMs: number;
}

export interface CoordinatorConfig {
  readonly dataDir: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** The origin workers sign into their requests and consumers reach, e.g. https://rbnet.example.org. */
  readonly publicUrl: string;
  /** Admin connection (creates ACL users, enqueues). */
  readonly redisUrl: string;
  /** What workers are told to connect to (host/port as they see it; credentials are per worker). */
  readonly workerRedisUrl: string;
  readonly queuePrefix: string;
  /**
   * Where each operator's worker queues live. The first is `default` (`redisUrl`/`workerRedisUrl`),
   * for every operator no other shard names. A shard is its own Redis server: a worker that fills or
   * halts its Redis reaches only the operators of its shard (docs/queues.md, "Containment").
   */
  readonly redisShards: readonly RedisShardConfig[];
  /** Longest the coordinator waits for any one Redis command, ms: a halted shard fails fast. */
  readonly redisCommandTimeoutMs: number;
  readonly policy: NetworkPolicyDefaults;
  readonly maxManifestBytes: number;
  readonly maxBlobBytes: number;
  readonly maxJsonBodyBytes: number;
  readonly enrolmentTokenTtlSeconds: number;
  /** How often open builds are re-decided (deadlines), ms. */
  readonly sweepIntervalMs: number;
  /**
   * How often each sync profile's archive is polled (`rbnet admin sync`), in ms; the poller runs only
   * while a profile exists. RBNET_SYNC_POLL_INTERVAL_MS, 10 s..1 d, default 1 h.
   */
  readonly syncPollIntervalMs: number;
  /**
   * Unexpired request nonces one worker may hold: requests per replay window (240 s). Past it the
   * worker is refused with `AUTH_RATE_LIMITED` (429) rather than any nonce being forgotten early.
   */
  readonly maxWorkerRequestsPerWindow: number;
  /** Standing content-store allowance per maintainer, worker and operator (the admin has none). */
  readonly quotas: QuotaLimits;
  readonly gc: ContentGcSettings;
  /** The witnessed transparency log (docs/transparency-log.md); default: no witnesses. */
  readonly transparencyLog?: TlogSettings;
  /** Alert derivation and webhook delivery (docs/operator-guide.md, "Alerts"). */
  readonly alerts: AlertSettings;
}

export const defaultCoordinatorConfig = Object.freeze({
  dataDir: '/var/lib/rbnet/coordinator',
  listenHost: '127.0.0.1',
  listenPort: 8470,
  redisUrl: 'redis://127.0.0.1:6390',
  queuePrefix: 'rbnet',
  redisCommandTimeoutMs: 5_000,
  policy: Object.freeze({
    threshold: 2,
    replicas: 3,
    maxAttempts: 6,
    decisionDeadlineMs: 3_600_000,
    allowFetchedEnvironments: false,
    leaseTimeoutMs: 60_000,
    pickupTimeoutMs: 30_000,
    runAllowanceMs: 1_800_000,
    buildFailureRetries: 1,
    infrastructureRetries: 3,
    retryBackoffMs: 5_000,
  }),
  maxManifestBytes: 256 * 1024,
  maxBlobBytes: 4 * 1024 ** 3,
  maxJsonBodyBytes: 16 * 1024 ** 2,
  enrolmentTokenTtlSeconds: 86_400,
  sweepIntervalMs: 5_000,
  syncPollIntervalMs: 3_600_000,
  maxWorkerRequestsPerWindow: 30_000,
  quotas: contentStoreDefaults.quotas,
  gc: contentStoreDefaults.gc,
  alerts: alertDefaults,
});

export interface CoordinatorConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: {
    readonly dataDir?: string;
    readonly listen?: string;
    readonly publicUrl?: string;
    readonly redisUrl?: string;
    readonly threshold?: number;
    readonly replicas?: number;
  };
}

export function loadCoordinatorConfig(sources: CoordinatorConfigSources): CoordinatorConfig {
  const { env, flags = {} } = sources;
  const dataDir = flags.dataDir ?? env.RBNET_COORDINATOR_DIR ?? defaultCoordinatorConfig.dataDir;
  const configFile = join(dataDir, 'config.json');
  const file = readOptionalConfigFile(configFile);
  const listen =
    flags.listen ??
    env.RBNET_LISTEN ??
    (file.listen as string | undefined) ??
    `${defaultCoordinatorConfig.listenHost}:${defaultCoordinatorConfig.listenPort}`;
  const match = /^([0-9a-zA-Z.:[\]-]+):(\d{1,5})$/.exec(listen);
  if (!match) throw new ConfigError('CONFIG_INVALID', `--listen: expected HOST:PORT, got ${listen}`);
  const listenHost = match[1]!;
  const listenPort = integerSetting(match[2], '--listen port', 0, 65535);
  const publicUrl =
    flags.publicUrl ??
    env.RBNET_PUBLIC_URL ??
    (file.publicUrl as string | undefined) ??
    `http://${listenHost}:${listenPort}`;
  let parsedPublic: URL;
  try {
    parsedPublic = new URL(publicUrl);
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', `--public-url: not a URL: ${publicUrl}`, { cause });
  }
  const redisUrl =
    flags.redisUrl ??
    env.RBNET_REDIS_URL ??
    (file.redisUrl as string | undefined) ??
    defaultCoordinatorConfig.redisUrl;
  if (!/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError('CONFIG_INVALID', `RBNET_REDIS_URL: expected redis:// or rediss://`);
  const workerRedisUrl =
    env.RBNET_WORKER_REDIS_URL ?? (file.workerRedisUrl as string | undefined) ?? redisUrl;
  const filePolicy = (file.policy ?? {}) as Record<string, unknown>;
  const threshold = integerSetting(
    flags.threshold ??
      env.RBNET_THRESHOLD ??
      filePolicy.threshold ??
      defaultCoordinatorConfig.policy.threshold,
    'policy.threshold',
    1,
    64,
  );
  const replicas = integerSetting(
    flags.replicas ??
      env.RBNET_REPLICAS ??
      filePolicy.replicas ??
      Math.max(threshold, defaultCoordinatorConfig.policy.replicas),
    'policy.replicas',
    threshold,
    64,
  );
  const leaseTimeoutMs = integerSetting(
    env.RBNET_LEASE_TIMEOUT_MS ?? filePolicy.leaseTimeoutMs ?? defaultCoordinatorConfig.policy.leaseTimeoutMs,
    'policy.leaseTimeoutMs',
    1000,
    86_400_000,
  );
  const policy: NetworkPolicyDefaults = Object.freeze({
    threshold,
    replicas,
    maxAttempts: integerSetting(
      env.RBNET_MAX_ATTEMPTS ??
        filePolicy.maxAttempts ??
        Math.max(defaultCoordinatorConfig.policy.maxAttempts, replicas),
      'policy.maxAttempts',
      replicas,
      1000,
    ),
    decisionDeadlineMs: integerSetting(
      env.RBNET_DECISION_DEADLINE_MS ??
        filePolicy.decisionDeadlineMs ??
        defaultCoordinatorConfig.policy.decisionDeadlineMs,
      'policy.decisionDeadlineMs',
      1000,
      30 * 86_400_000,
    ),
    allowFetchedEnvironments:
      (env.RBNET_ALLOW_FETCHED_ENVIRONMENTS ?? String(filePolicy.allowFetchedEnvironments ?? false)) ===
      'true',
    leaseTimeoutMs,
    pickupTimeoutMs: integerSetting(
      env.RBNET_PICKUP_TIMEOUT_MS ??
        filePolicy.pickupTimeoutMs ??
        Math.min(defaultCoordinatorConfig.policy.pickupTimeoutMs, leaseTimeoutMs),
      'policy.pickupTimeoutMs',
      1000,
      leaseTimeoutMs,
    ),
    runAllowanceMs: integerSetting(
      env.RBNET_RUN_ALLOWANCE_MS ??
        filePolicy.runAllowanceMs ??
        defaultCoordinatorConfig.policy.runAllowanceMs,
      'policy.runAllowanceMs',
      0,
      7 * 86_400_000,
    ),
    buildFailureRetries: integerSetting(
      env.RBNET_BUILD_FAILURE_RETRIES ??
        filePolicy.buildFailureRetries ??
        defaultCoordinatorConfig.policy.buildFailureRetries,
      'policy.buildFailureRetries',
      0,
      100,
    ),
    infrastructureRetries: integerSetting(
      env.RBNET_INFRASTRUCTURE_RETRIES ??
        filePolicy.infrastructureRetries ??
        defaultCoordinatorConfig.policy.infrastructureRetries,
      'policy.infrastructureRetries',
      0,
      100,
    ),
    retryBackoffMs: integerSetting(
      env.RBNET_RETRY_BACKOFF_MS ??
        filePolicy.retryBackoffMs ??
        defaultCoordinatorConfig.policy.retryBackoffMs,
      'policy.retryBackoffMs',
      0,
      86_400_000,
    ),
  });
  return Object.freeze({
    dataDir,
    listenHost,
    listenPort,
    publicUrl: parsedPublic.origin,
    redisUrl,
    workerRedisUrl,
    queuePrefix: defaultCoordinatorConfig.queuePrefix,
    redisShards: redisShardsSetting(
      env.RBNET_REDIS_SHARDS ?? file.redisShards,
      Object.freeze({ name: DEFAULT_REDIS_SHARD, url: redisUrl, workerUrl: workerRedisUrl, operators: [] }),
    ),
    redisCommandTimeoutMs: integerSetting(
      env.RBNET_REDIS_COMMAND_TIMEOUT_MS ?? defaultCoordinatorConfig.redisCommandTimeoutMs,
      'RBNET_REDIS_COMMAND_TIMEOUT_MS',
      100,
      600_000,
    ),
    policy,
    maxManifestBytes: defaultCoordinatorConfig.maxManifestBytes,
    maxBlobBytes: integerSetting(
      env.RBNET_MAX_BLOB_BYTES ?? defaultCoordinatorConfig.maxBlobBytes,
      'RBNET_MAX_BLOB_BYTES',
      1,
      2 ** 50,
    ),
    maxJsonBodyBytes: defaultCoordinatorConfig.maxJsonBodyBytes,
    enrolmentTokenTtlSeconds: defaultCoordinatorConfig.enrolmentTokenTtlSeconds,
    sweepIntervalMs: integerSetting(
      env.RBNET_SWEEP_INTERVAL_MS ?? defaultCoordinatorConfig.sweepIntervalMs,
      'RBNET_SWEEP_INTERVAL_MS',
      100,
      3_600_000,
    ),
    syncPollIntervalMs: integerSetting(
      env.RBNET_SYNC_POLL_INTERVAL_MS ?? defaultCoordinatorConfig.syncPollIntervalMs,
      'RBNET_SYNC_POLL_INTERVAL_MS',
      10_000,
      86_400_000,
    ),
    maxWorkerRequestsPerWindow: integerSetting(
      env.RBNET_MAX_WORKER_REQUESTS_PER_WINDOW ??
        ((file.auth ?? {}) as Record<string, unknown>).maxWorkerRequestsPerWindow ??
        defaultCoordinatorConfig.maxWorkerRequestsPerWindow,
      'RBNET_MAX_WORKER_REQUESTS_PER_WINDOW',
      1,
      10_000_000,
    ),
    quotas: quotasFrom(env, file),
    gc: gcFrom(env, file),
    transparencyLog: tlogSettingsFrom(env, file),
    alerts: alertsFrom(env, file),
  });
}

/**
 * The configuration as it may be logged: the Redis URLs can carry the coordinator's own Redis
 * password (a production deployment has no default user), which never reaches a log line.
 */
export function loggableConfig(config: CoordinatorConfig): CoordinatorConfig {
  return Object.freeze({
    ...config,
    redisUrl: withoutUrlPassword(config.redisUrl),
    workerRedisUrl: withoutUrlPassword(config.workerRedisUrl),
    redisShards: config.redisShards.map((shard) => ({
      ...shard,
      url: withoutUrlPassword(shard.url),
      workerUrl: withoutUrlPassword(shard.workerUrl),
    })),
  });
}
