// What rbnet logs: one compact record per signed worker result, verdict and key event (digests,
// ids, verdict, time; full envelopes stay in the content store under the digests named here), as
// the UTF-8 of its RFC 8785 canonical JSON, at most 65,535 bytes, parsed strictly.
import { CONSENSUS_FAILURE_REASONS, type NotCountedReason } from '../consensus/decide-verdict.ts';
import { isVerdict, type Verdict } from '../consensus/verdict.ts';
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { accountNameRule, isBuildId, isJobId, isWorkerId } from '../identifiers.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { parseStrictJson } from '../strict-json.ts';
import { describeValue } from '../untrusted-value-text.ts';
import { parseUtcTimestamp } from '../utc-timestamp.ts';
import { MAX_ENTRY_BYTES } from './entry-bundle.ts';
import { TlogError } from './tlog-errors.ts';

export const RESULT_ENTRY = 'rbnet.tlog.result/v1';
export const VERDICT_ENTRY = 'rbnet.tlog.verdict/v1';
export const KEY_EVENT_ENTRY = 'rbnet.tlog.key-event/v1';
/** A hash-chain entry of the log table that came before the tree, migrated in its order. */
export const CHAIN_ENTRY = 'rbnet.tlog.chain-entry/v1';

/** Identifies one worker result within a build: the worker, its job and attempt. */
export interface ResultKey {
  readonly workerId: string;
  readonly jobId: string;
  readonly attempt: number;
}

/** One signed worker result as intake accepted it: a success, a dissent or a failure. */
export interface ResultEntry extends ResultKey {
  readonly type: typeof RESULT_ENTRY;
  readonly buildId: string;
  readonly manifestSha256: Sha256Hex;
  readonly operator: string;
  /** securesystemslib keyid of the worker's signing key. */
  readonly keyid: string;
  readonly outcome: 'built' | 'failed';
  /** Built only: the DSSE envelope's sha256 (the envelope is in the content store). */
  readonly envelopeSha256?: Sha256Hex;
  /** Built only: sha256 of the JCS of the outputs [{path, sha256}] sorted by path; equal sets, equal digests. */
  readonly outputsSha256?: Sha256Hex;
  /** Failed only. */
  readonly failureReason?: (typeof CONSENSUS_FAILURE_REASONS)[number];
  readonly receivedAt: string;
  /**
   * Present (and `true`) only on a result recorded before the database logged every result, and
   * sequenced later by the upgrade (migration 16): it may be logged after verdicts that cite it,
   * never after a live entry that follows the backfill (docs/transparency-log.md).
   */
  readonly backfilled?: true;
}

/** Why a result did or did not count in a verdict: the rule's reasons, and a compromised key. */
export const RESULT_STANDINGS = [
  'counted',
  'manifest-differs',
  'failed-build',
  'duplicate-envelope',
  'fetched-environment',
  'inputs-differ',
  'duplicate-operator',
  'key-compromised',
] as const satisfies readonly ('counted' | 'key-compromised' | NotCountedReason)[];
export type ResultStanding = (typeof RESULT_STANDINGS)[number];
// Every reason the consensus rule can give must have a standing here.
const everyReasonHasAStanding: NotCountedReason extends ResultStanding ? true : never = true;
void everyReasonHasAStanding;

export interface VerdictResult extends ResultKey {
  readonly envelopeSha256?: Sha256Hex;
  readonly standing: ResultStanding;
}

/** A verdict, naming every result it considered (so a hidden one is visible to monitors). */
export interface VerdictEntry {
  readonly type: typeof VERDICT_ENTRY;
  readonly buildId: string;
  /** Position in the build's verdict history, from 1. */
  readonly sequence: number;
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  readonly manifestSha256: Sha256Hex;
  readonly results: readonly VerdictResult[];
  readonly consensusEnvelopeSha256?: Sha256Hex;
  readonly divergenceReportSha256?: Sha256Hex;
  readonly decidedAt: string;
}

export interface KeyEventEntry {
  readonly type: typeof KEY_EVENT_ENTRY;
  readonly event: 'enrolled' | 'retired' | 'compromised';
  readonly workerId: string;
  readonly operator: string;
  readonly keyid: string;
  readonly at: string;
  /** Compromised only: results received from this time on stop counting. */
  readonly compromisedSince?: string;
}

export interface ChainEntry {
  readonly type: typeof CHAIN_ENTRY;
  /** Its index in the old table. */
  readonly index: number;
  readonly kind: string;
  readonly buildId: string;
  readonly bodySha256: Sha256Hex;
  readonly prevEntryHash: Sha256Hex;
  readonly entryHash: Sha256Hex;
}

export type LogEntry = ResultEntry | VerdictEntry | KeyEventEntry | ChainEntry;

/** The entry's bytes: UTF-8 of its canonical JSON. @throws TlogError ENTRY_INVALID when invalid or too large. */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  const bytes = Buffer.from(canonicalizeJcs(entry), 'utf8');
  // Parsing what we wrote keeps the writer to the reader's rules (one parser, both sides).
  parseLogEntry(bytes);
  return bytes;
}

/** The `outputsSha256` of a built result: sha256 of the JCS of its outputs' paths and digests, sorted by path. */
export function outputsDigest(
  outputs: readonly { readonly path: string; readonly sha256: string }[],
): Sha256Hex {
  const sorted = outputs
    .map(({ path, sha256 }) => ({ path, sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256Hex(canonicalizeJcs(sorted));
}

export function resultKeyText(key: ResultKey): string {
  return `${key.workerId}/${key.jobId}/${key.attempt}`;
}

/**
 * Parses an entry's bytes: size, strict JSON, canonical form (the bytes must be the JCS of what
 * they hold, so one entry has one spelling), then each type's fields; unknown fields refused.
 * @throws TlogError ENTRY_INVALID naming the field.
 */
export function parseLogEntry(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_ENTRY_BYTES) throw invalid('$', `${bytes.length} bytes, over ${MAX_ENTRY_BYTES}`);
  const text = Buffer.from(bytes).toString('utf8');
  let value: unknown;
  try {
    value = parseStrictJson(text, { maxDepth: 4 });
  } catch (cause) {
    throw new TlogError('ENTRY_INVALID', `log entry is not strict JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (canonicalizeJcs(value) !== text) throw invalid('$', 'not in RFC 8785 canonical form');
  const o = object(value, '$');
  switch (o.type) {
    case RESULT_ENTRY:
      return parseResult(o);
    case VERDICT_ENTRY:
      return parseVerdict(o);
    case KEY_EVENT_ENTRY:
      return parseKeyEvent(o);
    case CHAIN_ENTRY:
      only(o, '$', ['type', 'index', 'kind', 'buildId', 'bodySha256', 'prevEntryHash', 'entryHash']);
      return Object.freeze({
        type: CHAIN_ENTRY,
        index: count(o.index, '$.index'),
        kind: chainKind(o.kind),
        buildId: text64(o.buildId, '$.buildId'),
        bodySha256: digest(o.bodySha256, '$.bodySha256'),
        prevEntryHash: digest(o.prevEntryHash, '$.prevEntryHash'),
        entryHash: digest(o.entryHash, '$.entryHash'),
      });
    default:
      throw invalid('$.type', `${describeValue(o.type)} is not an rbnet log entry type`);
  }
}

function parseResult(o: Record<string, unknown>): ResultEntry {
  only(o, '$', [
    'type',
    'buildId',
    'manifestSha256',
    'workerId',
    'operator',
    'keyid',
    'jobId',
    'attempt',
    'outcome',
    'envelopeSha256',
    'outputsSha256',
    'failureReason',
    'receivedAt',
    'backfilled',
  ]);
  if (o.backfilled !== undefined && o.backfilled !== true)
    throw invalid('$.backfilled', 'only `true` (or absent) is allowed');
  const outcome = o.outcome;
  if (outcome !== 'built' && outcome !== 'failed') throw invalid('$.outcome', 'expected "built" or "failed"');
  const built = outcome === 'built';
  for (const field of ['envelopeSha256', 'outputsSha256'])
    if ((o[field] === undefined) === built)
      throw invalid(`$.${field}`, built ? 'required for a built result' : 'only a built result has one');
  if ((o.failureReason === undefined) !== built)
    throw invalid('$.failureReason', built ? 'only a failed result has one' : 'required for a failed result');
  if (!built && !(CONSENSUS_FAILURE_REASONS as readonly unknown[]).includes(o.failureReason))
    throw invalid('$.failureReason', `expected one of ${CONSENSUS_FAILURE_REASONS.join(', ')}`);
  return Object.freeze({
    type: RESULT_ENTRY,
    buildId: buildId(o.buildId, '$.buildId'),
    manifestSha256: digest(o.manifestSha256, '$.manifestSha256'),
    ...resultKey(o, '$'),
    operator: name(o.operator, '$.operator', accountNameRule.pattern),
    keyid: keyid(o.keyid, '$.keyid'),
    outcome,
    ...(built && {
      envelopeSha256: digest(o.envelopeSha256, '$.envelopeSha256'),
      outputsSha256: digest(o.outputsSha256, '$.outputsSha256'),
    }),
    ...(!built && { failureReason: o.failureReason as ResultEntry['failureReason'] }),
    receivedAt: time(o.receivedAt, '$.receivedAt'),
    ...(o.backfilled === true && { backfilled: true as const }),
  });
}

function parseVerdict(o: Record<string, unknown>): VerdictEntry {
  only(o, '$', [
    'type',
    'buildId',
    'sequence',
    'verdict',
    'previousVerdict',
    'manifestSha256',
    'results',
    'consensusEnvelopeSha256',
    'divergenceReportSha256',
    'decidedAt',
  ]);
  if (!Array.isArray(o.results)) throw invalid('$.results', 'expected an array');
  if (o.results.length > 1024) throw invalid('$.results', 'more than 1024 results');
  const results = o.results.map((item, i) => {
    const field = `$.results[${i}]`;
    const r = object(item, field);
    only(r, field, ['workerId', 'jobId', 'attempt', 'envelopeSha256', 'standing']);
    if (!(RESULT_STANDINGS as readonly unknown[]).includes(r.standing))
      throw invalid(`${field}.standing`, `expected one of ${RESULT_STANDINGS.join(', ')}`);
    return Object.freeze({
      ...resultKey(r, field),
      ...(r.envelopeSha256 !== undefined && {
        envelopeSha256: digest(r.envelopeSha256, `${field}.envelopeSha256`),
      }),
      standing: r.standing as ResultStanding,
    });
  });
  const keys = new Set(results.map(resultKeyText));
  if (keys.size !== results.length) throw invalid('$.results', 'a result is listed twice');
  return Object.freeze({
    type: VERDICT_ENTRY,
    buildId: buildId(o.buildId, '$.buildId'),
    sequence: count(o.sequence, '$.sequence', 1),
    verdict: verdict(o.verdict, '$.verdict'),
    previousVerdict: verdict(o.previousVerdict, '$.previousVerdict'),
    manifestSha256: digest(o.manifestSha256, '$.manifestSha256'),
    results: Object.freeze(results),
    ...(o.consensusEnvelopeSha256 !== undefined && {
      consensusEnvelopeSha256: digest(o.consensusEnvelopeSha256, '$.consensusEnvelopeSha256'),
    }),
    ...(o.divergenceReportSha256 !== undefined && {
      divergenceReportSha256: digest(o.divergenceReportSha256, '$.divergenceReportSha256'),
    }),
    decidedAt: time(o.decidedAt, '$.decidedAt'),
  });
}

function parseKeyEvent(o: Record<string, unknown>): KeyEventEntry {
  only(o, '$', ['type', 'event', 'workerId', 'operator', 'keyid', 'at', 'compromisedSince']);
  if (o.event !== 'enrolled' && o.event !== 'retired' && o.event !== 'compromised')
    throw invalid('$.event', 'expected "enrolled", "retired" or "compromised"');
  if ((o.compromisedSince === undefined) === (o.event === 'compromised'))
    throw invalid('$.compromisedSince', 'required for a compromise, and only for one');
  if (!isWorkerId(o.workerId)) throw invalid('$.workerId', 'not a worker id');
  return Object.freeze({
    type: KEY_EVENT_ENTRY,
    event: o.event,
    workerId: o.workerId,
    operator: name(o.operator, '$.operator', accountNameRule.pattern),
    keyid: keyid(o.keyid, '$.keyid'),
    at: time(o.at, '$.at'),
    ...(o.compromisedSince !== undefined && {
      compromisedSince: time(o.compromisedSince, '$.compromisedSince'),
    }),
  });
}

function resultKey(o: Record<string, unknown>, field: string): ResultKey {
  if (!isWorkerId(o.workerId)) throw invalid(`${field}.workerId`, 'not a worker id');
  if (!isJobId(o.jobId)) throw invalid(`${field}.jobId`, 'not a job id');
  return { workerId: o.workerId, jobId: o.jobId, attempt: count(o.attempt, `${field}.attempt`) };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, 'expected an object');
  return value as Record<string, unknown>;
}

function only(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o))
    if (!allowed.includes(key)) throw invalid(field, `unknown field ${describeValue(key)}`);
}

function buildId(value: unknown, field: string): string {
  if (!isBuildId(value)) throw invalid(field, 'not a build id (a UUID)');
  return value;
}

function digest(value: unknown, field: string): Sha256Hex {
  if (!isSha256Hex(value)) throw invalid(field, 'expected 64 lowercase hex characters');
  return value;
}

function keyid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value))
    throw invalid(field, 'expected a 64-hex keyid');
  return value;
}

/** The kinds the hash-chained log table held before the tree (its CHECK constraint's set). */
const CHAIN_KINDS: readonly string[] = ['verdict'];

function chainKind(value: unknown): string {
  if (typeof value !== 'string' || !CHAIN_KINDS.includes(value))
    throw invalid(
      '$.kind',
      `${describeValue(value)} is not a kind of the hash-chained log (${CHAIN_KINDS.join(', ')})`,
    );
  return value;
}

function name(value: unknown, field: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalid(field, `${describeValue(value)} does not match ${pattern}`);
  return value;
}

function text64(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64)
    throw invalid(field, 'expected 1 to 64 characters');
  return value;
}

function count(value: unknown, field: string, min = 0): number {
  if (!Number.isSafeInteger(value) || (value as number) < min)
    throw invalid(field, `expected an integer >= ${min}`);
  return value as number;
}

function verdict(value: unknown, field: string): Verdict {
  if (!isVerdict(value)) throw invalid(field, `${describeValue(value)} is not a verdict`);
  return value;
}

function time(value: unknown, field: string): string {
  if (typeof value !== 'string' || parseUtcTimestamp(value) === undefined)
    throw invalid(field, 'expected an RFC 3339 UTC time');
  return value;
}

function invalid(field: string, message: string): TlogError {
  return new TlogError('ENTRY_INVALID', `log entry ${field}: ${message}`);
}
