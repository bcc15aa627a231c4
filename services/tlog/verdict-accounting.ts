// The monitor's rule over the log's entries: every verdict accounts for every result of its build
// logged before it (a hidden dissent is an alarm), cites only results that were logged, as they
// were logged, and a quorum verdict never counts results whose outputs differ or whose key was
// compromised by then. Results recorded before the log logged them arrive later, marked
// `backfilled`, in one block: they were in view of every verdict logged before them, so each such
// verdict must cite them, and a citation waits for its backfilled result instead of being a
// phantom until that block ends (docs/transparency-log.md). Pure and incremental: feed entries in
// log order, then {@link endOfRound}; the state serialises.
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
  type VerdictResult,
} from './log-entry.ts';

export type AccountingAlarmKind =
  /** A result logged before a verdict of its build (or backfilled after it) that the verdict does not list. */
  | 'hidden-result'
  /** A verdict lists a result that was never logged before it, nor backfilled. */
  | 'phantom-result'
  /** A verdict lists a result with another envelope than the one logged. */
  | 'altered-result'
  /** A quorum verdict counts built results whose outputs differ, or a failed one. */
  | 'ignored-dissent'
  /** A verdict counts a result received after its key was logged as compromised. */
  | 'counted-compromised'
  /** A verdict sets a result aside for a compromised key no compromise event names. */
  | 'unlogged-compromise'
  /** A backfilled result logged after the backfill block ended: the upgrade logs them once, together. */
  | 'late-backfill';

export interface AccountingAlarm {
  readonly kind: AccountingAlarmKind;
  /** Index of the entry the alarm is about: the verdict, or for `late-backfill` the result. */
  readonly index: number;
  readonly buildId: string;
  readonly message: string;
}

interface LoggedResult {
  readonly index: number;
  readonly entry: ResultEntry;
}

/** A verdict logged while results may still be backfilled: what it must still be checked against. */
interface AwaitingVerdict {
  readonly index: number;
  readonly verdict: VerdictEntry['verdict'];
  /** outputsSha256 of the built results it counted so far. */
  readonly countedOutputs: string[];
  /** What it cites of results not logged before it, by result key, with the compromise known then. */
  readonly unlogged: Record<string, { readonly cited: VerdictResult; readonly compromisedSinceMs?: number }>;
}

/** What the rule remembers: the results logged per build, and compromise times per worker. */
export interface AccountingState {
  readonly results: Record<string, Record<string, LoggedResult>>;
  /** workerId → earliest compromisedSince (ms). */
  readonly compromisedSinceMs: Record<string, number>;
  /**
   * Backfilled results: none seen yet (absent in states written before backfills existed), a block
   * being read, or the block is over and none may follow.
   */
  backfill?: 'none-yet' | 'open' | 'closed';
  /** Until the backfill block is over: every verdict logged so far, per build. */
  awaiting?: Record<string, AwaitingVerdict[]>;
}

export function emptyAccountingState(): AccountingState {
  return { results: {}, compromisedSinceMs: {}, backfill: 'none-yet', awaiting: {} };
}

type Alarm = (kind: AccountingAlarmKind, message: string) => void;

/**
 * Applies the rule to the entry at `index` (entries must come in log order), updating `state`.
 * @returns the alarms this entry raises (empty when it is in order).
 */
export function accountEntry(state: AccountingState, index: number, entry: LogEntry): AccountingAlarm[] {
  const alarms: AccountingAlarm[] = [];
  if (entry.type === RESULT_ENTRY && entry.backfilled) {
    backfillResult(state, index, entry, alarms);
    return alarms;
  }
  // Any other entry after a backfilled one ends the block: what still waits will never come.
  if (state.backfill === 'open') alarms.push(...closeBackfill(state));
  switch (entry.type) {
    case RESULT_ENTRY:
      logResult(state, index, entry);
      break;
    case KEY_EVENT_ENTRY:
      if (entry.event === 'compromised') {
        const since = parseUtcTimestamp(entry.compromisedSince!)!;
        const known = state.compromisedSinceMs[entry.workerId];
        state.compromisedSinceMs[entry.workerId] = known === undefined ? since : Math.min(known, since);
      }
      break;
    case VERDICT_ENTRY:
      alarms.push(...checkVerdict(state, index, entry));
      break;
    default:
    // Migrated hash-chain verdicts predate result entries: nothing to account them against.
  }
  return alarms;
}

/**
 * At the end of a monitor's round: while no backfill was seen, a verdict's citation of a result
 * not logged is a phantom (the round is not concluded; a coordinator still to be upgraded logs
 * its old results later, and the next round reads them). While a block is open, it may go on.
 */
export function endOfRound(state: AccountingState): AccountingAlarm[] {
  if ((state.backfill ?? 'none-yet') !== 'none-yet') return [];
  return Object.entries(state.awaiting ?? {}).flatMap(([buildId, verdicts]) =>
    verdicts.flatMap((v) => phantoms(buildId, v, 'and no backfilled result names it yet')),
  );
}

function logResult(state: AccountingState, index: number, entry: ResultEntry): void {
  state.results[entry.buildId] = {
    ...state.results[entry.buildId],
    [resultKeyText(entry)]: { index, entry },
  };
}

function backfillResult(
  state: AccountingState,
  index: number,
  entry: ResultEntry,
  alarms: AccountingAlarm[],
): void {
  const key = resultKeyText(entry);
  if (state.backfill === 'closed') {
    alarms.push(
      Object.freeze({
        kind: 'late-backfill',
        index,
        buildId: entry.buildId,
        message: `the backfilled result ${key} at index ${index} comes after the backfill block ended`,
      }),
    );
  } else {
    state.backfill = 'open';
    // It was recorded before any verdict entry was decided: each verdict of its build logged so far
    // had it in view and must cite it, as it was logged.
    for (const verdict of state.awaiting?.[entry.buildId] ?? []) {
      const alarm = verdictAlarm(alarms, verdict.index, entry.buildId, verdict.verdict);
      const waiting = verdict.unlogged[key];
      if (!waiting) {
        alarm(
          'hidden-result',
          `the backfilled ${entry.outcome} result ${key} of operator ${entry.operator} (recorded before this verdict, logged at index ${index}) is not accounted for`,
        );
        continue;
      }
      delete verdict.unlogged[key];
      checkCitation(waiting.cited, { index, entry }, waiting.compromisedSinceMs, verdict, alarm);
    }
  }
  logResult(state, index, entry);
}

function closeBackfill(state: AccountingState): AccountingAlarm[] {
  const alarms = Object.entries(state.awaiting ?? {}).flatMap(([buildId, verdicts]) =>
    verdicts.flatMap((v) => phantoms(buildId, v, 'nor backfilled')),
  );
  state.backfill = 'closed';
  state.awaiting = {};
  return alarms;
}

function phantoms(buildId: string, verdict: AwaitingVerdict, why: string): AccountingAlarm[] {
  const alarms: AccountingAlarm[] = [];
  const alarm = verdictAlarm(alarms, verdict.index, buildId, verdict.verdict);
  for (const key of Object.keys(verdict.unlogged))
    alarm('phantom-result', `it cites result ${key}, which was not logged before it, ${why}`);
  return alarms;
}

function verdictAlarm(
  alarms: AccountingAlarm[],
  index: number,
  buildId: string,
  verdict: VerdictEntry['verdict'],
): Alarm {
  return (kind, message) =>
    alarms.push(
      Object.freeze({
        kind,
        index,
        buildId,
        message: `verdict at index ${index} for build ${buildId} (${verdict}): ${message}`,
      }),
    );
}

function checkVerdict(state: AccountingState, index: number, verdict: VerdictEntry): AccountingAlarm[] {
  const alarms: AccountingAlarm[] = [];
  const alarm = verdictAlarm(alarms, index, verdict.buildId, verdict.verdict);
  const logged = state.results[verdict.buildId] ?? {};
  const listed = new Set(verdict.results.map(resultKeyText));
  for (const [key, result] of Object.entries(logged)) {
    if (!listed.has(key))
      alarm(
        'hidden-result',
        `the ${result.entry.outcome} result ${key} of operator ${result.entry.operator} logged at index ${result.index} is not accounted for`,
      );
  }
  const mayAwait = (state.backfill ?? 'none-yet') === 'none-yet';
  const awaiting: AwaitingVerdict = { index, verdict: verdict.verdict, countedOutputs: [], unlogged: {} };
  for (const cited of verdict.results) {
    const key = resultKeyText(cited);
    const compromisedSinceMs = state.compromisedSinceMs[cited.workerId];
    const result = logged[key];
    if (result) checkCitation(cited, result, compromisedSinceMs, awaiting, alarm);
    else if (mayAwait)
      awaiting.unlogged[key] = {
        cited,
        ...(compromisedSinceMs !== undefined && { compromisedSinceMs }),
      };
    else alarm('phantom-result', `it cites result ${key}, which was not logged before it`);
  }
  if (mayAwait) {
    state.awaiting ??= {};
    const ofBuild = state.awaiting[verdict.buildId] ?? [];
    ofBuild.push(awaiting);
    state.awaiting[verdict.buildId] = ofBuild;
  }
  return alarms;
}

/** Checks one citation against the result logged under its key, with the compromise known to the verdict. */
function checkCitation(
  cited: VerdictResult,
  result: LoggedResult,
  compromisedSinceMs: number | undefined,
  verdict: Pick<AwaitingVerdict, 'verdict' | 'countedOutputs'>,
  alarm: Alarm,
): void {
  const key = resultKeyText(cited);
  if (cited.envelopeSha256 !== result.entry.envelopeSha256)
    alarm(
      'altered-result',
      `it cites result ${key} with envelope ${cited.envelopeSha256 ?? 'none'}, logged with ${result.entry.envelopeSha256 ?? 'none'}`,
    );
  const compromised =
    compromisedSinceMs !== undefined && parseUtcTimestamp(result.entry.receivedAt)! >= compromisedSinceMs;
  if (cited.standing === 'key-compromised' && !compromised)
    alarm(
      'unlogged-compromise',
      `it sets result ${key} aside for a compromised key, but no compromise of ${cited.workerId} logged before it covers that result`,
    );
  if (cited.standing !== 'counted') return;
  if (compromised)
    alarm(
      'counted-compromised',
      `it counts result ${key}, received after worker ${cited.workerId}'s key was logged as compromised`,
    );
  if (result.entry.outcome === 'failed') {
    alarm('ignored-dissent', `it counts the failed result ${key}`);
    return;
  }
  const outputs = result.entry.outputsSha256!;
  if (verdict.countedOutputs.includes(outputs)) return;
  verdict.countedOutputs.push(outputs);
  // Raised once, when a second output set is counted.
  if (isQuorumVerdict(verdict.verdict) && verdict.countedOutputs.length === 2)
    alarm('ignored-dissent', `it counts different output sets yet says ${verdict.verdict}`);
}
