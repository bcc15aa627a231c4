// One build in a created container: attach, start, wait under the time limit, then read the outcome
// from the engine (never from the log) and capture the outputs as a tar stream.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { CancelledError, EngineError } from '../../services/errors.ts';
import type { ContainerEventWatch } from './container-events.ts';
import { effectiveTimeLimitMs } from './container-spec.ts';
import { measureDiskExhaustion } from './disk-exhaustion.ts';
import { interrupted, removedUnderUs, statusOf } from './engine-answers.ts';
import type { EngineFacts } from './engine-facts.ts';
import type { LogCapture } from './log-capture.ts';
import { captureOutputs } from './output-capture.ts';
import type { BuildFailureReason, SandboxOutcome, SandboxRunArgs } from './sandbox-outcome.ts';

/** Lets the attach stream drain after the container exits before the log is sealed. */
const LOG_DRAIN_GRACE_MS = 2000;
/** How long the engine's `die` event may trail `wait`; past it, what was seen is what counts. */
const EVENT_SETTLE_MS = 5000;

/**
 * Starts the created container, waits for it under the time limit (or the abort signal), and turns
 * what the engine reports into an outcome: timeout, oom, disk, exit code, or the captured outputs.
 */
export async function buildAndCapture(
  engine: { readonly docker: Docker; readonly facts: EngineFacts },
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
  engine.docker.modem.demuxStream(attach, logCapture, logCapture);

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
    if (statusOf(cause) === 404) throw interrupted('was removed by someone else while the build ran', cause);
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
    const disk = engine.facts.diskLimitSupported
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
