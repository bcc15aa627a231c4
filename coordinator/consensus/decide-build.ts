// Re-decides one build from its result rows (the facts intake proved) and publishes what changed:
// the verdict history, the consensus attestation, the divergence report, what the build's backend
// publishes, and a transparency-log entry. Envelopes are read only to be embedded when it signs.
import { Readable } from 'node:stream';
import { deepFreeze } from '../../services/attestation/rebuild-statement.ts';
import { signConsensusAttestation } from '../../services/consensus/consensus-attestation.ts';
import { type Decision, decideVerdict, redecide } from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport } from '../../services/consensus/divergence-report.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import { BuildStoreError } from '../../services/storage/store-error.ts';
import { verdictEntryOf } from '../../services/tlog/entries-from-decision.ts';
import { buildContextOf } from '../backends/build-context.ts';
import type { AfterVerdict, DecidedBuild } from '../backends/coordinator-backend.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { consensusInputsOf, envelopeTextsOf } from './consensus-inputs.ts';
import type { RevokedResult } from './revoked-results.ts';

/** What a decision reads and writes: the coordinator's deps without its queues, nonces and metrics. */
export type DecideDeps = Pick<
  CoordinatorDeps,
  'config' | 'registry' | 'builds' | 'results' | 'log' | 'aptLinks' | 'content' | 'signer' | 'logger' | 'now'
>;

export async function putJsonBlob(content: ContentStore, value: unknown): Promise<Sha256Hex> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const sha256 = sha256Hex(text);
  await content.put(Readable.from([Buffer.from(text)]), { sha256, maxBytes: Buffer.byteLength(text) });
  return sha256;
}

/**
 * A decision as the coordinator records it: the consensus rule's decision over the results that
 * still count, plus the results a worker's compromise took out (absent when none), so the history
 * says why a verdict changed. Consumers recount only the envelopes the attestation carries.
 */
export type RecordedDecision = Decision & { readonly revokedResults?: readonly RevokedResult[] };

/**
 * Decides the build again. `maxAttemptsReached` comes from the scheduler (no further worker can be
 * assigned). Records and publishes only when the decision changed; returns the current decision.
 * @throws BuildStoreError `NOT_FOUND` for an unknown build.
 */
export async function decideBuild(
  deps: DecideDeps,
  buildId: string,
  scheduling: { readonly maxAttemptsReached: boolean },
): Promise<Decision> {
  const build = await deps.builds.getBuild(buildId);
  if (!build) throw new BuildStoreError('NOT_FOUND', `buildId: no build ${buildId}`);
  const { backend } = buildContextOf(build);
  const [rows, openAttempts, latest] = await Promise.all([
    deps.results.listVerifiedResults(buildId),
    deps.builds.countOpenAttempts(buildId),
    deps.builds.getLatestVerdict(buildId),
  ]);
  const inputs = await consensusInputsOf(deps, build, rows);
  const now = deps.now();
  const policy = {
    threshold: build.policy.threshold,
    allowFetchedEnvironments: deps.config.policy.allowFetchedEnvironments,
  };
  const ruled = decideVerdict({
    manifestSha256: build.manifestSha256,
    claimedOutputs: build.claimedOutputs,
    policy,
    results: inputs.results,
    ...(backend.expectedInputs !== undefined && { expectedInputs: backend.expectedInputs }),
    openAttempts,
    deadlinePassed: now.getTime() > Date.parse(build.createdAt) + build.policy.decisionDeadlineMs,
    maxAttemptsReached: scheduling.maxAttemptsReached,
  });
  const decision: RecordedDecision =
    inputs.revoked.length === 0 ? ruled : deepFreeze({ ...ruled, revokedResults: inputs.revoked });
  const previous = latest ? (JSON.parse(latest.decisionJson) as RecordedDecision) : undefined;
  const change = redecide(previous, decision);
  if (!change.changed || (previous === undefined && decision.verdict === 'pending')) return decision;

  const decided: DecidedBuild = { build, decision, results: inputs.results, facts: inputs.facts };
  let consensusEnvelopeSha256: Sha256Hex | undefined;
  let divergenceReportSha256: Sha256Hex | undefined;
  if (decision.verdict !== 'pending') {
    const signed = await signConsensusAttestation(
      {
        buildId,
        verifierId: `${deps.config.publicUrl}/`,
        timeVerified: now,
        manifestSha256: build.manifestSha256,
        claimedOutputs: build.claimedOutputs,
        policy,
        decision,
        envelopes: await envelopeTextsOf(deps.content, inputs.results),
      },
      deps.signer,
    );
    const text = signed.envelopeJson;
    consensusEnvelopeSha256 = sha256Hex(text);
    await deps.content.put(Readable.from([Buffer.from(text)]), {
      sha256: consensusEnvelopeSha256,
      maxBytes: Buffer.byteLength(text),
    });
  }
  if (
    decision.verdict === 'diverged' ||
    decision.verdict === 'inputs-differ' ||
    decision.verdict === 'mismatch-upstream'
  ) {
    const options = { claimedOutputs: build.claimedOutputs };
    const fileLevel = buildDivergenceReport(inputs.results, decision, options);
    const extras = await backend.divergenceExtras(deps, decided, fileLevel);
    const report =
      Object.keys(extras).length === 0
        ? fileLevel
        : buildDivergenceReport(inputs.results, decision, { ...options, ...extras });
    divergenceReportSha256 = await putJsonBlob(deps.content, report);
  }
  const recorded = await deps.builds.recordVerdict({
    buildId,
    verdict: decision.verdict,
    decisionJson: JSON.stringify(decision),
    ...(consensusEnvelopeSha256 ? { consensusEnvelopeSha256 } : {}),
    ...(divergenceReportSha256 ? { divergenceReportSha256 } : {}),
    decidedAt: now,
  });
  const after: AfterVerdict = await backend.afterVerdict(deps, decided);
  const body = {
    buildId,
    manifestSha256: build.manifestSha256,
    verdict: decision.verdict,
    previousVerdict: recorded.previousVerdict,
    countedOperators: decision.countedOperators,
    consensusEnvelopeSha256: consensusEnvelopeSha256 ?? null,
    divergenceReportSha256: divergenceReportSha256 ?? null,
    decidedAt: now.toISOString(),
    // Present only when there is something to say, so earlier entries keep their exact form.
    ...(inputs.revoked.length > 0 && {
      revokedResults: inputs.revoked.map((r) => ({
        workerId: r.workerId,
        envelopeSha256: r.envelopeSha256,
        compromisedSince: r.compromisedSince,
      })),
    }),
    ...(after.aptLinkConflicts !== undefined &&
      after.aptLinkConflicts.length > 0 && {
        aptLinkConflicts: after.aptLinkConflicts.map((c) => ({
          architecture: c.architecture,
          package: c.package,
          version: c.version,
          publishedBuildId: c.publishedBuildId,
        })),
      }),
  };
  await deps.log.appendLogEntry({
    kind: 'verdict',
    buildId,
    bodySha256: sha256Hex(canonicalizeJcs(body)),
    body,
    // The tiled log's verdict entry names every result considered, so a hidden one is visible.
    tiledEntryJson: canonicalizeJcs(
      verdictEntryOf({
        buildId,
        sequence: recorded.sequence,
        previousVerdict: recorded.previousVerdict,
        manifestSha256: build.manifestSha256,
        decision,
        results: inputs.results,
        compromised: inputs.revoked,
        ...(consensusEnvelopeSha256 && { consensusEnvelopeSha256 }),
        ...(divergenceReportSha256 && { divergenceReportSha256 }),
        decidedAt: now,
      }),
    ),
  });
  deps.logger.info(
    {
      buildId,
      verdict: decision.verdict,
      previousVerdict: recorded.previousVerdict,
      countedOperators: decision.countedOperators,
    },
    'verdict recorded',
  );
  return decision;
}
