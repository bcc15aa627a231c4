// Result intake: a worker's signed envelope (or failure report) counts only if it verifies against
// that worker's enrolled, unrevoked key and answers an attempt assigned to that worker, with its
// jobId, attempt and nonce, about that build's manifest; idempotent per (build, worker, attempt).
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ResultReport } from '../../services/api/result-report.ts';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { ResultRefusedError } from '../../services/errors.ts';
import type { WorkerRecord } from '../../services/storage/registry-store.ts';
import { buildContextOf } from '../backends/build-context.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { withBuildLock } from '../scheduler/build-lock.ts';
import { factsOf, signedByproductsOf } from './verified-facts.ts';

export interface IntakeOutcome {
  readonly buildId: string;
  readonly kind: 'built' | 'failed';
  /** From the attempt's assignment to the result's arrival, ms. */
  readonly durationMs: number;
  readonly duplicate: boolean;
  /** False for a result recorded but not counted (its attempt was no longer current). */
  readonly counted: boolean;
}

/**
 * Records a result under its build's lock, so no decision is in flight meanwhile: a verdict the
 * transparency log shows after a result was always decided with that result in view (docs/transparency-log.md).
 */
function recordUnderBuildLock(
  deps: Pick<CoordinatorDeps, 'results'>,
  input: Parameters<CoordinatorDeps['results']['recordResult']>[0],
): ReturnType<CoordinatorDeps['results']['recordResult']> {
  return withBuildLock(input.buildId, () => deps.results.recordResult(input));
}

function refuse(code: ResultRefusedError['code'], message: string): never {
  throw new ResultRefusedError(code, message);
}

/**
 * Accepts one parsed result report (services/api/result-report.ts): a signed envelope or a failure.
 * Throws ResultRefusedError (nothing stored) on refusal.
 */
export async function acceptResult(
  deps: Pick<CoordinatorDeps, 'builds' | 'results' | 'content' | 'blobs' | 'now'>,
  worker: WorkerRecord,
  report: ResultReport,
): Promise<IntakeOutcome> {
  const { jobId } = report;
  const attempt = await deps.builds.getAttemptByJobId(jobId);
  if (!attempt) refuse('NOT_ASSIGNED', `jobId ${jobId}: no such attempt`);
  if (attempt.workerId !== worker.workerId)
    refuse('NOT_ASSIGNED', `jobId ${jobId}: this attempt was assigned to another worker`);
  const build = await deps.builds.getBuild(attempt.buildId);
  if (!build) refuse('NOT_FOUND', `build ${attempt.buildId} not found`);
  // A result for an attempt that expired or was cancelled is kept as evidence but never counted.
  const counted = attempt.state === 'open' || attempt.state === 'reported' || attempt.state === 'failed';
  const now = deps.now();

  // What both kinds of result record about the attempt they answer.
  const common = {
    buildId: build.buildId,
    workerId: worker.workerId,
    operator: worker.operator,
    attempt: attempt.attempt,
    jobId,
    counted,
    ...(counted ? {} : { refusedReason: `attempt ${attempt.state}` }),
    receivedAt: now,
  };
  const outcome = (kind: 'built' | 'failed', duplicate: boolean): IntakeOutcome => ({
    buildId: build.buildId,
    kind,
    durationMs: now.getTime() - Date.parse(attempt.assignedAt),
    duplicate,
    counted,
  });

  if ('envelope' in report) {
    const envelopeText = report.envelope;
    let verified: ReturnType<typeof verifyRebuildAttestation>;
    try {
      verified = verifyRebuildAttestation(envelopeText, [createPublicKey(worker.signingKeyPem)], {
        manifestSha256: build.manifestSha256,
      });
    } catch (cause) {
      refuse('RESULT_REFUSED', `envelope: ${(cause as Error).message}`);
    }
    const job = verified.job;
    if (
      !job ||
      job.jobId !== attempt.jobId ||
      job.attempt !== attempt.attempt ||
      job.nonce !== attempt.nonce
    ) {
      refuse(
        'RESULT_REFUSED',
        'envelope: jobId, attempt and nonce do not match the attempt assigned to this worker',
      );
    }
    // Wanted before checked (see collectGarbage): the files this result names stay in the store.
    await deps.blobs.markWanted(
      [
        verified.log.sha256,
        ...verified.outputs.map((o) => o.sha256),
        ...verified.byproducts.map((b) => b.sha256),
      ],
      now,
    );
    for (const digest of [verified.log.sha256, ...verified.outputs.map((o) => o.sha256)]) {
      if (!(await deps.content.has(digest)))
        refuse(
          'BLOBS_MISSING',
          `upload sha256:${digest} to /v1/cas/sha256/${digest} before posting the result`,
        );
    }
    const envelopeSha256 = sha256Hex(envelopeText);
    await deps.content.put(Readable.from([Buffer.from(envelopeText)]), {
      sha256: envelopeSha256,
      maxBytes: Buffer.byteLength(envelopeText),
    });
    const recorded = await recordUnderBuildLock(deps, {
      ...common,
      envelopeSha256,
      kind: 'built',
      outputs: verified.outputs.map((o) => ({ path: o.path, sha256: o.sha256, sizeBytes: o.sizeBytes })),
      // Verified once, here: decisions and lookups by digest (the diffoscope page) read these rows,
      // never the envelope again (it is read once more only to be embedded in a consensus).
      byproducts: signedByproductsOf(verified),
      facts: factsOf(verified),
      environmentSha256: verified.environment.sha256,
      environmentOrigin: verified.environment.origin,
      inputsKey: sha256Hex(JSON.stringify([verified.environment.sha256, verified.inputs])),
      logSha256: verified.log.sha256,
      referencedBlobs: verified.byproducts.map((b) => b.sha256),
    });
    return outcome('built', recorded.duplicate);
  }

  const { reason, detail, logSha256 } = report.failure;
  await deps.blobs.markWanted([logSha256], now);
  if (!(await deps.content.has(logSha256)))
    refuse('BLOBS_MISSING', `upload the log sha256:${logSha256} before posting the failure`);
  // A failure has no in-toto envelope; its report (bound to the attempt's nonce) is stored instead.
  const reportText = JSON.stringify({
    jobId,
    attempt: attempt.attempt,
    nonce: attempt.nonce,
    workerId: worker.workerId,
    reason,
    detail,
    logSha256,
  });
  const reportSha256 = sha256Hex(reportText) as Sha256Hex;
  await deps.content.put(Readable.from([Buffer.from(reportText)]), {
    sha256: reportSha256,
    maxBytes: Buffer.byteLength(reportText),
  });
  // A failure names the environment it was asked for, as the build's backend says.
  const manifestImage = buildContextOf(build).backend.failureEnvironmentSha256;
  const recorded = await recordUnderBuildLock(deps, {
    ...common,
    envelopeSha256: reportSha256,
    kind: 'failed',
    failureReason: reason,
    outputs: [],
    environmentSha256: manifestImage,
    environmentOrigin: 'none',
    inputsKey: 'failed',
    logSha256,
  });
  return outcome('failed', recorded.duplicate);
}
