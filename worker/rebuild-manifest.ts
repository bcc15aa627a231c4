// One rebuild end to end on this worker: environment check, hermetic build, output capture, claim
// comparison and a signed attestation, all written into one result directory.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { RebuildFacts, RebuildHost } from '../services/attestation/rebuild-statement.ts';
import { signRebuildStatement } from '../services/attestation/sign-rebuild-statement.ts';
import type { Signer } from '../services/attestation/signer.ts';
import {
  type ClaimComparison,
  compareOutputsWithClaims,
} from '../services/claims/compare-outputs-with-claims.ts';
import { UsageError } from '../services/errors.ts';
import type { ParsedManifest } from '../services/manifest/manifest.ts';
import { RBNET_VERSION } from '../services/version.ts';
import { type ResolvedEnvironment, resolveEnvironment } from './environment/environment-registry.ts';
import type { WorkerIdentity } from './identity/worker-identity.ts';
import type { InputSource } from './inputs/input-source.ts';
import type { RunnerLimits } from './runner-limits.ts';
import type { DockerSandbox } from './sandbox/docker-sandbox.ts';
import type { EngineFacts } from './sandbox/engine-facts.ts';
import type { CapturedLog } from './sandbox/log-capture.ts';
import type { CapturedFile } from './sandbox/output-capture.ts';
import type { BuildFailureReason, LeftoverContainer, SandboxPhase } from './sandbox/sandbox-outcome.ts';

export type RebuildPhase = 'environment' | SandboxPhase | 'sign';

export interface RebuildContext {
  readonly docker: Docker;
  readonly sandbox: DockerSandbox;
  readonly facts: EngineFacts;
  readonly identity: WorkerIdentity;
  readonly signer: Signer;
  readonly stateDir: string;
  readonly limits: RunnerLimits;
  readonly logger: Logger;
}

export interface RebuildRequest {
  readonly parsed: ParsedManifest;
  readonly inputs: InputSource;
  /** Result directory; must not exist or be empty. Receives outputs/, build.log, attestation.dsse.json, result.json. */
  readonly outDir: string;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: RebuildPhase) => void;
  /**
   * Called after the build, before anything is signed; throwing stops the rebuild unsigned. The
   * network worker uses it to confirm its attempt is still current (a lost lease means someone else
   * builds it now, and a late signature would only be recorded, never counted).
   */
  readonly beforeSign?: () => Promise<void>;
  /** Present when the network assigned the rebuild: signed into the statement so it cannot be replayed. */
  readonly job?: { readonly jobId: string; readonly attempt: number; readonly nonce: string };
}

interface RebuildCommon {
  readonly manifestSha256: string;
  readonly manifestName: string;
  readonly environment: ResolvedEnvironment;
  readonly log: CapturedLog & { readonly path: string };
  readonly durationMs: number;
  readonly worker: WorkerIdentity;
  /** The build container the engine refused to remove, left for the operator (the result stands). */
  readonly leftoverContainer?: LeftoverContainer;
}

export type RebuildResult =
  | (RebuildCommon & {
      readonly kind: 'built';
      readonly outputs: readonly CapturedFile[];
      readonly claims: ClaimComparison;
      readonly attestationPath: string;
      readonly keyid: string;
    })
  | (RebuildCommon & {
      readonly kind: 'failed';
      readonly reason: BuildFailureReason;
      readonly detail: string;
    });

/** Creates the result directory; refuses one that already holds anything, so results never mix. */
export async function prepareOutDir(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const existing = await readdir(outDir);
  if (existing.length > 0) {
    throw new UsageError(
      'USAGE',
      `--out ${outDir}: the directory is not empty; choose a new one so results never mix`,
    );
  }
}

/** Rebuilds one manifest. Build failures come back as `kind: 'failed'`; broken preconditions throw. */
export async function rebuildManifest(
  context: RebuildContext,
  request: RebuildRequest,
): Promise<RebuildResult> {
  const { parsed } = request;
  const manifest = parsed.manifest;
  const logger = context.logger.child({
    manifestSha256: parsed.manifestSha256,
    workerId: context.identity.id,
  });
  await prepareOutDir(request.outDir);

  request.onPhase?.('environment');
  const environment = await resolveEnvironment(
    context.docker,
    context.stateDir,
    manifest.environment.imageSha256,
  );
  logger.info({ imageId: environment.imageId, origin: environment.origin }, 'environment verified');

  const logPath = join(request.outDir, 'build.log');
  const startedOn = new Date();
  const outcome = await context.sandbox.run({
    manifest,
    manifestSha256: parsed.manifestSha256,
    environment,
    inputs: request.inputs,
    limits: context.limits,
    workerId: context.identity.id,
    logPath,
    outputsDir: join(request.outDir, 'outputs'),
    ...(request.signal ? { signal: request.signal } : {}),
    ...(request.onPhase ? { onPhase: request.onPhase } : {}),
  });
  const finishedOn = new Date();
  const common: RebuildCommon = {
    manifestSha256: parsed.manifestSha256,
    manifestName: manifest.name,
    environment,
    log: { ...outcome.log, path: logPath },
    durationMs: outcome.durationMs,
    worker: context.identity,
    ...(outcome.leftover ? { leftoverContainer: outcome.leftover } : {}),
  };

  let result: RebuildResult;
  if (outcome.kind === 'failed') {
    logger.warn({ reason: outcome.reason, detail: outcome.detail }, 'build failed');
    result = { ...common, kind: 'failed', reason: outcome.reason, detail: outcome.detail };
  } else {
    await request.beforeSign?.();
    request.onPhase?.('sign');
    const signed = await signRebuildStatement(
      {
        manifest: parsed,
        outputs: outcome.outputs,
        environment: {
          imageSha256: environment.imageSha256,
          origin: environment.origin,
          ...(environment.recipe ? { recipe: environment.recipe } : {}),
        },
        inputs: manifest.inputs.map((input) => ({ path: input.path, sha256: input.sha256 })),
        log: {
          sha256: outcome.log.sha256,
          sizeBytes: outcome.log.sizeBytes,
          truncated: outcome.log.truncated,
        },
        worker: workerFactsOf(context),
        timing: { startedOn, finishedOn },
        host: hostFactsOf(context, startedOn),
        ...(request.job ? { job: request.job } : {}),
      },
      context.signer,
    );
    const attestationPath = join(request.outDir, 'attestation.dsse.json');
    await writeFile(attestationPath, `${signed.envelopeJson}\n`, { flag: 'wx' });
    result = {
      ...common,
      kind: 'built',
      outputs: outcome.outputs,
      claims: compareOutputsWithClaims(manifest.claimedOutputs, outcome.outputs),
      attestationPath,
      keyid: context.signer.keyid,
    };
  }
  await writeFile(join(request.outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`, {
    flag: 'wx',
  });
  return result;
}

/** The host facts every statement records. */
export function hostFactsOf(context: RebuildContext, startedOn: Date): RebuildHost {
  return {
    kernelVersion: context.facts.kernelVersion,
    cpuCount: context.facts.cpuCount,
    engineVersion: context.facts.engineVersion,
    storageDriver: context.facts.storageDriver,
    clockUtc: startedOn.toISOString(),
    rbnetVersion: RBNET_VERSION,
  };
}

/** The worker facts every statement records. */
export function workerFactsOf(context: RebuildContext): RebuildFacts['worker'] {
  return {
    id: context.identity.id,
    operator: context.identity.operator,
    builderUri: context.identity.builderUri,
  };
}
