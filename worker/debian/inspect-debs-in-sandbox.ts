// Runs the .deb inspector in a single-use hermetic container (no network, no capabilities, tight
// limits) and reads back its report as untrusted data: what parsed hostile bytes cannot be believed.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { InspectionReportError } from '../../services/debian/deb-inspection/inspection-json-checks.ts';
import type { InspectionReport } from '../../services/debian/deb-inspection/inspection-report-format.ts';
import { parseInspectionReportText } from '../../services/debian/deb-inspection/parse-inspection-report.ts';
import { type Sha256Hex, sha256File, sha256Hex } from '../../services/digest.ts';
import { CancelledError, InputError, InspectionError, RbnetError } from '../../services/errors.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { Manifest, ManifestInput } from '../../services/manifest/manifest.ts';
import { readBoundedFile } from '../../services/read-bounded-file.ts';
import { resolveEnvironment } from '../environment/environment-registry.ts';
import type { InputSource, OpenedInput } from '../inputs/input-source.ts';
import { defaultRunnerLimits, type RunnerLimits } from '../runner-limits.ts';
import type { DockerSandbox } from '../sandbox/docker-sandbox.ts';
import type { BuildFailureReason } from '../sandbox/sandbox-outcome.ts';
import { type InspectionJob, parseInspectionJob } from './inspection/inspection-job.ts';
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
    if (!captured.has('report.json'))
      throw new InspectionReportError('INSPECTION_REPORT_INVALID', 'the container wrote no report.json');
    const bytes = await readBoundedFile(
      join(outputsDir, 'report.json'),
      limits.maxReportBytes,
      'report.json',
    );
    report = parseInspectionReportText(bytes.toString('utf8'), {
      labels: job.debs.map((d) => d.label),
      pairs: job.compare,
      buildPaths: job.buildPaths ?? [],
      diffoscope: job.diffoscope !== undefined,
    });
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
