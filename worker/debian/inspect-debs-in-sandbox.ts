// Runs the .deb inspector in a single-use hermetic container (no network, no capabilities, tight
// limits) and reads back its report as untrusted data: what parsed hostile bytes cannot be believed.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DebComparison } from '../../services/debian/deb-inspection/compare-deb-listings.ts';
import {
  type InspectionJob,
  type InspectionReport,
  parseInspectionJob,
} from '../../services/debian/deb-inspection/inspect-main.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { CancelledError, InputError, InspectionError, RbnetError } from '../../services/errors.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { Manifest, ManifestInput } from '../../services/manifest/manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { parseStrictJson } from '../../services/strict-json.ts';
import { resolveEnvironment } from '../environment/environment-registry.ts';
import type { InputSource, OpenedInput } from '../inputs/input-source.ts';
import { defaultRunnerLimits, type RunnerLimits } from '../runner-limits.ts';
import type { BuildFailureReason, DockerSandbox } from '../sandbox/docker-sandbox.ts';
import type { InspectorBundle } from './inspector-bundle.ts';

/** Limits of one inspection container. Every field has its unit in its name. */
export interface InspectionSandboxLimits {
  /** Wall time of the whole container (all .debs, all pairs, diffoscope included). */
  readonly timeoutSeconds: number;
  readonly memoryBytes: number;
  /** Bytes the container may write besides its inputs (diffoscope unpacks into /tmp). */
  readonly diskBytes: number;
  readonly pidsLimit: number;
  /** CPU quota in units of 1e-9 CPUs. */
  readonly nanoCpus: number;
  /** Sum of the sizes of the .debs. */
  readonly maxDebBytes: number;
  /** Per .deb: bytes control.tar and data.tar may expand to together. */
  readonly maxDecompressedBytes: number;
  /** Per tar: entries listed. */
  readonly maxMembers: number;
  /** Per .deb inspection wall time. */
  readonly perDebTimeoutMs: number;
  readonly maxReportBytes: number;
  readonly maxLogBytes: number;
}

/** 15 min, 1 GiB memory, 4 GiB disk, 4 GiB .debs and per-.deb expansion, 5 min per .deb, 32 MiB report. */
export const defaultInspectionSandboxLimits: InspectionSandboxLimits = Object.freeze({
  timeoutSeconds: 900,
  memoryBytes: 1024 ** 3,
  diskBytes: 4 * 1024 ** 3,
  pidsLimit: 128,
  nanoCpus: 1_000_000_000,
  maxDebBytes: 4 * 1024 ** 3,
  maxDecompressedBytes: 4 * 1024 ** 3,
  maxMembers: 100_000,
  perDebTimeoutMs: 5 * 60 * 1000,
  maxReportBytes: 32 * 1024 ** 2,
  maxLogBytes: 256 * 1024,
});

/** Everything one sandboxed inspection needs; the engine-facing parts are passed in, never made here. */
export interface InspectDebsArgs {
  readonly sandbox: DockerSandbox;
  readonly docker: Docker;
  readonly stateDir: string;
  readonly limits?: Partial<InspectionSandboxLimits>;
  readonly workerId: string;
  /** Labels match [A-Za-z0-9][A-Za-z0-9._-]{0,63}; paths are host files. */
  readonly debs: readonly { readonly label: string; readonly path: string }[];
  readonly compare: readonly { readonly left: string; readonly right: string }[];
  /** Seconds since the epoch, for the mtime hints. */
  readonly sourceDateEpoch?: number;
  /** Build directories to look for in differing members. */
  readonly buildPaths?: readonly string[];
  /** Asks for diffoscope-<n>.html per differing pair. */
  readonly diffoscope?: { readonly timeoutSeconds: number; readonly maxOutputBytes: number };
  readonly bundle: InspectorBundle;
  /** The environment built by infra/build-env-inspect.sh. */
  readonly inspectionImageSha256: string;
  /** Empty or missing directory; receives job.json, inspect.log and outputs/. */
  readonly outDir: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** Why there is no report: the sandbox's build failure reasons, or a report that failed the host's checks. */
export type InspectionFailureReason = BuildFailureReason | 'report-invalid';

/** What came of the inspection: a report checked on the host, or why there is none. */
export type InspectionOutcome =
  | { readonly kind: 'inspected'; readonly report: InspectionReport }
  | { readonly kind: 'failed'; readonly reason: InspectionFailureReason; readonly detail: string };

/** The result of inspectDebsInSandbox. */
export interface SandboxInspection {
  readonly report: InspectionOutcome;
  /** Host paths of the diffoscope reports the container wrote, by pair. */
  readonly diffoscopeHtml: readonly {
    readonly pair: { left: string; right: string };
    readonly path: string;
  }[];
  /** The container's capped output. */
  readonly logPath: string;
}

const BUILD_PATH = '/build/inspect';
const JOB_FILE = 'job.json';
const BUNDLE_FILE = 'inspector.mjs';
const OUTPUT_DIR = 'out';

/** Serves exactly the files of one inspection, by input path; nothing else is reachable. */
class FixedFilesInputSource implements InputSource {
  constructor(private readonly files: ReadonlyMap<string, string>) {}

  async open(input: ManifestInput): Promise<OpenedInput> {
    const hostPath = this.files.get(input.path);
    if (!hostPath)
      throw new InputError('INPUT_MISSING', `inputs "${input.path}": not part of this inspection`);
    const handle = await open(hostPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(
      (cause: unknown) => {
        throw new InputError('INPUT_MISSING', `inputs "${input.path}": cannot open ${hostPath}`, { cause });
      },
    );
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new InputError('INPUT_PATH', `inputs "${input.path}": ${hostPath} is not a regular file`);
    }
    return { stream: handle.createReadStream(), sizeBytes: stat.size };
  }
}

function hostArchitecture(): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', ia32: 'i386', ppc64: 'ppc64el', s390x: 's390x' } as Record<
        string,
        string
      >
    )[process.arch] ?? process.arch
  );
}

/**
 * Inspects `debs` and compares the `compare` pairs inside the inspection environment: synthesizes a
 * generic manifest (inputs: the bundle, the .debs, job.json; argv: node inspector.mjs job.json out),
 * runs it through `sandbox` (which brings no network, dropped capabilities and the limits) and reads
 * `out/report.json` with a size cap, strict JSON and a full shape check.
 *
 * A container that fails (time, memory, disk, exit code) or a report that does not check out gives
 * `report.kind === 'failed'` with the reason: hostile content never throws.
 *
 * @throws InspectionError INSPECTION_FAILED for infrastructure failures (engine, environment, inputs,
 *   bad arguments); CancelledError when `signal` aborts.
 */
export async function inspectDebsInSandbox(args: InspectDebsArgs): Promise<SandboxInspection> {
  try {
    return await inspect(args);
  } catch (err) {
    if (err instanceof CancelledError || err instanceof InspectionError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof RbnetError ? `${err.code}: ` : '';
    throw new InspectionError(
      'INSPECTION_FAILED',
      `inspecting .debs in the sandbox failed: ${code}${message}`,
      {
        cause: err,
      },
    );
  }
}

async function inspect(args: InspectDebsArgs): Promise<SandboxInspection> {
  const limits = { ...defaultInspectionSandboxLimits, ...(args.limits ?? {}) };
  const log = args.logger.child({ workerId: args.workerId, inspection: args.outDir });
  await mkdir(args.outDir, { recursive: true });
  if ((await readdir(args.outDir)).length > 0) {
    throw new InspectionError(
      'INSPECTION_FAILED',
      `${args.outDir} is not empty; give each inspection a new directory`,
    );
  }
  const job: InspectionJob = {
    debs: args.debs.map((d) => ({ label: d.label, path: debInputPath(d.label) })),
    compare: args.compare,
    ...(args.sourceDateEpoch !== undefined ? { sourceDateEpoch: args.sourceDateEpoch } : {}),
    ...(args.buildPaths ? { buildPaths: args.buildPaths } : {}),
    limits: {
      maxDecompressedBytes: limits.maxDecompressedBytes,
      maxMembers: limits.maxMembers,
      timeoutMs: limits.perDebTimeoutMs,
      maxReportBytes: limits.maxReportBytes,
    },
    ...(args.diffoscope ? { diffoscope: args.diffoscope } : {}),
  };
  const jobText = JSON.stringify(job);
  try {
    parseInspectionJob(jobText);
  } catch (cause) {
    throw new InspectionError(
      'INSPECTION_FAILED',
      `invalid inspection request: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const jobPath = join(args.outDir, JOB_FILE);
  await writeFile(jobPath, jobText);

  const files = new Map<string, string>([
    [BUNDLE_FILE, args.bundle.path],
    [JOB_FILE, jobPath],
  ]);
  const inputs: ManifestInput[] = [
    input(BUNDLE_FILE, args.bundle.sha256),
    input(JOB_FILE, sha256Hex(jobText)),
  ];
  let debBytes = 0;
  for (const deb of args.debs) {
    const path = debInputPath(deb.label);
    const { sha256, sizeBytes } = await sha256File(deb.path).catch((cause: unknown) => {
      throw new InspectionError('INSPECTION_FAILED', `cannot read ${deb.path} (${deb.label})`, { cause });
    });
    debBytes += sizeBytes;
    files.set(path, deb.path);
    inputs.push(input(path, sha256));
  }
  if (debBytes > limits.maxDebBytes) {
    throw new InspectionError(
      'INSPECTION_FAILED',
      `the .debs total ${debBytes} bytes, over the limit of ${limits.maxDebBytes}`,
    );
  }

  const manifest = inspectionManifest(args.inspectionImageSha256 as Sha256Hex, inputs, limits.timeoutSeconds);
  const environment = await resolveEnvironment(args.docker, args.stateDir, manifest.environment.imageSha256);
  const maxHtmlBytes = args.diffoscope ? args.diffoscope.maxOutputBytes * args.compare.length : 0;
  const runnerLimits: RunnerLimits = {
    ...defaultRunnerLimits,
    maxBuildTimeSeconds: limits.timeoutSeconds,
    memoryBytes: limits.memoryBytes,
    nanoCpus: limits.nanoCpus,
    pidsLimit: limits.pidsLimit,
    // The inputs are copied into the container's writable layer, so they count against its quota.
    diskBytes: limits.diskBytes + debBytes,
    maxLogBytes: limits.maxLogBytes,
    maxOutputBytes: limits.maxReportBytes + maxHtmlBytes,
    maxOutputEntries: args.compare.length + 2,
    maxInputBytes: debBytes + 64 * 1024 ** 2,
  };
  const logPath = join(args.outDir, 'inspect.log');
  const outputsDir = join(args.outDir, 'outputs');
  log.info({ debs: args.debs.length, pairs: args.compare.length }, 'deb inspection starting');
  const outcome = await args.sandbox.run({
    manifest,
    manifestSha256: sha256Hex(canonicalizeJcs(manifest)),
    environment,
    inputs: new FixedFilesInputSource(files),
    limits: runnerLimits,
    workerId: args.workerId,
    logPath,
    outputsDir,
    ...(args.signal ? { signal: args.signal } : {}),
  });
  if (outcome.kind === 'failed') {
    log.warn({ reason: outcome.reason, detail: outcome.detail }, 'deb inspection failed');
    return {
      report: { kind: 'failed', reason: outcome.reason, detail: `inspection failed: ${outcome.detail}` },
      diffoscopeHtml: [],
      logPath,
    };
  }
  const captured = new Set(outcome.outputs.map((o) => o.path));
  let report: InspectionReport;
  try {
    if (!captured.has('report.json')) throw new ReportInvalid('the container wrote no report.json');
    const bytes = await readBoundedFile(
      join(outputsDir, 'report.json'),
      limits.maxReportBytes,
      'report.json',
    );
    report = checkReport(parseStrictJson(bytes.toString('utf8'), { maxDepth: 16 }), job);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    log.warn({ detail }, 'deb inspection report refused');
    return {
      report: { kind: 'failed', reason: 'report-invalid', detail: `inspection report refused: ${detail}` },
      diffoscopeHtml: [],
      logPath,
    };
  }
  const diffoscopeHtml = report.comparisons.flatMap((pair) =>
    pair.diffoscope?.status === 'written' && captured.has(pair.diffoscope.file)
      ? [{ pair: { left: pair.left, right: pair.right }, path: join(outputsDir, pair.diffoscope.file) }]
      : [],
  );
  log.info({ htmlReports: diffoscopeHtml.length }, 'deb inspection finished');
  return { report: { kind: 'inspected', report }, diffoscopeHtml, logPath };
}

/** Labels are checked against LABEL_PATTERN first, so this is a plain file name (and diffoscope shows it). */
function debInputPath(label: string): string {
  return `debs/${label}.deb`;
}

function input(path: string, sha256: string): ManifestInput {
  return Object.freeze({
    path,
    sha256: sha256 as Sha256Hex,
    location: { kind: 'path' as const, relativePath: path },
    mode: 0o644,
  });
}

function inspectionManifest(
  imageSha256: Sha256Hex,
  inputs: readonly ManifestInput[],
  timeLimitSeconds: number,
): Manifest {
  return Object.freeze({
    schema: 'rbnet.manifest/v1',
    name: 'deb-inspection',
    architecture: hostArchitecture(),
    backend: 'generic',
    environment: Object.freeze({
      imageSha256,
      env: Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/build', TMPDIR: '/tmp' }),
      locale: 'C.UTF-8',
      timezone: 'UTC',
      umask: 0o022,
      uid: 1000,
      gid: 1000,
      hostname: 'rbnet-inspect',
      buildPath: BUILD_PATH,
      sourceDateEpoch: 0,
    }),
    inputs: Object.freeze([...inputs]),
    build: Object.freeze({
      argv: Object.freeze(['/usr/bin/node', BUNDLE_FILE, JOB_FILE, OUTPUT_DIR]),
      workingDir: '.',
      timeLimitSeconds,
    }),
    outputDir: OUTPUT_DIR,
    claimedOutputs: Object.freeze([]),
    resources: Object.freeze({}),
  }) as Manifest;
}

// ---------------------------------------------------------------- the report, checked on the host

/** The report failed a check; the message names the JSON path. */
class ReportInvalid extends Error {}

type Json = Record<string, unknown>;

function bad(path: string, what: string): never {
  throw new ReportInvalid(`${path}: ${what}`);
}

function obj(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be an object');
  const o = v as Json;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) bad(`${path}.${k}`, 'unknown field');
  for (const k of required) if (!(k in o)) bad(`${path}.${k}`, 'missing');
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

function checkMember(v: unknown, path: string, buildPaths: readonly string[]): void {
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
    for (const [i, s] of arr(m.foundStrings, `${path}.foundStrings`, buildPaths.length).entries()) {
      if (!buildPaths.includes(str(s, `${path}.foundStrings[${i}]`)))
        bad(`${path}.foundStrings[${i}]`, 'not a string searched for');
    }
  }
}

function checkListing(v: unknown, path: string, buildPaths: readonly string[]): void {
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

function checkComparison(v: unknown, path: string, buildPaths: readonly string[]): DebComparison {
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
  return c as unknown as DebComparison;
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

/** Checks the whole report against the job that asked for it: labels, pairs and every field's shape. */
function checkReport(v: unknown, job: InspectionJob): InspectionReport {
  const r = obj(v, '$', ['schema', 'debs', 'comparisons', 'notes']);
  if (r.schema !== 'rbnet.deb-inspection-report/v1')
    bad('$.schema', 'must be "rbnet.deb-inspection-report/v1"');
  const buildPaths = job.buildPaths ?? [];
  const debs = arr(r.debs, '$.debs', job.debs.length);
  if (debs.length !== job.debs.length) bad('$.debs', `must have ${job.debs.length} entries`);
  for (const [i, entry] of debs.entries()) {
    const at = `$.debs[${i}]`;
    const e = obj(entry, at, ['label'], ['listing', 'membersOmitted', 'error']);
    if (e.label !== job.debs[i]!.label) bad(`${at}.label`, `must be "${job.debs[i]!.label}"`);
    if (e.error !== undefined) {
      obj(entry, at, ['label', 'error']);
      const err = obj(e.error, `${at}.error`, ['code', 'message']);
      str(err.code, `${at}.error.code`, 64);
      str(err.message, `${at}.error.message`);
    } else {
      obj(entry, at, ['label', 'listing', 'membersOmitted']);
      checkListing(e.listing, `${at}.listing`, buildPaths);
      bool(e.membersOmitted, `${at}.membersOmitted`);
    }
  }
  const pairs = arr(r.comparisons, '$.comparisons', job.compare.length);
  if (pairs.length !== job.compare.length) bad('$.comparisons', `must have ${job.compare.length} entries`);
  for (const [i, pair] of pairs.entries()) {
    const at = `$.comparisons[${i}]`;
    const p = obj(pair, at, ['left', 'right', 'comparison', 'omittedMemberDifferences'], ['diffoscope']);
    if (p.left !== job.compare[i]!.left || p.right !== job.compare[i]!.right)
      bad(at, 'names another pair than asked');
    if (p.comparison !== null) checkComparison(p.comparison, `${at}.comparison`, buildPaths);
    int(p.omittedMemberDifferences, `${at}.omittedMemberDifferences`);
    if (p.diffoscope !== undefined) {
      if (!job.diffoscope) bad(`${at}.diffoscope`, 'diffoscope was not asked for');
      checkDiffoscope(p.diffoscope, `${at}.diffoscope`, i);
    }
  }
  for (const [i, n] of arr(r.notes, '$.notes', 256).entries()) str(n, `$.notes[${i}]`, 4096);
  return deepFreeze(r as unknown as InspectionReport);
}
