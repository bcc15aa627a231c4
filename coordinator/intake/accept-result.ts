// Result intake: a worker's signed envelope (or failure report) counts only if it verifies against
// that worker's enrolled, unrevoked key and answers an attempt assigned to that worker, with its
// jobId, attempt and nonce, about that build's manifest; idempotent per (build, worker, attempt).
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ResultReport } from '../../services/api/result-report.ts';
import { BUILD_LOG_BYPRODUCT_NAME } from '../../services/attestation/rebuild-statement.ts';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { ResultRefusedError } from '../../services/errors.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { WorkerRecord } from '../../services/storage/build-store.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';

export interface IntakeOutcome {
  readonly buildId: string;
  readonly kind: 'built' | 'failed';
  /** From the attempt's assignment to the result's arrival, ms. */
  readonly durationMs: number;
  readonly duplicate: boolean;
  /** False for a result recorded but not counted (its attempt was no longer current). */
  readonly counted: boolean;
}

function refuse(code: ResultRefusedError['code'], message: string): never {
  throw new ResultRefusedError(code, message);
}

/**
 * Accepts one parsed result report (services/api/result-report.ts): a signed envelope or a failure.
 * Throws ResultRefusedError (nothing stored) on refusal.
 */
export async function acceptResult(
  deps: CoordinatorDeps,
  worker: WorkerRecord,
  report: ResultReport,
): Promise<IntakeOutcome> {
  const { jobId } = report;
  const attempt = await deps.store.getAttemptByJobId(jobId);
  if (!attempt) refuse('NOT_ASSIGNED', `jobId ${jobId}: no such attempt`);
  if (attempt.workerId !== worker.workerId)
    refuse('NOT_ASSIGNED', `jobId ${jobId}: this attempt was assigned to another worker`);
  const build = await deps.store.getBuild(attempt.buildId);
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
    const recorded = await deps.store.recordResult({
      ...common,
      envelopeSha256,
      kind: 'built',
      outputs: verified.outputs.map((o) => ({ path: o.path, sha256: o.sha256, sizeBytes: o.sizeBytes })),
      // Verified once, here: lookups by digest (the diffoscope page) read these rows, not envelopes.
      byproducts: [{ name: BUILD_LOG_BYPRODUCT_NAME, sha256: verified.log.sha256 }, ...verified.byproducts],
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
  // A failure names the environment it was asked for: the image of a generic manifest, the
  // .buildinfo (the record the environment is resolved from) of a Debian one.
  const manifest = parseAnyManifest(build.manifestJson, {
    maxManifestBytes: Math.max(256 * 1024, Buffer.byteLength(build.manifestJson, 'utf8')),
  });
  const manifestImage =
    manifest.kind === 'generic'
      ? manifest.manifest.environment.imageSha256
      : manifest.manifest.buildinfoSha256;
  const recorded = await deps.store.recordResult({
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
