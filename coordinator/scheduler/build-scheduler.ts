// Decides who builds what: for each build, workers of distinct operators that match its architecture
// and backend and meet its resource minimums, least loaded first; failed attempts are reassigned to an
// operator not yet tried.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ManifestResources } from '../../services/manifest/manifest.ts';
import type { BuildRecord, BuildStore } from '../../services/storage/build-store.ts';
import type { RegistryStore, WorkerCapacity, WorkerRecord } from '../../services/storage/registry-store.ts';
import type { ResultStore } from '../../services/storage/result-store.ts';
import { BuildStoreError } from '../../services/storage/store-error.ts';
import { buildContextOf } from '../backends/build-context.ts';
import { standingOfResults } from '../consensus/revoked-results.ts';
import type { CoordinatorConfig } from '../coordinator-config.ts';
import type { JobQueues } from '../coordinator-deps.ts';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.ts';
import { decideRetryFrom } from './retry-policy.ts';

export interface SchedulerDeps {
  readonly config: CoordinatorConfig;
  readonly registry: RegistryStore;
  readonly builds: BuildStore;
  readonly results: ResultStore;
  readonly queues: JobQueues;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly metrics?: Pick<CoordinatorMetrics, 'attempt'>;
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

/**
 * What scheduling needs to know about a build: where it can run, and the least capacity it needs.
 * A parsed `Manifest` is one (what the submit route has); a stored `BuildRecord` becomes one through
 * {@link schedulingNeedsOf}.
 */
export interface SchedulingNeeds {
  readonly architecture: string;
  readonly backend: string;
  readonly resources: ManifestResources;
  /** The manifest's wall-time limit, seconds: bounds how long an attempt may be held as running. */
  readonly timeLimitSeconds?: number;
}

/** A build as either caller holds it: the parsed manifest at submit time, or the stored record later. */
export type SchedulingSubject =
  | SchedulingNeeds
  | Pick<BuildRecord, 'architecture' | 'backend' | 'manifestSha256' | 'manifestJson'>;

/**
 * The scheduling needs of a manifest or a stored build. A stored build's minimums are what its
 * backend reads from its manifest (parsed once per manifest, see build-context.ts), the one source
 * of truth for them, so they cannot drift from what the digest covers.
 * @throws ManifestError when a stored manifest no longer parses (a corrupt or foreign record).
 */
export function schedulingNeedsOf(subject: SchedulingSubject): SchedulingNeeds {
  if ('resources' in subject) return subject;
  const { needs } = buildContextOf(subject).backend;
  return {
    architecture: subject.architecture,
    backend: subject.backend,
    resources: needs.resources,
    timeLimitSeconds: needs.timeLimitSeconds,
  };
}

/**
 * The capacity field each minimum is compared with, and what explanations write after a size
 * ("16 GiB memory"; a core count says "cores" itself). The order is the order explanations use.
 */
const RESOURCE_CHECKS = [
  { field: 'minCores', capacity: 'cores', suffix: '' },
  { field: 'minMemoryBytes', capacity: 'memoryBytes', suffix: ' memory' },
  { field: 'minDiskBytes', capacity: 'diskBytes', suffix: ' disk' },
] as const satisfies readonly {
  field: keyof ManifestResources;
  capacity: keyof WorkerCapacity;
  suffix: string;
}[];

function matchesPlatform(worker: WorkerRecord, needs: SchedulingNeeds): boolean {
  return worker.architectures.includes(needs.architecture) && worker.backends.includes(needs.backend);
}

function meetsMinimums(worker: WorkerRecord, resources: ManifestResources): boolean {
  return RESOURCE_CHECKS.every(({ field, capacity }) => {
    const minimum = resources[field];
    return minimum === undefined || worker.capacity[capacity] >= minimum;
  });
}

/**
 * Active workers able to build it, whatever their load: they build its architecture and backend,
 * and their declared capacity meets every minimum in the manifest's `resources`.
 */
export async function eligibleWorkers(
  registry: Pick<RegistryStore, 'listWorkers'>,
  build: SchedulingSubject,
): Promise<WorkerRecord[]> {
  const needs = schedulingNeedsOf(build);
  const workers = await registry.listWorkers({ activeOnly: true });
  return workers.filter((w) => matchesPlatform(w, needs) && meetsMinimums(w, needs.resources));
}

/** Distinct operators that could build it now (see {@link eligibleWorkers}). */
export async function eligibleOperatorCount(
  registry: Pick<RegistryStore, 'listWorkers'>,
  build: SchedulingSubject,
): Promise<number> {
  return new Set((await eligibleWorkers(registry, build)).map((w) => w.operator)).size;
}

/**
 * Says, for people, why operators cannot build it: what the maintainer should change, or which
 * operators are missing. Meant for the message of a refused submission (`INSUFFICIENT_OPERATORS`).
 *
 * Every active operator without an eligible worker is accounted for: it has no worker for the
 * architecture/backend; or it is named under each minimum that all its workers fall short of (the
 * clause names the field, the minimum and the largest capacity those operators offer); or each
 * minimum is met by some worker of it but no single worker meets them all. Sizes are in binary
 * units (GiB), with the exact byte count added when the value is not a whole number of that unit.
 * Reads only the store; the threshold is the caller's business.
 *
 * @returns e.g. `no active worker declares ≥ 64 GiB memory (largest: 24 GiB on alpha-1); needed by
 *   resources.minMemoryBytes`, or `no active worker builds arm64/generic (active workers build:
 *   amd64/generic)`. When some operators are eligible the message starts by naming them.
 */
export async function explainIneligible(
  registry: Pick<RegistryStore, 'listWorkers'>,
  build: SchedulingSubject,
): Promise<string> {
  const needs = schedulingNeedsOf(build);
  const platform = `${needs.architecture}/${needs.backend}`;
  const active = await registry.listWorkers({ activeOnly: true });
  if (active.length === 0) return 'no active worker is enrolled';
  const matching = active.filter((w) => matchesPlatform(w, needs));
  if (matching.length === 0) {
    const offered = new Set(
      active.flatMap((w) => w.architectures.flatMap((a) => w.backends.map((b) => `${a}/${b}`))),
    );
    return `no active worker builds ${platform} (active workers build: ${[...offered].sort().join(', ')})`;
  }
  const eligibleOperators = new Set(
    matching.filter((w) => meetsMinimums(w, needs.resources)).map((w) => w.operator),
  );
  const operatorsOf = (workers: readonly WorkerRecord[]) =>
    [...new Set(workers.map((w) => w.operator))].sort();
  const allOperators = operatorsOf(active);
  const excluded = allOperators.filter((op) => !eligibleOperators.has(op));
  if (excluded.length === 0) {
    return `every active operator (${allOperators.length}) has a worker for ${platform} that meets the manifest's resources`;
  }
  const offPlatform = excluded.filter((op) => !matching.some((w) => w.operator === op));
  const matchingOperators = operatorsOf(matching);
  // A clause about every operator that builds the platform reads as a plain statement (the common
  // "nothing fits" case); otherwise it names the operators it is true of.
  const scope = (operators: readonly string[]) =>
    offPlatform.length === 0 && operators.length === matchingOperators.length
      ? ''
      : ` of ${operators.join(', ')}`;
  const clauses: string[] = [];
  const accounted = new Set<string>();

  if (offPlatform.length > 0) {
    clauses.push(`no active worker of ${offPlatform.join(', ')} builds ${platform}`);
    for (const op of offPlatform) accounted.add(op);
  }
  for (const { field, capacity, suffix } of RESOURCE_CHECKS) {
    const minimum = needs.resources[field];
    if (minimum === undefined) continue;
    const short = excluded.filter((op) => {
      const workers = matching.filter((w) => w.operator === op);
      return workers.length > 0 && workers.every((w) => w.capacity[capacity] < minimum);
    });
    if (short.length === 0) continue;
    const candidates = matching.filter((w) => short.includes(w.operator));
    // Ties go to the first worker id, so the message is the same on every call.
    const largest = candidates.reduce((best, w) =>
      w.capacity[capacity] > best.capacity[capacity] ? w : best,
    );
    const amount = (value: number) => (capacity === 'cores' ? `${value} cores` : formatBytes(value));
    clauses.push(
      `no active worker${scope(short)} declares ≥ ${amount(minimum)}${suffix} ` +
        `(largest: ${amount(largest.capacity[capacity])} on ${largest.workerId}); needed by resources.${field}`,
    );
    for (const op of short) accounted.add(op);
  }
  const mixed = excluded.filter((op) => !accounted.has(op));
  if (mixed.length > 0) {
    clauses.push(
      `each minimum in resources is met by some worker${scope(mixed)}, but no single worker meets them all`,
    );
  }
  if (eligibleOperators.size === 0) return clauses.join('; ');
  const eligibleList = [...eligibleOperators].sort();
  return `only ${eligibleList.length} operator(s) can build it (${eligibleList.join(', ')}); ${clauses.join('; ')}`;
}

const BINARY_UNITS = [
  ['PiB', 2 ** 50],
  ['TiB', 2 ** 40],
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
] as const;

/** `16 GiB`, or `1.50 GiB (1610612736 bytes)` when rounding would hide how close a value is. */
function formatBytes(bytes: number): string {
  const unit = BINARY_UNITS.find(([, size]) => bytes >= size);
  if (unit === undefined) return `${bytes} bytes`;
  const [name, size] = unit;
  return bytes % size === 0
    ? `${bytes / size} ${name}`
    : `${(bytes / size).toFixed(2)} ${name} (${bytes} bytes)`;
}

/**
 * Brings a build's assignments up to the number of operators the policy wants: operators with an open
 * attempt or a successful result count as covered. An operator whose build failed (it reported a
 * failed result) or succeeded is not asked again; one whose attempts only ended without a report (an
 * infrastructure failure: its build container killed by someone else, an engine error, a lost lease)
 * may be, after every operator not yet tried, within the retry caps. Idempotent: calling it again
 * without new failures assigns nothing.
 */
export async function fillAssignments(deps: SchedulerDeps, buildId: string): Promise<AssignmentState> {
  const build = await deps.builds.getBuild(buildId);
  if (!build) throw new BuildStoreError('NOT_FOUND', `buildId: no build ${buildId}`);
  // The attempts summed up in the store, the results as the store keeps them: never every row again.
  const [attempts, results, load] = await Promise.all([
    deps.builds.summarizeAttempts(buildId),
    deps.results.listVerifiedResults(buildId),
    deps.builds.countOpenAttemptsByWorker(),
  ]);
  // A result a compromise took out covers nothing: the build needs another operator instead.
  const { counting } = await standingOfResults(deps.registry, results);
  const openOperators = attempts.byWorker.filter((w) => w.open > 0).map((w) => w.operator);
  const covered = new Set<string>([
    ...openOperators,
    ...counting.filter((r) => r.kind === 'built').map((r) => r.operator),
  ]);
  // Operators that reported something for this build, or are still building it: never asked again.
  // An infrastructure failure is not the operator's build failing, so it does not exclude it.
  const reportedOrOpen = new Set([...openOperators, ...results.map((r) => r.operator)]);
  const tried = new Set(attempts.byWorker.map((w) => w.operator));

  // From the build's context: eligibility and the run limit both come from the stored manifest.
  const needs = schedulingNeedsOf(build);
  const candidates = (await eligibleWorkers(deps.registry, needs)).filter(
    (w) => !reportedOrOpen.has(w.operator),
  );
  const byOperator = new Map<string, WorkerRecord>();
  // Operators not yet tried first, then the least loaded, then by id.
  const retried = (w: WorkerRecord) => (tried.has(w.operator) ? 1 : 0);
  for (const worker of candidates.sort(
    (a, b) =>
      retried(a) - retried(b) ||
      (load.get(a.workerId) ?? 0) - (load.get(b.workerId) ?? 0) ||
      (a.workerId < b.workerId ? -1 : 1),
  )) {
    if (!byOperator.has(worker.operator)) byOperator.set(worker.operator, worker);
  }
  const pool = [...byOperator.values()];
  const assigned: { workerId: string; operator: string; jobId: string }[] = [];
  let total = attempts.total;
  // Replacements follow the retry rules of their outcome class (caps, exponential backoff).
  const retry = decideRetryFrom(attempts, deps.config.policy);
  if (covered.size < deps.config.policy.replicas && !retry.allowed) {
    deps.logger.info({ buildId, reason: retry.reason }, 'no further attempts');
    return { assigned, maxAttemptsReached: true };
  }
  const canAssign = pool.length > 0 && total < build.policy.maxAttempts;
  if (covered.size < deps.config.policy.replicas && canAssign && retry.notBeforeMs > deps.now().getTime()) {
    // Backing off: the periodic sweep comes back after notBeforeMs.
    return { assigned, maxAttemptsReached: false };
  }
  while (covered.size < deps.config.policy.replicas && total < build.policy.maxAttempts && pool.length > 0) {
    const worker = pool.shift()!;
    total += 1;
    const jobId = `${buildId}:attempt:${total}`;
    const attemptNumber = (attempts.byWorker.find((w) => w.workerId === worker.workerId)?.attempts ?? 0) + 1;
    const nonce = randomBytes(32).toString('base64url');
    await deps.builds.createAttempt({
      buildId,
      workerId: worker.workerId,
      operator: worker.operator,
      attempt: attemptNumber,
      jobId,
      nonce,
      assignedAt: deps.now(),
      // The pickup deadline: the worker must name the job as running in a signed heartbeat before
      // it, and from then on renews only what it names (see renewRunningLeases).
      leaseExpiresAt: new Date(deps.now().getTime() + deps.config.policy.pickupTimeoutMs),
      ...(needs.timeLimitSeconds === undefined
        ? {}
        : { runLimitMs: needs.timeLimitSeconds * 1000 + deps.config.policy.runAllowanceMs }),
    });
    try {
      await deps.queues.enqueue(worker.workerId, {
        buildId,
        jobId,
        attempt: attemptNumber,
        nonce,
        manifestSha256: build.manifestSha256,
        manifestJson: build.manifestJson,
      });
    } catch (err) {
      // One worker's queue that cannot be written (its Redis down or halted, its keys corrupted by
      // the worker itself) must not stop the other operators' assignments. The attempt stays open
      // and lapses at its pickup deadline, like a job the worker never took.
      deps.logger.warn(
        { buildId, jobId, workerId: worker.workerId, err: { message: (err as Error).message } },
        'enqueue failed; the attempt lapses at its pickup deadline',
      );
    }
    covered.add(worker.operator);
    assigned.push({ workerId: worker.workerId, operator: worker.operator, jobId });
    deps.metrics?.attempt('assigned');
    deps.logger.info(
      { buildId, jobId, workerId: worker.workerId, operator: worker.operator },
      'attempt assigned',
    );
  }
  return { assigned, maxAttemptsReached: total >= build.policy.maxAttempts || pool.length === 0 };
}
