// Migration 11: the consensus feed's two read models, kept by triggers from the rows they summarise:
// one row per build with its package identity and current facts (package queries), and one row per
// verdict change with a global sequence (the feed's cursor). Both are read by index only.
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

/**
 * The facts a decision's JSON holds, as SQL over `decision` (the coordinator wrote it from a
 * Decision): the operators that produced the reference output set, those named in a dissent, and
 * the agreed outputs. Absent fields read as empty, so an old or minimal decision still projects.
 */
const agreeing = (decision: string) => `COALESCE(json_extract(${decision}, '$.agreeingOperators'), '[]')`;
const dissenting = (decision: string) => `(SELECT COALESCE(json_group_array(op), '[]') FROM
    (SELECT DISTINCT d.value->>'operator' AS op FROM json_each(${decision}, '$.dissent') d ORDER BY op))`;
const agreedOutputs = (decision: string) => `json_extract(${decision}, '$.agreeingOutputs')`;

/**
 * A build's package identity from its row: the source name is the build's name (a Debian
 * manifest's `name` is the .buildinfo's Source; a generic manifest's is its label), the version is
 * the Debian manifest's `version` (generic manifests have none; a stored manifest whose version is
 * not 1..256 characters of text, which no parse accepts, projects none). No manifest carries a suite.
 */
const VERSION_OF_BUILD = (build: string) =>
  `CASE WHEN ${build}.backend = 'debian' AND json_valid(${build}.manifest_json)
     AND json_type(${build}.manifest_json, '$.version') = 'text'
     AND length(json_extract(${build}.manifest_json, '$.version')) BETWEEN 1 AND 256
     THEN json_extract(${build}.manifest_json, '$.version') END`;

export const migration11: Migration = {
  version: 11,
  name: 'consensus feed and package index',
  sql: `
    CREATE TABLE package_builds (
      build_seq INTEGER PRIMARY KEY REFERENCES builds (seq),
      build_id TEXT NOT NULL UNIQUE REFERENCES builds (build_id),
      source TEXT NOT NULL,
      version TEXT,
      architecture TEXT NOT NULL,
      -- Where a build was found in an archive; no manifest says so, so null until something records it.
      suite TEXT,
      verdict TEXT NOT NULL DEFAULT 'pending',
      agreeing_operators_json TEXT NOT NULL DEFAULT '[]',
      dissenting_operators_json TEXT NOT NULL DEFAULT '[]',
      verdict_at INTEGER
    ) STRICT;
    CREATE INDEX package_builds_version ON package_builds (source, version, build_seq);
    CREATE INDEX package_builds_source ON package_builds (source, build_seq);

    CREATE TABLE verdict_feed (
      -- The feed's cursor: one per verdict-history row, in the order they were recorded. An explicit
      -- INTEGER PRIMARY KEY, so VACUUM never renumbers it.
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      build_id TEXT NOT NULL REFERENCES builds (build_id),
      sequence INTEGER NOT NULL,
      source TEXT NOT NULL,
      version TEXT,
      architecture TEXT NOT NULL,
      suite TEXT,
      verdict TEXT NOT NULL,
      previous_verdict TEXT NOT NULL,
      agreeing_operators_json TEXT NOT NULL,
      dissenting_operators_json TEXT NOT NULL,
      agreed_outputs_json TEXT,
      decided_at INTEGER NOT NULL,
      UNIQUE (build_id, sequence)
    ) STRICT;
    CREATE INDEX verdict_feed_architecture ON verdict_feed (architecture, seq);
    CREATE INDEX verdict_feed_suite ON verdict_feed (suite, seq);
    CREATE INDEX verdict_feed_suite_architecture ON verdict_feed (suite, architecture, seq);
    ${appendOnly('verdict_feed', 'the consensus feed')}

    -- Existing rows first, in the order they were recorded.
    INSERT INTO package_builds (build_seq, build_id, source, version, architecture, verdict, verdict_at)
      SELECT b.seq, b.build_id, b.name, ${VERSION_OF_BUILD('b')}, b.architecture, b.verdict, b.verdict_at
      FROM builds b ORDER BY b.seq;
    UPDATE package_builds SET
      agreeing_operators_json = (SELECT ${agreeing('h.decision_json')} FROM verdict_history h
        WHERE h.build_id = package_builds.build_id ORDER BY h.sequence DESC LIMIT 1),
      dissenting_operators_json = (SELECT ${dissenting('h.decision_json')} FROM verdict_history h
        WHERE h.build_id = package_builds.build_id ORDER BY h.sequence DESC LIMIT 1)
      WHERE EXISTS (SELECT 1 FROM verdict_history h WHERE h.build_id = package_builds.build_id);
    INSERT INTO verdict_feed (build_id, sequence, source, version, architecture, suite, verdict,
        previous_verdict, agreeing_operators_json, dissenting_operators_json, agreed_outputs_json, decided_at)
      SELECT h.build_id, h.sequence, p.source, p.version, p.architecture, p.suite, h.verdict,
        h.previous_verdict, ${agreeing('h.decision_json')}, ${dissenting('h.decision_json')},
        ${agreedOutputs('h.decision_json')}, h.decided_at
      FROM verdict_history h JOIN package_builds p ON p.build_id = h.build_id
      ORDER BY h.decided_at, h.rowid;

    CREATE TRIGGER package_builds_on_build AFTER INSERT ON builds BEGIN
      INSERT INTO package_builds (build_seq, build_id, source, version, architecture)
        VALUES (NEW.seq, NEW.build_id, NEW.name, ${VERSION_OF_BUILD('NEW')}, NEW.architecture);
    END;
    -- Reads nothing verdict_history_current writes, so the order the two fire in does not matter.
    CREATE TRIGGER verdict_feed_on_verdict AFTER INSERT ON verdict_history BEGIN
      UPDATE package_builds SET verdict = NEW.verdict, verdict_at = NEW.decided_at,
        agreeing_operators_json = ${agreeing('NEW.decision_json')},
        dissenting_operators_json = ${dissenting('NEW.decision_json')}
        WHERE build_id = NEW.build_id;
      INSERT INTO verdict_feed (build_id, sequence, source, version, architecture, suite, verdict,
          previous_verdict, agreeing_operators_json, dissenting_operators_json, agreed_outputs_json, decided_at)
        SELECT NEW.build_id, NEW.sequence, p.source, p.version, p.architecture, p.suite, NEW.verdict,
          NEW.previous_verdict, ${agreeing('NEW.decision_json')}, ${dissenting('NEW.decision_json')},
          ${agreedOutputs('NEW.decision_json')}, NEW.decided_at
        FROM package_builds p WHERE p.build_id = NEW.build_id;
    END;
  `,
};

/** Undoes migration 11 (its triggers, tables and record), so a test can roll a file back to version 10. */
export const migration11Rollback = `
  DELETE FROM schema_migrations WHERE version = 11;
  DROP TRIGGER package_builds_on_build; DROP TRIGGER verdict_feed_on_verdict;
  DROP TRIGGER verdict_feed_no_update; DROP TRIGGER verdict_feed_no_delete;
  DROP TABLE verdict_feed; DROP TABLE package_builds;`;
