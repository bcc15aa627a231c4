// Assembles a worker's Debian backend from its configuration: the signed archive (opened when a
// Debian job first needs it and reused while its indexes are fresh), the environment cache, and
// the sandboxed .deb inspector when an inspection image is configured.
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerSandbox } from '../sandbox/docker-sandbox.ts';
import type { WorkerDebianConfig } from '../worker-config.ts';
import { DEBIAN_ARCHIVE_DEFAULTS, type DebianArchive, openDebianArchive } from './debian-archive.ts';
import { DebianEnvironmentCache } from './debian-environment-cache.ts';
import { DEBIAN_BASE_EXTRAS, type DebianBackend } from './rebuild-debian.ts';
import { createSandboxDebInspector } from './sandbox-deb-inspector.ts';

export function createDebianBackend(deps: {
  readonly config: WorkerDebianConfig;
  readonly stateDir: string;
  readonly docker: Docker;
  readonly sandbox: DockerSandbox;
  readonly workerId: string;
  readonly logger: Logger;
}): DebianBackend {
  const { config } = deps;
  let opened: { archive: DebianArchive; atMs: number } | undefined;
  const maxAgeMs = DEBIAN_ARCHIVE_DEFAULTS.indexMaxAgeSeconds * 1000;
  const openArchive = async (): Promise<DebianArchive> => {
    if (opened && Date.now() - opened.atMs < maxAgeMs) return opened.archive;
    const archive = await openDebianArchive(
      {
        mirrorUrl: config.mirrorUrl,
        suites: config.suites,
        keyringPath: config.keyringPath,
        ...(config.securityMirrorUrl !== ''
          ? {
              archives: [
                {
                  mirrorUrl: config.securityMirrorUrl,
                  suites: config.securitySuites,
                  keyringPath: config.keyringPath,
                },
              ],
            }
          : {}),
        cacheDir: join(deps.stateDir, 'debian-archive'),
        architecture: config.architecture,
      },
      { logger: deps.logger },
    );
    opened = { archive, atMs: Date.now() };
    return archive;
  };
  return {
    architecture: config.architecture,
    openArchive,
    cache: new DebianEnvironmentCache(
      config.cacheDir || join(deps.stateDir, 'debian-environments'),
      deps.docker,
      config.cacheMaxBytes,
      deps.logger,
    ),
    baseExtras: DEBIAN_BASE_EXTRAS,
    preparationTimeoutMs: config.preparationTimeoutSeconds * 1000,
    ...(config.inspectionImageSha256 !== ''
      ? {
          inspect: createSandboxDebInspector({
            sandbox: deps.sandbox,
            docker: deps.docker,
            stateDir: deps.stateDir,
            workerId: deps.workerId,
            inspectionImageSha256: config.inspectionImageSha256,
            maxDecompressedBytes: config.inspectionMaxDecompressedBytes,
            logger: deps.logger,
          }),
        }
      : {}),
  };
}
