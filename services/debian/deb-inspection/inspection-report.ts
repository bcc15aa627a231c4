// The boundary for what the inspection container says: its report.json (InspectionReport) and the
// worker's rbnet.deb-inspection-result/v1 byproduct around it, checked field by field as hostile data.
import { RbnetError } from '../../errors.ts';
import { parseStrictJson } from '../../strict-json.ts';
import {
  INSPECTION_REPORT_SCHEMA,
  type InspectionReport,
  LABEL_PATTERN,
  MAX_BUILD_PATHS,
  MAX_JOB_DEBS,
  MAX_JOB_PAIRS,
} from './inspect-main.ts';

/** The `schema` of the worker's `rbnet/deb-inspection.json` byproduct. */
export const DEB_INSPECTION_RESULT_SCHEMA = 'rbnet.deb-inspection-result/v1';

/** The byproduct name the worker gives its inspection result. */
export const DEB_INSPECTION_BYPRODUCT_NAME = 'rbnet/deb-inspection.json';

/** Byproduct names of diffoscope HTML reports: `rbnet/diffoscope-<n>.html`, n from 1. */
export const DIFFOSCOPE_BYPRODUCT_PATTERN = /^rbnet\/diffoscope-[1-9][0-9]{0,2}\.html$/;

/** Largest inspection result read: the worker's 32 MiB report cap plus room for the wrapper. */
export const maxDebInspectionResultBytesDefault = 33 * 1024 ** 2;

/** Nesting of report.json: $ › comparisons › pair › comparison › members › member › left › gzipHeader is 8. */
const REPORT_MAX_DEPTH = 16;

/** A report or inspection result was refused; the message starts with the JSON path of the field. */
export class InspectionReportError extends RbnetError<
  'INSPECTION_REPORT_INVALID' | 'INSPECTION_REPORT_TOO_LARGE'
> {}

/** What the report must answer, when the caller knows the job it was made for. */
export interface InspectionReportExpectations {
  /** The .deb labels, in job order: the report's `debs` must name exactly these. */
  readonly labels?: readonly string[];
  /** The pairs, in job order: the report's `comparisons` must name exactly these. */
  readonly pairs?: readonly { readonly left: string; readonly right: string }[];
  /** The strings searched for: `foundStrings` may only name these. Unknown: any up to 16 strings. */
  readonly buildPaths?: readonly string[];
  /** Whether diffoscope was asked for; unknown: diffoscope outcomes are accepted. */
  readonly diffoscope?: boolean;
}

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

type Json = Record<string, unknown>;

function bad(path: string, what: string): never {
  throw new InspectionReportError('INSPECTION_REPORT_INVALID', `${path}: ${what}`);
}

function obj(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be an object');
  const o = v as Json;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) bad(`${path}.${k}`, 'unknown field');
  for (const k of required) if (!Object.hasOwn(o, k)) bad(`${path}.${k}`, 'missing');
  return o;
}

function str(v: unknown, path: string, maxLength = 8192): string {
  if (typeof v !== 'string' || v.length > maxLength)
    bad(path, `must be a string of at most ${maxLength} characters`);
  return v;
}

function int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    bad(path, `must be an integer in ${min}..${max}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') bad(path, 'must be true or false');
  return v;
}

function arr(v: unknown, path: string, max = 10_000_000): unknown[] {
  if (!Array.isArray(v) || v.length > max) bad(path, `must be an array of at most ${max} items`);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) bad(path, `must be one of ${values.join(', ')}`);
  return v as T;
}

const SHA256 = /^[0-9a-f]{64}$/;
const COMPRESSIONS = ['none', 'gzip', 'xz', 'zstd', 'bzip2'] as const;
const AREAS = ['control', 'data'] as const;
const MEMBER_TYPES = [
  'file',
  'hardlink',
  'symlink',
  'directory',
  'char-device',
  'block-device',
  'fifo',
  'other',
] as const;
const HAZARDS = [
  'path-traversal',
  'duplicate-member',
  'too-many-members',
  'device-node',
  'name-too-long',
  'decompression-bomb',
  'timeout',
  'malformed',
] as const;
const DIFFERENCES = ['sha256', 'mode', 'owner', 'mtime', 'size', 'type', 'link'] as const;

function checkMember(v: unknown, path: string, buildPaths: readonly string[] | undefined): void {
  const m = obj(
    v,
    path,
    ['path', 'type', 'mode', 'uid', 'gid', 'uname', 'gname', 'mtimeSeconds', 'size'],
    ['sha256', 'linkTarget', 'gzipHeader', 'foundStrings'],
  );
  str(m.path, `${path}.path`);
  oneOf(m.type, `${path}.type`, MEMBER_TYPES);
  int(m.mode, `${path}.mode`, 0, 0o7777);
  int(m.uid, `${path}.uid`);
  int(m.gid, `${path}.gid`);
  str(m.uname, `${path}.uname`, 256);
  str(m.gname, `${path}.gname`, 256);
  int(m.mtimeSeconds, `${path}.mtimeSeconds`, Number.MIN_SAFE_INTEGER);
  int(m.size, `${path}.size`);
  if (m.sha256 !== undefined && !SHA256.test(str(m.sha256, `${path}.sha256`, 64)))
    bad(`${path}.sha256`, 'not a sha256');
  if (m.linkTarget !== undefined) str(m.linkTarget, `${path}.linkTarget`);
  if (m.gzipHeader !== undefined) {
    const g = obj(m.gzipHeader, `${path}.gzipHeader`, ['mtimeSeconds', 'os', 'hasName'], ['name']);
    int(g.mtimeSeconds, `${path}.gzipHeader.mtimeSeconds`, 0, 0xffffffff);
    int(g.os, `${path}.gzipHeader.os`, 0, 255);
    bool(g.hasName, `${path}.gzipHeader.hasName`);
    if (g.name !== undefined) str(g.name, `${path}.gzipHeader.name`, 255);
  }
  if (m.foundStrings !== undefined) {
    const found = arr(m.foundStrings, `${path}.foundStrings`, buildPaths?.length ?? MAX_BUILD_PATHS);
    for (const [i, s] of found.entries()) {
      const text = str(s, `${path}.foundStrings[${i}]`, 4096);
      if (buildPaths && !buildPaths.includes(text))
        bad(`${path}.foundStrings[${i}]`, 'not a string searched for');
    }
  }
}

function checkListing(v: unknown, path: string, buildPaths: readonly string[] | undefined): void {
  const l = obj(v, path, ['sha256', 'size', 'debianBinary', 'arMembers', 'control', 'data', 'hazards']);
  if (!SHA256.test(str(l.sha256, `${path}.sha256`, 64))) bad(`${path}.sha256`, 'not a sha256');
  int(l.size, `${path}.size`);
  if (l.debianBinary !== null) str(l.debianBinary, `${path}.debianBinary`, 64);
  for (const [i, n] of arr(l.arMembers, `${path}.arMembers`, 16).entries())
    str(n, `${path}.arMembers[${i}]`, 16);
  for (const area of AREAS) {
    if (l[area] === null) continue;
    const at = `${path}.${area}`;
    const a = obj(l[area], at, [
      'member',
      'compression',
      'compressedSize',
      'decompressedSize',
      'complete',
      'members',
    ]);
    str(a.member, `${at}.member`, 16);
    oneOf(a.compression, `${at}.compression`, COMPRESSIONS);
    int(a.compressedSize, `${at}.compressedSize`);
    int(a.decompressedSize, `${at}.decompressedSize`);
    bool(a.complete, `${at}.complete`);
    for (const [i, m] of arr(a.members, `${at}.members`).entries())
      checkMember(m, `${at}.members[${i}]`, buildPaths);
  }
  for (const [i, h] of arr(l.hazards, `${path}.hazards`).entries()) {
    const at = `${path}.hazards[${i}]`;
    const o = obj(h, at, ['kind', 'member', 'detail'], ['path']);
    oneOf(o.kind, `${at}.kind`, HAZARDS);
    str(o.member, `${at}.member`, 16);
    if (o.path !== undefined) str(o.path, `${at}.path`, 260);
    str(o.detail, `${at}.detail`);
  }
}

function checkComparison(v: unknown, path: string, buildPaths: readonly string[] | undefined): void {
  const c = obj(v, path, [
    'identical',
    'arMembersDiffer',
    'compressionDiffers',
    'members',
    'orderDiffers',
    'hints',
  ]);
  bool(c.identical, `${path}.identical`);
  bool(c.arMembersDiffer, `${path}.arMembersDiffer`);
  for (const [i, d] of arr(c.compressionDiffers, `${path}.compressionDiffers`, 2).entries()) {
    const at = `${path}.compressionDiffers[${i}]`;
    const o = obj(d, at, ['area', 'left', 'right']);
    oneOf(o.area, `${at}.area`, AREAS);
    for (const side of ['left', 'right'] as const)
      if (o[side] !== null) oneOf(o[side], `${at}.${side}`, COMPRESSIONS);
  }
  for (const [i, m] of arr(c.members, `${path}.members`).entries()) {
    const at = `${path}.members[${i}]`;
    const o = obj(m, at, ['area', 'path', 'differences'], ['only', 'left', 'right']);
    oneOf(o.area, `${at}.area`, AREAS);
    str(o.path, `${at}.path`);
    if (o.only !== undefined) oneOf(o.only, `${at}.only`, ['left', 'right'] as const);
    for (const [j, d] of arr(o.differences, `${at}.differences`, DIFFERENCES.length).entries()) {
      oneOf(d, `${at}.differences[${j}]`, DIFFERENCES);
    }
    if (o.left !== undefined) checkMember(o.left, `${at}.left`, buildPaths);
    if (o.right !== undefined) checkMember(o.right, `${at}.right`, buildPaths);
    if (o.left === undefined && o.right === undefined) bad(at, 'names neither side');
  }
  for (const [i, o] of arr(c.orderDiffers, `${path}.orderDiffers`, 2).entries()) {
    oneOf(obj(o, `${path}.orderDiffers[${i}]`, ['area']).area, `${path}.orderDiffers[${i}].area`, AREAS);
  }
  for (const [i, h] of arr(c.hints, `${path}.hints`, 64).entries()) str(h, `${path}.hints[${i}]`, 256 * 1024);
}

function checkDiffoscope(v: unknown, path: string, pairIndex: number): void {
  const status = oneOf(
    obj(v, path, ['status'], ['file', 'bytes', 'exitCode', 'truncated', 'detail']).status,
    `${path}.status`,
    ['written', 'timeout', 'failed', 'skipped', 'unavailable'] as const,
  );
  const o = v as Json;
  if (status === 'written') {
    obj(v, path, ['status', 'file', 'bytes', 'exitCode', 'truncated']);
    if (o.file !== `diffoscope-${pairIndex + 1}.html`)
      bad(`${path}.file`, `must be diffoscope-${pairIndex + 1}.html`);
    int(o.bytes, `${path}.bytes`);
    int(o.exitCode, `${path}.exitCode`, 0, 1);
    bool(o.truncated, `${path}.truncated`);
  } else {
    obj(v, path, ['status', 'detail']);
    str(o.detail, `${path}.detail`);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Checks an untrusted report.json value (already parsed, e.g. by parseStrictJson) field by field.
 * With `expected`, the .debs and pairs must be exactly the ones asked for, in order; without it,
 * labels must be well-formed and unique and every pair must name two of them. `at` is the JSON path
 * of `value` in its document, for the messages. The value is frozen in place and returned.
 *
 * @throws InspectionReportError INSPECTION_REPORT_INVALID; the message starts with the field's path.
 */
export function parseInspectionReport(
  value: unknown,
  expected: InspectionReportExpectations = {},
  at = '$',
): InspectionReport {
  const r = obj(value, at, ['schema', 'debs', 'comparisons', 'notes']);
  if (r.schema !== INSPECTION_REPORT_SCHEMA) bad(`${at}.schema`, `must be "${INSPECTION_REPORT_SCHEMA}"`);
  const buildPaths = expected.buildPaths;
  const labels = expected.labels;
  const debs = arr(r.debs, `${at}.debs`, labels?.length ?? MAX_JOB_DEBS);
  if (labels && debs.length !== labels.length) bad(`${at}.debs`, `must have ${labels.length} entries`);
  const seen = new Set<string>();
  for (const [i, entry] of debs.entries()) {
    const where = `${at}.debs[${i}]`;
    const e = obj(entry, where, ['label'], ['listing', 'membersOmitted', 'error']);
    if (labels) {
      if (e.label !== labels[i]) bad(`${where}.label`, `must be "${labels[i]}"`);
    } else {
      const label = str(e.label, `${where}.label`, 64);
      if (!LABEL_PATTERN.test(label)) bad(`${where}.label`, `must match ${LABEL_PATTERN}`);
      if (seen.has(label)) bad(`${where}.label`, `"${label}" is used twice`);
    }
    seen.add(e.label as string);
    if (e.error !== undefined) {
      obj(entry, where, ['label', 'error']);
      const err = obj(e.error, `${where}.error`, ['code', 'message']);
      str(err.code, `${where}.error.code`, 64);
      str(err.message, `${where}.error.message`);
    } else {
      obj(entry, where, ['label', 'listing', 'membersOmitted']);
      checkListing(e.listing, `${where}.listing`, buildPaths);
      bool(e.membersOmitted, `${where}.membersOmitted`);
    }
  }
  const asked = expected.pairs;
  const pairs = arr(r.comparisons, `${at}.comparisons`, asked?.length ?? MAX_JOB_PAIRS);
  if (asked && pairs.length !== asked.length) bad(`${at}.comparisons`, `must have ${asked.length} entries`);
  for (const [i, pair] of pairs.entries()) {
    const where = `${at}.comparisons[${i}]`;
    const p = obj(pair, where, ['left', 'right', 'comparison', 'omittedMemberDifferences'], ['diffoscope']);
    if (asked) {
      if (p.left !== asked[i]!.left || p.right !== asked[i]!.right)
        bad(where, 'names another pair than asked');
    } else {
      for (const side of ['left', 'right'] as const) {
        if (typeof p[side] !== 'string' || !seen.has(p[side] as string))
          bad(`${where}.${side}`, 'must be the label of one of the .debs');
      }
    }
    if (p.comparison !== null) checkComparison(p.comparison, `${where}.comparison`, buildPaths);
    int(p.omittedMemberDifferences, `${where}.omittedMemberDifferences`);
    if (p.diffoscope !== undefined) {
      if (expected.diffoscope === false) bad(`${where}.diffoscope`, 'diffoscope was not asked for');
      checkDiffoscope(p.diffoscope, `${where}.diffoscope`, i);
    }
  }
  for (const [i, n] of arr(r.notes, `${at}.notes`, 256).entries()) str(n, `${at}.notes[${i}]`, 4096);
  return deepFreeze(r as unknown as InspectionReport);
}

/** Parses report.json text: strict JSON (no duplicate keys, at most 16 levels deep), then parseInspectionReport. */
export function parseInspectionReportText(
  text: string,
  expected: InspectionReportExpectations = {},
): InspectionReport {
  return parseInspectionReport(strictJson(text, REPORT_MAX_DEPTH), expected);
}

function strictJson(text: string, maxDepth: number): unknown {
  try {
    return parseStrictJson(text, { maxDepth });
  } catch (cause) {
    throw new InspectionReportError(
      'INSPECTION_REPORT_INVALID',
      `not strict JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
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
