// The worker's rbnet.deb-inspection-result/v1 byproduct (rbnet/deb-inspection.json): which .debs it
// inspected, by role and file name, and the checked report.json or why there is none; parsed as
// hostile data by the coordinator before it says anything about a build's .debs.
import {
  arr,
  bad,
  deepFreeze,
  InspectionReportError,
  type Json,
  obj,
  oneOf,
  str,
  strictJson,
} from './inspection-json-checks.ts';
import {
  type InspectionReport,
  LABEL_PATTERN,
  MAX_JOB_DEBS,
  MAX_JOB_PAIRS,
} from './inspection-report-format.ts';
import { parseInspectionReport, REPORT_MAX_DEPTH } from './parse-inspection-report.ts';

/** The `schema` of the worker's `rbnet/deb-inspection.json` byproduct. */
export const DEB_INSPECTION_RESULT_SCHEMA = 'rbnet.deb-inspection-result/v1';

/** The byproduct name the worker gives its inspection result. */
export const DEB_INSPECTION_BYPRODUCT_NAME = 'rbnet/deb-inspection.json';

/** Byproduct names of diffoscope HTML reports: `rbnet/diffoscope-<n>.html`, n from 1. */
export const DIFFOSCOPE_BYPRODUCT_PATTERN = /^rbnet\/diffoscope-[1-9][0-9]{0,2}\.html$/;

/** Largest inspection result read: the worker's 32 MiB report cap plus room for the wrapper. */
export const maxDebInspectionResultBytesDefault = 33 * 1024 ** 2;

/** Why the worker has no report: the sandbox's failure reasons, or `report-invalid`. */
export interface DebInspectionFailure {
  readonly reason: string;
  readonly detail: string;
}

/** One .deb the worker inspected: its label in the report, whether it was rebuilt or published, its file name. */
export interface DebInspectionDeb {
  readonly label: string;
  readonly role: 'rebuilt' | 'published';
  readonly file: string;
}

/** One diffoscope HTML report the worker uploaded as a byproduct. */
export interface DebInspectionDiffoscope {
  /** Labels of the compared pair (published, rebuilt). */
  readonly left: string;
  readonly right: string;
  /** Its byproduct name, `rbnet/diffoscope-<n>.html`. */
  readonly byproduct: string;
  /** Its file name in the inspection's output directory, `diffoscope-<pair>.html`. */
  readonly file: string;
}

/**
 * The worker's `rbnet/deb-inspection.json`: the .debs by role and file name, and either the checked
 * report or why there is none. Deeply frozen.
 */
export interface DebInspectionResult {
  readonly schema: typeof DEB_INSPECTION_RESULT_SCHEMA;
  readonly debs: readonly DebInspectionDeb[];
  readonly report?: InspectionReport;
  readonly failure?: DebInspectionFailure;
  readonly diffoscope: readonly DebInspectionDiffoscope[];
}

/** A .deb file name as the .buildinfo lists it (no directory, no leading dot). */
const DEB_FILE_NAME = /^[A-Za-z0-9+_~][A-Za-z0-9+.~_%:-]{0,250}\.deb$/;
const FAILURE_REASON = /^[a-z][a-z0-9-]{0,63}$/;
const ROLES = ['rebuilt', 'published'] as const;

/**
 * Parses the worker's `rbnet/deb-inspection.json` (rbnet.deb-inspection-result/v1): size first
 * (`maxBytes`, default 33 MiB), then strict JSON (no duplicate keys, at most 17 levels), then every
 * field: labels well-formed and unique, roles `rebuilt` or `published`, file names plain `.deb` names,
 * exactly one of `report` (checked by parseInspectionReport against the listed labels) and `failure`,
 * every pair comparing a published .deb with the rebuilt .deb of the same name, and every diffoscope
 * entry naming a pair whose report says diffoscope wrote that file.
 *
 * @throws InspectionReportError INSPECTION_REPORT_TOO_LARGE, or INSPECTION_REPORT_INVALID with the
 *   JSON path of the field that was wrong.
 */
export function parseDebInspectionResult(
  text: string,
  maxBytes = maxDebInspectionResultBytesDefault,
): DebInspectionResult {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxBytes) {
    throw new InspectionReportError(
      'INSPECTION_REPORT_TOO_LARGE',
      `$: ${size} bytes, over the limit of ${maxBytes}`,
    );
  }
  const value = strictJson(text, REPORT_MAX_DEPTH + 1);
  // Another schema is named as such, whatever else it holds.
  if (typeof value === 'object' && value !== null && (value as Json).schema !== DEB_INSPECTION_RESULT_SCHEMA)
    bad('$.schema', `must be "${DEB_INSPECTION_RESULT_SCHEMA}"`);
  const r = obj(value, '$', ['schema', 'debs', 'diffoscope'], ['report', 'failure']);

  const byLabel = new Map<string, DebInspectionDeb>();
  const roleFiles = new Set<string>();
  const debs = arr(r.debs, '$.debs', MAX_JOB_DEBS).map((item, i) => {
    const at = `$.debs[${i}]`;
    const d = obj(item, at, ['label', 'role', 'file']);
    const label = str(d.label, `${at}.label`, 64);
    if (!LABEL_PATTERN.test(label)) bad(`${at}.label`, `must match ${LABEL_PATTERN}`);
    if (byLabel.has(label)) bad(`${at}.label`, `"${label}" is used twice`);
    const role = oneOf(d.role, `${at}.role`, ROLES);
    const file = str(d.file, `${at}.file`, 255);
    if (!DEB_FILE_NAME.test(file)) bad(`${at}.file`, 'must be a plain .deb file name');
    if (roleFiles.has(`${role}/${file}`)) bad(at, `the ${role} ${file} is listed twice`);
    roleFiles.add(`${role}/${file}`);
    const deb = { label, role, file };
    byLabel.set(label, deb);
    return deb;
  });
  if (debs.length === 0) bad('$.debs', 'must name at least one .deb');

  if ((r.report === undefined) === (r.failure === undefined))
    bad('$', 'must have exactly one of report and failure');
  let report: InspectionReport | undefined;
  if (r.report !== undefined) {
    report = parseInspectionReport(r.report, { labels: debs.map((d) => d.label) }, '$.report');
    for (const [i, pair] of report.comparisons.entries()) {
      const left = byLabel.get(pair.left)!;
      const right = byLabel.get(pair.right)!;
      if (left.role !== 'published' || right.role !== 'rebuilt' || left.file !== right.file)
        bad(`$.report.comparisons[${i}]`, 'must compare a published .deb with the rebuilt .deb of that name');
    }
  } else {
    const f = obj(r.failure, '$.failure', ['reason', 'detail']);
    if (!FAILURE_REASON.test(str(f.reason, '$.failure.reason', 64)))
      bad('$.failure.reason', `must match ${FAILURE_REASON}`);
    str(f.detail, '$.failure.detail', 16_384);
  }

  const diffoscope = arr(r.diffoscope, '$.diffoscope', report ? MAX_JOB_PAIRS : 0);
  const pairsSeen = new Set<number>();
  for (const [i, item] of diffoscope.entries()) {
    const at = `$.diffoscope[${i}]`;
    const d = obj(item, at, ['left', 'right', 'byproduct', 'file']);
    const pairIndex = report!.comparisons.findIndex((p) => p.left === d.left && p.right === d.right);
    if (pairIndex < 0) bad(at, 'names a pair the report does not compare');
    if (pairsSeen.has(pairIndex)) bad(at, 'names a pair twice');
    pairsSeen.add(pairIndex);
    const outcome = report!.comparisons[pairIndex]!.diffoscope;
    if (outcome?.status !== 'written') bad(at, 'the report says diffoscope wrote no file for this pair');
    if (d.file !== outcome.file) bad(`${at}.file`, `must be "${outcome.file}"`);
    if (d.byproduct !== `rbnet/diffoscope-${i + 1}.html`)
      bad(`${at}.byproduct`, `must be "rbnet/diffoscope-${i + 1}.html"`);
  }
  return deepFreeze(r as unknown as DebInspectionResult);
}
