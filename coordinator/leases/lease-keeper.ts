// Leases belong to the coordinator: with one queue per worker, BullMQ's own stalled check would never
// notice a dead worker, so silent workers' attempts are expired here and reassigned elsewhere. Also
// puts Redis back in shape (ACL users, open jobs) when it lost its data: SQLite is the source of truth.
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { progressBuild } from '../scheduler/progress-build.ts';

/** Expires open attempts whose worker went silent; returns the affected build ids. */
export async function expireLeases(deps: CoordinatorDeps): Promise<string[]> {
  const now = deps.now();
  const builds = new Set<string>();
  for (const attempt of await deps.builds.listExpiredAttempts(now)) {
    await deps.builds.finishAttempt(attempt.jobId, { state: 'expired', finishedAt: now });
    // A job still waiting in the silent worker's queue must not run later as a stale attempt.
    await deps.queues.remove(attempt.workerId, attempt.jobId).catch(() => undefined);
    deps.logger.warn(
      {
        buildId: attempt.buildId,
        jobId: attempt.jobId,
        workerId: attempt.workerId,
        operator: attempt.operator,
      },
      'lease expired',
    );
    deps.metrics.leaseExpired();
    deps.metrics.attempt('expired');
    builds.add(attempt.buildId);
  }
  for (const buildId of builds) await progressBuild(deps, buildId);
  return [...builds];
}

/**
 * Re-creates what Redis holds from SQLite: each active worker's ACL user (from its stored password
 * hash) and a job for every open attempt (enqueueing is idempotent by jobId, so jobs that survived
 * are not duplicated), and gives those attempts a full lease to report back. Called at start and
 * whenever a Redis shard is found restarted or empty.
 *
 * `inScope` limits all of it to the operators of one shard: a worker that gets its own Redis
 * restarted (for example by exhausting its memory) must not renew the leases of other operators.
 * One worker that cannot be restored (its shard down) does not stop the others.
 */
export async function restoreQueues(
  deps: CoordinatorDeps,
  inScope: (operator: string) => boolean = () => true,
): Promise<{ users: number; jobs: number }> {
  let users = 0;
  const workers = (await deps.registry.listWorkers({ activeOnly: true })).filter((w) => inScope(w.operator));
  for (const worker of workers) {
    if (!worker.redisPasswordSha256) continue;
    try {
      await deps.queueAccess.restore(worker.workerId, worker.redisPasswordSha256);
      users += 1;
    } catch (err) {
      deps.logger.warn({ workerId: worker.workerId, err }, 'worker Redis user not restored');
    }
  }
  let jobs = 0;
  for (const attempt of await deps.builds.listOpenAttempts()) {
    if (!inScope(attempt.operator)) continue;
    const build = await deps.builds.getBuild(attempt.buildId);
    if (!build) continue;
    try {
      await deps.queues.enqueue(attempt.workerId, {
        buildId: attempt.buildId,
        jobId: attempt.jobId,
        attempt: attempt.attempt,
        nonce: attempt.nonce,
        manifestSha256: build.manifestSha256,
        manifestJson: build.manifestJson,
      });
      jobs += 1;
    } catch (err) {
      deps.logger.warn({ jobId: attempt.jobId, workerId: attempt.workerId, err }, 'job not restored');
    }
  }
  // Workers were unreachable or Redis was down: a full lease to report back for what they run (still
  // capped by each job's run limit, so restarts cannot extend a job past it), and a fresh pickup
  // deadline for the jobs just put back on their queues.
  const nowMs = deps.now().getTime();
  const until = new Date(nowMs + deps.config.policy.leaseTimeoutMs);
  const queuedUntil = new Date(nowMs + deps.config.policy.pickupTimeoutMs);
  for (const worker of workers) await deps.builds.renewLeases(worker.workerId, until, queuedUntil);
  deps.logger.info({ users, jobs }, 'queues restored from the database');
  return { users, jobs };
}
