// Runs one build in a fresh single-use container and removes it whatever happens: the shell around
// the pure container spec. A failed build is a value with a reason; an engine failure is an error.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { CancelledError, EngineError } from '../../services/errors.ts';
import type { Manifest } from '../../services/manifest/manifest.ts';
import type { ResolvedEnvironment } from '../environment/environment-registry.ts';
import { openInputArchive } from '../inputs/input-archive.ts';
import type { InputSource } from '../inputs/input-source.ts';
import type { RunnerLimits } from '../runner-limits.ts';
import { buildContainerLabels, LABEL_ROLE, LABEL_WORKER, ROLE_BUILD } from './container-labels.ts';
import { containerCreateOptions, effectiveTimeLimitMs } from './container-spec.ts';
import type { EngineFacts } from './engine-facts.ts';
import { type CapturedLog, LogCapture } from './log-capture.ts';
import { type CapturedFile, captureOutputs } from './output-capture.ts';

export type BuildFailureReason = 'exit-code' | 'timeout' | 'oom' | 'disk' | 'output-rejected';

export type SandboxOutcome =
  | {
      readonly kind: 'built';
      readonly outputs: readonly CapturedFile[];
      readonly totalOutputBytes: number;
      readonly log: CapturedLog;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly reason: BuildFailureReason;
      readonly detail: string;
      readonly exitCode?: number;
      readonly log: CapturedLog;
      readonly durationMs: number;
    };

export type SandboxPhase = 'inputs' | 'build' | 'capture' | 'cleanup';

export interface SandboxRunArgs {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly environment: ResolvedEnvironment;
  readonly inputs: InputSource;
  readonly limits: RunnerLimits;
  readonly workerId: string;
  /** Where the capped build log is written. */
  readonly logPath: string;
  /** When set, output files are written here as they are hashed. */
  readonly outputsDir?: string;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: SandboxPhase) => void;
}

/** Messages a full writable layer produces (btrfs quota gives EDQUOT; other drivers ENOSPC). */
const DISK_FULL_PATTERN = /No space left on device|Disk quota exceeded/;

/** Lets the attach stream drain after the container exits before the log is sealed. */
const LOG_DRAIN_GRACE_MS = 2000;

export class DockerSandbox {
  constructor(
    private readonly docker: Docker,
    private readonly facts: EngineFacts,
    private readonly logger: Logger,
    private readonly options: { readonly requireDiskLimit: boolean } = { requireDiskLimit: true },
  ) {}

  /** Removes containers this worker labelled and left behind (crash, SIGKILL). Returns how many. */
  async removeOrphans(workerId: string): Promise<number> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_ROLE}=${ROLE_BUILD}`, `${LABEL_WORKER}=${workerId}`] },
    });
    for (const info of containers) {
      await this.removeContainer(this.docker.getContainer(info.Id));
      this.logger.warn({ containerId: info.Id }, 'removed orphaned build container');
    }
    return containers.length;
  }

  async run(args: SandboxRunArgs): Promise<SandboxOutcome> {
    const { manifest, limits } = args;
    this.checkEngineFitsManifest(manifest);
    if (args.signal?.aborted) throw new CancelledError('CANCELLED', 'rebuild cancelled before it started');

    args.onPhase?.('inputs');
    const archive = await openInputArchive(manifest, args.inputs, limits.maxInputBytes);
    const spec = containerCreateOptions({
      manifest,
      imageId: args.environment.imageId,
      limits,
      labels: buildContainerLabels(args.workerId, args.manifestSha256),
      enforceDiskLimit: this.facts.diskLimitSupported,
      imageSizeBytes: args.environment.imageSizeBytes,
    });
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(spec);
    } catch (cause) {
      archive.stream.destroy();
      throw new EngineError(
        'ENGINE_FAILED',
        `creating the build container failed: ${(cause as Error).message}`,
        { cause },
      );
    }
    const log = this.logger.child({ containerId: container.id });
    const logCapture = new LogCapture(args.logPath, limits.maxLogBytes);
    try {
      await Promise.all([
        container.putArchive(archive.stream as unknown as NodeJS.ReadableStream, { path: '/' }),
        archive.done,
      ]);
      return await this.startAndCollect(container, args, logCapture, log);
    } finally {
      args.onPhase?.('cleanup');
      if (!logCapture.writableEnded) await logCapture.finish().catch(() => undefined);
      await this.removeContainer(container);
      log.debug('build container removed');
    }
  }

  private checkEngineFitsManifest(manifest: Manifest): void {
    if (manifest.environment.uid === 0 && !this.facts.usernsRemap) {
      throw new EngineError(
        'ENGINE_INSECURE',
        'environment.uid is 0 but this engine does not remap user namespaces: root in the build would be root on the host. ' +
          'Start the engine with --userns-remap (infra/start-dockerd.sh does)',
      );
    }
    if (this.options.requireDiskLimit && !this.facts.diskLimitSupported) {
      throw new EngineError(
        'ENGINE_INSECURE',
        `storage driver "${this.facts.storageDriver}" cannot cap a container's disk; use btrfs (infra/start-dockerd.sh)`,
      );
    }
  }

  private async startAndCollect(
    container: Docker.Container,
    args: SandboxRunArgs,
    logCapture: LogCapture,
    log: Logger,
  ): Promise<SandboxOutcome> {
    const attach = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
    })) as unknown as Readable;
    const attachEnded = new Promise<void>((resolve) => {
      attach.once('end', resolve);
      attach.once('close', resolve);
      attach.once('error', () => resolve());
    });
    this.docker.modem.demuxStream(attach, logCapture, logCapture);

    args.onPhase?.('build');
    const startedAt = Date.now();
    const timeLimitMs = effectiveTimeLimitMs(args.manifest, args.limits);
    let stopCause: 'timeout' | 'cancelled' | undefined;
    const stop = (cause: 'timeout' | 'cancelled') => {
      if (stopCause) return;
      stopCause = cause;
      container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    };
    const timer = setTimeout(() => stop('timeout'), timeLimitMs);
    const onAbort = () => stop('cancelled');
    args.signal?.addEventListener('abort', onAbort, { once: true });
    let exitCode: number;
    try {
      await container.start();
      log.info({ timeLimitMs }, 'build started');
      const waited = (await container.wait()) as { StatusCode: number };
      exitCode = waited.StatusCode;
    } finally {
      clearTimeout(timer);
      args.signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Date.now() - startedAt;
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      attachEnded,
      new Promise((resolve) => (drainTimer = setTimeout(resolve, LOG_DRAIN_GRACE_MS))),
    ]);
    clearTimeout(drainTimer);
    attach.destroy();
    const tail = logCapture.tailText;
    const inspect = await container.inspect();
    log.info({ exitCode, durationMs, oomKilled: inspect.State.OOMKilled }, 'build finished');

    if (stopCause === 'cancelled')
      throw new CancelledError('CANCELLED', 'rebuild cancelled; the container was killed and removed');
    const failed = (reason: BuildFailureReason, detail: string) =>
      logCapture.finish().then((captured) => ({
        kind: 'failed' as const,
        reason,
        detail,
        exitCode,
        log: captured,
        durationMs,
      }));
    if (stopCause === 'timeout')
      return failed('timeout', `the build ran past its time limit of ${timeLimitMs / 1000} s`);
    if (inspect.State.OOMKilled)
      return failed('oom', `the build exceeded its memory limit of ${args.limits.memoryBytes} bytes`);
    if (exitCode !== 0) {
      if (DISK_FULL_PATTERN.test(tail)) {
        return failed(
          'disk',
          `the build filled its disk limit of ${args.limits.diskBytes} bytes (exit code ${exitCode})`,
        );
      }
      return failed('exit-code', `the build exited with code ${exitCode}`);
    }

    args.onPhase?.('capture');
    const outputPath = posix.join(args.manifest.environment.buildPath, args.manifest.outputDir);
    let archive: Readable;
    try {
      archive = (await container.getArchive({ path: outputPath })) as unknown as Readable;
    } catch (cause) {
      if ((cause as { statusCode?: number }).statusCode === 404) {
        return failed('output-rejected', `the output directory ${outputPath} does not exist after the build`);
      }
      throw new EngineError('ENGINE_FAILED', `reading outputs failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    const capture = await captureOutputs(archive, {
      rootName: posix.basename(outputPath),
      maxOutputBytes: args.limits.maxOutputBytes,
      maxOutputEntries: args.limits.maxOutputEntries,
      ...(args.outputsDir ? { writeToDir: args.outputsDir } : {}),
    });
    if (capture.kind === 'rejected') return failed('output-rejected', capture.detail);
    if (capture.files.length === 0)
      return failed('output-rejected', `the output directory ${outputPath} holds no files`);
    const captured = await logCapture.finish();
    return {
      kind: 'built',
      outputs: capture.files,
      totalOutputBytes: capture.totalBytes,
      log: captured,
      durationMs,
    };
  }

  private async removeContainer(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (cause) {
      const status = (cause as { statusCode?: number }).statusCode;
      // 404: already gone; 409: removal already in progress. Both leave no container behind.
      if (status !== 404 && status !== 409) throw cause;
    }
  }
}
