// Assembles a worker's Debian backend from its configuration: the package sources (the signed
// archive, opened when a Debian job first needs it and reused while its indexes are fresh; the
// evidence store; the snapshot archive when configured), the environment cache, and the sandboxed
// .deb inspector when an inspection image is configured.
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerSandbox } from '../sandbox/docker-sandbox.ts';
import type { WorkerDebianConfig } from '../worker-config.ts';
import { DebEvidenceStore } from './deb-evidence-store.ts';
import { type DebianArchive, openDebianArchive } from './debian-archive.ts';
import { DEBIAN_ARCHIVE_DEFAULTS } from './debian-archive-config.ts';
import { DebianEnvironmentCache } from './debian-environment-cache.ts';
import { EnvironmentPackageSources } from './environment-package-sources.ts';
import { DEBIAN_BASE_EXTRAS, type DebianBackend } from './rebuild-debian.ts';
import { createSandboxDebInspector } from './sandbox-deb-inspector.ts';
import { type SnapshotArchiveConfig, SnapshotSource } from './snapshot-source.ts';

/** The snapshot's archives: `debian` with the mirror's suites, `debian-security` when a security mirror is set. */
export function snapshotArchivesOf(config: WorkerDebianConfig): SnapshotArchiveConfig[] {
  return [
    { name: 'debian', suites: config.snapshotSuites.length > 0 ? config.snapshotSuites : config.suites },
    ...(config.securityMirrorUrl !== '' ? [{ name: 'debian-security', suites: config.securitySuites }] : []),
  ];
}

export function createDebianBackend(deps: {
  readonly config: WorkerDebianConfig;
  readonly stateDir: string;
  readonly docker: Docker;
  readonly sandbox: DockerSandbox;
  readonly workerId: string;
  readonly logger: Logger;
}): DebianBackend {
  const { config } = deps;
  const evidence = new DebEvidenceStore({
    dir: config.evidenceDir || join(deps.stateDir, 'debian-evidence'),
    maxBytes: config.evidenceMaxBytes,
    keyringPath: config.keyringPath,
    architecture: config.architecture,
    logger: deps.logger,
  });
  const snapshot =
    config.snapshotUrl === ''
      ? undefined
      : new SnapshotSource(
          {
            url: config.snapshotUrl,
            archives: snapshotArchivesOf(config),
            keyringPath: config.keyringPath,
            architecture: config.architecture,
            cacheDir: join(deps.stateDir, 'debian-snapshot'),
            debsDir: evidence.debsDir,
          },
          { logger: deps.logger },
        );
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
        debsDir: evidence.debsDir,
        architecture: config.architecture,
      },
      { logger: deps.logger },
    );
    opened = { archive, atMs: Date.now() };
    return archive;
  };
  return {
    architecture: config.architecture,
    openSources: async () =>
      new EnvironmentPackageSources(await openArchive(), {
        evidence,
        ...(snapshot ? { snapshot } : {}),
        logger: deps.logger,
      }),
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
