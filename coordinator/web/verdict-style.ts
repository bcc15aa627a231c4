// How the pages name and colour verdicts: one label, one CSS class and one group per verdict, so a
// table, a chart legend and a badge always say the same thing.
import { VERDICTS, type Verdict, verdictMeanings } from '../../services/consensus/verdict.ts';

/**
 * - `good`: independent operators agree (reproducible, agreed)
 * - `alarm`: they agree with each other, not with what was published
 * - `bad`: they disagree, or rebuilt from different inputs
 * - `none`: nothing to compare (failed, no quorum, unavailable)
 * - `open`: still pending
 */
export type VerdictGroup = 'good' | 'alarm' | 'bad' | 'none' | 'open';

/** The order verdicts are listed in: what matters most to a reader first. */
export const VERDICT_ORDER: readonly Verdict[] = [
  'reproducible',
  'agreed',
  'mismatch-upstream',
  'diverged',
  'inputs-differ',
  'failed',
  'insufficient-operators',
  'environment-unavailable',
  'source-unavailable',
  'pending',
];

const GROUPS: Readonly<Record<Verdict, VerdictGroup>> = {
  reproducible: 'good',
  agreed: 'good',
  'mismatch-upstream': 'alarm',
  diverged: 'bad',
  'inputs-differ': 'bad',
  failed: 'none',
  'insufficient-operators': 'none',
  'environment-unavailable': 'none',
  'source-unavailable': 'none',
  pending: 'open',
};

export function verdictGroup(verdict: Verdict): VerdictGroup {
  return GROUPS[verdict];
}

/** The verdict as people read it: its wire name with spaces. */
export function verdictLabel(verdict: Verdict): string {
  return verdict.replaceAll('-', ' ');
}

/** The CSS class that colours this verdict (`v-mismatch-upstream`); every class is in the stylesheet. */
export function verdictClass(verdict: Verdict): string {
  return `v-${verdict}`;
}

/** One sentence on what the verdict means. */
export function verdictMeaning(verdict: Verdict): string {
  return verdictMeanings[verdict];
}

/** Independent operators reproduced it: reproducible, or agreed where nothing was published. */
export function isReproduced(verdict: Verdict): boolean {
  return verdict === 'reproducible' || verdict === 'agreed';
}

/** Zero for every verdict. */
export function zeroCounts(): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
}

/**
 * The share reproduced among packages with a decided verdict (pending left out), 0..1; undefined
 * when nothing is decided yet.
 */
export function reproducedShare(counts: Readonly<Record<Verdict, number>>): number | undefined {
  let decided = 0;
  let reproduced = 0;
  for (const verdict of VERDICTS) {
    if (verdict === 'pending') continue;
    decided += counts[verdict];
    if (isReproduced(verdict)) reproduced += counts[verdict];
  }
  return decided === 0 ? undefined : reproduced / decided;
}

/** `87.5%`, `100%`, or `–` for undefined. */
export function formatShare(share: number | undefined): string {
  if (share === undefined) return '–';
  const percent = Math.round(share * 1000) / 10;
  return `${percent}%`;
}
