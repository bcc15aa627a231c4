// What an alert is about, and the rule that turns one recorded verdict change into at most one alert:
// a regression, the mismatch-upstream alarm, or a build that could not be honoured.
import type { Verdict } from '../consensus/verdict.ts';

/** Every alert kind, in its wire form. */
export const ALERT_KINDS = ['regression', 'mismatch-upstream', 'not-honoured'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Verdicts that mean "reproduces": a quorum agreed (and matched the published artifact, if any). */
export function reproduces(verdict: Verdict): boolean {
  return verdict === 'reproducible' || verdict === 'agreed';
}

/** Verdicts that mean "no longer reproduces" when what came before did. */
const NOT_REPRODUCING: ReadonlySet<Verdict> = new Set<Verdict>(['diverged', 'failed', 'inputs-differ']);

/** Verdicts that mean the record could not be honoured: nothing (or not enough) was built. */
const NOT_HONOURED: ReadonlySet<Verdict> = new Set<Verdict>([
  'insufficient-operators',
  'environment-unavailable',
  'source-unavailable',
]);

/** The earlier version of the same package on the same architecture, as the store last decided it. */
export interface PreviousVersion {
  readonly buildId: string;
  readonly version: string;
  readonly verdict: Verdict;
}

export interface VerdictChange {
  readonly verdict: Verdict;
  /** The build's own verdict before this change (`pending` for its first). */
  readonly previousVerdict: Verdict;
  /** Absent when no earlier version of the package was ever submitted for this architecture. */
  readonly previousVersion?: PreviousVersion;
}

/**
 * The alert a verdict change raises, if any. `mismatch-upstream` always alarms (whatever came before:
 * the rebuilders agree and the published artifact differs). A non-reproducing verdict is a
 * regression when the build itself reproduced before, or when the previous version of its package
 * reproduces. A build that could not be honoured always alerts: its maintainer has to act.
 */
export function alertKindOf(change: VerdictChange): AlertKind | undefined {
  if (change.verdict === 'mismatch-upstream') return 'mismatch-upstream';
  if (NOT_HONOURED.has(change.verdict)) return 'not-honoured';
  if (!NOT_REPRODUCING.has(change.verdict)) return undefined;
  if (reproduces(change.previousVerdict)) return 'regression';
  if (change.previousVersion !== undefined && reproduces(change.previousVersion.verdict)) return 'regression';
  return undefined;
}

/** One sentence for people (an Atom entry's summary, a chat message), from trusted stored fields. */
export function alertSummaryOf(
  kind: AlertKind,
  subject: { readonly package: string; readonly version: string; readonly architecture: string },
  change: VerdictChange,
): string {
  const what = `${subject.package} ${subject.version} (${subject.architecture})`;
  switch (kind) {
    case 'mismatch-upstream':
      return `${what}: independent rebuilders agree with each other but not with the published artifact`;
    case 'not-honoured':
      return `${what} could not be rebuilt as recorded: ${change.verdict}`;
    case 'regression':
      return reproduces(change.previousVerdict)
        ? `${what} no longer reproduces: ${change.previousVerdict} became ${change.verdict}`
        : `${what} does not reproduce (${change.verdict}); ${change.previousVersion?.version} did (${change.previousVersion?.verdict})`;
  }
}
