// Log entries parse strictly, and the monitor's rule over them catches a hidden dissent, a phantom
// or altered result, a quorum that counts differing outputs, and compromised keys.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newKey } from '../consensus/consensus-test-fixtures.ts';
import { sha256Hex } from '../digest.ts';
import {
  encodeLogEntry,
  KEY_EVENT_ENTRY,
  type LogEntry,
  parseLogEntry,
  RESULT_ENTRY,
  type ResultEntry,
  VERDICT_ENTRY,
  type VerdictEntry,
} from './log-entry.ts';
import { publishBuild } from './tlog-build-fixtures.ts';
import { TlogError } from './tlog-errors.ts';
import { memoryLog } from './tlog-fixtures.ts';
import {
  type AccountingAlarm,
  accountEntry,
  emptyAccountingState,
  endOfRound,
} from './verdict-accounting.ts';

const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const coordinator = newKey();
const AT = new Date('2026-06-01T00:00:00Z');
const digest = (label: string) => sha256Hex(label);

async function alarmsOf(
  options: Parameters<typeof publishBuild>[1] extends infer O ? Partial<O> : never,
  edit?: (entries: LogEntry[]) => LogEntry[],
) {
  const { log } = await memoryLog('log.rbnet.example/accounting');
  await publishBuild(log, { keys, coordinator, threshold: 2, at: AT, ...options });
  let entries: LogEntry[] = [];
  for (let i = 0; i < log.head.size; i++) entries.push(parseLogEntry(await log.entry(i)));
  if (edit) entries = edit(entries);
  const state = emptyAccountingState();
  return [...entries.flatMap((entry, i) => accountEntry(state, i, entry)), ...endOfRound(state)];
}

const kinds = (alarms: readonly AccountingAlarm[]) => alarms.map((a) => a.kind);

describe('log entries', () => {
  const result = resultFixture();

  it('encode as canonical JSON and parse back', () => {
    const bytes = encodeLogEntry(result);
    expect(Buffer.from(bytes).toString()).toMatch(/^\{"attempt":0,"buildId":/);
    expect(parseLogEntry(bytes)).toEqual(result);
  });

  it('refuse non-canonical bytes, unknown fields, missing digests, wrong outcomes and oversized entries', () => {
    const refuse = (bytes: Uint8Array | string, message: RegExp) => {
      const input = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      expect(() => parseLogEntry(input)).toThrow(message);
      expect(() => parseLogEntry(input)).toThrow(TlogError);
    };
    const text = Buffer.from(encodeLogEntry(result)).toString();
    refuse(` ${text}`, /canonical form/);
    refuse(text.replace(/\}$/, ',"zz":1}'), /unknown field "zz"/);
    refuse(text.replace(/"envelopeSha256":"[0-9a-f]+",/, ''), /envelopeSha256: required/);
    refuse(text.replace('"outcome":"built"', '"outcome":"maybe"'), /outcome/);
    refuse(
      text.replace('"type":"rbnet.tlog.result/v1"', '"type":"rbnet.tlog.other/v1"'),
      /not an rbnet log entry type/,
    );
    refuse(text.replace('"workerId":"alpha-w1"', '"workerId":"alpha w1"'), /workerId/);
    refuse(new Uint8Array(70_000), /over 65535/);
    expect(() => encodeLogEntry({ ...result, buildId: 'not-a-uuid' })).toThrow(/buildId/);
    expect(() =>
      encodeLogEntry({
        type: KEY_EVENT_ENTRY,
        event: 'compromised',
        workerId: 'w',
        operator: 'o',
        keyid: digest('k'),
        at: '2026-01-01T00:00:00Z',
      }),
    ).toThrow(/compromisedSince/);
  });
});

describe('verdict accounting (the monitor rule)', () => {
  it('finds nothing wrong in an honest build, a dissent included', async () => {
    expect(await alarmsOf({})).toEqual([]);
    expect(await alarmsOf({ dissenters: ['gamma'] })).toEqual([]);
  });

  it('raises hidden-result for a dissent logged and left out of the verdict', async () => {
    const alarms = await alarmsOf({ dissenters: ['gamma'], hidden: ['gamma'] });
    expect(kinds(alarms)).toEqual(['hidden-result']);
    expect(alarms[0]!.message).toMatch(
      /the built result gamma-w1\/job-\S+ of operator gamma logged at index 2 is not accounted for/,
    );
  });

  it('raises phantom-result, altered-result and ignored-dissent for a verdict that cites what was not logged', async () => {
    const edited =
      (change: (verdict: VerdictEntry, entries: LogEntry[]) => VerdictEntry) => (entries: LogEntry[]) =>
        entries.map((e) => (e.type === VERDICT_ENTRY ? change(e, entries) : e));
    const phantom = await alarmsOf(
      {},
      edited((v) => ({
        ...v,
        results: [...v.results, { workerId: 'delta-w1', jobId: 'job-x', attempt: 0, standing: 'counted' }],
      })),
    );
    expect(kinds(phantom)).toEqual(['phantom-result']);
    const altered = await alarmsOf(
      {},
      edited((v) => ({
        ...v,
        results: v.results.map((r, i) => (i === 0 ? { ...r, envelopeSha256: digest('other') } : r)),
      })),
    );
    expect(kinds(altered)).toEqual(['altered-result']);
    // The coordinator claims reproducible while counting gamma's differing outputs.
    const ignored = await alarmsOf(
      { dissenters: ['gamma'] },
      edited((v) => ({ ...v, verdict: 'reproducible' })),
    );
    expect(kinds(ignored)).toEqual(['ignored-dissent']);
  });

  it('raises counted-compromised and unlogged-compromise around key events', async () => {
    const compromise = (since: string): LogEntry => ({
      type: KEY_EVENT_ENTRY,
      event: 'compromised',
      workerId: 'alpha-w1',
      operator: 'alpha',
      keyid: keys.alpha.keyid,
      at: '2026-06-02T00:00:00Z',
      compromisedSince: since,
    });
    const compromisedFirst = (entries: LogEntry[], since: string) => [compromise(since), ...entries];
    expect(kinds(await alarmsOf({}, (e) => compromisedFirst(e, '2026-05-01T00:00:00Z')))).toEqual([
      'counted-compromised',
    ]);
    expect(await alarmsOf({}, (e) => compromisedFirst(e, '2026-07-01T00:00:00Z'))).toEqual([]);
    const setAside = await alarmsOf({}, (entries) =>
      entries.map((e) =>
        e.type === VERDICT_ENTRY
          ? {
              ...e,
              results: e.results.map((r, i) =>
                i === 0 ? { ...r, standing: 'key-compromised' as const } : r,
              ),
            }
          : e,
      ),
    );
    expect(kinds(setAside)).toEqual(['unlogged-compromise']);
  });
});

describe('verdict accounting of results backfilled by the upgrade (migration 16)', () => {
  const backfilled = (e: LogEntry): LogEntry => (e.type === RESULT_ENTRY ? { ...e, backfilled: true } : e);
  /** As a coordinator upgraded from schema 10-13 logs it: the verdict first, then its results, backfilled. */
  const verdictThenBackfill = (entries: LogEntry[]) => [
    ...entries.filter((e) => e.type === VERDICT_ENTRY),
    ...entries.filter((e) => e.type === RESULT_ENTRY).map(backfilled),
  ];
  const liveEntry = (): LogEntry => ({
    type: KEY_EVENT_ENTRY,
    event: 'enrolled',
    workerId: 'delta-w1',
    operator: 'delta',
    keyid: digest('delta key'),
    at: '2026-06-02T00:00:00.000Z',
  });

  it('a verdict logged before the results it cites, backfilled after it, is no phantom (the old rule said phantom-result)', async () => {
    expect(await alarmsOf({ dissenters: ['gamma'] }, verdictThenBackfill)).toEqual([]);
    // The block ends at the next live entry, and a verdict after it accounts for them as logged.
    expect(await alarmsOf({}, (e) => [...verdictThenBackfill(e), liveEntry()])).toEqual([]);
    // A verdict after the block must list the backfilled results like any logged before it.
    const hiddenAfter = await alarmsOf({ dissenters: ['gamma'], hidden: ['gamma'] }, (entries) => [
      ...entries.filter((e) => e.type === RESULT_ENTRY).map(backfilled),
      liveEntry(),
      ...entries.filter((e) => e.type === VERDICT_ENTRY),
    ]);
    expect(kinds(hiddenAfter)).toEqual(['hidden-result']);
  });

  it('catches a real hidden dissent: a verdict logged before a backfilled result it does not list', async () => {
    const alarms = await alarmsOf({ dissenters: ['gamma'], hidden: ['gamma'] }, verdictThenBackfill);
    expect(kinds(alarms)).toEqual(['hidden-result']);
    expect(alarms[0]!.message).toMatch(
      /verdict at index 0 .*: the backfilled built result gamma-w1\/job-\S+ of operator gamma \(recorded before this verdict, logged at index 3\) is not accounted for/,
    );
  });

  it('checks a citation resolved by a backfill as one resolved at once: envelope, failed or differing outputs counted', async () => {
    const altered = await alarmsOf({}, (entries) =>
      verdictThenBackfill(entries).map((e, i) =>
        i === 1 && e.type === RESULT_ENTRY ? { ...e, envelopeSha256: digest('another envelope') } : e,
      ),
    );
    expect(kinds(altered)).toEqual(['altered-result']);
    const ignored = await alarmsOf({ dissenters: ['gamma'] }, (entries) =>
      verdictThenBackfill(entries).map((e) =>
        e.type === VERDICT_ENTRY ? { ...e, verdict: 'reproducible' } : e,
      ),
    );
    expect(kinds(ignored)).toEqual(['ignored-dissent']);
  });

  it('a citation nothing backfills is a phantom when the block ends, or at the end of a round that saw no block', async () => {
    // Gamma's result is cited but never logged: the backfill brings only alpha and beta.
    const withoutGamma = (entries: LogEntry[]) =>
      verdictThenBackfill(entries).filter((e) => !(e.type === RESULT_ENTRY && e.operator === 'gamma'));
    const atClose = await alarmsOf({}, (e) => [...withoutGamma(e), liveEntry()]);
    expect(kinds(atClose)).toEqual(['phantom-result']);
    expect(atClose[0]!.message).toMatch(/gamma-w1\/\S+, which was not logged before it, nor backfilled/);
    const noBlock = await alarmsOf({}, (entries) => entries.filter((e) => e.type === VERDICT_ENTRY));
    expect(kinds(noBlock)).toEqual(['phantom-result', 'phantom-result', 'phantom-result']);
    expect(noBlock[0]!.message).toMatch(/no backfilled result names it yet/);
    // A block still open at the end of a round (the next checkpoint may carry the rest) waits.
    expect(await alarmsOf({}, withoutGamma)).toEqual([]);
  });

  it('refuses a backfilled result after the block ended (late-backfill)', async () => {
    const alarms = await alarmsOf({}, (entries) => {
      const results = entries.filter((e) => e.type === RESULT_ENTRY).map(backfilled);
      return [
        results[0]!,
        liveEntry(),
        ...results.slice(1),
        ...entries.filter((e) => e.type === VERDICT_ENTRY),
      ];
    });
    expect(kinds(alarms)).toEqual(['late-backfill', 'late-backfill']);
  });

  it('parses the marker strictly: only true, never false', () => {
    const entry: ResultEntry = { ...resultFixture(), backfilled: true };
    expect(parseLogEntry(encodeLogEntry(entry))).toEqual(entry);
    const text = Buffer.from(encodeLogEntry(entry))
      .toString()
      .replace('"backfilled":true', '"backfilled":false');
    expect(() => parseLogEntry(Buffer.from(text))).toThrow(/\$\.backfilled: only `true`/);
  });
});

function resultFixture(): ResultEntry {
  return {
    type: RESULT_ENTRY,
    buildId: randomUUID(),
    manifestSha256: digest('m'),
    workerId: 'alpha-w1',
    operator: 'alpha',
    keyid: digest('k'),
    jobId: 'job-1',
    attempt: 0,
    outcome: 'built',
    envelopeSha256: digest('e'),
    outputsSha256: digest('o'),
    receivedAt: '2026-06-01T00:00:00.000Z',
  };
}
