// Result intake: a worker's signed envelope (or failure report) counts only if it verifies against
// that worker's enrolled, unrevoked key and answers an attempt assigned to that worker, with its
// jobId, attempt and nonce, about that build's manifest; idempotent per (build, worker, attempt).
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { CONSENSUS_FAILURE_REASONS } from '../../services/consensus/decide-verdict.ts';
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import type { WorkerRecord } from '../../services/storage/registry-store.ts';
import { buildContextOf } from '../backends/build-context.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { ApiError } from '../http/api-error.ts';
import { factsOf, signedByproductsOf } from './verified-facts.ts';

const FAILURE_REASONS: ReadonlySet<string> = new Set(CONSENSUS_FAILURE_REASONS);
const JOB_ID = /^[A-Za-z0-9:_-]{1,128}$/;

export interface IntakeOutcome {
  readonly buildId: string;
  readonly kind: 'built' | 'failed';
  /** From the attempt's assignment to the result's arrival, ms. */
  readonly durationMs: number;
  readonly duplicate: boolean;
  /** False for a result recorded but not counted (its attempt was no longer current). */
  readonly counted: boolean;
}

function refuse(code: string, message: string, status: 403 | 404 | 409 | 422 = 422): never {
  throw new ApiError(status, code, message);
}

/**
 * Accepts one result body: `{ jobId, envelope: "<DSSE JSON text>" }` or
 * `{ jobId, failure: { reason, detail, logSha256 } }`. Throws ApiError (nothing stored) on refusal.
 */
export async function acceptResult(
  deps: Pick<CoordinatorDeps, 'builds' | 'results' | 'content' | 'blobs' | 'now'>,
  worker: WorkerRecord,
  body: Record<string, unknown>,
): Promise<IntakeOutcome> {
  const jobId = body.jobId;
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId))
    refuse('INVALID', 'jobId: expected the job id the worker was given');
  const attempt = await deps.builds.getAttemptByJobId(jobId);
  if (!attempt) refuse('NOT_ASSIGNED', `jobId ${jobId}: no such attempt`, 404);
  if (attempt.workerId !== worker.workerId)
    refuse('NOT_ASSIGNED', `jobId ${jobId}: this attempt was assigned to another worker`, 403);
  const build = await deps.builds.getBuild(attempt.buildId);
  if (!build) refuse('NOT_FOUND', `build ${attempt.buildId} not found`, 404);
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

  if (typeof body.envelope === 'string') {
    const envelopeText = body.envelope;
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
        409,
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
    const recorded = await deps.results.recordResult({
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

  const failure = body.failure as Record<string, unknown> | undefined;
  if (!failure || typeof failure !== 'object')
    refuse('INVALID', 'expected "envelope" (string) or "failure" (object)', 422);
  const reason = failure.reason;
  const logSha256 = failure.logSha256;
  const detail = typeof failure.detail === 'string' ? failure.detail.slice(0, 2000) : '';
  if (typeof reason !== 'string' || !FAILURE_REASONS.has(reason))
    refuse('INVALID', `failure.reason: expected one of ${[...FAILURE_REASONS].join(', ')}`);
  if (!isSha256Hex(logSha256)) refuse('INVALID', 'failure.logSha256: expected 64 hex characters');
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
  const recorded = await deps.results.recordResult({
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
