// How the engine's answers about a build container are read: gone (404) or being removed (409) means
// someone took it away under the worker, an interruption to retry, never a build result.
import type Docker from 'dockerode';
import { EngineError } from '../../services/errors.ts';

export function statusOf(cause: unknown): number | undefined {
  return (cause as { statusCode?: number }).statusCode;
}

/** 404 (gone) and 409 (removal in progress): the container was taken away under the worker. */
export function removedUnderUs(cause: unknown): boolean {
  const status = statusOf(cause);
  return status === 404 || status === 409;
}

/** Whether the engine no longer knows the container (an engine that does not answer is not "gone"). */
export async function containerGone(container: Docker.Container): Promise<boolean> {
  try {
    await container.inspect();
    return false;
  } catch (cause) {
    return removedUnderUs(cause);
  }
}

export function interrupted(what: string, cause?: unknown): EngineError {
  return new EngineError(
    'BUILD_INTERRUPTED',
    `the build container ${what}: an infrastructure failure, not a build result (the attempt is retried)`,
    cause === undefined ? undefined : { cause },
  );
}
