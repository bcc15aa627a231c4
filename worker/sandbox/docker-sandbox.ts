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
import { ContainerEventWatch } from './container-events.ts';
import { buildContainerLabels, LABEL_ROLE, LABEL_WORKER, ROLE_BUILD } from './container-labels.ts';
import { type ContainerOwner, currentOwner, judgeOwner, ownerOfLabels } from './container-owner.ts';
import { containerCreateOptions, effectiveTimeLimitMs } from './container-spec.ts';
import { measureDiskExhaustion } from './disk-exhaustion.ts';
import type { EngineFacts } from './engine-facts.ts';
import { type CapturedLog, LogCapture } from './log-capture.ts';
import { type CapturedFile, captureOutputs } from './output-capture.ts';

export type BuildFailureReason = 'exit-code' | 'timeout' | 'oom' | 'disk' | 'output-rejected';

/** A build container the engine refused to remove: left for the operator, named in logs and results. */
export interface LeftoverContainer {
  readonly containerId: string;
  readonly detail: string;
}

export type SandboxOutcome = (
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
    }
) & {
  /** Set when the container could not be removed afterwards; the outcome itself stands. */
  readonly leftover?: LeftoverContainer;
};

/** What a start-up sweep did with the build containers it found. */
export interface OrphanSweep {
  /** Containers removed: their owner is gone (or, unlabelled, they were this worker's and stopped). */
  readonly removed: number;
  /** Left alone: their owner still runs, or cannot be checked from here. */
  readonly kept: readonly { readonly containerId: string; readonly detail: string }[];
  /** Owner gone, but the engine refused to remove them. */
  readonly unremovable: readonly LeftoverContainer[];
}

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

/** Lets the attach stream drain after the container exits before the log is sealed. */
const LOG_DRAIN_GRACE_MS = 2000;
/** How long the engine's `die` event may trail `wait`; past it, what was seen is what counts. */
const EVENT_SETTLE_MS = 5000;

function statusOf(cause: unknown): number | undefined {
  return (cause as { statusCode?: number }).statusCode;
}

/** 404 (gone) and 409 (removal in progress): the container was taken away under the worker. */
function removedUnderUs(cause: unknown): boolean {
  const status = statusOf(cause);
  return status === 404 || status === 409;
}

export interface DockerSandboxOptions {
  readonly requireDiskLimit: boolean;
  /** The process that owns the containers this sandbox creates; default: this process. */
  readonly owner?: ContainerOwner;
}

export class DockerSandbox {
  private ownerPromise: Promise<ContainerOwner> | undefined;
  /** Containers the engine refused to remove, by id: flagged, never retried in a loop. */
  readonly leftovers = new Map<string, LeftoverContainer>();

  constructor(
    private readonly docker: Docker,
    private readonly facts: EngineFacts,
    private readonly logger: Logger,
    private readonly options: DockerSandboxOptions = { requireDiskLimit: true },
  ) {}

  private owner(): Promise<ContainerOwner> {
    this.ownerPromise ??= this.options.owner ? Promise.resolve(this.options.owner) : currentOwner();
    return this.ownerPromise;
  }

  /**
   * Removes build containers left behind by processes that no longer run (a crash, SIGKILL, a
   * reboot), whichever worker id they carry: each container names its owner (host, boot, pid
   * namespace, pid, start time) and is removed only when that owner is provably gone. Containers of
   * a live process (another worker, `rbnet rebuild`, a test run, the demo) are never touched. An
   * unlabelled container from an older rbnet is removed only if it carries `workerId` and is not
   * running. A container the engine refuses to remove is flagged and skipped, never fatal.
   */
  async removeOrphans(workerId: string): Promise<OrphanSweep> {
    const self = await this.owner();
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_ROLE}=${ROLE_BUILD}`] },
    });
    let removed = 0;
    const kept: { containerId: string; detail: string }[] = [];
    const unremovable: LeftoverContainer[] = [];
    for (const info of containers) {
      const containerId = info.Id;
      const owner = ownerOfLabels(info.Labels);
      let why: string;
      if (owner) {
        const verdict = await judgeOwner(owner, self);
        if (verdict.kind !== 'gone') {
          kept.push({ containerId, detail: verdict.detail });
          continue;
        }
        why = verdict.detail;
      } else if (info.Labels?.[LABEL_WORKER] === workerId && info.State !== 'running') {
        why = `unlabelled container of worker ${workerId}, ${info.State}`;
      } else {
        kept.push({
          containerId,
          detail: 'names no owner (older rbnet) and is not a stopped container of this worker',
        });
        continue;
      }
      const failure = await this.removeContainer(this.docker.getContainer(containerId));
      if (failure) {
        unremovable.push(failure);
        continue;
      }
      removed += 1;
      this.logger.warn({ containerId, why }, 'removed orphaned build container');
    }
    if (kept.length > 0) this.logger.info({ kept }, 'build containers of live processes left alone');
    return { removed, kept, unremovable };
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
      labels: buildContainerLabels(args.workerId, args.manifestSha256, await this.owner()),
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
    let watch: ContainerEventWatch | undefined;
    let outcome: SandboxOutcome;
    let leftover: LeftoverContainer | undefined;
    try {
      try {
        watch = await ContainerEventWatch.open(this.docker, container.id);
      } catch (cause) {
        throw new EngineError(
          'ENGINE_FAILED',
          `watching the build container failed: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
      try {
        await Promise.all([
          container.putArchive(archive.stream as unknown as NodeJS.ReadableStream, { path: '/' }),
          archive.done,
        ]);
      } catch (cause) {
        archive.stream.destroy();
        // Removed while its inputs were copied in, the engine answers 404, or 500 ("Error processing
        // tar file … no such file or directory") when the removal lands mid-copy: ask it which.
        if (removedUnderUs(cause) || (await containerGone(container)))
          throw interrupted('was removed by someone else before it started', cause);
        throw cause;
      }
      outcome = await this.startAndCollect(container, args, logCapture, log, watch);
    } finally {
      args.onPhase?.('cleanup');
      watch?.close();
      if (!logCapture.writableEnded) await logCapture.finish().catch(() => undefined);
      leftover = await this.removeContainer(container);
      if (!leftover) log.debug('build container removed');
    }
    // The outcome stands (its outputs were read before); the container is flagged for the operator.
    return leftover ? { ...outcome, leftover } : outcome;
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
    watch: ContainerEventWatch,
  ): Promise<SandboxOutcome> {
    let attach: Readable;
    try {
      attach = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
    } catch (cause) {
      if (removedUnderUs(cause)) throw interrupted('was removed by someone else before it started', cause);
      throw cause;
    }
    try {
      return await this.buildAndCapture(container, args, logCapture, log, watch, attach);
    } finally {
      // On every path, or the socket keeps the process alive after the rebuild has ended.
      attach.destroy();
    }
  }

  private async buildAndCapture(
    container: Docker.Container,
    args: SandboxRunArgs,
    logCapture: LogCapture,
    log: Logger,
    watch: ContainerEventWatch,
    attach: Readable,
  ): Promise<SandboxOutcome> {
    const attachEnded = new Promise<void>((resolve) => {
      attach.once('end', resolve);
      attach.once('close', resolve);
      attach.on('error', () => resolve());
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
      try {
        await container.start();
      } catch (cause) {
        if (removedUnderUs(cause)) throw interrupted('was removed by someone else before it started', cause);
        throw cause;
      }
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
    if (stopCause === 'cancelled')
      throw new CancelledError('CANCELLED', 'rebuild cancelled; the container was killed and removed');
    if (stopCause === undefined) {
      // Only the engine knows whether someone else stopped the build: wait for its report.
      await watch.settled(EVENT_SETTLE_MS);
      const foreign = watch.foreignStop();
      if (foreign) throw interrupted(foreign.replace(/^the build container /, ''));
    }
    let inspect: Docker.ContainerInspectInfo;
    try {
      inspect = await container.inspect();
    } catch (cause) {
      if (statusOf(cause) === 404)
        throw interrupted('was removed by someone else while the build ran', cause);
      throw new EngineError(
        'ENGINE_FAILED',
        `inspecting the build container failed: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    log.info({ exitCode, durationMs, oomKilled: inspect.State.OOMKilled }, 'build finished');

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
      // From the engine, never from the log: a build can print anything, and hide anything.
      const disk = this.facts.diskLimitSupported
        ? await measureDiskExhaustion(container, args.limits.diskBytes)
        : undefined;
      if (disk) return failed('disk', `the build filled its disk limit: ${disk} (exit code ${exitCode})`);
      return failed('exit-code', `the build exited with code ${exitCode}`);
    }

    args.onPhase?.('capture');
    const outputPath = posix.join(args.manifest.environment.buildPath, args.manifest.outputDir);
    let archive: Readable;
    try {
      archive = (await container.getArchive({ path: outputPath })) as unknown as Readable;
    } catch (cause) {
      if (statusOf(cause) === 404) {
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

  /**
   * Removes a container; gone already (404) or being removed (409) is fine. Anything else (an
   * output tree nested past the host's path limit makes the btrfs driver fail) is never thrown: the
   * container is flagged in `leftovers` and the log, and the worker carries on.
   */
  private async removeContainer(container: Docker.Container): Promise<LeftoverContainer | undefined> {
    try {
      await container.remove({ force: true, v: true });
      this.leftovers.delete(container.id);
      return undefined;
    } catch (cause) {
      if (removedUnderUs(cause)) return undefined;
      const detail = `the engine could not remove it: ${String((cause as Error).message).slice(0, 500)}`;
      const leftover = { containerId: container.id, detail };
      if (!this.leftovers.has(container.id)) {
        this.logger.error(
          { containerId: container.id, detail },
          'build container could not be removed; left for the operator',
        );
      }
      this.leftovers.set(container.id, leftover);
      return leftover;
    }
  }
}

/** Whether the engine no longer knows the container (an engine that does not answer is not "gone"). */
async function containerGone(container: Docker.Container): Promise<boolean> {
  try {
    await container.inspect();
    return false;
  } catch (cause) {
    return removedUnderUs(cause);
  }
}

function interrupted(what: string, cause?: unknown): EngineError {
  return new EngineError(
    'BUILD_INTERRUPTED',
    `the build container ${what}: an infrastructure failure, not a build result (the attempt is retried)`,
    cause === undefined ? undefined : { cause },
  );
}
