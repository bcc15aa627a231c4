// The builds aggregate: a submitted build, the attempts assigned to workers (with their leases), and
// its verdict history; plus the two indexes hot paths read: pending builds and builds per verdict.
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import type { ClaimedOutput } from '../manifest/manifest.ts';
import type { IsoTimestamp, PageOptions } from './store-error.ts';

export interface BuildPolicy {
  /** Agreeing successes from distinct operators needed for agreement (k). */
  readonly threshold: number;
  /** Most attempts per worker before the build is given up on. */
  readonly maxAttempts: number;
  /** How long after submission a verdict must be reached, in milliseconds. */
  readonly decisionDeadlineMs: number;
}

/** Every verdict the network can reach: the one closed set in services/consensus/verdict.ts. */
export type BuildVerdict = Verdict;

export const buildVerdicts: readonly BuildVerdict[] = VERDICTS;

export interface NewBuild {
  /** A UUID the coordinator chose. */
  readonly buildId: string;
  /** sha256 of `manifestJson`; checked. */
  readonly manifestSha256: Sha256Hex;
  /** The manifest's RFC 8785 canonical JSON, exactly the bytes `manifestSha256` was taken over. */
  readonly manifestJson: string;
  /** Package name and version as the maintainer gave them, for people and search. */
  readonly name: string;
  readonly architecture: string;
  readonly backend: string;
  /** The digests the publisher claimed for its artifacts (indexed as `claimed` artifacts). */
  readonly claimedOutputs: readonly ClaimedOutput[];
  readonly policy: BuildPolicy;
  /** The maintainer (or admin) who submitted it. */
  readonly submittedBy: string;
  readonly createdAt: Date;
}

export interface BuildRecord {
  readonly buildId: string;
  readonly manifestSha256: Sha256Hex;
  readonly manifestJson: string;
  readonly name: string;
  readonly architecture: string;
  readonly backend: string;
  readonly claimedOutputs: readonly ClaimedOutput[];
  readonly policy: BuildPolicy;
  readonly submittedBy: string;
  readonly createdAt: IsoTimestamp;
  /** The latest recorded verdict; `pending` until one is recorded. */
  readonly verdict: BuildVerdict;
  readonly verdictAt?: IsoTimestamp;
}

/** Pending builds, oldest first: `limit` 1..1000 (default 1000), `after` a buildId of the previous page. */
export type ListPendingBuildsOptions = PageOptions;

/** Builds, newest first: `limit` 1..1000 (default 100), `after` a buildId of the previous page. */
export type ListBuildsOptions = PageOptions;

export type AttemptState = 'open' | 'reported' | 'failed' | 'expired' | 'cancelled';
export type FinishedAttemptState = Exclude<AttemptState, 'open'>;

export interface NewAttempt {
  readonly buildId: string;
  readonly workerId: string;
  /** Must be the worker's operator. */
  readonly operator: string;
  /** 1-based, per (build, worker). */
  readonly attempt: number;
  /** The queue job id; unique. */
  readonly jobId: string;
  /** Random value the worker must sign back, so a result cannot be replayed into another attempt. */
  readonly nonce: string;
  readonly assignedAt: Date;
  /** Until the worker names it as running: its pickup deadline. */
  readonly leaseExpiresAt?: Date;
  /**
   * Longest the attempt may run once its worker first names it, ms (the manifest's time limit plus
   * an allowance); heartbeats never renew it past `startedAt + runLimitMs`. Unlimited when undefined.
   */
  readonly runLimitMs?: number;
}

export interface AttemptRecord {
  readonly buildId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly nonce: string;
  readonly state: AttemptState;
  readonly assignedAt: IsoTimestamp;
  readonly leaseExpiresAt?: IsoTimestamp;
  /** When a heartbeat of its worker first named it as running; undefined while it waits in the queue. */
  readonly startedAt?: IsoTimestamp;
  readonly runLimitMs?: number;
  readonly finishedAt?: IsoTimestamp;
  /**
   * Why an attempt closed without a report (`failed`): the worker queue's failure reason, e.g.
   * `interrupted: the build container was killed ...`. An infrastructure fact, never a build result.
   */
  readonly failureReason?: string;
}

/** How an attempt closes; see {@link BuildStore.finishAttempt}. */
export interface AttemptOutcome {
  readonly state: FinishedAttemptState;
  readonly finishedAt: Date;
  /** Kept (at most 500 characters); see {@link AttemptRecord.failureReason}. */
  readonly reason?: string;
}

/**
 * What scheduling needs of a build's attempts, counted in the store (never by reading them all):
 * who was given work, and how the attempts that produced no successful result ended.
 */
export interface AttemptSummary {
  readonly total: number;
  /** Per worker given an attempt of the build: its operator, its attempts, how many are open. */
  readonly byWorker: readonly {
    readonly workerId: string;
    readonly operator: string;
    readonly attempts: number;
    readonly open: number;
  }[];
  /** Attempts answered by a failed result. */
  readonly buildFailures: number;
  /** Attempts that ended `failed` or `expired` with no result at all (a crash, a lost lease). */
  readonly infrastructureFailures: number;
  /** When the latest of those failures happened (the result's receipt, else the attempt's end), epoch ms; 0 when none. */
  readonly lastFailureAtMs: number;
}

/** What one heartbeat may renew, as absolute times. */
export interface HeartbeatLeases {
  readonly now: Date;
  /** New lease end for each named running attempt (capped by its run limit). */
  readonly runningUntil: Date;
  /** New pickup deadline for the worker's not-yet-started attempts, when it runs something. */
  readonly queuedUntil: Date;
}

export interface NewVerdict {
  readonly buildId: string;
  readonly verdict: BuildVerdict;
  /** The decision's inputs and reasoning as JSON text (at most 1 MiB). */
  readonly decisionJson: string;
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: Date;
}

export interface VerdictRecord {
  /** Position in the build's history, from 1. */
  readonly sequence: number;
  readonly buildId: string;
  readonly verdict: BuildVerdict;
  /** The verdict this one replaced; `pending` for the first. */
  readonly previousVerdict: BuildVerdict;
  readonly decisionJson: string;
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: IsoTimestamp;
}

/**
 * Builds, their attempts and their verdicts. Methods return frozen plain data and are atomic; rows
 * are checked by the database (docs/storage.md), so a malformed field is refused with
 * `BuildStoreError` `INVALID` naming it.
 */
export interface BuildStore {
  /**
   * Records a submitted build and indexes its claimed outputs.
   * @throws BuildStoreError `DIGEST_MISMATCH` when `manifestSha256` is not the sha256 of `manifestJson`,
   *   `CONFLICT` for a used buildId.
   */
  createBuild(input: NewBuild): Promise<BuildRecord>;
  /**
   * Records many builds in one transaction: all of them or, on any error, none.
   * @throws BuildStoreError as {@link BuildStore.createBuild}; the message names the failing index.
   */
  createBuilds(inputs: readonly NewBuild[]): Promise<readonly BuildRecord[]>;
  getBuild(buildId: string): Promise<BuildRecord | undefined>;
  /** Newest first, keyset-paginated by `after`. @throws BuildStoreError `NOT_FOUND` for an unknown `after`. */
  listBuilds(options?: ListBuildsOptions): Promise<readonly BuildRecord[]>;
  /**
   * Ids of builds whose verdict is `pending`, oldest first, keyset-paginated by `after`; read
   * through an index of pending builds, so the cost follows the pending work, not the history.
   * @throws BuildStoreError `NOT_FOUND` for an unknown `after`.
   */
  listPendingBuildIds(options?: ListPendingBuildsOptions): Promise<readonly string[]>;
  /** Builds per current verdict, every verdict present (0 included); counters kept on write. */
  countBuildsByVerdict(): Promise<Readonly<Record<BuildVerdict, number>>>;

  /**
   * @throws BuildStoreError `NOT_FOUND` for an unknown build or worker, `CONFLICT` for a revoked worker,
   *   an operator that is not the worker's, or a used jobId or (build, worker, attempt).
   */
  createAttempt(input: NewAttempt): Promise<AttemptRecord>;
  getAttemptByJobId(jobId: string): Promise<AttemptRecord | undefined>;
  /** A build's attempts in assignment order. */
  listAttempts(buildId: string): Promise<readonly AttemptRecord[]>;
  /** How many of a build's attempts are open, counted in the store. */
  countOpenAttempts(buildId: string): Promise<number>;
  /** A build's attempts summed up for scheduling; see {@link AttemptSummary}. */
  summarizeAttempts(buildId: string): Promise<AttemptSummary>;
  /**
   * Closes an open attempt. Idempotent: finishing it again with the same state returns it unchanged.
   * @throws BuildStoreError `NOT_FOUND`, or `CONFLICT` when it already finished in another state.
   */
  finishAttempt(jobId: string, outcome: AttemptOutcome): Promise<AttemptRecord>;
  /** Attempts still open, oldest first: what to re-enqueue or expire after a restart. */
  listOpenAttempts(): Promise<readonly AttemptRecord[]>;
  /** How many attempts each worker has open (workers with none are absent): its load, counted in the store. */
  countOpenAttemptsByWorker(): Promise<ReadonlyMap<string, number>>;
  /**
   * Moves the lease of every open attempt of `workerId` (of every worker, when undefined): a started
   * attempt to `until`, but never past `startedAt + runLimitMs`; one not yet started to `queuedUntil`
   * (default `until`).
   * @returns how many attempts were renewed.
   */
  renewLeases(workerId: string | undefined, until: Date, queuedUntil?: Date): Promise<number>;
  /**
   * Applies one signed heartbeat of `workerId` naming the jobs it runs, in one transaction. Each named
   * job that is this worker's open attempt, and still within its run limit, is marked started (first
   * time) and its lease moved to `runningUntil` (never past `startedAt + runLimitMs`). Nothing else of
   * the worker is renewed, except that when at least one job was renewed, the worker's attempts not yet
   * started (queued behind it) get their pickup deadline moved to at least `queuedUntil`.
   * @returns the job ids renewed, in the order named.
   */
  renewRunningLeases(
    workerId: string,
    running: readonly string[],
    leases: HeartbeatLeases,
  ): Promise<readonly string[]>;
  /** Open attempts whose lease ended before `now`, oldest lease first. */
  listExpiredAttempts(now: Date): Promise<readonly AttemptRecord[]>;

  /**
   * Appends to the build's verdict history and makes `verdict` the build's current one. Recording
   * exactly the latest decision again (same verdict, decision and digests) appends nothing and
   * returns the latest row with `duplicate: true`.
   * @throws BuildStoreError `NOT_FOUND` for an unknown build.
   */
  recordVerdict(input: NewVerdict): Promise<VerdictRecord & { readonly duplicate: boolean }>;
  /** Oldest first; rows are never changed or removed. */
  getVerdictHistory(buildId: string): Promise<readonly VerdictRecord[]>;
  /** The latest row of the verdict history, if any: what a decision compares itself with. */
  getLatestVerdict(buildId: string): Promise<VerdictRecord | undefined>;
}
