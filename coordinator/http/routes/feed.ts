// GET /v1/feed: every verdict change since a cursor, oldest first, page by page, with an ETag so an
// hourly poller that is caught up costs one indexed read and a 304.
import { buildLinksFor } from '../../../services/api/build-links.ts';
import {
  type ConsensusFeedEntry,
  type ConsensusFeedPage,
  consensusFeedPageType,
  defaultFeedPageEntries,
  maxFeedPageEntries,
} from '../../../services/api/consensus-feed-page.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { architectureRule, feedCursorRule, isFeedCursor, suiteRule } from '../../../services/identifiers.ts';
import type { FeedEntry } from '../../../services/storage/consensus-feed.ts';
import { ApiError } from '../api-error.ts';
import { optionalIdentifierOf, pageLimitOf } from '../query-params.ts';
import { JSON_CONTENT, type RouteDefinition } from '../route.ts';

/** Changes when what a page holds for the same query could be written differently. */
const FEED_FORMAT = 'rbnet-feed-1';

function entryOf(entry: FeedEntry): ConsensusFeedEntry {
  return {
    cursor: String(entry.seq),
    buildId: entry.buildId,
    source: entry.source,
    version: entry.version,
    architecture: entry.architecture,
    suite: entry.suite,
    suites: entry.suites,
    verdict: entry.verdict,
    previousVerdict: entry.previousVerdict,
    claimedOutputs: entry.claimedOutputs,
    agreedOutputs: entry.agreedOutputs,
    agreeingOperators: entry.agreeingOperators,
    dissentingOperators: entry.dissentingOperators,
    decidedAt: entry.decidedAt,
    logIndex: entry.logIndex,
    links: buildLinksFor(entry.buildId),
  };
}

/**
 * True when `If-None-Match` names `etag` (or `*`). Weak and strong forms compare equal, as RFC 9110
 * asks for If-None-Match.
 */
function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === etag);
}

/** `since`: the cursor of an entry already read; absent means from the start. @throws ApiError INVALID. */
function sinceOf(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!isFeedCursor(value)) throw new ApiError('INVALID', `since: expected ${feedCursorRule.expected}`);
  return Number(value);
}

const exampleDeb = sha256Hex('an example hello_2.10-3_amd64.deb');

const example: ConsensusFeedPage = {
  entries: [
    {
      cursor: '41',
      buildId: '0b0d6e0c-3c1e-4b8a-9d43-6f1f9f0a1c2d',
      source: 'hello',
      version: '2.10-3',
      architecture: 'amd64',
      suite: 'bookworm',
      suites: ['bookworm', 'bookworm-proposed-updates'],
      verdict: 'reproducible',
      previousVerdict: 'pending',
      claimedOutputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: exampleDeb }],
      agreedOutputs: [{ path: 'hello_2.10-3_amd64.deb', sha256: exampleDeb }],
      agreeingOperators: ['acme', 'globex'],
      dissentingOperators: [],
      decidedAt: '2026-12-01T10:00:00.000Z',
      logIndex: 1742,
      links: buildLinksFor('0b0d6e0c-3c1e-4b8a-9d43-6f1f9f0a1c2d'),
    },
  ],
  nextCursor: '41',
  more: false,
};

const readFeed: RouteDefinition = {
  method: 'GET',
  path: '/v1/feed',
  operationId: 'readConsensusFeed',
  tag: 'builds',
  summary: 'Every verdict change since a cursor, oldest first: what a release tool polls',
  description:
    'Start without `since`; then pass the `nextCursor` of each page as `since`. `more: true` means ' +
    'fetch again now; `more: false` means caught up (poll later, with the ETag in `If-None-Match`: ' +
    'an unchanged page answers 304). Each change is one entry, however often a build changes; ' +
    "entries are never changed or removed. With `suite=` the feed is that suite's own: a verdict " +
    'change of a build found in it, and a build already decided when it is found in it later (its ' +
    "latest change, listed again); its cursors are that feed's and only valid with the same " +
    "`suite=`. `logIndex` is the verdict's entry in the transparency log (GET /v1/log/proofs/:index). " +
    'Suites are recorded by sync profiles only (docs/api.md, "The consensus feed").',
  auth: ['none'],
  query: {
    since: {
      description: 'the `nextCursor` (or an entry `cursor`) already read; absent: from the start',
      schema: { type: 'string', pattern: feedCursorRule.pattern.source },
      required: false,
    },
    limit: {
      description: `entries per page, 1..${maxFeedPageEntries}, default ${defaultFeedPageEntries}`,
      schema: { type: 'integer', minimum: 1, maximum: maxFeedPageEntries },
      required: false,
    },
    arch: {
      description: 'only builds of this architecture (e.g. amd64)',
      schema: { type: 'string', pattern: architectureRule.pattern.source },
      required: false,
    },
    suite: {
      description: 'only builds recorded for this suite (e.g. trixie)',
      schema: { type: 'string', pattern: suiteRule.pattern.source },
      required: false,
    },
  },
  answers: [
    {
      status: 200,
      description: 'one page, oldest first; `ETag` set, 304 when `If-None-Match` names it',
      contentType: JSON_CONTENT,
      schema: consensusFeedPageType.schema,
      example,
    },
  ],
  errors: ['INVALID'],
  handler:
    ({ deps }) =>
    async (c) => {
      const since = sinceOf(c.req.query('since'));
      const limit = pageLimitOf(c.req.query('limit'), maxFeedPageEntries, defaultFeedPageEntries);
      const architecture = optionalIdentifierOf('arch', c.req.query('arch'), architectureRule);
      const suite = optionalIdentifierOf('suite', c.req.query('suite'), suiteRule);
      const latest = await deps.feed.latestFeedSeq(suite);
      // Cursors only grow: one past the end was not made by this coordinator's feed (or its
      // database was restored from an older copy), and silence would stall the poller for ever.
      if (since > latest)
        throw new ApiError(
          'INVALID',
          `since: ${since} is past the newest entry (${latest}); start again without since`,
        );
      const { entries, more } = await deps.feed.readFeed({
        after: since,
        limit,
        ...(architecture !== undefined && { architecture }),
        ...(suite !== undefined && { suite }),
      });
      const nextCursor = entries.length > 0 ? String(entries.at(-1)!.seq) : String(since);
      // Entries never change and seqs only grow, so what selected a page, where it ended and
      // whether more followed name its content exactly: a new matching change moves the end or
      // sets `more`; a change that does not match leaves the page, and its tag, as they were.
      const etag = `"${sha256Hex(
        [FEED_FORMAT, since, limit, architecture ?? '', suite ?? '', nextCursor, more].join('\n'),
      ).slice(0, 32)}"`;
      c.header('etag', etag);
      c.header('cache-control', 'no-cache');
      if (ifNoneMatchHits(c.req.header('if-none-match'), etag)) return c.body(null, 304);
      const page: ConsensusFeedPage = { entries: entries.map(entryOf), nextCursor, more };
      return c.json(page);
    },
};

export const feedRoutes: readonly RouteDefinition[] = [readFeed];
