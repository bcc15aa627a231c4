// The consensus feed's read model: every verdict change in the order it was recorded (cursor
// paging), and per package version the builds and their current facts. Kept by the store from the
// build and verdict rows (it is never written directly); every read is a bounded indexed one.

import type { OutputDigest } from '../claims/compare-outputs-with-claims.ts';
import type { Verdict } from '../consensus/verdict.ts';
import type { IsoTimestamp } from './store-error.ts';

/** One verdict change. */
export interface FeedEntry {
  /**
   * Its position (the cursor): strictly increasing in the order entries were recorded. With a suite
   * filter, the position in that suite's own feed, which also lists a decided build when it is
   * found in the suite later (docs/api.md, "The consensus feed").
   */
  readonly seq: number;
  readonly buildId: string;
  /** Position in the build's own verdict history, from 1. */
  readonly sequence: number;
  /** The Debian source name, or a generic manifest's name. */
  readonly source: string;
  /** The Debian version; null for generic builds. */
  readonly version: string | null;
  readonly architecture: string;
  /**
   * With a suite filter, that suite; otherwise the first of `suites` (by name). Null: found in
   * none (submitted by hand).
   */
  readonly suite: string | null;
  /** Every suite a sync profile found the build in when the entry was recorded, by name. */
  readonly suites: readonly string[];
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  /** The operators that produced the reference output set, sorted. */
  readonly agreeingOperators: readonly string[];
  /** The operators named in a dissent, sorted. */
  readonly dissentingOperators: readonly string[];
  /** The outputs the publisher claimed (the build's record). */
  readonly claimedOutputs: readonly OutputDigest[];
  /** The agreed output set (reproducible, agreed, mismatch-upstream); null otherwise. */
  readonly agreedOutputs: readonly OutputDigest[] | null;
  readonly decidedAt: IsoTimestamp;
  /** The index of this verdict's entry in the transparency log; null until it is logged. */
  readonly logIndex: number | null;
}

export interface FeedPageOptions {
  /** Entries after this `seq` (0: from the start). */
  readonly after: number;
  /** 1..1000. */
  readonly limit: number;
  readonly architecture?: string;
  readonly suite?: string;
}

export interface FeedPage {
  readonly entries: readonly FeedEntry[];
  readonly more: boolean;
}

/** A build of a package version, with its current facts. */
export interface PackageBuild {
  readonly buildId: string;
  readonly source: string;
  readonly version: string | null;
  readonly architecture: string;
  /** The first of `suites`; null: none. */
  readonly suite: string | null;
  /** Every suite a sync profile found the build in, by name. */
  readonly suites: readonly string[];
  readonly verdict: Verdict;
  readonly agreeingOperators: readonly string[];
  readonly dissentingOperators: readonly string[];
  readonly verdictAt?: IsoTimestamp;
  /** The log index of the current verdict's entry; null while pending or not yet logged. */
  readonly logIndex: number | null;
}

/** One question: a source's builds, of one version or (absent) of every version. */
export interface PackageQuery {
  readonly source: string;
  readonly version?: string;
}

export interface ConsensusFeed {
  /**
   * Entries with `seq > after`, oldest first, at most `limit`, matching the filters, and whether
   * more match after them; one range of one index, whatever the feed holds.
   */
  readFeed(options: FeedPageOptions): Promise<FeedPage>;
  /** The newest entry's `seq` (0 when the feed is empty), of the suite's own feed when given. */
  latestFeedSeq(suite?: string): Promise<number>;
  /**
   * For each query, in order: the newest `maxBuilds` builds of that source (and version), newest
   * first; an indexed read per query.
   */
  findPackageBuilds(
    queries: readonly PackageQuery[],
    maxBuilds: number,
  ): Promise<readonly (readonly PackageBuild[])[]>;
}
