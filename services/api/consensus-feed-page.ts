// The wire contract of GET /v1/feed: one page of verdict changes, oldest first, and the strict
// reader a release tool reads it with (an answer may grow fields a reader does not know yet).
import type { OutputDigest } from '../claims/compare-outputs-with-claims.ts';
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import { accountNameRule, architectureRule, buildIdRule, feedCursorRule, suiteRule } from '../identifiers.ts';
import { type BuildLinks, buildLinksType } from './build-links.ts';
import {
  arrayOf,
  boolean,
  identifier,
  integer,
  nullable,
  object,
  oneOf,
  parseWire,
  sha256,
  text,
  timestamp,
  type WireType,
} from './wire-type.ts';

/** Most entries one page holds (and the largest `limit`). */
export const maxFeedPageEntries = 1000;
/** Entries per page when `limit` is absent. */
export const defaultFeedPageEntries = 100;
/** Most outputs an entry lists (a Debian build's .debs; a generic build's files). */
export const maxFeedEntryOutputs = 4096;
/** Most operators an entry names. */
export const maxFeedEntryOperators = 256;
/** Largest page a reader accepts. */
export const maxFeedPageBytes = 64 * 1024 ** 2;

/** One verdict change. Unsigned: a consumer decides from the attestation it links to. */
export interface ConsensusFeedEntry {
  /** This entry's position: passing it as `since` continues after it. */
  readonly cursor: string;
  readonly buildId: string;
  readonly source: string;
  /** The Debian version; null for generic builds (whose `source` is the manifest's name). */
  readonly version: string | null;
  readonly architecture: string;
  /**
   * With `suite=`, that suite; otherwise the first of `suites`. Null: found in none (submitted by
   * hand: a submitter cannot name a suite).
   */
  readonly suite: string | null;
  /** Every suite a sync profile had found the build in when this entry was recorded, by name. */
  readonly suites: readonly string[];
  readonly verdict: Verdict;
  readonly previousVerdict: Verdict;
  /** What the publisher claimed (a Debian build's .debs): path and sha256. */
  readonly claimedOutputs: readonly OutputDigest[];
  /** The output set the agreeing operators rebuilt; null unless reproducible, agreed or mismatch-upstream. */
  readonly agreedOutputs: readonly OutputDigest[] | null;
  readonly agreeingOperators: readonly string[];
  readonly dissentingOperators: readonly string[];
  readonly decidedAt: string;
  /** The index of this verdict's entry in the transparency log (GET /v1/log/proofs/:index); null until logged. */
  readonly logIndex: number | null;
  readonly links: BuildLinks;
}

export interface ConsensusFeedPage {
  readonly entries: readonly ConsensusFeedEntry[];
  /** Pass as `since` for what follows: the last entry's cursor, or the `since` asked with when empty. */
  readonly nextCursor: string;
  /** True when more entries already follow `nextCursor` (fetch again now); false: poll later. */
  readonly more: boolean;
}

const output: WireType<OutputDigest> = object(
  { path: text({ maxLength: 4096, minLength: 1, characters: 'printable' }), sha256: sha256() },
  {},
  { unknown: 'ignore' },
);
const operators = arrayOf(identifier(accountNameRule), { maxItems: maxFeedEntryOperators });
const cursor = identifier(feedCursorRule, 'opaque: pass it back as `since`');
/**
 * A source or version as the build store holds it: what a manifest's parse accepted (a Debian
 * source name and version, a generic manifest's name), which the store checks only as printable
 * text; a reader refuses nothing the store may hold.
 */
export const storedName = text({
  maxLength: 256,
  minLength: 1,
  characters: 'printable',
  description: 'a Debian source name or version, or a generic manifest name',
});

/** Suites, by name: at most a profile's suites times the profiles a coordinator keeps. */
export const suitesType = arrayOf(identifier(suiteRule), { maxItems: 4096 });
/** The log index of a verdict's entry, or null while there is none. */
export const logIndexType = nullable(
  integer({ minimum: 0, description: 'the index of the verdict entry in the transparency log' }),
);

export const consensusFeedEntryType: WireType<ConsensusFeedEntry> = object(
  {
    cursor,
    buildId: identifier(buildIdRule),
    source: storedName,
    version: nullable(storedName),
    architecture: identifier(architectureRule),
    suite: nullable(identifier(suiteRule)),
    suites: suitesType,
    verdict: oneOf(VERDICTS),
    previousVerdict: oneOf(VERDICTS),
    claimedOutputs: arrayOf(output, { maxItems: maxFeedEntryOutputs }),
    agreedOutputs: nullable(arrayOf(output, { maxItems: maxFeedEntryOutputs })),
    agreeingOperators: operators,
    dissentingOperators: operators,
    decidedAt: timestamp(),
    logIndex: logIndexType,
    links: buildLinksType,
  },
  {},
  { unknown: 'ignore' },
);

export const consensusFeedPageType: WireType<ConsensusFeedPage> = object(
  {
    entries: arrayOf(consensusFeedEntryType, { maxItems: maxFeedPageEntries }),
    nextCursor: cursor,
    more: boolean('more entries already follow nextCursor'),
  },
  {},
  { unknown: 'ignore' },
);

/**
 * Reads one feed page from a coordinator it does not trust.
 * @throws WireFormatError `ANSWER_INVALID` naming the field.
 */
export function readConsensusFeedPage(answer: string | Uint8Array): ConsensusFeedPage {
  return parseWire(consensusFeedPageType, answer, {
    maxBytes: maxFeedPageBytes,
    what: 'feed page',
    side: 'answer',
  });
}
