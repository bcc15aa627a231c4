// Turns what the coordinator already holds (a result as the consensus rule sees it, a decision)
// into log entries, so logging a result or a verdict is one call at the place it is recorded.
import type { ConsensusResult, Decision } from '../consensus/decide-verdict.ts';
import type { Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import {
  outputsDigest,
  RESULT_ENTRY,
  type ResultEntry,
  resultKeyText,
  VERDICT_ENTRY,
  type VerdictEntry,
  type VerdictResult,
} from './log-entry.ts';

export function resultEntryOf(buildId: string, result: ConsensusResult, receivedAt: Date): ResultEntry {
  const common = {
    type: RESULT_ENTRY,
    buildId,
    manifestSha256: result.manifestSha256,
    workerId: result.workerId,
    operator: result.operator,
    keyid: result.keyid,
    jobId: result.jobId,
    attempt: result.attempt,
    receivedAt: receivedAt.toISOString(),
  } as const;
  return result.kind === 'built'
    ? {
        ...common,
        outcome: 'built',
        envelopeSha256: result.envelopeSha256,
        outputsSha256: outputsDigest(result.outputs),
      }
    : { ...common, outcome: 'failed', failureReason: result.failureReason };
}

/** What a verdict entry cites of a result. */
export interface CitedResult {
  readonly workerId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly kind: 'built' | 'failed';
  readonly envelopeSha256?: Sha256Hex;
}

export interface VerdictFacts {
  readonly buildId: string;
  readonly sequence: number;
  readonly previousVerdict: Verdict;
  readonly manifestSha256: Sha256Hex;
  readonly decision: Decision;
  /** Every result the decision was taken over. */
  readonly results: readonly ConsensusResult[];
  /** Results set aside before deciding because their worker's key was compromised by then. */
  readonly compromised?: readonly CitedResult[];
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: Date;
}

/** The verdict entry: every result considered, each with why it did or did not count. */
export function verdictEntryOf(facts: VerdictFacts): VerdictEntry {
  const reasons = new Map(facts.decision.notCounted.map((n) => [resultKeyText(n), n.reason] as const));
  const cite = (result: CitedResult, standing: VerdictResult['standing']): VerdictResult => ({
    workerId: result.workerId,
    jobId: result.jobId,
    attempt: result.attempt,
    ...(result.kind === 'built' &&
      result.envelopeSha256 !== undefined && { envelopeSha256: result.envelopeSha256 }),
    standing,
  });
  const listed = [
    ...facts.results.map((result) => cite(result, reasons.get(resultKeyText(result)) ?? 'counted')),
    ...(facts.compromised ?? []).map((result) => cite(result, 'key-compromised')),
  ];
  return {
    type: VERDICT_ENTRY,
    buildId: facts.buildId,
    sequence: facts.sequence,
    verdict: facts.decision.verdict,
    previousVerdict: facts.previousVerdict,
    manifestSha256: facts.manifestSha256,
    results: listed,
    ...(facts.consensusEnvelopeSha256 !== undefined && {
      consensusEnvelopeSha256: facts.consensusEnvelopeSha256,
    }),
    ...(facts.divergenceReportSha256 !== undefined && {
      divergenceReportSha256: facts.divergenceReportSha256,
    }),
    decidedAt: facts.decidedAt.toISOString(),
  };
}
