// The consensus feed on SQLite: reads of the two read models migration 11 keeps by trigger
// (verdict_feed, package_builds), each a range of one index.
import type { OutputDigest } from '../../../services/claims/compare-outputs-with-claims.ts';
import type { Verdict } from '../../../services/consensus/verdict.ts';
import type {
  ConsensusFeed,
  FeedEntry,
  FeedPage,
  FeedPageOptions,
  PackageBuild,
  PackageQuery,
} from '../../../services/storage/consensus-feed.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import { pageLimit } from './page-arguments.ts';
import { iso, optionalIso } from './row-mapping.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

interface FeedRow {
  cursor: number;
  listed_suite: string | null;
  suites_json: string;
  build_id: string;
  sequence: number;
  source: string;
  version: string | null;
  architecture: string;
  verdict: string;
  previous_verdict: string;
  agreeing_operators_json: string;
  dissenting_operators_json: string;
  agreed_outputs_json: string | null;
  claimed_outputs_json: string;
  decided_at: number;
  log_index: number | null;
}

interface PackageRow {
  build_id: string;
  source: string;
  version: string | null;
  architecture: string;
  suites_json: string;
  verdict: string;
  agreeing_operators_json: string;
  dissenting_operators_json: string;
  verdict_at: number | null;
  log_index: number | null;
}

const FEED_COLUMNS = `f.build_id, f.sequence, f.source, f.version, f.architecture, f.verdict,
  f.previous_verdict, f.agreeing_operators_json, f.dissenting_operators_json, f.agreed_outputs_json,
  f.decided_at, b.claimed_outputs_json, vl.log_index`;
/** The build row (one lookup by its unique id) and the verdict's log index (one primary-key lookup). */
const FEED_JOINS = `JOIN builds b ON b.build_id = f.build_id
   LEFT JOIN verdict_log_indexes vl ON vl.build_id = f.build_id AND vl.sequence = f.sequence`;
/**
 * A build's current facts, its suites by name, and the log index of its current
 * verdict (null while pending, or in the moment between recording a verdict and logging it).
 */
const PACKAGE_COLUMNS = `p.build_id, p.source, p.version, p.architecture, p.verdict,
  p.agreeing_operators_json, p.dissenting_operators_json, p.verdict_at,
  (SELECT json_group_array(s.suite) FROM build_suites s
    WHERE s.build_id = p.build_id) AS suites_json,
  (SELECT vl.log_index FROM verdict_log_indexes vl WHERE vl.build_id = p.build_id
    AND vl.sequence = (SELECT MAX(h.sequence) FROM verdict_history h WHERE h.build_id = p.build_id)) AS log_index`;

/**
 * `INDEXED BY` names the index a filtered page must walk: with statistics saying most entries
 * match, SQLite would otherwise walk the whole sequence and filter, which is unbounded for a
 * rare architecture.
 */
const feedSql = (index: string | undefined, where: string) =>
  `SELECT f.seq AS cursor, NULL AS listed_suite, COALESCE(vs.suites_json, '[]') AS suites_json, ${FEED_COLUMNS}
   FROM verdict_feed f ${index === undefined ? '' : `INDEXED BY ${index}`}
   ${FEED_JOINS}
   LEFT JOIN verdict_feed_suites vs ON vs.feed_seq = f.seq
   WHERE ${where} f.seq > @after ORDER BY f.seq LIMIT @limit`;

/**
 * A suite's own feed (migration 15): its cursor is the suite_feed row's, each row one entry of the
 * global feed listed for the suite (a verdict change of a build in it, or a decided build found in
 * it later).
 */
const suiteFeedSql = (index: string, where: string) =>
  `SELECT sf.seq AS cursor, sf.suite AS listed_suite, sf.suites_json, ${FEED_COLUMNS}
   FROM suite_feed sf INDEXED BY ${index}
   JOIN verdict_feed f ON f.seq = sf.feed_seq
   ${FEED_JOINS}
   WHERE sf.suite = @suite AND ${where} sf.seq > @after ORDER BY sf.seq LIMIT @limit`;

/**
 * Every read, one statement per filter combination, each matching one index (verdict_feed_*,
 * suite_feed_*, package_builds_version), so SQLite never sorts or skips: a page costs its own rows
 * whatever is stored. Exported for the test that reads their query plans.
 */
export const CONSENSUS_FEED_SQL = Object.freeze({
  feed: feedSql(undefined, ''),
  feedByArchitecture: feedSql('verdict_feed_architecture', 'f.architecture = @architecture AND'),
  feedBySuite: suiteFeedSql('suite_feed_suite', ''),
  feedBySuiteArchitecture: suiteFeedSql(
    'suite_feed_suite_architecture',
    'sf.architecture = @architecture AND',
  ),
  latestSeq: 'SELECT MAX(seq) AS seq FROM verdict_feed',
  latestSuiteSeq: 'SELECT MAX(seq) AS seq FROM suite_feed WHERE suite = ?',
  buildsOfVersion: `SELECT ${PACKAGE_COLUMNS} FROM package_builds p INDEXED BY package_builds_version
    WHERE p.source = ? AND p.version IS ?
    ORDER BY p.build_seq DESC LIMIT ?`,
  buildsOfSource: `SELECT ${PACKAGE_COLUMNS} FROM package_builds p INDEXED BY package_builds_source
    WHERE p.source = ?
    ORDER BY p.build_seq DESC LIMIT ?`,
});

function prepare(c: SqliteConnection) {
  const db = c.db;
  const sql = CONSENSUS_FEED_SQL;
  return {
    feed: db.prepare<Record<string, unknown>, FeedRow>(sql.feed),
    feedByArchitecture: db.prepare<Record<string, unknown>, FeedRow>(sql.feedByArchitecture),
    feedBySuite: db.prepare<Record<string, unknown>, FeedRow>(sql.feedBySuite),
    feedBySuiteArchitecture: db.prepare<Record<string, unknown>, FeedRow>(sql.feedBySuiteArchitecture),
    latestSeq: db.prepare<[], { seq: number | null }>(sql.latestSeq),
    latestSuiteSeq: db.prepare<[string], { seq: number | null }>(sql.latestSuiteSeq),
    buildsOfVersion: db.prepare<[string, string | null, number], PackageRow>(sql.buildsOfVersion),
    buildsOfSource: db.prepare<[string, number], PackageRow>(sql.buildsOfSource),
  };
}

const names = (json: string): readonly string[] => Object.freeze(JSON.parse(json) as string[]);
/** A build's suites, by name: sorted here, a handful, so no statement sorts. */
const suiteNames = (json: string): readonly string[] => Object.freeze((JSON.parse(json) as string[]).sort());

/** Path and digest only: the rows the schema checked, frozen. */
function outputs(json: string): readonly OutputDigest[] {
  return Object.freeze(
    (JSON.parse(json) as OutputDigest[]).map((o) => Object.freeze({ path: o.path, sha256: o.sha256 })),
  );
}

function mapFeed(row: FeedRow): FeedEntry {
  const suites = suiteNames(row.suites_json);
  return Object.freeze({
    seq: row.cursor,
    buildId: row.build_id,
    sequence: row.sequence,
    source: row.source,
    version: row.version,
    architecture: row.architecture,
    suite: row.listed_suite ?? suites[0] ?? null,
    suites,
    verdict: row.verdict as Verdict,
    previousVerdict: row.previous_verdict as Verdict,
    agreeingOperators: names(row.agreeing_operators_json),
    dissentingOperators: names(row.dissenting_operators_json),
    claimedOutputs: outputs(row.claimed_outputs_json),
    agreedOutputs: row.agreed_outputs_json === null ? null : outputs(row.agreed_outputs_json),
    decidedAt: iso(row.decided_at),
    logIndex: row.log_index,
  });
}

function mapPackage(row: PackageRow): PackageBuild {
  const suites = suiteNames(row.suites_json);
  return Object.freeze({
    buildId: row.build_id,
    source: row.source,
    version: row.version,
    architecture: row.architecture,
    suite: suites[0] ?? null,
    suites,
    verdict: row.verdict as Verdict,
    agreeingOperators: names(row.agreeing_operators_json),
    dissentingOperators: names(row.dissenting_operators_json),
    ...optionalIso('verdictAt', row.verdict_at),
    logIndex: row.log_index,
  });
}

export class SqliteConsensusFeed implements ConsensusFeed {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async readFeed(options: FeedPageOptions): Promise<FeedPage> {
    const limit = pageLimit(options.limit, 100);
    if (!Number.isSafeInteger(options.after) || options.after < 0)
      throw new BuildStoreError('INVALID', 'after: expected a non-negative integer');
    const { architecture, suite } = options;
    const statement =
      suite === undefined
        ? architecture === undefined
          ? this.#s.feed
          : this.#s.feedByArchitecture
        : architecture === undefined
          ? this.#s.feedBySuite
          : this.#s.feedBySuiteArchitecture;
    // One row past the page says whether another follows.
    const rows = statement.all({
      after: options.after,
      limit: limit + 1,
      ...(architecture !== undefined && { architecture }),
      ...(suite !== undefined && { suite }),
    });
    return Object.freeze({
      entries: Object.freeze(rows.slice(0, limit).map(mapFeed)),
      more: rows.length > limit,
    });
  }

  /** @inheritdoc */
  async latestFeedSeq(suite?: string): Promise<number> {
    const latest = suite === undefined ? this.#s.latestSeq.get() : this.#s.latestSuiteSeq.get(suite);
    return latest?.seq ?? 0;
  }

  /** @inheritdoc */
  async findPackageBuilds(
    queries: readonly PackageQuery[],
    maxBuilds: number,
  ): Promise<readonly (readonly PackageBuild[])[]> {
    const limit = pageLimit(maxBuilds, maxBuilds);
    // One read transaction: every answer is of the same moment.
    const answers = this.#c.read(() =>
      queries.map((query) =>
        Object.freeze(
          (query.version === undefined
            ? this.#s.buildsOfSource.all(query.source, limit)
            : this.#s.buildsOfVersion.all(query.source, query.version, limit)
          ).map(mapPackage),
        ),
      ),
    );
    return Object.freeze(answers);
  }
}
