// The job file the worker's host writes for its inspection container (job.json): which .debs to list,
// which pairs to compare, the limits, and whether to run diffoscope. The container parses it strictly.

import {
  LABEL_PATTERN,
  MAX_BUILD_PATHS,
  MAX_JOB_DEBS,
  MAX_JOB_PAIRS,
} from '../../../services/debian/deb-inspection/inspection-report-format.ts';
import { RbnetError } from '../../../services/errors.ts';
import { parseStrictJson } from '../../../services/strict-json.ts';

/** Name of the report in the output directory. */
export const REPORT_FILE = 'report.json';
/** Largest job file read. */
export const JOB_MAX_BYTES = 1024 * 1024;

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
