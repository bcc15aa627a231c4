// Migration 9: the aggregates the public web pages read (docs/web.md, "What each page reads"), kept
// by triggers in the same transaction as the rows they summarise. Never edit a released migration
// (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

/** A package's latest verdict that is an alarm (the partial index and its queries share it exactly). */
export const WEB_ALARM_WHERE = `(latest_verdict = 'mismatch-upstream' OR (good_seq IS NOT NULL AND latest_verdict IN ('diverged', 'inputs-differ', 'failed')))`;

const PACKAGE = 'name = NEW.name AND backend = NEW.backend AND architecture = NEW.architecture';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Adds `delta` to the change of (day, NEW's family, verdict) for each row `FROM …` selects. */
function dailyChange(day: string, verdict: string, delta: number, from: string): string {
  return `INSERT INTO web_daily_changes (day, backend, architecture, verdict, delta)
      SELECT ${day}, NEW.backend, NEW.architecture, ${verdict}, ${delta} ${from}
      ON CONFLICT (day, backend, architecture, verdict) DO UPDATE SET delta = delta + excluded.delta;`;
}

const sql = `
  -- One row per package (name, backend, architecture): its latest build (by seq) and that build's
  -- verdict. good_seq: the newest of its builds ever decided reproducible or agreed (regressions).
  CREATE TABLE web_packages (
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    architecture TEXT NOT NULL,
    latest_seq INTEGER NOT NULL,
    latest_verdict TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    builds INTEGER NOT NULL CHECK (builds >= 1),
    good_seq INTEGER,
    PRIMARY KEY (name, backend, architecture)
  ) STRICT, WITHOUT ROWID;
  -- Alarms newest first, and counted from the index alone (it carries what its WHERE reads).
  CREATE INDEX web_packages_alarms
    ON web_packages (changed_at, name, backend, architecture, latest_verdict, good_seq)
    WHERE ${WEB_ALARM_WHERE};

  -- Packages per family and verdict of their latest build: the overview reads these rows only.
  CREATE TABLE web_family_counts (
    backend TEXT NOT NULL,
    architecture TEXT NOT NULL,
    verdict TEXT NOT NULL,
    packages INTEGER NOT NULL CHECK (packages >= 0),
    PRIMARY KEY (backend, architecture, verdict)
  ) STRICT, WITHOUT ROWID;

  -- How each day (UTC, days since 1970) changed those counts: the state at the end of day D is
  -- today's counts minus every change after D, so a trend reads the window's days only.
  CREATE TABLE web_daily_changes (
    day INTEGER NOT NULL,
    backend TEXT NOT NULL,
    architecture TEXT NOT NULL,
    verdict TEXT NOT NULL,
    delta INTEGER NOT NULL,
    PRIMARY KEY (day, backend, architecture, verdict)
  ) STRICT, WITHOUT ROWID;

  -- Finished work per hour (since 1970) and worker: results by kind, attempts closed without one.
  CREATE TABLE web_hourly_outcomes (
    hour INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, worker_id, outcome)
  ) STRICT, WITHOUT ROWID;

  CREATE TRIGGER web_builds_insert AFTER INSERT ON builds
  BEGIN
    -- The package's previous latest build leaves the counts...
    ${dailyChange(`NEW.created_at / ${DAY_MS}`, 'latest_verdict', -1, `FROM web_packages WHERE ${PACKAGE}`)}
    UPDATE web_family_counts SET packages = packages - 1
      WHERE backend = NEW.backend AND architecture = NEW.architecture
        AND verdict = (SELECT latest_verdict FROM web_packages WHERE ${PACKAGE});
    -- ...and the new one takes its place.
    INSERT INTO web_packages (name, backend, architecture, latest_seq, latest_verdict, changed_at, builds, good_seq)
      VALUES (NEW.name, NEW.backend, NEW.architecture, NEW.seq, NEW.verdict, NEW.created_at, 1,
        CASE WHEN NEW.verdict IN ('reproducible', 'agreed') THEN NEW.seq END)
      ON CONFLICT (name, backend, architecture) DO UPDATE SET
        latest_seq = excluded.latest_seq, latest_verdict = excluded.latest_verdict,
        changed_at = excluded.changed_at, builds = builds + 1,
        good_seq = COALESCE(excluded.good_seq, good_seq);
    INSERT INTO web_family_counts (backend, architecture, verdict, packages)
      VALUES (NEW.backend, NEW.architecture, NEW.verdict, 1)
      ON CONFLICT (backend, architecture, verdict) DO UPDATE SET packages = packages + 1;
    ${dailyChange(`NEW.created_at / ${DAY_MS}`, 'NEW.verdict', 1, 'WHERE true')}
  END;

  CREATE TRIGGER web_builds_verdict AFTER UPDATE OF verdict ON builds
  WHEN OLD.verdict IS NOT NEW.verdict
  BEGIN
    UPDATE web_packages SET good_seq = MAX(COALESCE(good_seq, 0), NEW.seq)
      WHERE ${PACKAGE} AND NEW.verdict IN ('reproducible', 'agreed');
    -- Only a package's latest build is counted.
    ${dailyChange(`COALESCE(NEW.verdict_at, NEW.created_at) / ${DAY_MS}`, 'OLD.verdict', -1, `FROM web_packages WHERE ${PACKAGE} AND latest_seq = NEW.seq`)}
    ${dailyChange(`COALESCE(NEW.verdict_at, NEW.created_at) / ${DAY_MS}`, 'NEW.verdict', 1, `FROM web_packages WHERE ${PACKAGE} AND latest_seq = NEW.seq`)}
    UPDATE web_family_counts SET packages = packages - 1
      WHERE backend = NEW.backend AND architecture = NEW.architecture AND verdict = OLD.verdict
        AND EXISTS (SELECT 1 FROM web_packages WHERE ${PACKAGE} AND latest_seq = NEW.seq);
    INSERT INTO web_family_counts (backend, architecture, verdict, packages)
      SELECT NEW.backend, NEW.architecture, NEW.verdict, 1
      WHERE EXISTS (SELECT 1 FROM web_packages WHERE ${PACKAGE} AND latest_seq = NEW.seq)
      ON CONFLICT (backend, architecture, verdict) DO UPDATE SET packages = packages + 1;
    UPDATE web_packages SET latest_verdict = NEW.verdict,
        changed_at = COALESCE(NEW.verdict_at, NEW.created_at)
      WHERE ${PACKAGE} AND latest_seq = NEW.seq;
  END;

  CREATE TRIGGER web_results_hourly AFTER INSERT ON results
  BEGIN
    INSERT INTO web_hourly_outcomes (hour, worker_id, outcome, n)
      VALUES (NEW.received_at / ${HOUR_MS}, NEW.worker_id,
        CASE WHEN NEW.kind = 'built' THEN 'built'
          ELSE 'build-failure:' || substr(COALESCE(NEW.failure_reason, 'unknown'), 1, 64) END, 1)
      ON CONFLICT (hour, worker_id, outcome) DO UPDATE SET n = n + 1;
  END;

  CREATE TRIGGER web_attempts_hourly AFTER UPDATE OF state ON attempts
  WHEN OLD.state = 'open' AND NEW.state IN ('failed', 'expired', 'cancelled')
  BEGIN
    INSERT INTO web_hourly_outcomes (hour, worker_id, outcome, n)
      VALUES (COALESCE(NEW.finished_at, NEW.assigned_at) / ${HOUR_MS}, NEW.worker_id,
        CASE WHEN NEW.state = 'cancelled' THEN 'cancelled' ELSE 'infrastructure:' || NEW.state END, 1)
      ON CONFLICT (hour, worker_id, outcome) DO UPDATE SET n = n + 1;
  END;

  -- What was recorded before this migration. The past days' changes are not known: each package
  -- enters the trend on the day its latest build was decided (or submitted), with today's verdict.
  INSERT INTO web_packages (name, backend, architecture, latest_seq, latest_verdict, changed_at, builds, good_seq)
    SELECT name, backend, architecture, MAX(seq), 'pending', 0, COUNT(*),
      MAX(CASE WHEN verdict IN ('reproducible', 'agreed') THEN seq END)
    FROM builds GROUP BY name, backend, architecture;
  UPDATE web_packages SET (latest_verdict, changed_at) =
    (SELECT verdict, COALESCE(verdict_at, created_at) FROM builds WHERE seq = web_packages.latest_seq);
  INSERT INTO web_family_counts (backend, architecture, verdict, packages)
    SELECT backend, architecture, latest_verdict, COUNT(*) FROM web_packages
    GROUP BY backend, architecture, latest_verdict;
  INSERT INTO web_daily_changes (day, backend, architecture, verdict, delta)
    SELECT changed_at / ${DAY_MS}, backend, architecture, latest_verdict, COUNT(*) FROM web_packages
    GROUP BY changed_at / ${DAY_MS}, backend, architecture, latest_verdict;
  INSERT INTO web_hourly_outcomes (hour, worker_id, outcome, n)
    SELECT received_at / ${HOUR_MS}, worker_id,
      CASE WHEN kind = 'built' THEN 'built'
        ELSE 'build-failure:' || substr(COALESCE(failure_reason, 'unknown'), 1, 64) END, COUNT(*)
    FROM results GROUP BY 1, 2, 3;
  INSERT INTO web_hourly_outcomes (hour, worker_id, outcome, n)
    SELECT COALESCE(finished_at, assigned_at) / ${HOUR_MS}, worker_id,
      CASE WHEN state = 'cancelled' THEN 'cancelled' ELSE 'infrastructure:' || state END, COUNT(*)
    FROM attempts WHERE state IN ('failed', 'expired', 'cancelled') GROUP BY 1, 2, 3
    ON CONFLICT (hour, worker_id, outcome) DO UPDATE SET n = n + excluded.n;
`;

export const migration9: Migration = {
  version: 9,
  name: 'web page aggregates: packages, counts per family, daily changes, hourly outcomes',
  // What the public pages read instead of the history (storage/sqlite/sqlite-web-aggregates.ts,
  // docs/web.md): kept on write by triggers in the writing transaction, read in rows bounded by
  // packages shown, days and hours of a window, never by the builds stored.
  sql,
};

/** What migration 9 creates, so a test can roll a file back to version 8. */
export const migration9Objects: readonly {
  readonly type: 'trigger' | 'table';
  readonly name: string;
}[] = [
  ...[...sql.matchAll(/CREATE TRIGGER (\w+)/g)].map((m) => ({ type: 'trigger' as const, name: m[1]! })),
  ...[...sql.matchAll(/CREATE TABLE (\w+)/g)].map((m) => ({ type: 'table' as const, name: m[1]! })),
];
