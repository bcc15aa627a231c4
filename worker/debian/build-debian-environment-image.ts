// Makes one exact Debian build environment image: mmdebstrap in unshare mode (never root mode:
// maintainer scripts from a configurable archive must not run as host root) installs exactly the
// packages of a local repository the host has already verified, then the tarball is imported as a
// single-layer image and registered as built locally.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { type Sha256Hex, sha256File } from '../../services/digest.ts';
import { EnvironmentError } from '../../services/errors.ts';
import { environmentImageTag } from '../environment/environment-registry.ts';

/** The user builds run as; dpkg-buildpackage runs under fakeroot, never as root. */
export const DEBIAN_BUILDER_UID = 1000;

export interface DebianEnvironmentImageRequest {
  readonly docker: Docker;
  readonly stateDir: string;
  /** Flat repository (Packages + .debs) holding exactly the packages to install. */
  readonly repositoryDir: string;
  /** Every package to install; the repository offers exactly one version of each. */
  readonly packageNames: readonly string[];
  readonly architecture: string;
  /** Environment identity, recorded in the image label and registry entry. */
  readonly identitySha256: Sha256Hex;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface DebianEnvironmentImage {
  readonly imageSha256: Sha256Hex;
  readonly imageId: string;
  readonly sizeBytes: number;
}

const MAX_MMDEBSTRAP_LOG_CHARS = 64 * 1024;

/** Hooks run in the unshared namespace as mapped root with the chroot as "$1". */
function customizeHooks(): string[] {
  return [
    'rm -f "$1/etc/hostname" "$1/etc/resolv.conf"',
    'echo rbnet > "$1/etc/hostname"',
    ': > "$1/etc/resolv.conf"',
    `echo "builder:x:${DEBIAN_BUILDER_UID}:${DEBIAN_BUILDER_UID}:rbnet builder:/nonexistent:/bin/sh" >> "$1/etc/passwd"`,
    `echo "builder:x:${DEBIAN_BUILDER_UID}:" >> "$1/etc/group"`,
    'mkdir -p -m 0755 "$1/build"',
    `chown ${DEBIAN_BUILDER_UID}:${DEBIAN_BUILDER_UID} "$1/build"`,
  ].map((hook) => `--customize-hook=${hook}`);
}

/** The mmdebstrap argv, pure so it can be checked without running it. */
export function mmdebstrapArguments(request: {
  readonly repositoryDir: string;
  readonly packageNames: readonly string[];
  readonly architecture: string;
  readonly outputTar: string;
}): string[] {
  return [
    '--mode=unshare',
    '--variant=custom',
    '--format=tar',
    `--architectures=${request.architecture}`,
    `--include=${[...request.packageNames].sort().join(',')}`,
    '--aptopt=Acquire::Languages "none"',
    // The repository offers one version of each package, so apt cannot pick another one.
    '--aptopt=APT::Install-Recommends "false"',
    '--skip=essential/unlink',
    ...customizeHooks(),
    // The suite argument is unused with a complete sources line; mmdebstrap requires one.
    'bookworm',
    request.outputTar,
    `deb [trusted=yes] copy://${request.repositoryDir} ./`,
  ];
}

export async function buildDebianEnvironmentImage(
  request: DebianEnvironmentImageRequest,
): Promise<DebianEnvironmentImage> {
  const scratch = await mkdtemp(join(tmpdir(), 'rbnet-debenv-'));
  try {
    // The tarball is written by the unshared (unprivileged) user.
    await chmod(scratch, 0o777);
    const outputTar = join(scratch, 'env.tar');
    await runMmdebstrap(
      mmdebstrapArguments({ ...request, outputTar }),
      request.timeoutMs,
      request.logger,
      request.signal,
    );
    const { sha256: imageSha256, sizeBytes: tarballBytes } = await sha256File(outputTar);
    const tag = environmentImageTag(imageSha256);
    await importImage(request.docker, outputTar, imageSha256, request.identitySha256);
    const inspect = await request.docker.getImage(tag).inspect();
    const layers = inspect.RootFS?.Layers ?? [];
    if (layers.length !== 1 || layers[0] !== `sha256:${imageSha256}`) {
      throw new EnvironmentError(
        'ENVIRONMENT_MISMATCH',
        `imported ${tag} has layers ${JSON.stringify(layers)}, expected ["sha256:${imageSha256}"]`,
      );
    }
    await registerBuiltLocally(request.stateDir, imageSha256, request.identitySha256, tarballBytes);
    return { imageSha256, imageId: inspect.Id, sizeBytes: inspect.Size ?? 0 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function runMmdebstrap(
  args: string[],
  timeoutMs: number,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-MAX_MMDEBSTRAP_LOG_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const stop = () => child.kill('SIGTERM');
    const timer = setTimeout(stop, timeoutMs);
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (cause) => {
      clearTimeout(timer);
      reject(
        new EnvironmentError('ENVIRONMENT_MISSING', `mmdebstrap could not start: ${cause.message}`, {
          cause,
        }),
      );
    });
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      if (code === 0) return resolve();
      logger.warn({ code, signal: killedBy, tail: output.slice(-4000) }, 'mmdebstrap failed');
      const lastLines = output.trim().split('\n').slice(-6).join(' | ');
      reject(
        new EnvironmentError(
          'ENVIRONMENT_MISSING',
          `mmdebstrap ${killedBy ? `was stopped (${killedBy})` : `exited ${code}`}: ${lastLines}`,
        ),
      );
    });
  });
}

async function importImage(
  docker: Docker,
  tarPath: string,
  imageSha256: Sha256Hex,
  identity: Sha256Hex,
): Promise<void> {
  const stream = await docker.importImage(createReadStream(tarPath), {
    repo: 'rbnet-env',
    tag: imageSha256,
    message: `rbnet Debian environment ${identity}`,
    changes: [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `LABEL org.rbnet.environment.sha256=${imageSha256} org.rbnet.debian.environment=${identity}`,
    ],
  } as never);
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream as unknown as NodeJS.ReadableStream, (error, events) => {
      const failed = (events as { errorDetail?: { message?: string } }[] | undefined)?.find(
        (e) => e.errorDetail,
      );
      if (error || failed)
        reject(
          new EnvironmentError(
            'ENVIRONMENT_MISSING',
            `image import failed: ${error?.message ?? failed?.errorDetail?.message}`,
          ),
        );
      else resolve();
    });
  });
}

async function registerBuiltLocally(
  stateDir: string,
  imageSha256: Sha256Hex,
  identity: Sha256Hex,
  tarballBytes: number,
): Promise<void> {
  const dir = join(stateDir, 'environments');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${imageSha256}.json`);
  const entry = {
    sha256: imageSha256,
    origin: 'built-locally',
    recipe: `rbnet-debian/v1 environment ${identity}`,
    builtAt: new Date().toISOString(),
    sizeBytes: tarballBytes,
  };
  await writeFile(`${path}.tmp`, `${JSON.stringify(entry, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}
