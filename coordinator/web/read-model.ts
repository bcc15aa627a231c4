// What the public web pages read, and nothing more: plain facts per page, so the pages never reach
// into the stores and a store can change shape behind this interface.
import type { Verdict } from '../../services/consensus/verdict.ts';
import type { Sha256Hex } from '../../services/digest.ts';
import type { IsoTimestamp } from '../../services/storage/store-error.ts';
import type { DivergenceView } from './divergence-view.ts';

/** Builds of one kind on one architecture: `debian`/`amd64`, `generic`/`arm64`. */
export interface FamilyKey {
  readonly backend: string;
  readonly architecture: string;
}

/** Packages of one family per verdict of their latest build. */
export interface FamilyCounts extends FamilyKey {
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly packages: number;
}

/** One day of the trend: packages per verdict of their latest build at the end of that day (UTC). */
export interface TrendDay {
  /** `2026-11-25` */
  readonly day: string;
  readonly counts: Readonly<Record<Verdict, number>>;
}

export interface FamilyTrend extends FamilyKey {
  /** Oldest first, one entry per day of the window. */
  readonly days: readonly TrendDay[];
}

export type AlarmKind = 'mismatch-upstream' | 'regression';

/**
 * A package whose latest build is `mismatch-upstream`, or a regression: its latest build diverged,
 * was rebuilt from different inputs or failed after one of its builds was reproduced.
 */
export interface AlarmEntry extends FamilyKey {
  readonly kind: AlarmKind;
  readonly name: string;
  readonly verdict: Verdict;
  /** When the latest build's verdict last changed. */
  readonly since: IsoTimestamp;
  readonly buildId: string;
  readonly version?: string;
  /** The newest build of the package that was reproduced, for a regression. */
  readonly lastGoodBuildId?: string;
}

/** Where the next page of alarms starts. */
export interface AlarmCursor {
  readonly sinceMs: number;
  readonly name: string;
  readonly backend: string;
  readonly architecture: string;
}

export interface AlarmPage {
  readonly alarms: readonly AlarmEntry[];
  readonly total: number;
  readonly next?: AlarmCursor;
}

/** One build as the lists show it. */
export interface BuildSummary extends FamilyKey {
  readonly buildId: string;
  readonly name: string;
  /** The Debian version; for other manifests none (the manifest digest tells builds apart). */
  readonly version?: string;
  readonly manifestSha256: Sha256Hex;
  readonly verdict: Verdict;
  readonly createdAt: IsoTimestamp;
  readonly verdictAt?: IsoTimestamp;
  /** Operators whose rebuilds agreed (the latest decision), sorted. */
  readonly agreeing: readonly string[];
  /** Operators with a signed rebuild that differs (the latest decision), sorted. */
  readonly dissenting: readonly string[];
}

export interface OverviewFacts {
  readonly families: readonly FamilyCounts[];
  /** Builds (not packages) per current verdict, over all history. */
  readonly buildTotals: Readonly<Record<Verdict, number>>;
  readonly trend: readonly FamilyTrend[];
  readonly alarms: AlarmPage;
  readonly latest: readonly BuildSummary[];
  /** The network's k: agreeing operators a verdict needs. */
  readonly threshold: number;
}

/** Closed attempts and results in one hour, by outcome class. */
export type OutcomeClass = 'built' | 'build-failure' | 'infrastructure' | 'cancelled';

export const OUTCOME_CLASSES: readonly OutcomeClass[] = [
  'built',
  'build-failure',
  'infrastructure',
  'cancelled',
];

export interface HourlyOutcomes {
  /** Start of each hour, oldest first. */
  readonly hours: readonly IsoTimestamp[];
  /** Per class, one count per hour. */
  readonly counts: Readonly<Record<OutcomeClass, readonly number[]>>;
}

export interface WorkerFacts {
  readonly workerId: string;
  readonly operator: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: { readonly cores: number; readonly memoryBytes: number; readonly diskBytes: number };
  readonly enrolledAt: IsoTimestamp;
  /** Its last authenticated request (heartbeats included). */
  readonly lastSeenAt?: IsoTimestamp;
  readonly state: 'active' | 'retired' | 'compromised';
  readonly running: number;
  readonly queued: number;
  /** Over the last 24 hours. */
  readonly recent: Readonly<Record<OutcomeClass, number>>;
  /** Over the last 24 hours: each failure reason (`exit-code`, `infrastructure:expired` …) and how often. */
  readonly failureReasons: readonly { readonly reason: string; readonly count: number }[];
}

export interface OpenAttemptFacts {
  readonly buildId: string;
  readonly name: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly assignedAt: IsoTimestamp;
  readonly startedAt?: IsoTimestamp;
  readonly leaseExpiresAt?: IsoTimestamp;
}

export interface QueueFacts {
  readonly pendingTotal: number;
  /** Oldest first. */
  readonly pending: readonly BuildSummary[];
  /** Where the next page of pending builds starts. */
  readonly pendingNext?: string;
  /** Open attempts, oldest first (at most a page; `openTotal` says how many there are). */
  readonly open: readonly OpenAttemptFacts[];
  readonly openTotal: number;
  readonly workers: readonly WorkerFacts[];
  readonly hourly: HourlyOutcomes;
}

/** One package (name) on one family. */
export interface PackageFamily extends FamilyKey {
  readonly latestBuildId: string;
  readonly latestVerdict: Verdict;
  readonly builds: number;
  readonly changedAt: IsoTimestamp;
}

export interface PackageSearchHit extends PackageFamily {
  readonly name: string;
}

export interface PackageSearchPage {
  readonly hits: readonly PackageSearchHit[];
  /** Where the next page starts. */
  readonly next?: { readonly name: string; readonly backend: string; readonly architecture: string };
}

export interface PackageFacts {
  readonly name: string;
  readonly families: readonly PackageFamily[];
  /** A page of builds, newest first. */
  readonly builds: readonly BuildSummary[];
  /** The build the next (older) page starts after. */
  readonly nextBefore?: string;
  /** The newest builds (at most 100), oldest first: the history chart. */
  readonly history: readonly TimelineEntry[];
  /** What its badge says (every architecture). */
  readonly badge?: BadgeFacts;
}

/** A build as the history chart shows it. */
export interface TimelineEntry extends FamilyKey {
  readonly buildId: string;
  readonly verdict: Verdict;
  readonly createdAt: IsoTimestamp;
  readonly version?: string;
}

export type AttemptOutcome =
  | { readonly kind: 'queued' }
  | { readonly kind: 'running' }
  | { readonly kind: 'built'; readonly counted: boolean; readonly refusedReason?: string }
  | { readonly kind: 'build-failure'; readonly reason: string }
  | { readonly kind: 'infrastructure'; readonly state: 'failed' | 'expired'; readonly reason?: string }
  | { readonly kind: 'cancelled' };

/** The end of a build log, bounded. */
export interface LogTail {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  readonly text: string;
  /** Bytes before the tail that are not shown. */
  readonly omittedBytes: number;
}

export interface AttemptFacts {
  readonly jobId: string;
  readonly workerId: string;
  readonly operator: string;
  readonly attempt: number;
  readonly assignedAt: IsoTimestamp;
  readonly startedAt?: IsoTimestamp;
  readonly finishedAt?: IsoTimestamp;
  readonly receivedAt?: IsoTimestamp;
  readonly outcome: AttemptOutcome;
  readonly envelopeSha256?: Sha256Hex;
  readonly environmentSha256?: Sha256Hex;
  readonly outputs: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly log?: LogTail;
}

export interface DecisionFacts {
  readonly explanation: string;
  readonly countedOperators: readonly string[];
  readonly agreeingOperators: readonly string[];
  readonly agreeingOutputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  readonly dissent: readonly {
    readonly operator: string;
    readonly workerId: string;
    readonly differingPaths: readonly string[];
  }[];
  readonly notCounted: readonly {
    readonly operator: string;
    readonly workerId: string;
    readonly reason: string;
  }[];
}

export interface VerdictHistoryEntry {
  readonly sequence: number;
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  readonly decidedAt: IsoTimestamp;
}

export interface BuildFacts extends BuildSummary {
  readonly threshold: number;
  readonly submittedBy: string;
  readonly claimedOutputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  /** Debian builds: where workers take the source from. */
  readonly debianSource?: 'archive' | 'files';
  readonly attempts: readonly AttemptFacts[];
  readonly decision?: DecisionFacts;
  readonly history: readonly VerdictHistoryEntry[];
  readonly hasAttestation: boolean;
  readonly divergence?: DivergenceView;
  /** Why the stored divergence report could not be shown, when it could not. */
  readonly divergenceUnavailable?: string;
  readonly conflicts: readonly {
    readonly package: string;
    readonly version: string;
    readonly publishedBuildId: string;
    readonly contestingBuildId: string;
  }[];
  /** The coordinator URL consumers pass to `rbnet verify --coordinator`. */
  readonly coordinatorUrl: string;
}

export interface BadgeFacts {
  readonly name: string;
  readonly verdict: Verdict;
  /** Distinct operators that agreed on the latest decision. */
  readonly agreeingOperators: number;
}

/**
 * Everything the public pages show. Every method reads a bounded amount: a page of rows, or
 * aggregates kept on write; none grows with the number of builds ever stored.
 */
export interface WebReadModel {
  /** Changes whenever anything a page shows may have changed: pages are cached per value. */
  dataVersion(): number;
  overview(now: Date): Promise<OverviewFacts>;
  alarms(page: { readonly after?: AlarmCursor; readonly limit: number }): Promise<AlarmPage>;
  queue(now: Date, page: { readonly pendingAfter?: string }): Promise<QueueFacts | undefined>;
  /** Packages whose name starts with `prefix` (lowercased), by name. */
  searchPackages(
    prefix: string,
    page: { readonly after?: PackageSearchPage['next']; readonly limit: number },
  ): Promise<PackageSearchPage>;
  /** Builds that claimed or rebuilt a file with this digest, newest first (at most `limit`). */
  buildsWithArtifact(sha256: Sha256Hex, limit: number): Promise<readonly BuildSummary[]>;
  /** Undefined for a name no build has, or a `before` that is not one of its builds. */
  packageFacts(
    name: string,
    page: { readonly before?: string; readonly limit: number },
  ): Promise<PackageFacts | undefined>;
  build(buildId: string): Promise<BuildFacts | undefined>;
  /** The package's latest build (on `architecture`, when given). */
  badge(name: string, architecture?: string): Promise<BadgeFacts | undefined>;
}
