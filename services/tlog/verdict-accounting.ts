// The monitor's rule over the log's entries: every verdict accounts for every result of its build
// logged before it (a hidden dissent is an alarm), cites only results that were logged, as they
// were logged, and a quorum verdict never counts results whose outputs differ or whose key was
// compromised by then. Pure and incremental: feed entries in log order; the state serialises.
import { isQuorumVerdict } from '../consensus/verdict.ts';
import { parseUtcTimestamp } from '../utc-timestamp.ts';
import {
  KEY_EVENT_ENTRY,
  type LogEntry,
  RESULT_ENTRY,
  type ResultEntry,
  resultKeyText,
  VERDICT_ENTRY,
  type VerdictEntry,
} from './log-entry.ts';

export type AccountingAlarmKind =
  /** A result logged before a verdict of its build that the verdict does not list. */
  | 'hidden-result'
  /** A verdict lists a result that was never logged before it. */
  | 'phantom-result'
  /** A verdict lists a result with another envelope than the one logged. */
  | 'altered-result'
  /** A quorum verdict counts built results whose outputs differ, or a failed one. */
  | 'ignored-dissent'
  /** A verdict counts a result received after its key was logged as compromised. */
  | 'counted-compromised'
  /** A verdict sets a result aside for a compromised key no compromise event names. */
  | 'unlogged-compromise';

export interface AccountingAlarm {
  readonly kind: AccountingAlarmKind;
  /** Index of the verdict entry the alarm is about. */
  readonly index: number;
  readonly buildId: string;
  readonly message: string;
}

interface LoggedResult {
  readonly index: number;
  readonly entry: ResultEntry;
}

/** What the rule remembers: the results logged per build, and compromise times per worker. */
export interface AccountingState {
  readonly results: Record<string, Record<string, LoggedResult>>;
  /** workerId → earliest compromisedSince (ms). */
  readonly compromisedSinceMs: Record<string, number>;
}

export function emptyAccountingState(): AccountingState {
  return { results: {}, compromisedSinceMs: {} };
}

/**
 * Applies the rule to the entry at `index` (entries must come in log order), updating `state`.
 * @returns the alarms this entry raises (empty when it is in order).
 */
export function accountEntry(state: AccountingState, index: number, entry: LogEntry): AccountingAlarm[] {
  switch (entry.type) {
    case RESULT_ENTRY: {
      state.results[entry.buildId] = {
        ...state.results[entry.buildId],
        [resultKeyText(entry)]: { index, entry },
      };
      return [];
    }
    case KEY_EVENT_ENTRY: {
      if (entry.event === 'compromised') {
        const since = parseUtcTimestamp(entry.compromisedSince!)!;
        const known = state.compromisedSinceMs[entry.workerId];
        state.compromisedSinceMs[entry.workerId] = known === undefined ? since : Math.min(known, since);
      }
      return [];
    }
    case VERDICT_ENTRY:
      return checkVerdict(state, index, entry);
    default:
      // Migrated hash-chain verdicts predate result entries: nothing to account them against.
      return [];
  }
}

function checkVerdict(state: AccountingState, index: number, verdict: VerdictEntry): AccountingAlarm[] {
  const alarms: AccountingAlarm[] = [];
  const alarm = (kind: AccountingAlarmKind, message: string) =>
    alarms.push(
      Object.freeze({
        kind,
        index,
        buildId: verdict.buildId,
        message: `verdict at index ${index} for build ${verdict.buildId} (${verdict.verdict}): ${message}`,
      }),
    );
  const logged = state.results[verdict.buildId] ?? {};
  const listed = new Set(verdict.results.map(resultKeyText));
  for (const [key, result] of Object.entries(logged)) {
    if (!listed.has(key))
      alarm(
        'hidden-result',
        `the ${result.entry.outcome} result ${key} of operator ${result.entry.operator} logged at index ${result.index} is not accounted for`,
      );
  }
  const countedOutputs = new Set<string>();
  for (const cited of verdict.results) {
    const key = resultKeyText(cited);
    const result = logged[key];
    if (!result) {
      alarm('phantom-result', `it cites result ${key}, which was not logged before it`);
      continue;
    }
    if (cited.envelopeSha256 !== result.entry.envelopeSha256)
      alarm(
        'altered-result',
        `it cites result ${key} with envelope ${cited.envelopeSha256 ?? 'none'}, logged with ${result.entry.envelopeSha256 ?? 'none'}`,
      );
    const compromisedSince = state.compromisedSinceMs[cited.workerId];
    const compromised =
      compromisedSince !== undefined && parseUtcTimestamp(result.entry.receivedAt)! >= compromisedSince;
    if (cited.standing === 'key-compromised' && !compromised)
      alarm(
        'unlogged-compromise',
        `it sets result ${key} aside for a compromised key, but no compromise of ${cited.workerId} logged before it covers that result`,
      );
    if (cited.standing !== 'counted') continue;
    if (compromised)
      alarm(
        'counted-compromised',
        `it counts result ${key}, received after worker ${cited.workerId}'s key was logged as compromised`,
      );
    if (result.entry.outcome === 'failed') alarm('ignored-dissent', `it counts the failed result ${key}`);
    else countedOutputs.add(result.entry.outputsSha256!);
  }
  if (isQuorumVerdict(verdict.verdict) && countedOutputs.size > 1)
    alarm(
      'ignored-dissent',
      `it counts ${countedOutputs.size} different output sets yet says ${verdict.verdict}`,
    );
  return alarms;
}
