// Entry point that runs inside the inspection container: reads a job file, inspects and compares the
// .debs, optionally runs diffoscope per differing pair, and writes report.json (size-capped). Node 18.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, realpathSync } from 'node:fs';
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RbnetError } from '../../errors.ts';
import { parseStrictJson } from '../../strict-json.ts';
import { compareDebListings, type DebComparison } from './compare-deb-listings.ts';
import { type DebListing, inspectDeb } from './inspect-deb.ts';

/** The `schema` of report.json. */
export const INSPECTION_REPORT_SCHEMA = 'rbnet.deb-inspection-report/v1';
/** Name of the report in the output directory. */
export const REPORT_FILE = 'report.json';
/** Largest job file read. */
export const JOB_MAX_BYTES = 1024 * 1024;

/** Labels name the .debs in the job and the report: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Most .debs, pairs and build paths one job may name. */
export const MAX_JOB_DEBS = 16;
export const MAX_JOB_PAIRS = 32;
export const MAX_BUILD_PATHS = 16;

export interface InspectionJobLimits {
  /** Bytes control.tar and data.tar of one .deb may expand to together. */
  readonly maxDecompressedBytes: number;
  /** Tar entries listed per member. */
  readonly maxMembers: number;
  /** Wall time per .deb, milliseconds. */
  readonly timeoutMs: number;
  /** Largest report.json; listings and then member differences are cut to fit. */
  readonly maxReportBytes: number;
}

/** What the host asks the container to do (job.json); paths are inside the container. */
export interface InspectionJob {
  readonly debs: readonly { readonly label: string; readonly path: string }[];
  readonly compare: readonly { readonly left: string; readonly right: string }[];
  /** Seconds since the epoch. */
  readonly sourceDateEpoch?: number;
  readonly buildPaths?: readonly string[];
  readonly limits: InspectionJobLimits;
  /** Run diffoscope on each differing pair (when the binary exists). */
  readonly diffoscope?: { readonly timeoutSeconds: number; readonly maxOutputBytes: number };
}

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

/** A job file the inspector refuses (our own host wrote it, so this is a bug or tampering). */
export class InspectionJobError extends RbnetError<'INSPECTION_JOB_INVALID'> {}

type Json = Record<string, unknown>;

function fail(field: string, message: string): never {
  throw new InspectionJobError('INSPECTION_JOB_INVALID', `${field}: ${message}`);
}

function objectAt(value: unknown, field: string, keys: readonly string[], required: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object');
  const record = value as Json;
  for (const key of Object.keys(record)) if (!keys.includes(key)) fail(`${field}.${key}`, 'unknown field');
  for (const key of required) if (!(key in record)) fail(`${field}.${key}`, 'missing');
  return record;
}

function intAt(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(field, `must be an integer in ${min}..${max}`);
  }
  return value;
}

function stringAt(value: unknown, field: string, maxBytes: number, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > maxBytes) {
    fail(field, `must be a string of 1..${maxBytes} bytes`);
  }
  if (pattern && !pattern.test(value)) fail(field, `must match ${pattern}`);
  return value;
}

function arrayAt(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length > max) fail(field, `must be an array of at most ${max} items`);
  return value;
}

/**
 * Parses and checks a job file: strict JSON, known fields only, labels unique and well-formed, pairs
 * naming known labels, integers in range.
 *
 * @throws InspectionJobError INSPECTION_JOB_INVALID naming the field; ManifestError MANIFEST_JSON for bad JSON.
 */
export function parseInspectionJob(text: string): InspectionJob {
  const root = objectAt(
    parseStrictJson(text, { maxDepth: 8 }),
    '$',
    ['debs', 'compare', 'sourceDateEpoch', 'buildPaths', 'limits', 'diffoscope'],
    ['debs', 'compare', 'limits'],
  );
  const labels = new Set<string>();
  const debs = arrayAt(root.debs, '$.debs', MAX_JOB_DEBS).map((item, i) => {
    const deb = objectAt(item, `$.debs[${i}]`, ['label', 'path'], ['label', 'path']);
    const label = stringAt(deb.label, `$.debs[${i}].label`, 64, LABEL_PATTERN);
    if (labels.has(label)) fail(`$.debs[${i}].label`, `"${label}" is used twice`);
    labels.add(label);
    return Object.freeze({ label, path: stringAt(deb.path, `$.debs[${i}].path`, 4096) });
  });
  if (debs.length === 0) fail('$.debs', 'must name at least one .deb');
  const compare = arrayAt(root.compare, '$.compare', MAX_JOB_PAIRS).map((item, i) => {
    const pair = objectAt(item, `$.compare[${i}]`, ['left', 'right'], ['left', 'right']);
    const side = (key: 'left' | 'right') => {
      const label = stringAt(pair[key], `$.compare[${i}].${key}`, 64, LABEL_PATTERN);
      if (!labels.has(label)) fail(`$.compare[${i}].${key}`, `no .deb is labelled "${label}"`);
      return label;
    };
    return Object.freeze({ left: side('left'), right: side('right') });
  });
  const limitKeys = ['maxDecompressedBytes', 'maxMembers', 'timeoutMs', 'maxReportBytes'] as const;
  const rawLimits = objectAt(root.limits, '$.limits', limitKeys, limitKeys);
  const limits = Object.freeze({
    maxDecompressedBytes: intAt(rawLimits.maxDecompressedBytes, '$.limits.maxDecompressedBytes', 1),
    maxMembers: intAt(rawLimits.maxMembers, '$.limits.maxMembers', 1, 10_000_000),
    timeoutMs: intAt(rawLimits.timeoutMs, '$.limits.timeoutMs', 1, 24 * 3600 * 1000),
    maxReportBytes: intAt(rawLimits.maxReportBytes, '$.limits.maxReportBytes', 4096, 1024 ** 3),
  });
  const job: {
    -readonly [K in keyof InspectionJob]: InspectionJob[K];
  } = { debs: Object.freeze(debs), compare: Object.freeze(compare), limits };
  if (root.sourceDateEpoch !== undefined) {
    job.sourceDateEpoch = intAt(root.sourceDateEpoch, '$.sourceDateEpoch', 0);
  }
  if (root.buildPaths !== undefined) {
    job.buildPaths = Object.freeze(
      arrayAt(root.buildPaths, '$.buildPaths', MAX_BUILD_PATHS).map((p, i) =>
        stringAt(p, `$.buildPaths[${i}]`, 4096),
      ),
    );
  }
  if (root.diffoscope !== undefined) {
    const d = objectAt(
      root.diffoscope,
      '$.diffoscope',
      ['timeoutSeconds', 'maxOutputBytes'],
      ['timeoutSeconds', 'maxOutputBytes'],
    );
    job.diffoscope = Object.freeze({
      timeoutSeconds: intAt(d.timeoutSeconds, '$.diffoscope.timeoutSeconds', 1, 24 * 3600),
      maxOutputBytes: intAt(d.maxOutputBytes, '$.diffoscope.maxOutputBytes', 4096, 1024 ** 3),
    });
  }
  return Object.freeze(job);
}

/** Where diffoscope is, or undefined; `pathList` is a PATH value. */
export function findExecutable(name: string, pathList: string): string | undefined {
  for (const dir of pathList.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Environment facts the entry point looks up once. */
export interface RunJobOptions {
  /** Absolute path of diffoscope, when installed. */
  readonly diffoscopePath?: string;
}

const OUTPUT_TAIL_BYTES = 2048;

interface DiffoscopeRun {
  readonly jobDiffoscope: NonNullable<InspectionJob['diffoscope']>;
  readonly command: string;
  readonly outFile: string;
  readonly fileName: string;
  readonly left: string;
  readonly right: string;
}

async function runDiffoscope(run: DiffoscopeRun): Promise<DiffoscopeOutcome> {
  const limit = String(run.jobDiffoscope.maxOutputBytes);
  const args = [
    '--html',
    run.outFile,
    '--max-report-size',
    limit,
    '--max-text-report-size',
    limit,
    '--exclude-directory-metadata=no',
    run.left,
    run.right,
  ];
  // Its own process group, so a timeout kills the helpers it started (xz, readelf, …) too.
  const child = spawn(run.command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, run.jobDiffoscope.timeoutSeconds * 1000);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      keep(Buffer.from(err.message));
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  if (timedOut) {
    await rm(run.outFile, { force: true });
    return { status: 'timeout', detail: `diffoscope timed out after ${run.jobDiffoscope.timeoutSeconds} s` };
  }
  const written = await stat(run.outFile).catch(() => undefined);
  if ((exitCode !== 0 && exitCode !== 1) || !written) {
    await rm(run.outFile, { force: true });
    return { status: 'failed', detail: `diffoscope exited with ${exitCode}: ${tail.trim()}` };
  }
  const truncated = written.size > run.jobDiffoscope.maxOutputBytes;
  if (truncated) await truncate(run.outFile, run.jobDiffoscope.maxOutputBytes);
  return {
    status: 'written',
    file: run.fileName,
    bytes: truncated ? run.jobDiffoscope.maxOutputBytes : written.size,
    exitCode,
    truncated,
  };
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

function byteLength(report: InspectionReport): number {
  return Buffer.byteLength(JSON.stringify(report));
}

/**
 * Cuts the report to `maxBytes`: first the listings' member arrays go (the comparisons keep the
 * differing members), then member differences are dropped from the end of each comparison.
 */
export function fitReport(report: InspectionReport, maxBytes: number): InspectionReport {
  if (byteLength(report) <= maxBytes) return report;
  const emptied = (area: DebListing['control']) => (area ? { ...area, members: [] } : null);
  const debs = report.debs.map((entry) =>
    'listing' in entry
      ? {
          ...entry,
          listing: {
            ...entry.listing,
            control: emptied(entry.listing.control),
            data: emptied(entry.listing.data),
          },
          membersOmitted: true,
        }
      : entry,
  );
  const notes = [
    ...report.notes,
    `listings' member arrays omitted to keep the report under ${maxBytes} bytes`,
  ];
  const slim: InspectionReport = { ...report, debs, notes };
  if (byteLength(slim) <= maxBytes) return slim;
  const cut = (keep: number): InspectionReport => ({
    ...slim,
    notes: [...notes, `member differences cut to ${keep} per pair to fit ${maxBytes} bytes`],
    comparisons: report.comparisons.map((pair) => {
      if (!pair.comparison || pair.comparison.members.length <= keep) return pair;
      return {
        ...pair,
        comparison: { ...pair.comparison, members: pair.comparison.members.slice(0, keep) },
        omittedMemberDifferences: pair.comparison.members.length - keep,
      };
    }),
  });
  let low = 0;
  let high = Math.max(0, ...report.comparisons.map((p) => p.comparison?.members.length ?? 0));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (byteLength(cut(mid)) <= maxBytes) low = mid;
    else high = mid - 1;
  }
  // Even with no differences kept the report can stay too large (many pairs, long hints): the
  // container's output cap and the host's size check catch that.
  return cut(low);
}

/** `node inspector.mjs JOB.json OUT_DIR`: exit 0 with report.json written, 2 for a bad job, 1 otherwise. */
export async function main(argv: readonly string[]): Promise<number> {
  const [jobPath, outDir] = argv;
  if (!jobPath || !outDir || argv.length !== 2) {
    process.stderr.write('usage: inspector JOB.json OUT_DIR\n');
    return 2;
  }
  let job: InspectionJob;
  try {
    const text = await readFile(jobPath, 'utf8');
    if (Buffer.byteLength(text) > JOB_MAX_BYTES)
      throw new InspectionJobError('INSPECTION_JOB_INVALID', `larger than ${JOB_MAX_BYTES} bytes`);
    job = parseInspectionJob(text);
  } catch (err) {
    process.stderr.write(`inspector: job ${jobPath}: ${(err as Error).message}\n`);
    return 2;
  }
  const diffoscopePath = job.diffoscope ? findExecutable('diffoscope', process.env.PATH ?? '') : undefined;
  const report = await runInspectionJob(job, outDir, diffoscopePath ? { diffoscopePath } : {});
  process.stderr.write(
    `inspector: ${report.debs.length} .debs, ${report.comparisons.length} comparisons, report in ${join(outDir, REPORT_FILE)}\n`,
  );
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`inspector: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
