// Offline verification of a bundle, as of a time the consumer chooses: the consensus attestation
// (re-counted under the consumer's own policy) and the public record of it, i.e. every proof's
// checkpoint signed by the log and cosigned by the policy's quorum recently enough, every entry
// included, the verdict naming exactly this attestation, and every result it embeds logged.

import type { BuildPin } from '../consensus/build-pin.ts';
import {
  parseConsensusEnvelope,
  RBNET_CONSENSUS_EXTENSION,
  readConsensusStatement,
} from '../consensus/consensus-attestation.ts';
import type { TrustPolicy } from '../consensus/trust-policy.ts';
import { type ConsensusVerification, verifyConsensus } from '../consensus/verify-consensus.ts';
import { sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import { type ResultEntry, resultKeyText, type VerdictEntry } from './log-entry.ts';
import { leafHash } from './merkle-hash.ts';
import { verifyInclusion } from './merkle-proofs.ts';
import { type BundleProof, parseBundle } from './rbnet-bundle.ts';
import { TlogError } from './tlog-errors.ts';
import { type VerifiedCheckpoint, verifyCheckpoint } from './verify-checkpoint.ts';

export interface VerifyBundleInput {
  readonly bundle: string | Uint8Array;
  /** The consumer's trust policy; it must name a transparency log. */
  readonly policy: TrustPolicy;
  readonly artifactSha256: string;
  readonly pin: BuildPin;
  /** The time everything is judged at: policy expiry, checkpoint age, cosignature times. */
  readonly at: Date;
}

export interface LoggedProof {
  readonly index: number;
  readonly origin: string;
  readonly treeSize: number;
  readonly cosignedBy: readonly {
    readonly witness: string;
    readonly at: string;
    readonly counted: boolean;
  }[];
}

export interface BundleVerification {
  readonly ok: boolean;
  readonly consensus: ConsensusVerification;
  /** The verdict entry's proof (absent when it failed). */
  readonly verdictLogged?: LoggedProof;
  readonly resultsLogged: readonly LoggedProof[];
  /** Everything wrong with the log side, in words (empty when it holds). */
  readonly logProblems: readonly string[];
  readonly explanation: string;
}

/**
 * @throws TlogError BUNDLE_INVALID (malformed bundle), TLOG_POLICY_INVALID (the policy names no
 *   log); and verifyConsensus's errors (expired policy, malformed attestation).
 */
export function verifyBundle(input: VerifyBundleInput): BundleVerification {
  const tlogPolicy = input.policy.transparencyLog;
  if (!tlogPolicy)
    throw new TlogError(
      'TLOG_POLICY_INVALID',
      'your trust policy names no transparency log ($.transparencyLog); a bundle cannot be checked without one',
    );
  const bundle = parseBundle(input.bundle);
  const problems: string[] = [];
  const checkpoints = new Map<string, VerifiedCheckpoint>();
  const logged = (proof: BundleProof, what: string): LoggedProof | undefined => {
    try {
      let checked = checkpoints.get(proof.proof.checkpoint);
      if (!checked) {
        checked = verifyCheckpoint(proof.proof.note, tlogPolicy, input.at);
        checkpoints.set(proof.proof.checkpoint, checked);
      }
      const { checkpoint } = checked;
      verifyInclusion(
        proof.proof.index,
        checkpoint.size,
        leafHash(proof.entryBytes),
        proof.proof.inclusionProof,
        checkpoint.rootHash,
      );
      return {
        index: proof.proof.index,
        origin: checkpoint.origin,
        treeSize: checkpoint.size,
        cosignedBy: checked.cosignatures.map((c) => ({
          witness: c.witness,
          at: new Date(c.timestampSeconds * 1000).toISOString(),
          counted: c.counted,
        })),
      };
    } catch (error) {
      if (!(error instanceof RbnetError)) throw error;
      problems.push(`${what}: [${error.code}] ${error.message}`);
      return undefined;
    }
  };

  const verdict = bundle.verdict.entry as VerdictEntry;
  const verdictLogged = logged(
    bundle.verdict,
    `the verdict's log proof (index ${bundle.verdict.proof.index})`,
  );
  const resultsByKey = new Map<string, { entry: ResultEntry; logged?: LoggedProof }>();
  const resultsLogged: LoggedProof[] = [];
  bundle.results.forEach((result, i) => {
    const entry = result.entry as ResultEntry;
    const proof = logged(result, `result proof ${i} (index ${result.proof.index})`);
    if (proof) resultsLogged.push(proof);
    if (entry.buildId !== verdict.buildId || entry.manifestSha256 !== verdict.manifestSha256)
      problems.push(
        `result proof ${i} is for build ${entry.buildId}, not the verdict's build ${verdict.buildId}`,
      );
    // A backfilled result was recorded before any verdict entry, and may be logged after one.
    if (
      proof &&
      verdictLogged &&
      !entry.backfilled &&
      proof.origin === verdictLogged.origin &&
      proof.index >= verdictLogged.index
    )
      problems.push(
        `result proof ${i} is logged at index ${proof.index}, after the verdict (index ${verdictLogged.index})`,
      );
    resultsByKey.set(resultKeyText(entry), { entry, ...(proof && { logged: proof }) });
  });
  const listed = new Set(verdict.results.map(resultKeyText));
  for (const cited of verdict.results) {
    const key = resultKeyText(cited);
    const result = resultsByKey.get(key);
    if (!result) problems.push(`the verdict lists result ${key}, and the bundle has no log proof of it`);
    else if (result.entry.envelopeSha256 !== cited.envelopeSha256)
      problems.push(`the verdict cites result ${key} with another envelope than the one logged`);
  }
  for (const key of resultsByKey.keys())
    if (!listed.has(key))
      problems.push(
        `result ${key} of this build is logged but the verdict does not account for it (a hidden result)`,
      );

  // Every worker envelope the attestation embeds must be a logged result, so monitors saw it too.
  const statement = readConsensusStatement(parseConsensusEnvelope(bundle.consensusEnvelope));
  const extension = statement.predicate[RBNET_CONSENSUS_EXTENSION];
  const loggedEnvelopes = new Set([...resultsByKey.values()].map((r) => r.entry.envelopeSha256));
  for (const envelope of extension.envelopes) {
    const digest = sha256Hex(Buffer.from(envelope, 'utf8'));
    if (!loggedEnvelopes.has(digest))
      problems.push(
        `the attestation embeds envelope sha256:${digest}, which the bundle shows no log entry for`,
      );
  }
  if (extension.verdict !== verdict.verdict)
    problems.push(`the attestation says ${extension.verdict} but the logged verdict says ${verdict.verdict}`);

  const consensus = verifyConsensus({
    consensusEnvelope: bundle.consensusEnvelope,
    policy: input.policy,
    artifactSha256: input.artifactSha256,
    now: input.at,
    pin: input.pin,
  });
  const ok = consensus.ok && problems.length === 0;
  const explanation = ok
    ? `${consensus.explanation} The verdict (log index ${verdictLogged!.index}) and its ${resultsLogged.length} result(s) are in ${verdictLogged!.origin}, witnessed as your policy requires as of ${input.at.toISOString()}.`
    : [consensus.ok ? '' : consensus.explanation, ...problems.map((p) => `Not verified: ${p}.`)]
        .filter(Boolean)
        .join(' ');
  return Object.freeze({
    ok,
    consensus,
    ...(verdictLogged && { verdictLogged }),
    resultsLogged: Object.freeze(resultsLogged),
    logProblems: Object.freeze(problems),
    explanation,
  });
}
