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
  /** How this worker builds Debian packages (used when it enrols with the `debian` backend). */
  readonly debian: WorkerDebianConfig;
}

/** The signed archives a Debian environment is resolved from, and the environment cache. */
export interface WorkerDebianConfig {
  /** Main archive, e.g. http://deb.debian.org/debian. */
  readonly mirrorUrl: string;
  /** Suites of the main archive, in order of preference. */
  readonly suites: readonly string[];
  /** Security archive (another Release, same keyring); empty string for none. */
  readonly securityMirrorUrl: string;
  readonly securitySuites: readonly string[];
  /** Keys trusted to sign InRelease: pinned, never fetched. */
  readonly keyringPath: string;
  /** This worker's Debian architecture. */
  readonly architecture: string;
  /** Bytes of environment images kept; least recently used go first. */
  readonly cacheMaxBytes: number;
  /** Longest an environment preparation may take. */
  readonly preparationTimeoutSeconds: number;
  /** Environment sha256 of the inspection image (infra/build-env-inspect.sh); empty for none. */
  readonly inspectionImageSha256: string;
  /** Environment cache records and locks; empty means <stateDir>/debian-environments. */
  readonly cacheDir: string;
  /** Per .deb, bytes control.tar and data.tar may expand to before the inspector calls it a bomb. */
  readonly inspectionMaxDecompressedBytes: number;
  /**
   * Root of a snapshot archive with snapshot.debian.org's `/mr/` API and `/archive/<name>/<timestamp>/`
   * layout, asked for versions the mirror no longer holds; empty for none.
   */
  readonly snapshotUrl: string;
  /** Suites of the snapshot's `debian` archive trusted to vouch for a version; empty means `suites`. */
  readonly snapshotSuites: readonly string[];
  /** The evidence store (every verified .deb with its signed index); empty means <stateDir>/debian-evidence. */
  readonly evidenceDir: string;
  /** Bytes the evidence store may hold; least recently used .debs go first. */
  readonly evidenceMaxBytes: number;
}

/** Debian's archive as this machine's apt sees it, bookworm with its updates and security suites. */
export const defaultWorkerDebianConfig: WorkerDebianConfig = Object.freeze({
  mirrorUrl: 'http://deb.debian.org/debian',
  suites: Object.freeze(['bookworm', 'bookworm-updates']),
  securityMirrorUrl: 'http://deb.debian.org/debian-security',
  securitySuites: Object.freeze(['bookworm-security']),
  keyringPath: '/usr/share/keyrings/debian-archive-keyring.gpg',
  architecture: debianArchitectureOf(process.arch),
  cacheMaxBytes: 20 * 1024 ** 3,
  preparationTimeoutSeconds: 1800,
  inspectionImageSha256: '',
  cacheDir: '',
  inspectionMaxDecompressedBytes: 4 * 1024 ** 3,
  snapshotUrl: '',
  snapshotSuites: Object.freeze([]),
  evidenceDir: '',
  evidenceMaxBytes: 20 * 1024 ** 3,
});

/** Node's process.arch in Debian's words. */
export function debianArchitectureOf(nodeArch: string): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    ia32: 'i386',
    arm: 'armhf',
    ppc64: 'ppc64el',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return names[nodeArch] ?? nodeArch;
}

function loadDebianConfig(
  file: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  configFile: string,
): WorkerDebianConfig {
  const section = (file.debian ?? {}) as Record<string, unknown>;
  const text = (key: keyof WorkerDebianConfig, envName: string): string => {
    const value = env[envName] ?? section[key] ?? defaultWorkerDebianConfig[key];
    if (typeof value !== 'string')
      throw new ConfigError('CONFIG_INVALID', `${configFile}: debian.${key} must be a string`);
    return value;
  };
  const list = (key: 'suites' | 'securitySuites' | 'snapshotSuites', envName: string): string[] => {
    const fromEnv = env[envName];
    const value =
      (fromEnv === undefined ? undefined : fromEnv === '' ? [] : fromEnv.split(',')) ??
      section[key] ??
      defaultWorkerDebianConfig[key];
    if (
      !Array.isArray(value) ||
      !value.every((s) => typeof s === 'string' && /^[a-z0-9][a-z0-9.-]*$/.test(s))
    )
      throw new ConfigError('CONFIG_INVALID', `${envName} / debian.${key}: expected suite names`);
    return [...value] as string[];
  };
  const mirrorUrl = text('mirrorUrl', 'RBNET_DEBIAN_MIRROR');
  const securityMirrorUrl = text('securityMirrorUrl', 'RBNET_DEBIAN_SECURITY_MIRROR');
  const snapshotUrl = text('snapshotUrl', 'RBNET_DEBIAN_SNAPSHOT_URL');
  for (const [name, url] of [
    ['RBNET_DEBIAN_MIRROR', mirrorUrl],
    ['RBNET_DEBIAN_SECURITY_MIRROR', securityMirrorUrl],
    ['RBNET_DEBIAN_SNAPSHOT_URL', snapshotUrl],
  ]) {
    if (url !== '' && !/^https?:\/\/[^\s]+$/.test(url as string))
      throw new ConfigError('CONFIG_INVALID', `${name}: expected an http(s) URL, got ${url}`);
  }
  const inspectionImageSha256 = text('inspectionImageSha256', 'RBNET_INSPECTION_IMAGE');
  if (inspectionImageSha256 !== '' && !/^[0-9a-f]{64}$/.test(inspectionImageSha256))
    throw new ConfigError('CONFIG_INVALID', 'RBNET_INSPECTION_IMAGE: expected a sha256 (64 hex characters)');
  return Object.freeze({
    mirrorUrl,
    suites: Object.freeze(list('suites', 'RBNET_DEBIAN_SUITES')),
    securityMirrorUrl,
    securitySuites: Object.freeze(list('securitySuites', 'RBNET_DEBIAN_SECURITY_SUITES')),
    keyringPath: text('keyringPath', 'RBNET_DEBIAN_KEYRING'),
    architecture: text('architecture', 'RBNET_DEBIAN_ARCHITECTURE'),
    cacheMaxBytes: positiveInteger(
      env.RBNET_DEBIAN_CACHE_BYTES ?? section.cacheMaxBytes ?? defaultWorkerDebianConfig.cacheMaxBytes,
      'RBNET_DEBIAN_CACHE_BYTES',
    ),
    preparationTimeoutSeconds: positiveInteger(
      env.RBNET_DEBIAN_PREPARATION_TIMEOUT_SECONDS ??
        section.preparationTimeoutSeconds ??
        defaultWorkerDebianConfig.preparationTimeoutSeconds,
      'RBNET_DEBIAN_PREPARATION_TIMEOUT_SECONDS',
    ),
    inspectionImageSha256,
    cacheDir: text('cacheDir', 'RBNET_DEBIAN_CACHE_DIR'),
    inspectionMaxDecompressedBytes: positiveInteger(
      env.RBNET_INSPECTION_MAX_DECOMPRESSED_BYTES ??
        section.inspectionMaxDecompressedBytes ??
        defaultWorkerDebianConfig.inspectionMaxDecompressedBytes,
      'RBNET_INSPECTION_MAX_DECOMPRESSED_BYTES',
    ),
    snapshotUrl,
    snapshotSuites: Object.freeze(list('snapshotSuites', 'RBNET_DEBIAN_SNAPSHOT_SUITES')),
    evidenceDir: text('evidenceDir', 'RBNET_DEBIAN_EVIDENCE_DIR'),
    evidenceMaxBytes: positiveInteger(
      env.RBNET_DEBIAN_EVIDENCE_BYTES ??
        section.evidenceMaxBytes ??
        defaultWorkerDebianConfig.evidenceMaxBytes,
      'RBNET_DEBIAN_EVIDENCE_BYTES',
    ),
  });
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
    debian: loadDebianConfig(file, env, configFile),
  });
}
