// Migration 15: the suites a build was found in (recorded by sync profiles), each suite's own feed of
// verdict changes, the transparency-log index of every verdict, and an alert subscription's suite;
// the derived rows are kept by triggers in the transaction that records what they summarise.
// Existing rows are upgraded in the same step.
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

/** A build's suites by name (a handful, on the write path): what an entry lists. */
const suitesOf = (buildId: string) =>
  `(SELECT json_group_array(suite ORDER BY suite) FROM build_suites WHERE build_id = ${buildId})`;

const UPLOAD_KEY = (u: string, s: string) =>
  `${u}.profile = ${s}.profile AND ${u}.source = ${s}.source AND ${u}.version = ${s}.version
   AND ${u}.binary_version = ${s}.binary_version AND ${u}.architecture = ${s}.architecture`;

export const migration15: Migration = {
  version: 15,
  name: 'build suites, suite feeds, verdict log indexes',
  sql: `
    -- Each suite an upload of a profile was read in (the poller records it with the index).
    CREATE TABLE sync_upload_suites (
      profile TEXT NOT NULL,
      source TEXT NOT NULL,
      version TEXT NOT NULL,
      binary_version TEXT NOT NULL,
      architecture TEXT NOT NULL,
      suite TEXT NOT NULL,
      first_seen_at INTEGER NOT NULL,
      PRIMARY KEY (profile, source, version, binary_version, architecture, suite),
      FOREIGN KEY (profile, source, version, binary_version, architecture)
        REFERENCES sync_uploads (profile, source, version, binary_version, architecture) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sync_uploads_build ON sync_uploads (build_id) WHERE build_id IS NOT NULL;

    -- Each suite a build was found in, and the profile that found it there first. Only a sync
    -- profile (which verified the archive's signed InRelease) records one: a submitter cannot.
    CREATE TABLE build_suites (
      build_id TEXT NOT NULL REFERENCES builds (build_id),
      suite TEXT NOT NULL,
      profile TEXT,
      found_at INTEGER NOT NULL,
      PRIMARY KEY (build_id, suite)
    ) STRICT, WITHOUT ROWID;

    -- Each suite's own feed: one row per verdict change of a build in the suite, and one when a
    -- build already decided is found in the suite (its latest change, listed again). Its seq is the
    -- cursor of a suite-filtered feed. suites_json: the build's suites when the row was written.
    CREATE TABLE suite_feed (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      suite TEXT NOT NULL,
      architecture TEXT NOT NULL,
      feed_seq INTEGER NOT NULL REFERENCES verdict_feed (seq),
      suites_json TEXT NOT NULL
    ) STRICT;
    CREATE INDEX suite_feed_suite ON suite_feed (suite, seq);
    CREATE INDEX suite_feed_suite_architecture ON suite_feed (suite, architecture, seq);
    ${appendOnly('suite_feed', 'a suite feed')}

    -- The build's suites when a verdict change was recorded (entries never change, so neither do
    -- the suites they list); no row: none.
    CREATE TABLE verdict_feed_suites (
      feed_seq INTEGER PRIMARY KEY REFERENCES verdict_feed (seq),
      suites_json TEXT NOT NULL
    ) STRICT;
    ${appendOnly('verdict_feed_suites', 'the suites of a feed entry')}

    -- The tiled log's index of each verdict entry, by the verdict it names.
    CREATE TABLE verdict_log_indexes (
      build_id TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      log_index INTEGER NOT NULL UNIQUE,
      PRIMARY KEY (build_id, sequence)
    ) STRICT, WITHOUT ROWID;

    -- An alert subscription's suite filter (null: every suite, and builds in none).
    ALTER TABLE alert_subscriptions ADD COLUMN suite TEXT;

    -- verdict_feed's suite column is never written (migration 11 had nothing to fill it with):
    -- suite_feed replaces its indexes.
    DROP INDEX verdict_feed_suite;
    DROP INDEX verdict_feed_suite_architecture;

    -- Existing rows. A profile of one suite found every upload it holds there; a profile of several
    -- forgets its index digests, so its next poll reads them again and records the suites (uploads
    -- are unique: nothing is submitted twice).
    INSERT INTO sync_upload_suites (profile, source, version, binary_version, architecture, suite,
        first_seen_at)
      SELECT u.profile, u.source, u.version, u.binary_version, u.architecture,
        json_extract(p.spec_json, '$.archive.suites[0]'), u.first_seen_at
      FROM sync_uploads u JOIN sync_profiles p ON p.name = u.profile
      WHERE json_array_length(p.spec_json, '$.archive.suites') = 1;
    DELETE FROM sync_indexes WHERE profile IN
      (SELECT name FROM sync_profiles WHERE json_array_length(spec_json, '$.archive.suites') > 1);
    INSERT INTO build_suites (build_id, suite, profile, found_at)
      SELECT u.build_id, s.suite, s.profile, s.first_seen_at
      FROM sync_uploads u JOIN sync_upload_suites s ON ${UPLOAD_KEY('u', 's')}
      WHERE u.build_id IN (SELECT build_id FROM builds)
      ORDER BY s.first_seen_at;
    INSERT INTO suite_feed (suite, architecture, feed_seq, suites_json)
      SELECT s.suite, f.architecture, f.seq, ${suitesOf('f.build_id')}
      FROM verdict_feed f JOIN build_suites s ON s.build_id = f.build_id ORDER BY f.seq, s.suite;
    INSERT INTO verdict_feed_suites (feed_seq, suites_json)
      SELECT f.seq, ${suitesOf('f.build_id')} FROM verdict_feed f
      WHERE EXISTS (SELECT 1 FROM build_suites s WHERE s.build_id = f.build_id);
    INSERT INTO verdict_log_indexes (build_id, sequence, log_index)
      SELECT build_id, json_extract(facts_json, '$.sequence'), idx FROM tlog_sequence
      WHERE source = 'verdict' AND json_type(facts_json, '$.sequence') = 'integer';
    -- Verdicts chained before the tiled log (migration 10 made each a 'chain' entry): the chained
    -- body names its build, verdict, previous verdict and decision time, which name one change.
    INSERT OR IGNORE INTO verdict_log_indexes (build_id, sequence, log_index)
      SELECT h.build_id, h.sequence, t.idx
      FROM tlog_sequence t
        JOIN log_entries l ON l.idx = json_extract(t.facts_json, '$.index') AND l.build_id = t.build_id
        JOIN verdict_history h ON h.build_id = l.build_id
          AND h.verdict = json_extract(l.body_json, '$.verdict')
          AND h.previous_verdict = json_extract(l.body_json, '$.previousVerdict')
          AND strftime('%Y-%m-%dT%H:%M:%fZ', h.decided_at / 1000.0, 'unixepoch')
            = json_extract(l.body_json, '$.decidedAt')
      WHERE t.source = 'chain' AND json_valid(l.body_json)
      ORDER BY t.idx;

    -- From now on.
    CREATE TRIGGER build_suites_on_build AFTER INSERT ON builds BEGIN
      INSERT OR IGNORE INTO build_suites (build_id, suite, profile, found_at)
        SELECT NEW.build_id, s.suite, s.profile, s.first_seen_at
        FROM sync_uploads u JOIN sync_upload_suites s ON ${UPLOAD_KEY('u', 's')}
        WHERE u.build_id = NEW.build_id;
    END;
    CREATE TRIGGER build_suites_on_upload_suite AFTER INSERT ON sync_upload_suites BEGIN
      INSERT OR IGNORE INTO build_suites (build_id, suite, profile, found_at)
        SELECT u.build_id, NEW.suite, NEW.profile, NEW.first_seen_at
        FROM sync_uploads u WHERE ${UPLOAD_KEY('u', 'NEW')}
          AND u.build_id IS NOT NULL AND EXISTS (SELECT 1 FROM builds b WHERE b.build_id = u.build_id);
    END;
    CREATE TRIGGER suite_feed_on_build_suite AFTER INSERT ON build_suites BEGIN
      INSERT INTO suite_feed (suite, architecture, feed_seq, suites_json)
        SELECT NEW.suite, f.architecture, f.seq, ${suitesOf('NEW.build_id')}
        FROM verdict_feed f WHERE f.build_id = NEW.build_id ORDER BY f.sequence DESC LIMIT 1;
    END;
    CREATE TRIGGER suite_feed_on_verdict AFTER INSERT ON verdict_feed BEGIN
      INSERT INTO suite_feed (suite, architecture, feed_seq, suites_json)
        SELECT s.suite, NEW.architecture, NEW.seq, ${suitesOf('NEW.build_id')}
        FROM build_suites s WHERE s.build_id = NEW.build_id ORDER BY s.suite;
      INSERT INTO verdict_feed_suites (feed_seq, suites_json)
        SELECT NEW.seq, ${suitesOf('NEW.build_id')}
        WHERE EXISTS (SELECT 1 FROM build_suites s WHERE s.build_id = NEW.build_id);
    END;
    CREATE TRIGGER verdict_log_index_on_sequence AFTER INSERT ON tlog_sequence
      WHEN NEW.source = 'verdict' AND json_type(NEW.facts_json, '$.sequence') = 'integer' BEGIN
      INSERT INTO verdict_log_indexes (build_id, sequence, log_index)
        VALUES (NEW.build_id, json_extract(NEW.facts_json, '$.sequence'), NEW.idx);
    END;
  `,
};

/** Undoes migration 15, so a test can roll a file back to version 14. */
export const migration15Rollback = `
  DROP TRIGGER build_suites_on_build; DROP TRIGGER build_suites_on_upload_suite;
  DROP TRIGGER suite_feed_on_build_suite; DROP TRIGGER suite_feed_on_verdict;
  DROP TRIGGER verdict_log_index_on_sequence;
  DROP TABLE verdict_log_indexes; DROP TABLE verdict_feed_suites; DROP TABLE suite_feed;
  DROP TABLE build_suites; DROP TABLE sync_upload_suites; DROP INDEX sync_uploads_build;
  CREATE INDEX verdict_feed_suite ON verdict_feed (suite, seq);
  CREATE INDEX verdict_feed_suite_architecture ON verdict_feed (suite, architecture, seq);
  ALTER TABLE alert_subscriptions DROP COLUMN suite;
  DELETE FROM schema_migrations WHERE version = 15;`;
