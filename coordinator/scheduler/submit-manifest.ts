// Submits one manifest as a build: what POST /v1/builds does after reading the body, shared with
// the archive poller so a synced upload is checked exactly as a maintainer's submission is.
import { buildLinksFor } from '../../services/api/build-links.ts';
import type { BuildSubmissionAnswer } from '../../services/api/build-submission.ts';
import { SubmissionError } from '../../services/errors.ts';
import { manifestStoredInputs, parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import { checkSubmission } from '../backends/build-context.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { eligibleOperatorCount, explainIneligible } from './build-scheduler.ts';
import { progressBuild } from './progress-build.ts';

export interface SubmitManifestOptions {
  /** The maintainer (or admin) the build is recorded as submitted by. */
  readonly submittedBy: string;
  /** The build id to use; default a new UUID. A caller that must never submit twice picks it first. */
  readonly buildId?: string;
}

/**
 * Parses `bytes` strictly, checks every input is stored and the backend accepts it, checks enough
 * operators can build it, creates the build and schedules it.
 * @throws ManifestError, SubmissionError (INPUTS_MISSING, INSUFFICIENT_OPERATORS), BuildStoreError.
 */
export async function submitManifest(
  deps: CoordinatorDeps,
  bytes: Uint8Array,
  options: SubmitManifestOptions,
): Promise<BuildSubmissionAnswer> {
  const parsed = parseAnyManifest(bytes, { maxManifestBytes: deps.config.maxManifestBytes });
  const manifest = parsed.manifest;
  const missing: string[] = [];
  // Wanted before checked: a garbage-collection pass either sees this and keeps the inputs, or
  // has already taken them out of sight and the check below refuses.
  await deps.blobs.markWanted(
    manifestStoredInputs(parsed).map((input) => input.sha256),
    deps.now(),
  );
  for (const input of manifestStoredInputs(parsed))
    if (!(await deps.content.has(input.sha256))) missing.push(input.sha256);
  if (missing.length > 0) {
    throw new SubmissionError(
      'INPUTS_MISSING',
      `inputs not in the content store (upload them first): ${missing.map((d) => `sha256:${d}`).join(', ')}`,
    );
  }
  await checkSubmission(deps.content, parsed);
  const threshold = deps.config.policy.threshold;
  const operators = await eligibleOperatorCount(deps.registry, manifest);
  if (operators < threshold) {
    throw new SubmissionError(
      'INSUFFICIENT_OPERATORS',
      `the policy needs ${threshold} operators: ${await explainIneligible(deps.registry, manifest)}`,
    );
  }
  const buildId = options.buildId ?? crypto.randomUUID();
  const build = await deps.builds.createBuild({
    buildId,
    manifestSha256: parsed.manifestSha256,
    manifestJson: parsed.canonicalJson,
    name: manifest.name,
    architecture: manifest.architecture,
    backend: manifest.backend,
    claimedOutputs: manifest.claimedOutputs,
    policy: {
      threshold,
      maxAttempts: deps.config.policy.maxAttempts,
      decisionDeadlineMs: deps.config.policy.decisionDeadlineMs,
    },
    submittedBy: options.submittedBy,
    createdAt: deps.now(),
  });
  const scheduling = await progressBuild(deps, buildId);
  deps.logger.info(
    { buildId, manifestSha256: parsed.manifestSha256, assigned: scheduling.assigned.length },
    'build submitted',
  );
  return {
    buildId,
    manifestSha256: build.manifestSha256,
    verdict: build.verdict,
    assigned: scheduling.assigned.map(({ workerId, operator, jobId }) => ({ workerId, operator, jobId })),
    links: buildLinksFor(buildId),
  };
}
