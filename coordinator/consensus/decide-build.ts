// Re-decides one build from its stored, signed results and publishes what changed: the verdict
// history, the consensus attestation, the divergence report and a transparency-log entry.
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { deepFreeze } from '../../services/attestation/rebuild-statement.ts';
import type { Signer } from '../../services/attestation/signer.ts';
import {
  type VerifiedRebuildAttestation,
  verifyRebuildAttestation,
} from '../../services/attestation/verify-rebuild-attestation.ts';
import { signConsensusAttestation } from '../../services/consensus/consensus-attestation.ts';
import {
  type ConsensusFailureReason,
  type ConsensusResult,
  type Decision,
  decideVerdict,
  redecide,
} from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport, type DivergenceReport } from '../../services/consensus/divergence-report.ts';
import { buildNestedDebDivergence } from '../../services/debian/build-nested-deb-divergence.ts';
import {
  DEB_INSPECTION_BYPRODUCT_NAME,
  maxDebInspectionResultBytesDefault,
  parseDebInspectionResult,
} from '../../services/debian/deb-inspection/inspection-report.ts';
import type { NestedDebDivergence, NestedDebResult } from '../../services/debian/nested-deb-divergence.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import {
  type BuildRecord,
  type BuildStore,
  BuildStoreError,
  type ResultRecord,
} from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { CoordinatorConfig } from '../coordinator-config.ts';
import { readBlobText } from '../storage/read-blob.ts';

import { publishAptLinks } from './publish-apt-links.ts';
import { type RevokedResult, standingOfResults } from './revoked-results.ts';

export interface DecideDeps {
  readonly config: CoordinatorConfig;
  readonly store: BuildStore;
  readonly content: ContentStore;
  readonly signer: Signer;
  readonly logger: Logger;
  readonly now: () => Date;
}

const MAX_STORED_ENVELOPE_BYTES = 16 * 1024 * 1024;

export async function putJsonBlob(content: ContentStore, value: unknown): Promise<Sha256Hex> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const sha256 = sha256Hex(text);
  await content.put(Readable.from([Buffer.from(text)]), { sha256, maxBytes: Buffer.byteLength(text) });
  return sha256;
}

/**
 * A built result's stored envelope, verified against its worker's enrolled signing key and the
 * build's manifest. Undefined when the worker or the envelope is not found.
 *
 * @throws AttestationError when the envelope does not verify.
 */
export async function readVerifiedResult(
  deps: Pick<DecideDeps, 'store' | 'content'>,
  build: BuildRecord,
  row: ResultRecord,
): Promise<{ readonly text: string; readonly verified: VerifiedRebuildAttestation } | undefined> {
  const worker = await deps.store.getWorker(row.workerId);
  const text = await readBlobText(deps.content, row.envelopeSha256, MAX_STORED_ENVELOPE_BYTES);
  if (!worker || !text) return undefined;
  const verified = verifyRebuildAttestation(text, [createPublicKey(worker.signingKeyPem)], {
    manifestSha256: build.manifestSha256,
  });
  return { text, verified };
}

/** Rebuilds the consensus inputs from what the workers signed (never from the rows alone). */
async function consensusResultsOf(
  deps: DecideDeps,
  build: BuildRecord,
  results: readonly ResultRecord[],
): Promise<{
  results: ConsensusResult[];
  envelopes: string[];
  /** Each built result's verified attestation, by envelope digest. */
  verified: Map<Sha256Hex, VerifiedRebuildAttestation>;
}> {
  const out: ConsensusResult[] = [];
  const envelopes: string[] = [];
  const verifiedByEnvelope = new Map<Sha256Hex, VerifiedRebuildAttestation>();
  for (const row of results) {
    if (!row.counted) continue;
    const base = {
      operator: row.operator,
      workerId: row.workerId,
      jobId: row.jobId,
      attempt: row.attempt,
      manifestSha256: build.manifestSha256,
      log: { sha256: row.logSha256 },
    };
    if (row.kind === 'failed') {
      const worker = await deps.store.getWorker(row.workerId);
      out.push({
        ...base,
        kind: 'failed',
        keyid: worker?.signingKeyid ?? '',
        failureReason: row.failureReason as ConsensusFailureReason,
      });
      continue;
    }
    const read = await readVerifiedResult(deps, build, row);
    if (!read) continue;
    const { text, verified } = read;
    envelopes.push(text);
    verifiedByEnvelope.set(row.envelopeSha256, verified);
    out.push({
      ...base,
      kind: 'built',
      keyid: verified.keyid,
      environment: { sha256: verified.environment.sha256, origin: verified.environment.origin },
      inputs: verified.inputs,
      outputs: verified.outputs,
      envelopeSha256: row.envelopeSha256,
      log: { sha256: verified.log.sha256, sizeBytes: verified.log.sizeBytes },
    });
  }
  return { results: out, envelopes, verified: verifiedByEnvelope };
}

/**
 * The nested .deb section of a Debian build's report: each compared built result with its signed
 * `rbnet/deb-inspection.json` read (capped) and parsed. A missing, unreadable or refused inspection
 * is recorded as such on that result; it never stops the decision.
 */
async function nestedDebDivergenceOf(
  deps: DecideDeps,
  report: DivergenceReport,
  results: readonly ConsensusResult[],
  verifiedByEnvelope: ReadonlyMap<Sha256Hex, VerifiedRebuildAttestation>,
  claimedOutputs: BuildRecord['claimedOutputs'],
): Promise<NestedDebDivergence> {
  const nested: NestedDebResult[] = [];
  for (const [index, result] of results.entries()) {
    const entry = report.results[index];
    if (result.kind !== 'built' || !entry) continue;
    if (entry.notCountedReason === 'manifest-differs' || entry.notCountedReason === 'duplicate-envelope')
      continue;
    const byproducts = verifiedByEnvelope.get(result.envelopeSha256)?.byproducts ?? [];
    const base = {
      operator: result.operator,
      workerId: result.workerId,
      counted: entry.counted,
      outputs: result.outputs.map((o) => ({ path: o.path, sha256: o.sha256 })),
      byproducts,
    };
    const inspection = byproducts.find((b) => b.name === DEB_INSPECTION_BYPRODUCT_NAME);
    if (!inspection) {
      nested.push(base);
      continue;
    }
    try {
      const text = await readBlobText(deps.content, inspection.sha256, maxDebInspectionResultBytesDefault);
      nested.push(
        text === undefined
          ? {
              ...base,
              inspectionUnavailable: `${DEB_INSPECTION_BYPRODUCT_NAME} (sha256:${inspection.sha256}) is not in the content store`,
            }
          : { ...base, inspection: parseDebInspectionResult(text, maxDebInspectionResultBytesDefault) },
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      nested.push({ ...base, inspectionUnavailable: `${DEB_INSPECTION_BYPRODUCT_NAME} refused: ${message}` });
    }
  }
  return buildNestedDebDivergence({ results: nested, claimedOutputs });
}

/**
 * A decision as the coordinator records it: the consensus rule's decision over the results that
 * still count, plus the results a worker's compromise took out (absent when none), so the history
 * says why a verdict changed. Consumers recount only the envelopes the attestation carries.
 */
export type RecordedDecision = Decision & { readonly revokedResults?: readonly RevokedResult[] };

function lastDecision(decisionJson: string | undefined): RecordedDecision | undefined {
  return decisionJson ? (JSON.parse(decisionJson) as RecordedDecision) : undefined;
}

/**
 * Decides the build again. `maxAttemptsReached` comes from the scheduler (no further worker can be
 * assigned). Records and publishes only when the decision changed; returns the current decision.
 */
export async function decideBuild(
  deps: DecideDeps,
  buildId: string,
  scheduling: { readonly maxAttemptsReached: boolean },
): Promise<Decision> {
  const build = await deps.store.getBuild(buildId);
  if (!build) throw new BuildStoreError('NOT_FOUND', `buildId: decideBuild found no build ${buildId}`);
  const parsedManifest = parseAnyManifest(build.manifestJson, {
    maxManifestBytes: Math.max(256 * 1024, Buffer.byteLength(build.manifestJson, 'utf8')),
  });
  const [results, attempts, history] = await Promise.all([
    deps.store.listResults(buildId),
    deps.store.listAttempts(buildId),
    deps.store.getVerdictHistory(buildId),
  ]);
  const standing = await standingOfResults(deps.store, results);
  const {
    results: consensusResults,
    envelopes,
    verified,
  } = await consensusResultsOf(deps, build, standing.counting);
  const now = deps.now();
  const ruled = decideVerdict({
    manifestSha256: build.manifestSha256,
    claimedOutputs: build.claimedOutputs,
    policy: {
      threshold: build.policy.threshold,
      allowFetchedEnvironments: deps.config.policy.allowFetchedEnvironments,
    },
    results: consensusResults,
    // A Debian environment is resolved by each worker from the .buildinfo, so its identity is
    // compared between results, not against the manifest.
    ...(parsedManifest.kind === 'generic' && {
      expectedInputs: {
        environmentSha256: parsedManifest.manifest.environment.imageSha256,
        inputs: parsedManifest.manifest.inputs.map((input) => ({ path: input.path, sha256: input.sha256 })),
      },
    }),
    openAttempts: attempts.filter((a) => a.state === 'open').length,
    deadlinePassed: now.getTime() > Date.parse(build.createdAt) + build.policy.decisionDeadlineMs,
    maxAttemptsReached: scheduling.maxAttemptsReached,
  });
  const decision: RecordedDecision =
    standing.revoked.length === 0 ? ruled : deepFreeze({ ...ruled, revokedResults: standing.revoked });
  const previous = lastDecision(history.at(-1)?.decisionJson);
  const change = redecide(previous, decision);
  if (!change.changed || (previous === undefined && decision.verdict === 'pending')) return decision;

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
        policy: {
          threshold: build.policy.threshold,
          allowFetchedEnvironments: deps.config.policy.allowFetchedEnvironments,
        },
        decision,
        envelopes,
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
    let report = buildDivergenceReport(consensusResults, decision, {
      claimedOutputs: build.claimedOutputs,
    });
    if (parsedManifest.kind === 'debian') {
      try {
        const debian = await nestedDebDivergenceOf(
          deps,
          report,
          consensusResults,
          verified,
          build.claimedOutputs,
        );
        report = buildDivergenceReport(consensusResults, decision, {
          claimedOutputs: build.claimedOutputs,
          debian,
        });
      } catch (err) {
        // The nested section explains; the verdict and the file-level report stand without it.
        deps.logger.error({ err, buildId }, 'nested .deb divergence failed');
      }
    }
    divergenceReportSha256 = await putJsonBlob(deps.content, report);
  }
  const recorded = await deps.store.recordVerdict({
    buildId,
    verdict: decision.verdict,
    decisionJson: JSON.stringify(decision),
    ...(consensusEnvelopeSha256 ? { consensusEnvelopeSha256 } : {}),
    ...(divergenceReportSha256 ? { divergenceReportSha256 } : {}),
    decidedAt: now,
  });
  const publication =
    parsedManifest.kind === 'debian'
      ? await publishAptLinks(deps, build, decision, consensusResults, verified)
      : undefined;
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
    ...(standing.revoked.length > 0 && {
      revokedResults: standing.revoked.map((r) => ({
        workerId: r.workerId,
        envelopeSha256: r.envelopeSha256,
        compromisedSince: r.compromisedSince,
      })),
    }),
    ...(publication &&
      publication.conflicts.length > 0 && {
        aptLinkConflicts: publication.conflicts.map((c) => ({
          architecture: c.architecture,
          package: c.package,
          version: c.version,
          publishedBuildId: c.publishedBuildId,
        })),
      }),
  };
  await deps.store.appendLogEntry({
    kind: 'verdict',
    buildId,
    bodySha256: sha256Hex(canonicalizeJcs(body)),
    body,
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
