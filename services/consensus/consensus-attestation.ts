// The coordinator's consensus attestation: composing the statement from typed facts (every worker
// envelope it decided on, so a consumer can re-check the verdict offline) and signing it as DSSE.
import {
  type DsseEnvelope,
  IN_TOTO_PAYLOAD_TYPE,
  parseDsseEnvelope,
  preAuthEncoding,
} from '../attestation/dsse.ts';
import { deepFreeze, IN_TOTO_STATEMENT_V1 } from '../attestation/rebuild-statement.ts';
import type { Signer } from '../attestation/signer.ts';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { RBNET_VERSION } from '../version.ts';
import {
  BUILD_RESOURCE_URI_PREFIX,
  CONSENSUS_POLICY_URI,
  type ConsensusStatement,
  consensusPolicyDigest,
  ENVELOPE_URI_PREFIX,
  invalid,
  MANIFEST_SUBJECT_NAME,
  maxEmbeddedEnvelopes,
  parseConsensusStatement,
  RBNET_CONSENSUS_EXTENSION,
  SLSA_VSA_V1,
  verificationResultFor,
  verifiedLevelsFor,
} from './consensus-statement.ts';
import type { ConsensusPolicy, Decision, OutputDigest } from './consensus-types.ts';

// The statement's vocabulary and parser live in consensus-statement.ts; importers find them here too.
export {
  BUILD_RESOURCE_URI_PREFIX,
  CONSENSUS_POLICY_URI,
  type ConsensusExtension,
  type ConsensusPredicate,
  type ConsensusStatement,
  consensusPolicyDigest,
  ENVELOPE_URI_PREFIX,
  MANIFEST_SUBJECT_NAME,
  maxConsensusEnvelopeBytesDefault,
  maxEmbeddedEnvelopes,
  parseConsensusEnvelope,
  parseConsensusStatement,
  RBNET_CONSENSUS_EXTENSION,
  type ResourceDigest,
  readConsensusStatement,
  SLSA_VSA_V1,
  verificationResultFor,
  verifiedLevelsFor,
} from './consensus-statement.ts';

/** Typed facts the coordinator signs; never bytes a caller composed. */
export interface ConsensusFacts {
  /** The coordinator's build record id; becomes `resourceUri` `rbnet:build/<buildId>`. */
  readonly buildId: string;
  /** The coordinator's identity as an absolute URI (VSA `verifier.id`). */
  readonly verifierId: string;
  readonly timeVerified: Date;
  readonly manifestSha256: Sha256Hex;
  /** The manifest's claimed outputs (empty when nothing was published), so verifiers can redo the claim check. */
  readonly claimedOutputs: readonly OutputDigest[];
  readonly policy: ConsensusPolicy;
  /** The decision from decideVerdict over exactly these envelopes; `pending` is refused. */
  readonly decision: Decision;
  /** Exact JSON text of every worker DSSE envelope the decision saw, dissenters included. */
  readonly envelopes: readonly string[];
}

export interface SignedConsensusAttestation {
  readonly envelope: DsseEnvelope;
  readonly statement: ConsensusStatement;
  /** `JSON.stringify(envelope)`: the bytes to store, log and serve. */
  readonly envelopeJson: string;
}

/**
 * Composes the consensus statement. Subjects: the agreed outputs when PASSED; when FAILED, the
 * claimed outputs (the published files that did not verify), or the manifest when nothing was claimed.
 *
 * @throws ConsensusError CONSENSUS_INVALID when the facts would make a statement our own parser
 *   refuses: a pending decision, an envelope that is not a DSSE envelope or is embedded twice, a
 *   dissenter's envelope left out, a verifier id that is not an absolute URI, ...
 */
export function composeConsensusStatement(facts: ConsensusFacts): ConsensusStatement {
  const { decision, policy } = facts;
  if (decision.verdict === 'pending') invalid('a pending decision is not a verdict; nothing to attest yet');
  if (!(facts.timeVerified instanceof Date) || Number.isNaN(facts.timeVerified.getTime())) {
    invalid('consensus facts: timeVerified is not a valid Date');
  }
  if (typeof facts.buildId !== 'string' || facts.buildId === '') invalid('consensus facts: buildId is empty');
  if (facts.envelopes.length > maxEmbeddedEnvelopes) {
    invalid(
      `consensus facts: ${facts.envelopes.length} envelopes, over the limit of ${maxEmbeddedEnvelopes}`,
    );
  }
  const digests = facts.envelopes.map((text, index) => {
    try {
      parseDsseEnvelope(text);
    } catch (cause) {
      invalid(
        `consensus facts: envelopes[${index}] is not a DSSE envelope (${(cause as Error).message})`,
        cause,
      );
    }
    return sha256Hex(Buffer.from(text, 'utf8'));
  });
  const embedded = new Set(digests);
  if (embedded.size !== digests.length) invalid('consensus facts: an envelope is embedded more than once');
  // Dissent must travel with the verdict: a verifier that never sees it could be told "agreed".
  for (const mentioned of [...(decision.dissent ?? []), ...decision.notCounted]) {
    if (mentioned.envelopeSha256 !== undefined && !embedded.has(mentioned.envelopeSha256)) {
      invalid(
        `consensus facts: the decision names envelope ${mentioned.envelopeSha256}, which is not embedded`,
      );
    }
  }

  const passed = verificationResultFor(decision.verdict) === 'PASSED';
  const subject = passed
    ? (decision.agreeingOutputs ?? []).map((o) => ({ name: o.path, digest: { sha256: o.sha256 } }))
    : facts.claimedOutputs.length > 0
      ? facts.claimedOutputs.map((o) => ({ name: o.path, digest: { sha256: o.sha256 } }))
      : [{ name: MANIFEST_SUBJECT_NAME, digest: { sha256: facts.manifestSha256 } }];

  const statement: ConsensusStatement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject,
    predicateType: SLSA_VSA_V1,
    predicate: {
      verifier: { id: facts.verifierId, version: { rbnet: RBNET_VERSION } },
      timeVerified: facts.timeVerified.toISOString(),
      resourceUri: BUILD_RESOURCE_URI_PREFIX + encodeURIComponent(facts.buildId),
      policy: { uri: CONSENSUS_POLICY_URI, digest: { sha256: consensusPolicyDigest(policy) } },
      inputAttestations: digests.map((sha256) => ({ uri: ENVELOPE_URI_PREFIX + sha256, digest: { sha256 } })),
      verificationResult: verificationResultFor(decision.verdict),
      verifiedLevels: verifiedLevelsFor(decision.verdict, policy.threshold),
      [RBNET_CONSENSUS_EXTENSION]: {
        verdict: decision.verdict,
        threshold: policy.threshold,
        allowFetchedEnvironments: policy.allowFetchedEnvironments,
        manifestSha256: facts.manifestSha256,
        countedOperators: [...decision.countedOperators],
        claimedOutputs: facts.claimedOutputs.map((o) => ({ path: o.path, sha256: o.sha256 })),
        explanation: decision.explanation,
        envelopes: [...facts.envelopes],
      },
    },
  };
  // Never sign what our verifier would refuse.
  return parseConsensusStatement(JSON.parse(JSON.stringify(statement)));
}

/**
 * Composes the consensus statement and signs it as a DSSE envelope (payloadType
 * `application/vnd.in-toto+json`) with the coordinator's signer. The coordinator signs a statement
 * it composed from typed facts; the worker envelopes inside stay verifiable on their own, which is
 * why a consumer never needs to trust this signature.
 *
 * @throws ConsensusError CONSENSUS_INVALID (see composeConsensusStatement); signer errors propagate.
 */
export async function signConsensusAttestation(
  facts: ConsensusFacts,
  signer: Signer,
): Promise<SignedConsensusAttestation> {
  const statement = composeConsensusStatement(facts);
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const signature = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
  if (signature.byteLength === 0) invalid(`signer ${signer.keyid} returned no signature`);
  const envelope: DsseEnvelope = deepFreeze({
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: signer.keyid, sig: Buffer.from(signature).toString('base64') }],
  });
  return Object.freeze({ envelope, statement, envelopeJson: JSON.stringify(envelope) });
}
