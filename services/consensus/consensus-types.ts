// What the consensus rule takes and gives: results as it compares them, its policy, and the decision
// with everything that explains it. Types only (and the closed list of failure reasons).
import type { EnvironmentOrigin } from '../attestation/rebuild-statement.ts';
import type { ClaimComparison, OutputDigest } from '../claims/compare-outputs-with-claims.ts';
import type { Sha256Hex } from '../digest.ts';
import type { Verdict } from './verdict.ts';

export type { OutputDigest } from '../claims/compare-outputs-with-claims.ts';

/** An output as a result reports it; `sizeBytes` feeds divergence reports and is never compared. */
export interface ConsensusOutput extends OutputDigest {
  readonly sizeBytes?: number;
}

export interface InputDigest {
  readonly path: string;
  readonly sha256: Sha256Hex;
}

/**
 * Why a rebuild failed. The worker's own reasons, plus the two that mean the record could not be
 * honoured exactly (nothing was built). Infrastructure errors are retried and never reach here.
 */
export const CONSENSUS_FAILURE_REASONS = [
  'exit-code',
  'timeout',
  'oom',
  'disk',
  'output-rejected',
  'environment-unavailable',
  'source-unavailable',
] as const;

export type ConsensusFailureReason = (typeof CONSENSUS_FAILURE_REASONS)[number];

interface ConsensusResultBase {
  /** Operator identity that agreement is counted by. Live: the enrolled operator; offline: the trust policy's name. */
  readonly operator: string;
  readonly workerId: string;
  /** securesystemslib keyid of the key that signed (or, for a failure, that reported). */
  readonly keyid: string;
  readonly jobId: string;
  /** 0 or more. */
  readonly attempt: number;
  /** The manifest the result is about; results for any other manifest are never counted. */
  readonly manifestSha256: Sha256Hex;
  /** The build log, when stored; shown in divergence reports only. */
  readonly log?: { readonly sha256: Sha256Hex; readonly sizeBytes?: number };
}

/** A successful rebuild, backed by a verified signed envelope. */
export interface BuiltConsensusResult extends ConsensusResultBase {
  readonly kind: 'built';
  readonly environment: { readonly sha256: Sha256Hex; readonly origin: EnvironmentOrigin };
  readonly inputs: readonly InputDigest[];
  readonly outputs: readonly ConsensusOutput[];
  /** sha256 of the worker's DSSE envelope bytes: a result's identity. */
  readonly envelopeSha256: Sha256Hex;
}

/** A rebuild that finished without outputs. Failures produce no attestation, hence no envelope. */
export interface FailedConsensusResult extends ConsensusResultBase {
  readonly kind: 'failed';
  readonly failureReason: ConsensusFailureReason;
}

export type ConsensusResult = BuiltConsensusResult | FailedConsensusResult;

/** The policy parameters the rule needs; the coordinator's and a consumer's trust policy both supply them. */
export interface ConsensusPolicy {
  /** k: distinct operators that must agree; an integer >= 1. */
  readonly threshold: number;
  /** Whether results built in an environment the worker fetched (rather than built itself) count. */
  readonly allowFetchedEnvironments: boolean;
}

export interface DecisionInput {
  /** The reference: the manifest's own digest. */
  readonly manifestSha256: Sha256Hex;
  /** What the publisher claims; empty when nothing was published. */
  readonly claimedOutputs: readonly OutputDigest[];
  readonly policy: ConsensusPolicy;
  /** In arrival order; the order only breaks ties when naming a dissent, never decides a verdict. */
  readonly results: readonly ConsensusResult[];
  /**
   * The inputs the manifest records. When given, a result resolved from anything else is
   * `inputs-differ`; when absent, results are only compared with each other.
   */
  readonly expectedInputs?: {
    readonly environmentSha256: Sha256Hex;
    readonly inputs: readonly InputDigest[];
  };
  /** Attempts assigned but not yet reported; an integer >= 0. */
  readonly openAttempts: number;
  readonly deadlinePassed: boolean;
  /** No further attempt may be assigned (attempts already open may still report). */
  readonly maxAttemptsReached: boolean;
}

export type NotCountedReason =
  | 'manifest-differs'
  | 'failed-build'
  | 'duplicate-envelope'
  | 'fetched-environment'
  | 'inputs-differ'
  | 'duplicate-operator';

/** Identifies one result in a decision. */
export interface ResultRef {
  readonly operator: string;
  readonly workerId: string;
  readonly jobId: string;
  readonly attempt: number;
  /** Absent for failed builds. */
  readonly envelopeSha256?: Sha256Hex;
}

export interface NotCounted extends ResultRef {
  readonly reason: NotCountedReason;
}

/** A counted success whose output set differs from the set most operators produced. */
export interface Dissent extends ResultRef {
  readonly envelopeSha256: Sha256Hex;
  /** Paths whose digest differs, or that only one side has; code point order. */
  readonly differingPaths: readonly string[];
}

/** The verdict and everything needed to explain it. Always deeply frozen and plain JSON. */
export interface Decision {
  readonly verdict: Verdict;
  /** Distinct operators whose results were compared (agreeing and dissenting), sorted. */
  readonly countedOperators: readonly string[];
  /** Distinct operators that produced the reference output set, sorted; present when anything was compared. */
  readonly agreeingOperators?: readonly string[];
  /** The agreed output set, sorted by path: present for reproducible, agreed and mismatch-upstream. */
  readonly agreeingOutputs?: readonly OutputDigest[];
  /** Present for diverged: one entry per (operator, differing output set). */
  readonly dissent?: readonly Dissent[];
  readonly notCounted: readonly NotCounted[];
  /** Agreed outputs against the claim: present for reproducible, agreed and mismatch-upstream. */
  readonly claims?: ClaimComparison;
  readonly explanation: string;
}

export interface DecisionChange {
  /** Anything in the decision differs (verdict, counted operators, dissent, ...). */
  readonly changed: boolean;
  /** Present when the verdict itself changed; `from` is null for the first decision. */
  readonly transition?: { readonly from: Verdict | null; readonly to: Verdict };
}
