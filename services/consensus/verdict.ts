// The closed set of consensus verdicts and their wire spelling: the one vocabulary every rbnet surface uses.
import { ConsensusError } from './consensus-errors.ts';

/**
 * Every verdict, in its wire form (what the API, the CLI, the database and attestations write).
 * Adding one is a format change: every `switch` over Verdict must be revisited.
 */
export const VERDICTS = [
  'reproducible',
  'agreed',
  'mismatch-upstream',
  'diverged',
  'inputs-differ',
  'insufficient-operators',
  'failed',
  'pending',
  'environment-unavailable',
  'source-unavailable',
] as const;

export type Verdict = (typeof VERDICTS)[number];

/** One line per verdict, for help texts, the web page and explanations. */
export const verdictMeanings: Readonly<Record<Verdict, string>> = Object.freeze({
  reproducible: 'k independent operators rebuilt it, agree, and match the published artifact',
  agreed: 'k independent operators rebuilt it and agree; nothing was published to compare with',
  'mismatch-upstream': 'k independent operators agree with each other but not with the published artifact',
  diverged: 'rebuilders disagree: at least one signed result differs, so the build is not deterministic',
  'inputs-differ': 'results were rebuilt from different inputs or environments and are never compared',
  'insufficient-operators': 'fewer than k independent operators agree and no quorum is possible in time',
  failed: 'every rebuild that finished failed and no further attempt is possible',
  pending: 'fewer than k independent operators agree so far; attempts are still open',
  'environment-unavailable':
    'the recorded build environment cannot be reconstructed exactly; nothing was built',
  'source-unavailable': 'the recorded sources cannot be obtained exactly; nothing was built',
});

const verdictSet: ReadonlySet<string> = new Set(VERDICTS);

export function isVerdict(value: unknown): value is Verdict {
  return typeof value === 'string' && verdictSet.has(value);
}

/**
 * Narrows an untrusted wire value to a Verdict.
 * @throws ConsensusError CONSENSUS_INVALID naming `field` and the value.
 */
export function parseVerdict(value: unknown, field = 'verdict'): Verdict {
  if (!isVerdict(value)) {
    throw new ConsensusError(
      'CONSENSUS_INVALID',
      `${field} is ${String(JSON.stringify(value)).slice(0, 80)}, expected one of ${VERDICTS.join(', ')}`,
    );
  }
  return value;
}

/**
 * Whether the verdict means a quorum of rebuilders agreed on one output set (whatever the claim said).
 * `mismatch-upstream` is included: the rebuilders agree, it is the published artifact that differs.
 */
export function isQuorumVerdict(
  verdict: Verdict,
): verdict is 'reproducible' | 'agreed' | 'mismatch-upstream' {
  return verdict === 'reproducible' || verdict === 'agreed' || verdict === 'mismatch-upstream';
}
