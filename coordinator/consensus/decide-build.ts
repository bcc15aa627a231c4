// Re-decides one build from its stored, signed results and publishes what changed: the verdict
// history, the consensus attestation, the divergence report and a transparency-log entry.
import { createPublicKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Signer } from '../../services/attestation/signer.ts';
import { verifyRebuildAttestation } from '../../services/attestation/verify-rebuild-attestation.ts';
import { signConsensusAttestation } from '../../services/consensus/consensus-attestation.ts';
import {
  type ConsensusFailureReason,
  type ConsensusResult,
  type Decision,
  decideVerdict,
  redecide,
} from '../../services/consensus/decide-verdict.ts';
import { buildDivergenceReport } from '../../services/consensus/divergence-report.ts';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import { parseAnyManifest } from '../../services/manifest/parse-any-manifest.ts';
import type { BuildRecord, BuildStore, ResultRecord } from '../../services/storage/build-store.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';
import type { CoordinatorConfig } from '../coordinator-config.ts';

export interface DecideDeps {
  readonly config: CoordinatorConfig;
  readonly store: BuildStore;
  readonly content: ContentStore;
  readonly signer: Signer;
  readonly logger: Logger;
  readonly now: () => Date;
}

const MAX_STORED_ENVELOPE_BYTES = 16 * 1024 * 1024;

export async function readBlobText(
  content: ContentStore,
  sha256: Sha256Hex,
  maxBytes: number,
): Promise<string | undefined> {
  const stream = await content.open(sha256);
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      stream.destroy();
      throw new Error(`blob ${sha256} exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function putJsonBlob(content: ContentStore, value: unknown): Promise<Sha256Hex> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const sha256 = sha256Hex(text);
  await content.put(Readable.from([Buffer.from(text)]), { sha256, maxBytes: Buffer.byteLength(text) });
  return sha256;
}

/** Rebuilds the consensus inputs from what the workers signed (never from the rows alone). */
async function consensusResultsOf(
  deps: DecideDeps,
  build: BuildRecord,
  results: readonly ResultRecord[],
): Promise<{ results: ConsensusResult[]; envelopes: string[] }> {
  const out: ConsensusResult[] = [];
  const envelopes: string[] = [];
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
    const worker = await deps.store.getWorker(row.workerId);
    const text = await readBlobText(deps.content, row.envelopeSha256, MAX_STORED_ENVELOPE_BYTES);
    if (!worker || !text) continue;
    const verified = verifyRebuildAttestation(text, [createPublicKey(worker.signingKeyPem)], {
      manifestSha256: build.manifestSha256,
    });
    envelopes.push(text);
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
  return { results: out, envelopes };
}

function lastDecision(decisionJson: string | undefined): Decision | undefined {
  return decisionJson ? (JSON.parse(decisionJson) as Decision) : undefined;
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
  if (!build) throw new Error(`decideBuild: unknown build ${buildId}`);
  const parsedManifest = parseAnyManifest(build.manifestJson, {
    maxManifestBytes: Math.max(256 * 1024, Buffer.byteLength(build.manifestJson, 'utf8')),
  });
  const [results, attempts, history] = await Promise.all([
    deps.store.listResults(buildId),
    deps.store.listAttempts(buildId),
    deps.store.getVerdictHistory(buildId),
  ]);
  const { results: consensusResults, envelopes } = await consensusResultsOf(deps, build, results);
  const now = deps.now();
  const decision = decideVerdict({
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
    const report = buildDivergenceReport(consensusResults, decision, {
      claimedOutputs: build.claimedOutputs,
    });
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
  const body = {
    buildId,
    manifestSha256: build.manifestSha256,
    verdict: decision.verdict,
    previousVerdict: recorded.previousVerdict,
    countedOperators: decision.countedOperators,
    consensusEnvelopeSha256: consensusEnvelopeSha256 ?? null,
    divergenceReportSha256: divergenceReportSha256 ?? null,
    decidedAt: now.toISOString(),
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
