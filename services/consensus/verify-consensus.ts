// The consumer-side check of a consensus attestation: re-verifies every worker envelope against the
// consumer's own pinned keys and recounts with decideVerdict, trusting nothing the coordinator says.
import { verifyDsseEnvelope } from '../attestation/dsse.ts';
import type { DebianSourceFact, EnvironmentOrigin } from '../attestation/rebuild-statement.ts';
import {
  type VerifiedRebuildAttestation,
  verifyRebuildAttestation,
} from '../attestation/verify-rebuild-attestation.ts';
import { type Sha256Hex, sha256Hex, toSha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import { type BuildPin, buildPinRefusal, describeBuildPin } from './build-pin.ts';
import {
  maxConsensusEnvelopeBytesDefault,
  parseConsensusEnvelope,
  RBNET_CONSENSUS_EXTENSION,
  readConsensusStatement,
} from './consensus-attestation.ts';
import { PolicyError } from './consensus-errors.ts';
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
  /**
   * What the file must have been built from (build-pin.ts). Required: without it any manifest would
   * do, including one that copies the very bytes in question out of its own inputs.
   */
  readonly pin: BuildPin;
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

/** What the counted results were built from, read from their signed statements (never from the coordinator). */
export interface BuiltFrom {
  readonly manifestSha256: Sha256Hex;
  /** The manifest's `name` as signed (a label, not an identity). */
  readonly manifestName: string;
  readonly environment: { readonly sha256: Sha256Hex; readonly origin: EnvironmentOrigin };
  /** Every resolved input, sorted by path as signed. */
  readonly inputs: readonly { readonly path: string; readonly sha256: Sha256Hex }[];
  /** For Debian rebuilds by workers that sign it: the source and whether it came from the signed archive. */
  readonly debianSource?: DebianSourceFact;
}

export interface ConsensusVerification {
  /**
   * True only when >= threshold distinct pinned operators agree with no counted dissent, every
   * counted statement satisfies the pin, and the file is among their outputs.
   */
  readonly ok: boolean;
  /** The pin checked, in words. */
  readonly pinned: string;
  /** What the counted results were built from; absent when nothing counted. */
  readonly builtFrom?: BuiltFrom;
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
 * 5. every verified statement must satisfy the consumer's pin (buildPinRefusal): built from the
 *    pinned manifest, and/or from the pinned Debian source fetched from the signed archive; one
 *    that does not is rejected with the reason, and does not count;
 * 6. decideVerdict is applied with the policy's threshold and fetched-environment rule, as a final
 *    decision (no attempts open), against the pinned manifest (the attestation's only when the pin
 *    names none): envelopes for another manifest or other inputs do not count, and any counted
 *    dissent means `diverged`;
 * 7. the counted statements must agree on the Debian source they sign (if any);
 * 8. `artifactSha256` must be among the agreed outputs.
 *
 * @throws PolicyError POLICY_EXPIRED, PIN_MISSING for a pin that names nothing; ConsensusError
 *   CONSENSUS_INVALID when the envelope is not a consensus attestation at all; DigestError
 *   DIGEST_INVALID for a malformed artifactSha256.
 */
export function verifyConsensus(input: VerifyConsensusInput): ConsensusVerification {
  const { policy, pin } = input;
  assertTrustPolicyCurrent(policy, input.now);
  if (pin?.manifestSha256 === undefined && pin?.debianSource === undefined)
    throw new PolicyError('PIN_MISSING', 'verifyConsensus: the pin names neither a manifest nor a source');
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
  const manifestSha256 = pin.manifestSha256 ?? ext.manifestSha256;

  const rejected: ConsensusRejection[] = [];
  const results: BuiltConsensusResult[] = [];
  const verifiedByEnvelope = new Map<string, VerifiedRebuildAttestation>();
  let pinRefusals = 0;
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
    const refusal = buildPinRefusal(attestation, pin);
    if (refusal !== undefined) {
      pinRefusals++;
      rejected.push({
        operator,
        keyid: attestation.keyid,
        workerId: attestation.worker.id,
        envelopeSha256,
        reason: `does not satisfy your pin: ${refusal}`,
      });
      continue;
    }
    verifiedByEnvelope.set(envelopeSha256, attestation);
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

  const notCountedEnvelopes = new Set(decision.notCounted.map((entry) => entry.envelopeSha256));
  const counted = results
    .filter((r) => !notCountedEnvelopes.has(r.envelopeSha256))
    .map((r) => verifiedByEnvelope.get(r.envelopeSha256)!);
  const builtFrom = counted.length > 0 ? builtFromOf(counted[0]!) : undefined;
  const sourceText = (a: VerifiedRebuildAttestation) => JSON.stringify(a.debianSource ?? null);
  const sourcesAgree = counted.every((a) => sourceText(a) === sourceText(counted[0]!));

  const artifactPaths = (decision.agreeingOutputs ?? [])
    .filter((output: OutputDigest) => output.sha256 === artifactSha256)
    .map((output) => output.path);
  const quorum =
    isQuorumVerdict(decision.verdict) && (decision.agreeingOperators?.length ?? 0) >= policy.threshold;
  const ok = quorum && sourcesAgree && artifactPaths.length > 0 && coordinatorSignature !== 'invalid';

  const problems: string[] = [];
  if (coordinatorSignature === 'invalid') {
    problems.push(
      `the policy pins coordinator keys and the consensus envelope is not signed by one (${coordinatorProblem})`,
    );
  }
  if (pinRefusals > 0) {
    problems.push(
      `${pinRefusals} verified statement(s) were built from something other than what you pinned (${describeBuildPin(pin)})`,
    );
  }
  if (!quorum)
    problems.push(`recounted verdict is ${decision.verdict}: ${decision.explanation.replace(/\.$/, '')}`);
  else if (!sourcesAgree) {
    problems.push(
      `the counted operators sign different Debian sources: ${[...new Set(counted.map(sourceText))].join(' / ')}`,
    );
  } else if (artifactPaths.length === 0) {
    problems.push(
      `sha256:${artifactSha256} is not among the ${decision.agreeingOutputs?.length ?? 0} agreed output(s)`,
    );
  }
  const explanation = ok
    ? `${decision.countedOperators.length} pinned operator(s) (${decision.countedOperators.join(', ')}) independently ` +
      `rebuilt manifest sha256:${manifestSha256} and agree, threshold ${policy.threshold}; the file is ${artifactPaths.join(', ')} ` +
      `in their outputs (verdict ${decision.verdict}); every counted statement satisfies your pin (${describeBuildPin(pin)}).`
    : `Not verified: ${problems.join('; ')}.`;

  return Object.freeze({
    ok,
    pinned: describeBuildPin(pin),
    ...(builtFrom !== undefined && { builtFrom }),
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

function builtFromOf(attestation: VerifiedRebuildAttestation): BuiltFrom {
  return Object.freeze({
    manifestSha256: attestation.manifestSha256,
    manifestName: attestation.statement.predicate.buildDefinition.externalParameters.manifest.name,
    environment: { sha256: attestation.environment.sha256, origin: attestation.environment.origin },
    inputs: attestation.inputs,
    ...(attestation.debianSource !== undefined && { debianSource: attestation.debianSource }),
  });
}

function keyidHint(text: string): { keyid?: string } {
  try {
    const keyid = (JSON.parse(text) as { signatures?: { keyid?: unknown }[] }).signatures?.[0]?.keyid;
    // An unverified hint: kept only in a keyid's own shape, so it cannot carry text of its own.
    return typeof keyid === 'string' && /^[0-9A-Za-z._:-]{1,128}$/.test(keyid) ? { keyid } : {};
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
