// Pure translation of a manifest plus worker limits into Docker create options: the whole hermetic
// policy in one unit-testable function, so nothing about isolation depends on image defaults.
import { posix } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import type { Manifest } from '../../services/manifest/manifest.ts';
import type { RunnerLimits } from '../runner-limits.ts';

/**
 * The build runs through `/bin/sh -c` only to apply the manifest's umask (Docker has no umask
 * option); argv is passed as positional parameters and exec'd, never interpolated into the script.
 */
export const UMASK_WRAPPER_SCRIPT = 'umask "$1" || exit 125; shift; exec "$@"';

/** Effective wall-time limit in milliseconds: the manifest may ask for less than the worker allows, never more. */
export function effectiveTimeLimitMs(manifest: Manifest, limits: RunnerLimits): number {
  return Math.min(manifest.build.timeLimitSeconds, limits.maxBuildTimeSeconds) * 1000;
}

/** The complete environment of the build: the manifest's env plus the determinism variables it records. */
export function buildEnvironmentVariables(manifest: Manifest): string[] {
  const env: Record<string, string> = { ...manifest.environment.env };
  env.SOURCE_DATE_EPOCH = String(manifest.environment.sourceDateEpoch);
  env.TZ = manifest.environment.timezone;
  env.LANG = manifest.environment.locale;
  env.LC_ALL = manifest.environment.locale;
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}

export interface ContainerSpecArgs {
  readonly manifest: Manifest;
  /** Image ID (sha256:...) already checked against manifest.environment.imageSha256. */
  readonly imageId: string;
  readonly limits: RunnerLimits;
  readonly labels: Readonly<Record<string, string>>;
  /** Whether to set StorageOpt.size (needs btrfs, or overlay2 on xfs with pquota). */
  readonly enforceDiskLimit: boolean;
  /**
   * Size of the image. On btrfs the quota covers everything the container references, image
   * included, so the build's write budget (limits.diskBytes) is added on top of it.
   */
  readonly imageSizeBytes: number;
}

export function containerCreateOptions(args: ContainerSpecArgs): ContainerCreateOptions {
  const { manifest, limits } = args;
  const environment = manifest.environment;
  const umaskOctal = environment.umask.toString(8).padStart(4, '0');
  return {
    Image: args.imageId,
    Entrypoint: ['/bin/sh', '-c', UMASK_WRAPPER_SCRIPT, 'rbnet-build', umaskOctal],
    Cmd: [...manifest.build.argv],
    Env: buildEnvironmentVariables(manifest),
    WorkingDir: posix.join(environment.buildPath, manifest.build.workingDir),
    User: `${environment.uid}:${environment.gid}`,
    Hostname: environment.hostname,
    Domainname: '',
    Labels: { ...args.labels },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: false,
      PidsLimit: limits.pidsLimit,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      IpcMode: 'private',
      // The engine must not keep its own copy of the log: the runner caps and hashes it.
      LogConfig: { Type: 'none', Config: {} },
      Ulimits: [{ Name: 'core', Soft: 0, Hard: 0 }],
      AutoRemove: false,
      Binds: [],
      Devices: [],
      ...(args.enforceDiskLimit
        ? { StorageOpt: { size: String(limits.diskBytes + args.imageSizeBytes) } }
        : {}),
    },
  };
}
