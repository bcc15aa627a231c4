// The format of report.json, what the worker's inspection container writes about the .debs it was
// given: each .deb's listing (or why it has none), each requested pair's comparison and diffoscope
// outcome, and notes. The worker checks it on the way out of the container; the coordinator reads it
// inside the worker's signed rbnet/deb-inspection.json (inspection-report.ts).
import type { DebComparison } from './compare-deb-listings.ts';
import type { DebListing } from './deb-listing.ts';

/** The `schema` of report.json. */
export const INSPECTION_REPORT_SCHEMA = 'rbnet.deb-inspection-report/v1';
/** Labels name the .debs in the job and the report: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Most .debs, pairs and build paths one job may name. */
export const MAX_JOB_DEBS = 16;
export const MAX_JOB_PAIRS = 32;
export const MAX_BUILD_PATHS = 16;

/** One .deb in the report: its listing, or why it could not be inspected. */
export type DebReportEntry =
  | {
      readonly label: string;
      readonly listing: DebListing;
      /** True when the listing's member arrays were emptied to fit maxReportBytes. */
      readonly membersOmitted: boolean;
    }
  | { readonly label: string; readonly error: { readonly code: string; readonly message: string } };

/** What came of running diffoscope on one pair. */
export type DiffoscopeOutcome =
  | {
      readonly status: 'written';
      /** File name in the output directory, diffoscope-<n>.html. */
      readonly file: string;
      readonly bytes: number;
      /** diffoscope's exit code: 0 no differences, 1 differences. */
      readonly exitCode: number;
      /** The HTML was cut at maxOutputBytes. */
      readonly truncated: boolean;
    }
  | { readonly status: 'timeout' | 'failed' | 'skipped' | 'unavailable'; readonly detail: string };

/** One requested pair in the report. */
export interface PairReport {
  readonly left: string;
  readonly right: string;
  /** Null when either .deb could not be inspected (see its entry's error). */
  readonly comparison: DebComparison | null;
  /** Member differences left out of `comparison.members` to fit maxReportBytes. */
  readonly omittedMemberDifferences: number;
  readonly diffoscope?: DiffoscopeOutcome;
}

/** report.json: every .deb in job order, every pair in job order, and notes. */
export interface InspectionReport {
  readonly schema: typeof INSPECTION_REPORT_SCHEMA;
  readonly debs: readonly DebReportEntry[];
  readonly comparisons: readonly PairReport[];
  /** Things the reader should know: diffoscope timed out, the report was cut to fit, … */
  readonly notes: readonly string[];
}
