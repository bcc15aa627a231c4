// One network job on a worker: verify the job against the worker's own configuration, rebuild it with
// the attempt's jobId and nonce signed in, upload log and outputs, then report the result.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { RbnetError } from '../../services/errors.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { JobCompletionValue, RebuildJobPayload } from '../../services/queue/queue-contract.ts';
import type { RebuildBackends } from '../backends/rebuild-backend.ts';
import type { RebuildContext } from '../rebuild-manifest.ts';
import type { CoordinatorClient } from './coordinator-client.ts';
import { CoordinatorInputSource } from './coordinator-input-source.ts';

export class JobRefusedError extends RbnetError<'JOB_REFUSED'> {}

export interface NetworkJobDeps {
  readonly context: RebuildContext;
  readonly client: CoordinatorClient;
  /** Scratch space for job results and the verified input cache. */
  readonly workDir: string;
  readonly logger: Logger;
  /** The backends this worker runs: a job whose manifest names another is refused. */
  readonly backends: RebuildBackends;
}

/**
 * Runs one job end to end. Build failures are reported to the coordinator and returned as
 * `{ failed }`; infrastructure errors (engine, network) are thrown so the job is retried elsewhere.
 */
export async function handleNetworkJob(
  deps: NetworkJobDeps,
  payload: RebuildJobPayload,
  signal?: AbortSignal,
): Promise<JobCompletionValue> {
  const logger = deps.logger.child({ buildId: payload.buildId, jobId: payload.jobId });
  // The worker talks only to the coordinator it enrolled with, whatever a job says.
  if (new URL(payload.coordinatorUrl).origin !== deps.client.origin) {
    throw new JobRefusedError(
      'JOB_REFUSED',
      `job names coordinator ${payload.coordinatorUrl}, this worker enrolled with ${deps.client.origin}`,
    );
  }
  const parsed = parseAnyManifest(payload.manifest);
  if (
    parsed.manifestSha256 !== payload.manifestSha256 ||
    sha256Hex(payload.manifest) !== payload.manifestSha256
  ) {
    throw new JobRefusedError('JOB_REFUSED', 'job manifest does not hash to its manifestSha256');
  }
  const rebuild = deps.backends.forManifest(parsed);
  if (!rebuild) {
    throw new JobRefusedError(
      'JOB_REFUSED',
      `a ${parsed.kind} job reached a worker without the ${parsed.kind} backend`,
    );
  }
  const outDir = join(deps.workDir, 'jobs', payload.jobId.replace(/[^A-Za-z0-9_-]/g, '_'));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(deps.workDir, 'jobs'), { recursive: true });
  const common = {
    inputs: new CoordinatorInputSource(
      deps.client,
      join(deps.workDir, 'input-cache'),
      deps.context.limits.maxInputBytes,
    ),
    outDir,
    job: { jobId: payload.jobId, attempt: payload.attempt, nonce: payload.nonce },
    beforeSign: async () => {
      if (!(await deps.client.attemptIsCurrent(payload.jobId))) {
        throw new JobRefusedError(
          'JOB_REFUSED',
          `attempt ${payload.jobId} is no longer assigned to this worker (lease lost); not signing`,
        );
      }
    },
    ...(signal ? { signal } : {}),
  };
  try {
    const outcome = await rebuild(common);
    if (outcome.kind === 'unavailable') {
      // Nothing ran, so the "log" is the refusal itself: the failure contract always carries one.
      const logPath = join(outDir, 'refusal.log');
      const logText = `${outcome.reason}: ${outcome.detail}\n`;
      await writeFile(logPath, logText);
      const logSha256 = sha256Hex(logText);
      await deps.client.uploadFile(logSha256, logPath);
      await deps.client.postResult({
        jobId: payload.jobId,
        failure: { reason: outcome.reason, detail: outcome.detail, logSha256 },
      });
      logger.warn(
        { reason: outcome.reason, detail: outcome.detail },
        'record cannot be honoured; nothing built',
      );
      return { failed: outcome.reason };
    }
    const { result } = outcome;
    for (const file of outcome.byproductFiles) await deps.client.uploadFile(file.sha256, file.path);
    await deps.client.uploadFile(result.log.sha256, result.log.path);
    if (result.kind === 'failed') {
      await deps.client.postResult({
        jobId: payload.jobId,
        failure: { reason: result.reason, detail: result.detail, logSha256: result.log.sha256 },
      });
      logger.warn({ reason: result.reason }, 'build failed; reported');
      return { failed: result.reason };
    }
    for (const output of result.outputs) {
      await deps.client.uploadFile(output.sha256, join(outcome.outputsDir, output.path));
    }
    const envelope = await readFile(result.attestationPath, 'utf8');
    const envelopeText = envelope.replace(/\n$/, '');
    const answer = await deps.client.postResult({ jobId: payload.jobId, envelope: envelopeText });
    const envelopeSha256 = sha256Hex(envelopeText) as Sha256Hex;
    logger.info({ envelopeSha256, verdict: answer.verdict }, 'result reported');
    return { envelopeSha256 };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
