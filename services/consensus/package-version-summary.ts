// What one package version's builds say together: per architecture the newest build stands for
// the version (a rebuild replaces an older attempt), and the version's verdict is the most severe
// of those, so one architecture that does not reproduce is never hidden by another that does.
import type { Verdict } from './verdict.ts';

/** What a summary reads of each build. */
export interface SummarizedBuild {
  readonly architecture: string;
  readonly verdict: Verdict;
  readonly agreeingOperators: readonly string[];
  readonly dissentingOperators: readonly string[];
}

export interface PackageVersionSummary {
  /** The most severe verdict of the newest build of each architecture. */
  readonly verdict: Verdict;
  /** Distinct operators whose rebuild agreed in a `reproducible` or `agreed` build, sorted. */
  readonly reproducedBy: readonly string[];
  /** Distinct operators named in a dissent, sorted. */
  readonly dissentedBy: readonly string[];
}

/** Most severe first: the alarm, then disagreement, then what was not decided, then agreement. */
export const VERDICT_SEVERITY: readonly Verdict[] = Object.freeze([
  'mismatch-upstream',
  'diverged',
  'inputs-differ',
  'failed',
  'environment-unavailable',
  'source-unavailable',
  'insufficient-operators',
  'pending',
  'agreed',
  'reproducible',
]);

const REPRODUCED: ReadonlySet<Verdict> = new Set(['reproducible', 'agreed']);

/**
 * Summarises one version's builds, given newest first (at least one).
 * @returns the version's verdict and who reproduced and dissented, over the newest build per architecture.
 */
export function summarizePackageVersion(newestFirst: readonly SummarizedBuild[]): PackageVersionSummary {
  const current = new Map<string, SummarizedBuild>();
  for (const build of newestFirst)
    if (!current.has(build.architecture)) current.set(build.architecture, build);
  const standing = [...current.values()];
  const verdict =
    VERDICT_SEVERITY.find((v) => standing.some((b) => b.verdict === v)) ?? ('pending' as Verdict);
  const reproducedBy = new Set(
    standing.filter((b) => REPRODUCED.has(b.verdict)).flatMap((b) => b.agreeingOperators),
  );
  const dissentedBy = new Set(standing.flatMap((b) => b.dissentingOperators));
  return Object.freeze({
    verdict,
    reproducedBy: Object.freeze([...reproducedBy].sort()),
    dissentedBy: Object.freeze([...dissentedBy].sort()),
  });
}
