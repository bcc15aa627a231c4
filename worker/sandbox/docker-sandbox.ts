// Runs one build in a fresh single-use container and removes it whatever happens: the shell around
// the pure container spec. A failed build is a value with a reason; an engine failure is an error.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { CancelledError, EngineError } from '../../services/errors.ts';
import type { Manifest } from '../../services/manifest/manifest.ts';
import { openInputArchive } from '../inputs/input-archive.ts';
import { buildAndCapture } from './build-and-capture.ts';
import { ContainerEventWatch } from './container-events.ts';
import { buildContainerLabels, LABEL_ROLE, LABEL_WORKER, ROLE_BUILD } from './container-labels.ts';
import { type ContainerOwner, currentOwner, judgeOwner, ownerOfLabels } from './container-owner.ts';
import { containerCreateOptions } from './container-spec.ts';
import { containerGone, interrupted, removedUnderUs } from './engine-answers.ts';
import type { EngineFacts } from './engine-facts.ts';
import { LogCapture } from './log-capture.ts';
import type { LeftoverContainer, OrphanSweep, SandboxOutcome, SandboxRunArgs } from './sandbox-outcome.ts';

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
      return await buildAndCapture(
        { docker: this.docker, facts: this.facts },
        container,
        args,
        logCapture,
        log,
        watch,
        attach,
      );
    } finally {
      // On every path, or the socket keeps the process alive after the rebuild has ended.
      attach.destroy();
    }
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
