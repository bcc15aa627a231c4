// Decides who builds what: for each build, workers of distinct operators that match its architecture
// and backend, least loaded first; failed attempts are reassigned to an operator not yet tried.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BuildRecord, BuildStore, WorkerRecord } from '../../services/storage/build-store.ts';
import type { CoordinatorConfig } from '../coordinator-config.ts';
import type { JobQueues } from '../coordinator-deps.ts';

export interface SchedulerDeps {
  readonly config: CoordinatorConfig;
  readonly store: BuildStore;
  readonly queues: JobQueues;
  readonly logger: Logger;
  readonly now: () => Date;
}

export interface AssignmentState {
  readonly assigned: readonly {
    readonly workerId: string;
    readonly operator: string;
    readonly jobId: string;
  }[];
  /** No further attempt can be assigned (cap reached, or no operator left to try). */
  readonly maxAttemptsReached: boolean;
}

/** Active workers able to build it, whatever their load. */
export async function eligibleWorkers(
  store: BuildStore,
  build: Pick<BuildRecord, 'architecture' | 'backend'>,
): Promise<WorkerRecord[]> {
  const workers = await store.listWorkers({ activeOnly: true });
  return workers.filter(
    (w) => w.architectures.includes(build.architecture) && w.backends.includes(build.backend),
  );
}

/** Distinct operators that could build it now. */
export async function eligibleOperatorCount(
  store: BuildStore,
  build: Pick<BuildRecord, 'architecture' | 'backend'>,
): Promise<number> {
  return new Set((await eligibleWorkers(store, build)).map((w) => w.operator)).size;
}

/**
 * Brings a build's assignments up to the number of operators the policy wants: operators with an open
 * attempt or a successful result count as covered; an operator whose attempt failed is not retried.
 * Idempotent: calling it again without new failures assigns nothing.
 */
export async function fillAssignments(deps: SchedulerDeps, buildId: string): Promise<AssignmentState> {
  const build = await deps.store.getBuild(buildId);
  if (!build) throw new Error(`fillAssignments: unknown build ${buildId}`);
  const [attempts, results, openEverywhere] = await Promise.all([
    deps.store.listAttempts(buildId),
    deps.store.listResults(buildId),
    deps.store.listOpenAttempts(),
  ]);
  const covered = new Set<string>([
    ...attempts.filter((a) => a.state === 'open').map((a) => a.operator),
    ...results.filter((r) => r.kind === 'built' && r.counted).map((r) => r.operator),
  ]);
  const tried = new Set(attempts.map((a) => a.operator));
  const load = new Map<string, number>();
  for (const attempt of openEverywhere) load.set(attempt.workerId, (load.get(attempt.workerId) ?? 0) + 1);

  const candidates = (await eligibleWorkers(deps.store, build)).filter((w) => !tried.has(w.operator));
  const byOperator = new Map<string, WorkerRecord>();
  for (const worker of candidates.sort(
    (a, b) => (load.get(a.workerId) ?? 0) - (load.get(b.workerId) ?? 0) || (a.workerId < b.workerId ? -1 : 1),
  )) {
    if (!byOperator.has(worker.operator)) byOperator.set(worker.operator, worker);
  }
  const pool = [...byOperator.values()];
  const assigned: { workerId: string; operator: string; jobId: string }[] = [];
  let total = attempts.length;
  while (covered.size < deps.config.policy.replicas && total < build.policy.maxAttempts && pool.length > 0) {
    const worker = pool.shift()!;
    total += 1;
    const jobId = `${buildId}:attempt:${total}`;
    const attemptNumber = attempts.filter((a) => a.workerId === worker.workerId).length + 1;
    const nonce = randomBytes(32).toString('base64url');
    await deps.store.createAttempt({
      buildId,
      workerId: worker.workerId,
      operator: worker.operator,
      attempt: attemptNumber,
      jobId,
      nonce,
      assignedAt: deps.now(),
    });
    await deps.queues.enqueue(worker.workerId, {
      buildId,
      jobId,
      attempt: attemptNumber,
      nonce,
      manifestSha256: build.manifestSha256,
      manifestJson: build.manifestJson,
    });
    covered.add(worker.operator);
    assigned.push({ workerId: worker.workerId, operator: worker.operator, jobId });
    deps.logger.info(
      { buildId, jobId, workerId: worker.workerId, operator: worker.operator },
      'attempt assigned',
    );
  }
  return { assigned, maxAttemptsReached: total >= build.policy.maxAttempts || pool.length === 0 };
}
