// Checks report.json, what the worker's inspection container says, field by field as hostile data:
// the worker checks it on the way out of the container, the coordinator again inside the result.
import {
  arr,
  bad,
  bool,
  deepFreeze,
  int,
  type Json,
  obj,
  oneOf,
  str,
  strictJson,
} from './inspection-json-checks.ts';
import {
  INSPECTION_REPORT_SCHEMA,
  type InspectionReport,
  LABEL_PATTERN,
  MAX_BUILD_PATHS,
  MAX_JOB_DEBS,
  MAX_JOB_PAIRS,
} from './inspection-report-format.ts';

/** Nesting of report.json: $ › comparisons › pair › comparison › members › member › left › gzipHeader is 8. */
export const REPORT_MAX_DEPTH = 16;

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
