// Revoking a worker: `retired` (its earlier results keep counting) or `compromised since T` (results
// the coordinator received from T on stop counting). Either way it can no longer authenticate, its
// Redis user and queue go, its open attempts are cancelled and reassigned, and every build whose
// standing changed is decided again, each change a new row in that build's history.
import type { Context } from 'hono';
import {
  resultsCountBefore,
  storeNamePattern,
  type WorkerRevocationRequest,
} from '../../services/storage/registry-store.ts';
import { parseUtcTimestamp } from '../../services/utc-timestamp.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { progressBuild } from '../scheduler/progress-build.ts';
import { ApiError } from './api-error.ts';
import { readJsonObject } from './request-body.ts';

/** What the admin API answers. */
export interface RevocationOutcome {
  readonly worker: unknown;
  /** Builds whose open attempts of this worker were cancelled (and reassigned where possible). */
  readonly reassignedBuilds: readonly string[];
  /** Builds decided again because results of this worker stopped counting. */
  readonly redecidedBuilds: readonly string[];
}

/** Reads `{ "since": "<RFC 3339 UTC time>" }`, the body of a compromise. */
export async function readCompromise(c: Context): Promise<WorkerRevocationRequest> {
  const body = await readJsonObject(c, 4096);
  const sinceMs = typeof body.since === 'string' ? parseUtcTimestamp(body.since) : undefined;
  if (sinceMs === undefined) {
    throw new ApiError(
      400,
      'INVALID',
      'since: expected an RFC 3339 UTC time like "2026-11-25T12:00:00Z": from when the key is to be distrusted',
    );
  }
  return { kind: 'compromised', since: new Date(sinceMs) };
}

export async function revokeWorker(
  deps: CoordinatorDeps,
  workerId: string,
  revocation: WorkerRevocationRequest,
): Promise<RevocationOutcome> {
  if (!storeNamePattern.test(workerId)) throw new ApiError(400, 'INVALID', 'id: expected a worker id');
  const worker = await deps.registry.getWorker(workerId);
  if (!worker) throw new ApiError(404, 'NOT_FOUND', `worker ${workerId} not found`);
  const now = deps.now();
  const revoked = await deps.registry.revokeWorker(workerId, now, revocation);
  await deps.queueAccess.revoke(workerId, worker.redisUser);
  const reassigned = new Set<string>();
  for (const attempt of await deps.builds.listOpenAttempts()) {
    if (attempt.workerId !== workerId) continue;
    await deps.builds.finishAttempt(attempt.jobId, { state: 'cancelled', finishedAt: now });
    deps.metrics.attempt('cancelled');
    reassigned.add(attempt.buildId);
  }
  // A retirement leaves every earlier result standing; a compromise takes out what arrived from its
  // cut-off on, so those builds are decided again (the store has already withdrawn their apt links).
  const redecided = new Set<string>();
  const cutoffMs = resultsCountBefore(revoked);
  if (revoked.revocation?.kind === 'compromised' && cutoffMs !== undefined) {
    for (const buildId of await deps.results.listBuildIdsWithResultsFrom(workerId, new Date(cutoffMs)))
      redecided.add(buildId);
  }
  for (const buildId of new Set([...reassigned, ...redecided])) await progressBuild(deps, buildId);
  deps.logger.warn(
    {
      workerId,
      operator: worker.operator,
      revocation: revoked.revocation,
      reassignedBuilds: reassigned.size,
      redecidedBuilds: redecided.size,
    },
    revoked.revocation?.kind === 'compromised' ? 'worker marked compromised' : 'worker retired',
  );
  return { worker: revoked, reassignedBuilds: [...reassigned], redecidedBuilds: [...redecided] };
}
