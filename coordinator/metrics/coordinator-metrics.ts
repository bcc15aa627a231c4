// The coordinator's named metrics: event counters, and gauges computed from store and queues at scrape time.
import type { Logger } from 'pino';
import type { AptLinkStore } from '../../services/storage/apt-link-store.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';
import type { RegistryStore } from '../../services/storage/registry-store.ts';
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from './prometheus-text.ts';

/** What happened to an attempt; `assigned` when it is created, the rest when it closes. */
export type AttemptOutcome = 'assigned' | 'reported' | 'failed' | 'expired' | 'cancelled';

export const attemptOutcomes: readonly AttemptOutcome[] = Object.freeze([
  'assigned',
  'reported',
  'failed',
  'expired',
  'cancelled',
]);

/**
 * Upper bounds of `rbnet_job_duration_seconds`, in seconds: from a trivial build to twice the
 * default wall-time limit (3600 s), so a histogram still tells apart builds that hit the limit.
 */
export const jobDurationBucketsSeconds: readonly number[] = Object.freeze([
  1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200,
]);

/**
 * Intake refusal codes are stable constants, but they arrive as strings: anything that does not look
 * like one is counted as `OTHER`, so a bug can never grow the number of series without bound.
 */
const REFUSAL_CODE = /^[A-Z][A-Z0-9_]{0,39}$/;

/** What a scrape reads (named here, so the metrics never depend on the whole coordinator). */
export interface MetricsScrapeDeps {
  readonly builds: Pick<BuildStore, 'countBuildsByVerdict'>;
  readonly aptLinks: Pick<AptLinkStore, 'countAptLinkConflicts'>;
  readonly registry: Pick<RegistryStore, 'listWorkers'>;
  readonly queues: { depth(workerId: string): Promise<number> };
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * One per coordinator process. Event counters are updated where the event happens
 * (`metrics.attempt('assigned')`); gauges that describe state (builds by verdict, queue depth,
 * heartbeat age) are computed from the store and queues when `/metrics` is scraped, so they can
 * never drift from the source of truth.
 */
export class CoordinatorMetrics {
  readonly registry = new MetricsRegistry();
  /** `rbnet_attempts_total{outcome}`. */
  readonly attemptsTotal: Counter;
  /** `rbnet_builds{verdict}`: builds whose current verdict is this (scrape time). */
  readonly buildsByVerdict: Gauge;
  /** `rbnet_apt_link_conflicts`: conflicts recorded between builds of one package version (scrape time). */
  readonly aptLinkConflicts: Gauge;
  /** `rbnet_results_total{kind,counted}`: results recorded (duplicates not counted again). */
  readonly resultsTotal: Counter;
  /** `rbnet_lease_expiries_total`: attempts whose lease ran out before a result arrived. */
  readonly leaseExpiriesTotal: Counter;
  /** `rbnet_job_duration_seconds`: from assignment to the worker's result. */
  readonly jobDurationSeconds: Histogram;
  /** `rbnet_queue_depth{worker}`: jobs waiting in each active worker's queue (scrape time). */
  readonly queueDepth: Gauge;
  /** `rbnet_worker_heartbeat_age_seconds{worker}`: since each active worker's last authenticated request. */
  readonly heartbeatAgeSeconds: Gauge;
  /** `rbnet_intake_refusals_total{code}`: results refused at intake, by error code. */
  readonly intakeRefusalsTotal: Counter;
  /** `rbnet_metrics_collect_failures{collector}`: lookups that failed during the last scrape. */
  readonly collectFailures: Gauge;

  constructor() {
    const r = this.registry;
    this.attemptsTotal = r.counter({
      name: 'rbnet_attempts_total',
      help: 'Build attempts by outcome: assigned when created; reported, failed, expired or cancelled when closed.',
      labelNames: ['outcome'],
    });
    for (const outcome of attemptOutcomes) this.attemptsTotal.touch({ outcome });
    this.buildsByVerdict = r.gauge({
      name: 'rbnet_builds',
      help: 'Builds whose current verdict is this one.',
      labelNames: ['verdict'],
    });
    this.aptLinkConflicts = r.gauge({
      name: 'rbnet_apt_link_conflicts',
      help: 'Package versions rebuilt by a later build to products that differ from the published links (an alarm: any value above 0 needs a person).',
    });
    this.resultsTotal = r.counter({
      name: 'rbnet_results_total',
      help: 'Worker results recorded, by kind (built, failed) and whether they counted towards consensus.',
      labelNames: ['kind', 'counted'],
    });
    for (const kind of ['built', 'failed'])
      for (const counted of ['true', 'false']) this.resultsTotal.touch({ kind, counted });
    this.leaseExpiriesTotal = r.counter({
      name: 'rbnet_lease_expiries_total',
      help: 'Attempts whose lease ran out before the worker reported.',
    });
    this.jobDurationSeconds = r.histogram({
      name: 'rbnet_job_duration_seconds',
      help: 'Seconds from assigning a job to receiving its result.',
      buckets: jobDurationBucketsSeconds,
    });
    this.queueDepth = r.gauge({
      name: 'rbnet_queue_depth',
      help: "Jobs waiting in an active worker's own queue.",
      labelNames: ['worker'],
    });
    this.heartbeatAgeSeconds = r.gauge({
      name: 'rbnet_worker_heartbeat_age_seconds',
      help: "Seconds since an active worker's last authenticated request (workers never seen are left out).",
      labelNames: ['worker'],
    });
    this.intakeRefusalsTotal = r.counter({
      name: 'rbnet_intake_refusals_total',
      help: 'Results refused at intake, by error code.',
      labelNames: ['code'],
    });
    this.collectFailures = r.gauge({
      name: 'rbnet_metrics_collect_failures',
      help: 'Lookups that failed while collecting the last scrape (their series are missing from it).',
      labelNames: ['collector'],
    });
  }

  /** Counts an attempt being assigned or closing. */
  attempt(outcome: AttemptOutcome): void {
    this.attemptsTotal.inc({ outcome });
  }

  /** Counts a newly recorded result (call it for non-duplicates only). */
  result(kind: 'built' | 'failed', counted: boolean): void {
    this.resultsTotal.inc({ kind, counted: String(counted) });
  }

  /** Counts a result refused at intake; `code` is the error's stable code (e.g. `NOT_ASSIGNED`). */
  refusal(code: string): void {
    this.intakeRefusalsTotal.inc({ code: REFUSAL_CODE.test(code) ? code : 'OTHER' });
  }

  /** Counts an attempt whose lease expired. */
  leaseExpired(): void {
    this.leaseExpiriesTotal.inc();
  }

  /** Records how long a job took from assignment to result, in seconds. */
  jobDuration(seconds: number): void {
    this.jobDurationSeconds.observe(seconds);
  }

  /**
   * Computes the scrape-time gauges and renders every metric in text format 0.0.4.
   *
   * Builds by verdict come from counters the store keeps on write (a handful of rows), and conflicts
   * from one count of a table that only grows with alarms: a scrape never reads builds or manifests,
   * so its cost does not grow with the history stored. A store failure fails the scrape (the scraper's `up` goes to 0); a queue that does not answer
   * only drops that worker's depth and is counted in `rbnet_metrics_collect_failures`.
   */
  async render(deps: MetricsScrapeDeps): Promise<string> {
    const verdicts = await deps.builds.countBuildsByVerdict();
    const conflicts = await deps.aptLinks.countAptLinkConflicts();
    const workers = await deps.registry.listWorkers({ activeOnly: true });
    const depths = await Promise.allSettled(workers.map((w) => deps.queues.depth(w.workerId)));
    const nowMs = deps.now().getTime();

    // Everything below is synchronous, so two concurrent scrapes never interleave a reset and a set.
    this.buildsByVerdict.reset();
    for (const [verdict, count] of Object.entries(verdicts)) this.buildsByVerdict.set({ verdict }, count);
    this.aptLinkConflicts.set({}, conflicts);
    this.queueDepth.reset();
    this.heartbeatAgeSeconds.reset();
    let depthFailures = 0;
    workers.forEach((worker, i) => {
      const depth = depths[i]!;
      if (depth.status === 'fulfilled') this.queueDepth.set({ worker: worker.workerId }, depth.value);
      else depthFailures += 1;
      if (worker.lastSeenAt) {
        const ageSeconds = Math.max(0, (nowMs - Date.parse(worker.lastSeenAt)) / 1000);
        this.heartbeatAgeSeconds.set({ worker: worker.workerId }, ageSeconds);
      }
    });
    this.collectFailures.set({ collector: 'queue_depth' }, depthFailures);
    if (depthFailures > 0) {
      const firstError = depths.find((d) => d.status === 'rejected') as PromiseRejectedResult;
      deps.logger.warn({ err: firstError.reason, failures: depthFailures }, 'queue depth unavailable');
    }
    return this.registry.render();
  }
}
