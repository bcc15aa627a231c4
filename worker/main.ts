// Composition root of a worker process: the only place that reads configuration into clients
// (Docker engine, logger, signing key). Everything else takes these as arguments.
import Docker from 'dockerode';
import pino, { type Logger } from 'pino';
import { RBNET_VERSION } from '../services/version.ts';
import { loadRebuildBackends } from './backends/load-rebuild-backends.ts';
import type { RebuildBackends } from './backends/rebuild-backend.ts';
import { type LoadedWorkerIdentity, loadOrInitWorkerIdentity } from './identity/worker-identity.ts';
import type { RebuildContext } from './rebuild-manifest.ts';
import { DockerSandbox } from './sandbox/docker-sandbox.ts';
import { readEngineFacts } from './sandbox/engine-facts.ts';
import type { WorkerConfig } from './worker-config.ts';

/** Redaction paths: secrets never reach a log line, whatever a caller passes in. */
export const LOG_REDACT_PATHS = [
  '*.token',
  '*.password',
  '*.privateKey',
  '*.secret',
  'token',
  'password',
  'authorization',
];

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'rbnet', version: RBNET_VERSION },
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination(2),
  );
}

/** Builds a dockerode client from unix:///path or tcp://host:port. */
export function createDockerClient(dockerHost: string): Docker {
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost);
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

export interface WorkerRuntime extends RebuildContext {
  readonly loaded: LoadedWorkerIdentity;
  readonly identityCreated: boolean;
  /** The backends this worker runs, picked at start-up (a Debian archive opens when a Debian job arrives). */
  readonly backends: RebuildBackends;
}

/**
 * Connects to the engine, loads (or creates) the worker identity, removes orphaned containers of this
 * worker and loads the backends named in `backendNames`.
 */
export async function createWorkerRuntime(
  config: WorkerConfig,
  logger: Logger,
  fallbackIdentity: { operator: string; id: string },
  backendNames: readonly string[],
): Promise<WorkerRuntime> {
  const docker = createDockerClient(config.dockerHost);
  const facts = await readEngineFacts(docker);
  const { loaded, created } = await loadOrInitWorkerIdentity(config.workerDir, fallbackIdentity);
  const sandbox = new DockerSandbox(docker, facts, logger, { requireDiskLimit: config.requireDiskLimit });
  const sweep = await sandbox.removeOrphans(loaded.identity.id);
  const context: RebuildContext = {
    docker,
    sandbox,
    facts,
    identity: loaded.identity,
    signer: loaded.signer,
    stateDir: config.stateDir,
    limits: config.limits,
    logger,
  };
  const backends = await loadRebuildBackends(backendNames, { context, debian: config.debian });
  logger.info(
    {
      config: { ...config },
      engine: facts,
      workerId: loaded.identity.id,
      operator: loaded.identity.operator,
      keyid: loaded.signer.keyid,
      backends: backends.names,
      orphansRemoved: sweep.removed,
      containersOfLiveProcesses: sweep.kept.length,
      unremovableContainers: sweep.unremovable.map((c) => c.containerId),
    },
    'worker ready',
  );
  return { ...context, loaded, identityCreated: created, backends };
}
