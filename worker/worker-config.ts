// The worker's one configuration object: defaults, then a config file, then environment variables,
// then flags; frozen and logged once at start.
import { join } from 'node:path';
import { integerSetting, readOptionalConfigFile } from '../services/config-settings.ts';
import { ConfigError } from '../services/errors.ts';
import { defaultRunnerLimits, type RunnerLimits } from './runner-limits.ts';

export interface WorkerConfig {
  /** Holds environments/ (registry + tarballs) written by infra/build-env-*.sh. */
  readonly stateDir: string;
  /** Holds this worker's identity and signing key. */
  readonly workerDir: string;
  /** Local content-addressed input store (`<casDir>/sha256/<hex>`), used for `cas:` locations. */
  readonly casDir: string;
  /** Engine URL: unix:///path/to.sock or tcp://host:port. */
  readonly dockerHost: string;
  /** Refuse to build on an engine whose storage driver cannot cap a container's disk. */
  readonly requireDiskLimit: boolean;
  readonly limits: RunnerLimits;
}

export const defaultWorkerConfig = Object.freeze({
  stateDir: '/var/lib/rbnet',
  dockerHost: 'unix:///run/rbnet/docker.sock',
  requireDiskLimit: true,
});

/** Environment variable for each limit; values are integers in the limit's unit. */
const LIMIT_ENV: Record<keyof RunnerLimits, string> = {
  maxBuildTimeSeconds: 'RBNET_MAX_BUILD_TIME_SECONDS',
  memoryBytes: 'RBNET_MEMORY_BYTES',
  nanoCpus: 'RBNET_NANO_CPUS',
  pidsLimit: 'RBNET_PIDS_LIMIT',
  diskBytes: 'RBNET_DISK_BYTES',
  maxLogBytes: 'RBNET_MAX_LOG_BYTES',
  maxOutputBytes: 'RBNET_MAX_OUTPUT_BYTES',
  maxOutputEntries: 'RBNET_MAX_OUTPUT_ENTRIES',
  maxInputBytes: 'RBNET_MAX_INPUT_BYTES',
};

function positiveInteger(value: unknown, field: string): number {
  return integerSetting(value, field, 1, Number.MAX_SAFE_INTEGER);
}

export interface WorkerConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: Partial<Pick<WorkerConfig, 'stateDir' | 'workerDir' | 'dockerHost'>> & {
    limits?: Partial<RunnerLimits>;
  };
}

export function loadWorkerConfig(sources: WorkerConfigSources): WorkerConfig {
  const { env, flags = {} } = sources;
  const stateDir = flags.stateDir ?? env.RBNET_STATE_DIR ?? defaultWorkerConfig.stateDir;
  const workerDir = flags.workerDir ?? env.RBNET_WORKER_DIR ?? join(stateDir, 'worker');
  const configFile = join(workerDir, 'config.json');
  const file = readOptionalConfigFile(configFile);
  const fileLimits = (file.limits ?? {}) as Record<string, unknown>;
  const limits = { ...defaultRunnerLimits } as Record<keyof RunnerLimits, number>;
  for (const key of Object.keys(LIMIT_ENV) as (keyof RunnerLimits)[]) {
    if (fileLimits[key] !== undefined)
      limits[key] = positiveInteger(fileLimits[key], `${configFile}: limits.${key}`);
    const fromEnv = env[LIMIT_ENV[key]];
    if (fromEnv !== undefined) limits[key] = positiveInteger(fromEnv, LIMIT_ENV[key]);
    const fromFlag = flags.limits?.[key];
    if (fromFlag !== undefined) limits[key] = positiveInteger(fromFlag, `--${key}`);
  }
  const dockerHost =
    flags.dockerHost ??
    env.RBNET_DOCKER_HOST ??
    (file.dockerHost as string | undefined) ??
    defaultWorkerConfig.dockerHost;
  if (!/^(unix:\/\/\/|tcp:\/\/)/.test(dockerHost)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `RBNET_DOCKER_HOST: expected unix:///path or tcp://host:port, got ${dockerHost}`,
    );
  }
  const requireDiskLimit =
    env.RBNET_REQUIRE_DISK_LIMIT !== undefined
      ? env.RBNET_REQUIRE_DISK_LIMIT !== '0'
      : defaultWorkerConfig.requireDiskLimit;
  return Object.freeze({
    stateDir,
    workerDir,
    casDir: join(stateDir, 'cas'),
    dockerHost,
    requireDiskLimit,
    limits: Object.freeze(limits),
  });
}
