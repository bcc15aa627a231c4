// WebAggregates on the coordinator's SQLite file: its own read connection, the tables and indexes of
// migration 9, and the builds table's name index.
import type Database from 'better-sqlite3';
import type { Verdict } from '../../../services/consensus/verdict.ts';
import type {
  AlarmKey,
  DailyChangeRow,
  FamilyCountRow,
  HourlyOutcomeRow,
  PackageKey,
  PackageRow,
  TimelineRow,
  WebAggregates,
} from '../../web/web-aggregates.ts';
import { WEB_ALARM_WHERE } from './migrations/m009-web-aggregates.ts';
import { SqliteConnection, type SqliteConnectionOptions } from './sqlite-connection.ts';

interface PackageSqlRow {
  name: string;
  backend: string;
  architecture: string;
  latest_build_id: string;
  latest_verdict: string;
  changed_at: number;
  builds: number;
  version: unknown;
  good_build_id: string | null;
}

/** A package row with its latest build's id and version (primary-key lookups of `builds`). */
const PACKAGE_SELECT = `SELECT name, backend, architecture, latest_verdict, changed_at, builds,
    (SELECT b.build_id FROM builds b WHERE b.seq = web_packages.latest_seq) AS latest_build_id,
    (SELECT json_extract(b.manifest_json, '$.version') FROM builds b WHERE b.seq = web_packages.latest_seq) AS version,
    (SELECT g.build_id FROM builds g WHERE g.seq = web_packages.good_seq) AS good_build_id
  FROM web_packages`;

/**
 * Every statement the web pages run besides the build store's own, and the index each reads (what
 * a store that takes them over must keep). None reads a row per build ever stored.
 */
export const WEB_AGGREGATE_SQL = Object.freeze({
  /** web_family_counts: families × verdicts rows. */
  familyCounts: 'SELECT backend, architecture, verdict, packages FROM web_family_counts WHERE packages > 0',
  /** web_daily_changes primary key (day, …): the window's days only. */
  dailyChanges:
    'SELECT day, backend, architecture, verdict, delta FROM web_daily_changes WHERE day > ? AND delta != 0 ORDER BY day',
  /** The partial index web_packages_alarms (its WHERE repeated exactly): one page of alarms. */
  alarmsFirst: `${PACKAGE_SELECT} WHERE ${WEB_ALARM_WHERE}
    ORDER BY changed_at DESC, name DESC, backend DESC, architecture DESC LIMIT ?`,
  alarmsAfter: `${PACKAGE_SELECT} WHERE ${WEB_ALARM_WHERE}
      AND (changed_at, name, backend, architecture) < (?, ?, ?, ?)
    ORDER BY changed_at DESC, name DESC, backend DESC, architecture DESC LIMIT ?`,
  /** The same partial index: as many rows as there are alarms. */
  countAlarms: `SELECT COUNT(*) FROM web_packages WHERE ${WEB_ALARM_WHERE}`,
  /** web_packages primary key (name, backend, architecture): a range from the prefix. */
  byPrefix: `${PACKAGE_SELECT} WHERE name >= ? AND name < ? AND (name, backend, architecture) > (?, ?, ?)
    ORDER BY name, backend, architecture LIMIT ?`,
  families: `${PACKAGE_SELECT} WHERE name = ? ORDER BY backend, architecture`,
  /** builds.build_id is unique (its own index). */
  seqOf: 'SELECT seq FROM builds WHERE build_id = ? AND name = ?',
  /** builds_name (name) holds the rowid, which is seq: a page newest first without a sort. */
  idsOfName: 'SELECT build_id FROM builds WHERE name = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
  timeline: `SELECT build_id, architecture, backend, verdict, created_at,
      json_extract(manifest_json, '$.version') AS version
    FROM builds WHERE name = ? ORDER BY seq DESC LIMIT ?`,
  /** web_hourly_outcomes primary key (hour, …): the window's hours only. */
  hourly: 'SELECT hour, worker_id, outcome, n FROM web_hourly_outcomes WHERE hour >= ? ORDER BY hour',
});

function prepare(db: Database.Database) {
  const q = WEB_AGGREGATE_SQL;
  return {
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    familyCounts: db.prepare<
      [],
      { backend: string; architecture: string; verdict: string; packages: number }
    >(q.familyCounts),
    dailyChanges: db.prepare<
      [number],
      { day: number; backend: string; architecture: string; verdict: string; delta: number }
    >(q.dailyChanges),
    alarmsFirst: db.prepare<[number], PackageSqlRow>(q.alarmsFirst),
    alarmsAfter: db.prepare<[number, string, string, string, number], PackageSqlRow>(q.alarmsAfter),
    countAlarms: db.prepare<[], number>(q.countAlarms).pluck(),
    byPrefix: db.prepare<[string, string, string, string, string, number], PackageSqlRow>(q.byPrefix),
    families: db.prepare<[string], PackageSqlRow>(q.families),
    seqOf: db.prepare<[string, string], number>(q.seqOf).pluck(),
    idsOfName: db.prepare<[string, number, number], string>(q.idsOfName).pluck(),
    timeline: db.prepare<
      [string, number],
      {
        build_id: string;
        architecture: string;
        backend: string;
        verdict: string;
        created_at: number;
        version: unknown;
      }
    >(q.timeline),
    hourly: db.prepare<[number], { hour: number; worker_id: string; outcome: string; n: number }>(q.hourly),
  };
}

function packageRow(row: PackageSqlRow): PackageRow {
  return Object.freeze({
    name: row.name,
    backend: row.backend,
    architecture: row.architecture,
    latestBuildId: row.latest_build_id,
    latestVerdict: row.latest_verdict as Verdict,
    changedAtMs: row.changed_at,
    builds: row.builds,
    ...(typeof row.version === 'string' && { version: row.version }),
    ...(row.good_build_id !== null && { lastGoodBuildId: row.good_build_id }),
  });
}

/** Above every character a package name can hold: the end of a prefix range. */
const PREFIX_END = '\u{10FFFF}';

/**
 * Opens its own connection to the coordinator's database (migrating it like every store does), not
 * the stores' shared one: `PRAGMA data_version` changes only with another connection's commits, so
 * from here it tells the page cache whenever any store wrote.
 */
export class SqliteWebAggregates implements WebAggregates {
  readonly #connection: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(path: string, options: SqliteConnectionOptions = {}) {
    const connection = new SqliteConnection(path, options);
    try {
      this.#s = prepare(connection.db);
    } catch (err) {
      connection.close();
      throw err;
    }
    this.#connection = connection;
  }

  dataVersion(): number {
    return this.#s.dataVersion.get()!;
  }

  async familyCounts(): Promise<readonly FamilyCountRow[]> {
    return this.#s.familyCounts.all().map((r) => ({ ...r, verdict: r.verdict as Verdict }));
  }

  async dailyChangesAfter(afterDay: number): Promise<readonly DailyChangeRow[]> {
    return this.#s.dailyChanges.all(afterDay).map((r) => ({ ...r, verdict: r.verdict as Verdict }));
  }

  async alarms(limit: number, after?: AlarmKey): Promise<readonly PackageRow[]> {
    const rows = after
      ? this.#s.alarmsAfter.all(after.changedAtMs, after.name, after.backend, after.architecture, limit)
      : this.#s.alarmsFirst.all(limit);
    return rows.map(packageRow);
  }

  async countAlarms(): Promise<number> {
    return this.#s.countAlarms.get()!;
  }

  async packagesByPrefix(prefix: string, limit: number, after?: PackageKey): Promise<readonly PackageRow[]> {
    return this.#s.byPrefix
      .all(
        prefix,
        `${prefix}${PREFIX_END}`,
        after?.name ?? '',
        after?.backend ?? '',
        after?.architecture ?? '',
        limit,
      )
      .map(packageRow);
  }

  async packageFamilies(name: string): Promise<readonly PackageRow[]> {
    return this.#s.families.all(name).map(packageRow);
  }

  async buildIdsOfName(
    name: string,
    limit: number,
    beforeBuildId?: string,
  ): Promise<readonly string[] | undefined> {
    let beforeSeq = Number.MAX_SAFE_INTEGER;
    if (beforeBuildId !== undefined) {
      const seq = this.#s.seqOf.get(beforeBuildId, name);
      if (seq === undefined) return undefined;
      beforeSeq = seq;
    }
    return this.#s.idsOfName.all(name, beforeSeq, limit);
  }

  async timeline(name: string, limit: number): Promise<readonly TimelineRow[]> {
    return this.#s.timeline
      .all(name, limit)
      .reverse()
      .map((r) => ({
        buildId: r.build_id,
        architecture: r.architecture,
        backend: r.backend,
        verdict: r.verdict as Verdict,
        createdAtMs: r.created_at,
        ...(typeof r.version === 'string' && { version: r.version }),
      }));
  }

  async hourlyOutcomesFrom(fromHour: number): Promise<readonly HourlyOutcomeRow[]> {
    return this.#s.hourly
      .all(fromHour)
      .map((r) => ({ hour: r.hour, workerId: r.worker_id, outcome: r.outcome, count: r.n }));
  }

  async close(): Promise<void> {
    this.#connection.close();
  }
}
