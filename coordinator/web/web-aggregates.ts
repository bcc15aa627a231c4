// The queries the public pages need that the build store does not answer: aggregates kept on write
// (migration 9) and lookups by package name. Each reads rows bounded by what one page shows.
import type { Verdict } from '../../services/consensus/verdict.ts';

export interface FamilyCountRow {
  readonly backend: string;
  readonly architecture: string;
  readonly verdict: Verdict;
  readonly packages: number;
}

export interface DailyChangeRow {
  /** Days since 1970-01-01 (UTC). */
  readonly day: number;
  readonly backend: string;
  readonly architecture: string;
  readonly verdict: Verdict;
  readonly delta: number;
}

export interface PackageRow {
  readonly name: string;
  readonly backend: string;
  readonly architecture: string;
  readonly latestBuildId: string;
  readonly latestVerdict: Verdict;
  readonly changedAtMs: number;
  readonly builds: number;
  /** The latest build's Debian version, when it has one. */
  readonly version?: string;
  /** The newest build of the package ever reproduced (or agreed). */
  readonly lastGoodBuildId?: string;
}

/** Position in a list ordered by (changedAtMs, name, backend, architecture), newest first. */
export interface AlarmKey {
  readonly changedAtMs: number;
  readonly name: string;
  readonly backend: string;
  readonly architecture: string;
}

export interface PackageKey {
  readonly name: string;
  readonly backend: string;
  readonly architecture: string;
}

/** A build as a timeline shows it. */
export interface TimelineRow {
  readonly buildId: string;
  readonly architecture: string;
  readonly backend: string;
  readonly verdict: Verdict;
  readonly createdAtMs: number;
  readonly version?: string;
}

export interface HourlyOutcomeRow {
  /** Hours since 1970 (UTC). */
  readonly hour: number;
  readonly workerId: string;
  /** `built`, `build-failure:<reason>`, `infrastructure:<failed|expired>`, `cancelled`. */
  readonly outcome: string;
  readonly count: number;
}

export interface WebAggregates {
  /** Changes whenever another connection committed to the database (SQLite `PRAGMA data_version`). */
  dataVersion(): number;
  /** Every family × verdict with at least one package. */
  familyCounts(): Promise<readonly FamilyCountRow[]>;
  /** Changes of days after `afterDay`, oldest first. */
  dailyChangesAfter(afterDay: number): Promise<readonly DailyChangeRow[]>;
  /** Packages whose latest verdict is an alarm, newest change first, after `after`. */
  alarms(limit: number, after?: AlarmKey): Promise<readonly PackageRow[]>;
  countAlarms(): Promise<number>;
  /** Packages whose name starts with `prefix`, in (name, backend, architecture) order after `after`. */
  packagesByPrefix(prefix: string, limit: number, after?: PackageKey): Promise<readonly PackageRow[]>;
  /** Every family of one package name. */
  packageFamilies(name: string): Promise<readonly PackageRow[]>;
  /** Ids of builds of `name`, newest first, older than `beforeBuildId` (undefined when that is not one). */
  buildIdsOfName(name: string, limit: number, beforeBuildId?: string): Promise<readonly string[] | undefined>;
  /** The newest `limit` builds of `name`, oldest first. */
  timeline(name: string, limit: number): Promise<readonly TimelineRow[]>;
  /** Outcome counts of hours from `fromHour` on. */
  hourlyOutcomesFrom(fromHour: number): Promise<readonly HourlyOutcomeRow[]>;
  close(): Promise<void>;
}
