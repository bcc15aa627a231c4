// One Debian rebuild end to end on this worker: parse the .buildinfo again, resolve every recorded
// package in the signed archive, prepare (or reuse) the exact environment, fetch and verify the
// source, build with dpkg-buildpackage in the hermetic runner, open differing .debs in a throwaway
// container, and sign the non-dbgsym .debs. A record that cannot be honoured is a failure with a
// reason, and nothing is built.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { signRebuildStatement } from '../../services/attestation/sign-rebuild-statement.ts';
import { compareOutputsWithClaims } from '../../services/claims/compare-outputs-with-claims.ts';
import type { ConsensusFailureReason } from '../../services/consensus/decide-verdict.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { ManifestError } from '../../services/errors.ts';
import type { ParsedDebianManifest } from '../../services/manifest/debian-manifest.ts';
import { resolveEnvironment } from '../environment/environment-registry.ts';
import type { InputSource } from '../inputs/input-source.ts';
import {
  hostFactsOf,
  prepareOutDir,
  type RebuildContext,
  type RebuildPhase,
  type RebuildResult,
  workerFactsOf,
} from '../rebuild-manifest.ts';
import type { CapturedFile } from '../sandbox/output-capture.ts';
import { buildRecordOf, planDebianBuild } from './debian-build-plan.ts';
import { debianSourceFactOf, readBuildinfo } from './debian-build-source.ts';
import type { DebianEnvironmentCache } from './debian-environment-cache.ts';
import {
  describeUnavailable,
  type EnvironmentPackageSources,
  packageSourcesOf,
} from './environment-package-sources.ts';
import { type DebInspector, inspectAgainstArchive } from './inspect-against-archive.ts';
import { OverlayInputSource } from './overlay-input-source.ts';
import { prepareDebianEnvironment } from './prepare-debian-environment.ts';
import { signAptLink } from './sign-apt-link.ts';

/** Packages every rebuild environment has beyond Installed-Build-Depends (docs/debian.md). */
export const DEBIAN_BASE_EXTRAS: readonly string[] = Object.freeze(['fakeroot', 'libfakeroot']);

export interface DebianBackend {
  /** The Debian architecture this worker builds (its archive's binary-<arch> indexes). */
  readonly architecture: string;
  /**
   * Where this job's packages come from, opened (or reused) for it: the signed mirror, and the
   * evidence store and snapshot archive when configured.
   */
  readonly openSources: () => Promise<EnvironmentPackageSources>;
  readonly cache: DebianEnvironmentCache;
  readonly baseExtras: readonly string[];
  /** Longest an environment preparation (download + mmdebstrap + import) may take. */
  readonly preparationTimeoutMs: number;
  /** Opens differing .debs for the report; absent when the worker has no inspection image. */
  readonly inspect?: DebInspector;
}

export interface DebianRebuildRequest {
  readonly parsed: ParsedDebianManifest;
  /** Reads content-store inputs (the .buildinfo and supplied source files), verifying digests. */
  readonly inputs: InputSource;
  readonly outDir: string;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: RebuildPhase | 'resolve' | 'source' | 'inspect') => void;
  readonly beforeSign?: () => Promise<void>;
  readonly job?: { readonly jobId: string; readonly attempt: number; readonly nonce: string };
}

/** What a Debian rebuild adds to a rebuild result: preparation time, and byproduct files to upload. */
export interface DebianRebuildExtras {
  readonly preparation?: {
    readonly cached: boolean;
    readonly durationMs: number;
    readonly identitySha256: Sha256Hex;
  };
  /** Byproduct name → local path (rebuilt .buildinfo, dbgsym .debs, inspection report, diffoscope HTML). */
  readonly byproductFiles: readonly {
    readonly name: string;
    readonly path: string;
    readonly sha256: Sha256Hex;
  }[];
  /** Local directory holding the subjects under their subject names (they are renamed from debs/). */
  readonly subjectsLocalDir?: string;
}

export type DebianRebuildResult =
  | (RebuildResult & DebianRebuildExtras)
  | {
      readonly kind: 'unavailable';
      readonly reason: Extract<ConsensusFailureReason, 'environment-unavailable' | 'source-unavailable'>;
      readonly detail: string;
    };

export async function rebuildDebian(
  context: RebuildContext,
  backend: DebianBackend,
  request: DebianRebuildRequest,
): Promise<DebianRebuildResult> {
  const { parsed } = request;
  const logger = context.logger.child({
    manifestSha256: parsed.manifestSha256,
    workerId: context.identity.id,
  });
  await prepareOutDir(request.outDir);

  request.onPhase?.('resolve');
  const buildinfo = await readBuildinfo(parsed, request.inputs);
  if (buildinfo.buildArchitecture !== backend.architecture) {
    throw new ManifestError(
      'MANIFEST_INVALID',
      `buildinfo: Build-Architecture ${buildinfo.buildArchitecture} is not this worker's ${backend.architecture}`,
    );
  }
  const sources = await backend.openSources();
  const archive = sources.mirror;
  const resolution = await sources.resolve(
    buildinfo.installedBuildDepends.map((dep) => ({
      name: dep.name,
      version: dep.version.text,
      ...(dep.architecture !== undefined ? { architecture: dep.architecture } : {}),
    })),
    backend.baseExtras,
  );
  if (resolution.kind === 'unavailable') {
    const detail = describeUnavailable(resolution.missing);
    logger.warn({ missing: resolution.missing.length }, 'environment unavailable');
    return { kind: 'unavailable', reason: 'environment-unavailable', detail };
  }

  request.onPhase?.('source');
  const scratch = await mkdtemp(join(tmpdir(), 'rbnet-debsrc-'));
  try {
    const overlay = new OverlayInputSource(request.inputs);
    const source = parsed.manifest.source;
    let sourceFiles: { name: string; sha256: Sha256Hex }[];
    let dscName: string;
    if (source.from === 'files') {
      sourceFiles = [...source.files];
      dscName = source.dsc;
    } else {
      const fetched = await archive.fetchSource(
        buildinfo.source,
        buildinfo.sourceVersion.text,
        join(scratch, 'source'),
      );
      if (fetched.kind === 'unavailable') {
        logger.warn({ missing: fetched.missing }, 'source unavailable');
        return { kind: 'unavailable', reason: 'source-unavailable', detail: fetched.missing };
      }
      sourceFiles = fetched.files.map((file) => ({ name: file.name, sha256: file.sha256 }));
      for (const file of fetched.files) overlay.addLocalFile(file.sha256, file.path);
      dscName = posix.basename(fetched.dscPath);
    }

    request.onPhase?.('environment');
    const timed = await prepareDebianEnvironment({
      docker: context.docker,
      stateDir: context.stateDir,
      logger: context.logger,
      cache: backend.cache,
      sources,
      resolution,
      timeoutMs: backend.preparationTimeoutMs,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const prepared = {
      imageSha256: timed.imageSha256,
      cached: timed.cached,
      durationMs: Math.round(timed.totalMs),
    };
    logger.info(
      { identity: resolution.identitySha256, cached: prepared.cached, durationMs: prepared.durationMs },
      'environment ready',
    );
    const environment = await resolveEnvironment(context.docker, context.stateDir, prepared.imageSha256);

    const plan = planDebianBuild({
      record: buildRecordOf(buildinfo),
      sourceFiles,
      dscName,
      imageSha256: prepared.imageSha256,
      timeLimitSeconds: parsed.manifest.timeLimitSeconds,
    });
    for (const [name, text] of plan.generatedFiles) {
      const path = join(scratch, 'generated', name);
      await mkdir(join(scratch, 'generated'), { recursive: true });
      await writeFile(path, text);
      overlay.addLocalFile(sha256Hex(text), path);
    }

    const logPath = join(request.outDir, 'build.log');
    const outputsDir = join(request.outDir, 'outputs');
    const startedOn = new Date();
    const outcome = await context.sandbox.run({
      manifest: plan.manifest,
      manifestSha256: parsed.manifestSha256,
      environment,
      inputs: overlay,
      limits: context.limits,
      workerId: context.identity.id,
      logPath,
      outputsDir,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onPhase ? { onPhase: request.onPhase } : {}),
    });
    const finishedOn = new Date();
    const preparation = {
      cached: prepared.cached,
      durationMs: prepared.durationMs,
      identitySha256: resolution.identitySha256,
    };
    const common = {
      manifestSha256: parsed.manifestSha256,
      manifestName: parsed.manifest.name,
      environment,
      log: { ...outcome.log, path: logPath },
      durationMs: outcome.durationMs,
      worker: context.identity,
      preparation,
    };
    if (outcome.kind === 'failed') {
      logger.warn({ reason: outcome.reason, detail: outcome.detail }, 'build failed');
      const failed = {
        ...common,
        kind: 'failed' as const,
        reason: outcome.reason,
        detail: outcome.detail,
        byproductFiles: [],
      };
      return writeResult(request.outDir, failed);
    }
    const { subjects, byproducts } = partitionOutputs(outcome.outputs, plan.subjectsDir, outputsDir);
    if (subjects.length === 0) {
      const failed = {
        ...common,
        kind: 'failed' as const,
        reason: 'output-rejected' as const,
        detail: 'dpkg-buildpackage made no non-dbgsym .deb',
        byproductFiles: [],
      };
      return writeResult(request.outDir, failed);
    }
    const claims = compareOutputsWithClaims(parsed.manifest.claimedOutputs, subjects);

    if (backend.inspect) {
      request.onPhase?.('inspect');
      const inspected = await inspectAgainstArchive(backend.inspect, archive, {
        subjects,
        subjectsDir: join(outputsDir, plan.subjectsDir),
        claims,
        buildinfo,
        workDir: join(scratch, 'inspect'),
        ...(request.signal ? { signal: request.signal } : {}),
      });
      byproducts.push(...inspected);
    }

    await request.beforeSign?.();
    request.onPhase?.('sign');
    await mkdir(join(scratch, 'link'), { recursive: true });
    byproducts.push(
      await signAptLink({ subjects, buildinfo, signer: context.signer, dir: join(scratch, 'link') }),
    );
    const inputs = [
      { path: `${parsed.manifest.name}.buildinfo`, sha256: parsed.manifest.buildinfoSha256 },
      ...plan.manifest.inputs.map((input) => ({ path: input.path, sha256: input.sha256 })),
    ];
    const signed = await signRebuildStatement(
      {
        manifest: parsed,
        outputs: subjects.map((s) => ({ path: s.path, sha256: s.sha256, sizeBytes: s.sizeBytes })),
        // The Debian environment's identity is its package list; the image digest is recorded below.
        environment: {
          imageSha256: resolution.identitySha256,
          origin: 'built-locally',
          recipe: 'rbnet-debian/v1',
        },
        inputs,
        log: {
          sha256: outcome.log.sha256,
          sizeBytes: outcome.log.sizeBytes,
          truncated: outcome.log.truncated,
        },
        worker: workerFactsOf(context),
        timing: { startedOn, finishedOn },
        host: hostFactsOf(context, startedOn),
        byproducts: byproducts.map((b) => ({ name: b.name, sha256: b.sha256 })),
        debian: {
          // Signed, so consumers can pin an archive source and the coordinator publishes apt links
          // only for sources this worker fetched and verified against its own signed archive index.
          source: debianSourceFactOf(source, buildinfo, sourceFiles, dscName),
          imageSha256: prepared.imageSha256,
          extraPackages: resolution.extras.map((p) => `${p.name}:${p.architecture}=${p.version}`),
          packageCount: resolution.packages.length + resolution.extras.length,
          packageSources: packageSourcesOf(resolution),
          preparationMs: prepared.durationMs,
          environmentCached: prepared.cached,
        },
        ...(request.job ? { job: request.job } : {}),
      },
      context.signer,
    );
    const attestationPath = join(request.outDir, 'attestation.dsse.json');
    await writeFile(attestationPath, `${signed.envelopeJson}\n`, { flag: 'wx' });
    // Byproducts outside outDir would vanish with the scratch directory: copy them in.
    const kept: { name: string; path: string; sha256: Sha256Hex }[] = [];
    await mkdir(join(request.outDir, 'byproducts'), { recursive: true });
    for (const [index, file] of byproducts.entries()) {
      const path = join(request.outDir, 'byproducts', `${index}-${posix.basename(file.name)}`);
      await writeFile(path, await readFile(file.path));
      kept.push({ name: file.name, path, sha256: file.sha256 });
    }
    const result = {
      ...common,
      kind: 'built' as const,
      outputs: subjects,
      claims,
      attestationPath,
      keyid: context.signer.keyid,
      byproductFiles: kept,
      subjectsLocalDir: join(outputsDir, plan.subjectsDir),
    };
    return writeResult(request.outDir, result);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes result.json once (never over an earlier one) and returns what it wrote. */
async function writeResult<T>(outDir: string, result: T): Promise<T> {
  await writeFile(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`, { flag: 'wx' });
  return result;
}

/** Subjects: `debs/<file>` outputs renamed to `<file>`; everything else is a byproduct. */
function partitionOutputs(
  outputs: readonly CapturedFile[],
  subjectsDir: string,
  outputsDir: string,
): { subjects: CapturedFile[]; byproducts: { name: string; path: string; sha256: Sha256Hex }[] } {
  const subjects: CapturedFile[] = [];
  const byproducts: { name: string; path: string; sha256: Sha256Hex }[] = [];
  for (const output of outputs) {
    const prefix = `${subjectsDir}/`;
    if (output.path.startsWith(prefix) && !output.path.slice(prefix.length).includes('/')) {
      subjects.push({ ...output, path: output.path.slice(prefix.length) });
    } else {
      byproducts.push({ name: output.path, path: join(outputsDir, output.path), sha256: output.sha256 });
    }
  }
  return { subjects, byproducts };
}
