// The consumer-side check of a consensus attestation: re-verifies every worker envelope against the
// consumer's own pinned keys and recounts with decideVerdict, trusting nothing the coordinator says.
import { verifyDsseEnvelope } from '../attestation/dsse.ts';
import { verifyRebuildAttestation } from '../attestation/verify-rebuild-attestation.ts';
import { type Sha256Hex, sha256Hex, toSha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import {
  maxConsensusEnvelopeBytesDefault,
  parseConsensusEnvelope,
  RBNET_CONSENSUS_EXTENSION,
  readConsensusStatement,
} from './consensus-attestation.ts';
import {
  type BuiltConsensusResult,
  type Decision,
  decideVerdict,
  type OutputDigest,
} from './decide-verdict.ts';
import {
  assertTrustPolicyCurrent,
  operatorForKeyid,
  operatorKeys,
  type TrustPolicy,
} from './trust-policy.ts';
import { isQuorumVerdict, type Verdict } from './verdict.ts';

export interface VerifyConsensusInput {
  /** The consensus attestation's DSSE envelope, as fetched (untrusted). */
  readonly consensusEnvelope: string | Uint8Array;
  /** The consumer's own trust policy; the only source of keys and of key → operator mapping. */
  readonly policy: TrustPolicy;
  /** sha256 of the file the consumer holds. */
  readonly artifactSha256: string;
  readonly now: Date;
  /** When the consumer knows which manifest the file should come from; otherwise the attestation's is used. */
  readonly expectManifestSha256?: Sha256Hex;
  /** Default 64 MiB. */
  readonly maxEnvelopeBytes?: number;
}

export interface ConsensusRejection {
  /** The policy's operator name, when the envelope verified against a pinned key. */
  readonly operator?: string;
  /** The verified keyid, or the envelope's unauthenticated keyid hint when nothing verified. */
  readonly keyid?: string;
  readonly workerId?: string;
  readonly envelopeSha256?: Sha256Hex;
  readonly reason: string;
}

export interface ConsensusVerification {
  /** True only when >= threshold distinct pinned operators agree, no counted dissent, and the file is among their outputs. */
  readonly ok: boolean;
  /** The verdict recomputed here from the verified envelopes (not the coordinator's). */
  readonly verdict: Verdict;
  /** What the coordinator said; shown for comparison, never relied on. */
  readonly coordinatorVerdict: Verdict;
  /** The policy's names of the operators whose results were compared, sorted. */
  readonly countedOperators: readonly string[];
  /** Paths under which the artifact's digest appears among the agreed outputs (empty when it does not). */
  readonly artifactPaths: readonly string[];
  readonly coordinatorSignature: 'verified' | 'not-required' | 'invalid';
  /** Every embedded envelope that did not count, and why. */
  readonly rejected: readonly ConsensusRejection[];
  readonly decision: Decision;
  readonly explanation: string;
}

/**
 * Verifies a consensus attestation for the file a consumer holds, without trusting the coordinator:
 *
 * 1. the policy must not have expired at `now` (PolicyError POLICY_EXPIRED);
 * 2. if the policy pins coordinator keys, the envelope must be signed by one (otherwise `ok` is
 *    false; the worker envelopes are still evaluated, to explain). The verdict never depends on it;
 * 3. every embedded worker envelope is re-verified with verifyRebuildAttestation against the
 *    policy's operator keys; an envelope that fails, or is embedded twice, does not count;
 * 4. the operator of each verified envelope is the policy's owner of the key that verified it,
 *    never a name from the envelope or the coordinator; agreement is counted by those operators;
 * 5. decideVerdict is applied with the policy's threshold and fetched-environment rule, as a final
 *    decision (no attempts open): envelopes for another manifest or other inputs do not count, and
 *    any counted dissent means `diverged`;
 * 6. `artifactSha256` must be among the agreed outputs.
 *
 * @throws PolicyError POLICY_EXPIRED; ConsensusError CONSENSUS_INVALID when the envelope is not a
 *   consensus attestation at all; DigestError DIGEST_INVALID for a malformed artifactSha256.
 */
export function verifyConsensus(input: VerifyConsensusInput): ConsensusVerification {
  const { policy } = input;
  assertTrustPolicyCurrent(policy, input.now);
  const artifactSha256 = toSha256Hex(input.artifactSha256, 'artifactSha256');

  const envelope = parseConsensusEnvelope(
    input.consensusEnvelope,
    input.maxEnvelopeBytes ?? maxConsensusEnvelopeBytesDefault,
  );
  let coordinatorSignature: ConsensusVerification['coordinatorSignature'] = 'not-required';
  let coordinatorProblem = '';
  if (policy.coordinatorKeys.length > 0) {
    try {
      verifyDsseEnvelope(
        envelope,
        policy.coordinatorKeys.map((key) => key.publicKey),
      );
      coordinatorSignature = 'verified';
    } catch (error) {
      coordinatorSignature = 'invalid';
      coordinatorProblem = (error as Error).message;
    }
  }
  // Safe to read even when the coordinator signature failed: nothing below trusts it, every worker
  // envelope is verified on its own.
  const statement = readConsensusStatement(envelope);
  const ext = statement.predicate[RBNET_CONSENSUS_EXTENSION];
  const manifestSha256 = input.expectManifestSha256 ?? ext.manifestSha256;

  const rejected: ConsensusRejection[] = [];
  const results: BuiltConsensusResult[] = [];
  const trustedKeys = operatorKeys(policy);
  const seen = new Set<string>();
  for (const text of ext.envelopes) {
    const envelopeSha256 = sha256Hex(Buffer.from(text, 'utf8'));
    if (seen.has(envelopeSha256)) {
      rejected.push({
        envelopeSha256,
        reason: 'the same envelope is embedded more than once; it counts once',
      });
      continue;
    }
    seen.add(envelopeSha256);
    let attestation: ReturnType<typeof verifyRebuildAttestation>;
    try {
      attestation = verifyRebuildAttestation(text, trustedKeys);
    } catch (error) {
      const code = error instanceof RbnetError ? `${error.code}: ` : '';
      rejected.push({
        ...keyidHint(text),
        envelopeSha256,
        reason: `not verified against the policy's operator keys (${code}${(error as Error).message})`,
      });
      continue;
    }
    // verifyRebuildAttestation verified with one of trustedKeys, and the policy gives each key one owner.
    const operator = operatorForKeyid(policy, attestation.keyid)!;
    results.push({
      kind: 'built',
      operator,
      workerId: attestation.worker.id,
      keyid: attestation.keyid,
      jobId: attestation.job?.jobId ?? '',
      attempt: attestation.job?.attempt ?? 0,
      manifestSha256: attestation.manifestSha256,
      environment: { sha256: attestation.environment.sha256, origin: attestation.environment.origin },
      inputs: attestation.inputs,
      outputs: attestation.outputs,
      envelopeSha256: envelopeSha256 as Sha256Hex,
      log: { sha256: attestation.log.sha256, sizeBytes: attestation.log.sizeBytes },
    });
  }

  const decision = decideVerdict({
    manifestSha256,
    claimedOutputs: ext.claimedOutputs,
    policy: { threshold: policy.threshold, allowFetchedEnvironments: policy.allowFetchedEnvironments },
    results,
    // The attestation is a final snapshot: nothing more will arrive inside it.
    openAttempts: 0,
    deadlinePassed: true,
    maxAttemptsReached: true,
  });
  const byEnvelope = new Map(results.map((r) => [r.envelopeSha256 as string, r]));
  for (const entry of decision.notCounted) {
    const result = entry.envelopeSha256 === undefined ? undefined : byEnvelope.get(entry.envelopeSha256);
    rejected.push({
      operator: entry.operator,
      ...(result !== undefined && { keyid: result.keyid }),
      workerId: entry.workerId,
      ...(entry.envelopeSha256 !== undefined && { envelopeSha256: entry.envelopeSha256 }),
      reason: notCountedReasonText(entry.reason),
    });
  }

  const artifactPaths = (decision.agreeingOutputs ?? [])
    .filter((output: OutputDigest) => output.sha256 === artifactSha256)
    .map((output) => output.path);
  const quorum =
    isQuorumVerdict(decision.verdict) && (decision.agreeingOperators?.length ?? 0) >= policy.threshold;
  const ok = quorum && artifactPaths.length > 0 && coordinatorSignature !== 'invalid';

  const problems: string[] = [];
  if (coordinatorSignature === 'invalid') {
    problems.push(
      `the policy pins coordinator keys and the consensus envelope is not signed by one (${coordinatorProblem})`,
    );
  }
  if (!quorum) problems.push(`recounted verdict is ${decision.verdict}: ${decision.explanation}`);
  else if (artifactPaths.length === 0) {
    problems.push(
      `sha256:${artifactSha256} is not among the ${decision.agreeingOutputs?.length ?? 0} agreed output(s)`,
    );
  }
  const explanation = ok
    ? `${decision.countedOperators.length} pinned operator(s) (${decision.countedOperators.join(', ')}) independently ` +
      `rebuilt manifest sha256:${manifestSha256} and agree, threshold ${policy.threshold}; the file is ${artifactPaths.join(', ')} ` +
      `in their outputs (verdict ${decision.verdict}).`
    : `Not verified: ${problems.join('; ')}.`;

  return Object.freeze({
    ok,
    verdict: decision.verdict,
    coordinatorVerdict: ext.verdict,
    countedOperators: decision.countedOperators,
    artifactPaths: Object.freeze(artifactPaths),
    coordinatorSignature,
    rejected: Object.freeze(rejected.map((entry) => Object.freeze(entry))),
    decision,
    explanation,
  });
}

function keyidHint(text: string): { keyid?: string } {
  try {
    const keyid = (JSON.parse(text) as { signatures?: { keyid?: unknown }[] }).signatures?.[0]?.keyid;
    return typeof keyid === 'string' && keyid !== '' ? { keyid } : {};
  } catch {
    return {};
  }
}

function notCountedReasonText(reason: Decision['notCounted'][number]['reason']): string {
  switch (reason) {
    case 'manifest-differs':
      return 'not counted: the envelope is for a different manifest';
    case 'failed-build':
      return 'not counted: failed build';
    case 'duplicate-envelope':
      return 'not counted: the same envelope twice';
    case 'fetched-environment':
      return 'not counted: fetched environment (the policy does not allow fetched environments)';
    case 'inputs-differ':
      return 'not counted: rebuilt from different inputs';
    case 'duplicate-operator':
      return 'not counted: this operator already counts once';
  }
}
