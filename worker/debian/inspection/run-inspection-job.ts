// Runs one parsed inspection job inside the container: lists every .deb, compares the pairs, runs
// diffoscope where asked, and writes report.json cut to its byte cap.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareDebListings } from '../../../services/debian/deb-inspection/compare-deb-listings.ts';
import type { DebListing } from '../../../services/debian/deb-inspection/deb-listing.ts';
import {
  type DebReportEntry,
  type DiffoscopeOutcome,
  INSPECTION_REPORT_SCHEMA,
  type InspectionReport,
  type PairReport,
} from '../../../services/debian/deb-inspection/inspection-report-format.ts';
import { RbnetError } from '../../../services/errors.ts';
import { fitReport } from './fit-report.ts';
import { inspectDeb } from './inspect-deb.ts';
import { type InspectionJob, REPORT_FILE } from './inspection-job.ts';
import { runDiffoscope } from './run-diffoscope.ts';

/** Environment facts the entry point looks up once. */
export interface RunJobOptions {
  /** Absolute path of diffoscope, when installed. */
  readonly diffoscopePath?: string;
}

/** Hazards after which diffoscope would only burn the same resources again. */
const RESOURCE_HAZARDS = new Set(['decompression-bomb', 'timeout', 'too-many-members']);

function resourceHazard(listing: DebListing): string | undefined {
  return listing.hazards.find((h) => RESOURCE_HAZARDS.has(h.kind))?.kind;
}

/**
 * Runs a parsed job: inspects every .deb (an inspection that fails for our own reasons becomes an
 * `error` entry, not a crash), compares the pairs, runs diffoscope for differing pairs when asked and
 * installed (not for a .deb with a resource hazard), and writes `report.json` into `outDir`,
 * cut to `limits.maxReportBytes`. Returns the report as written.
 */
export async function runInspectionJob(
  job: InspectionJob,
  outDir: string,
  options: RunJobOptions = {},
): Promise<InspectionReport> {
  await mkdir(outDir, { recursive: true });
  const searchStrings = job.buildPaths && job.buildPaths.length > 0 ? job.buildPaths : undefined;
  const debs: DebReportEntry[] = [];
  const listings = new Map<string, { listing: DebListing; path: string }>();
  for (const deb of job.debs) {
    try {
      const listing = await inspectDeb(deb.path, job.limits, searchStrings ? { searchStrings } : {});
      listings.set(deb.label, { listing, path: deb.path });
      debs.push({ label: deb.label, listing, membersOmitted: false });
    } catch (err) {
      const code = err instanceof RbnetError ? err.code : 'INSPECTION_FAILED';
      debs.push({ label: deb.label, error: { code, message: (err as Error).message } });
    }
  }
  const notes: string[] = [];
  const comparisons: PairReport[] = [];
  for (const [index, pair] of job.compare.entries()) {
    const left = listings.get(pair.left);
    const right = listings.get(pair.right);
    if (!left || !right) {
      comparisons.push({ left: pair.left, right: pair.right, comparison: null, omittedMemberDifferences: 0 });
      continue;
    }
    const comparison = compareDebListings(left.listing, right.listing, {
      ...(job.sourceDateEpoch !== undefined ? { sourceDateEpoch: job.sourceDateEpoch } : {}),
      ...(job.buildPaths ? { buildPaths: job.buildPaths } : {}),
    });
    const report: PairReport = {
      left: pair.left,
      right: pair.right,
      comparison,
      omittedMemberDifferences: 0,
    };
    comparisons.push(
      job.diffoscope && !comparison.identical
        ? {
            ...report,
            diffoscope: await diffoscopeFor(job.diffoscope, index, left, right, outDir, options, notes, pair),
          }
        : report,
    );
  }
  const report = fitReport(
    { schema: INSPECTION_REPORT_SCHEMA, debs, comparisons, notes },
    job.limits.maxReportBytes,
  );
  await writeFile(join(outDir, REPORT_FILE), JSON.stringify(report));
  return report;
}

async function diffoscopeFor(
  settings: NonNullable<InspectionJob['diffoscope']>,
  index: number,
  left: { listing: DebListing; path: string },
  right: { listing: DebListing; path: string },
  outDir: string,
  options: RunJobOptions,
  notes: string[],
  pair: { left: string; right: string },
): Promise<DiffoscopeOutcome> {
  const name = `${pair.left} vs ${pair.right}`;
  if (!options.diffoscopePath) {
    notes.push(`diffoscope is not installed; no HTML report for ${name}`);
    return { status: 'unavailable', detail: 'diffoscope is not installed in the inspection environment' };
  }
  const hazard = resourceHazard(left.listing) ?? resourceHazard(right.listing);
  if (hazard) {
    notes.push(`diffoscope skipped for ${name}: a .deb has a ${hazard} hazard`);
    return { status: 'skipped', detail: `a .deb has a ${hazard} hazard` };
  }
  const fileName = `diffoscope-${index + 1}.html`;
  const outcome = await runDiffoscope({
    jobDiffoscope: settings,
    command: options.diffoscopePath,
    outFile: join(outDir, fileName),
    fileName,
    left: left.path,
    right: right.path,
  });
  if (outcome.status === 'timeout')
    notes.push(`diffoscope timed out for ${name} after ${settings.timeoutSeconds} s`);
  if (outcome.status === 'failed') notes.push(`diffoscope failed for ${name}`);
  return outcome;
}
