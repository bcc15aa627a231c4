// Migration 4 as released: revocation kinds, apt link conflicts, the pending index, verdict counters, byproducts.
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

export const migration4: Migration = {
  version: 4,
  name: 'revocation kinds; apt link products and conflicts; pending index; verdict counters; byproduct index',
  sql: `
      -- A revoked worker is either retired (results received before revoked_at count) or compromised
      -- since a time (results received from then on do not). Revocations before this were retirements:
      -- decisions kept counting their earlier results.
      ALTER TABLE workers ADD COLUMN revocation_kind TEXT
        CHECK (revocation_kind IN ('retired', 'compromised'));
      ALTER TABLE workers ADD COLUMN compromised_since INTEGER;
      UPDATE workers SET revocation_kind = 'retired' WHERE revoked_at IS NOT NULL;
      CREATE INDEX results_worker_received ON results (worker_id, received_at);

      -- The sweep reads pending builds through this index only: its cost follows the pending work.
      CREATE INDEX builds_pending ON builds (seq) WHERE verdict = 'pending';
      -- Each worker's load, counted from the index rather than by reading every open attempt.
      CREATE INDEX attempts_open_worker ON attempts (worker_id) WHERE state = 'open';

      -- Builds per current verdict, kept on write, so a metrics scrape reads a handful of rows.
      CREATE TABLE verdict_counts (
        verdict TEXT PRIMARY KEY,
        builds INTEGER NOT NULL CHECK (builds >= 0)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO verdict_counts (verdict, builds) SELECT verdict, COUNT(*) FROM builds GROUP BY verdict;
      CREATE TRIGGER builds_count_insert AFTER INSERT ON builds
      BEGIN
        INSERT OR IGNORE INTO verdict_counts (verdict, builds) VALUES (NEW.verdict, 0);
        UPDATE verdict_counts SET builds = builds + 1 WHERE verdict = NEW.verdict;
      END;
      CREATE TRIGGER builds_count_verdict AFTER UPDATE OF verdict ON builds
      WHEN OLD.verdict IS NOT NEW.verdict
      BEGIN
        UPDATE verdict_counts SET builds = builds - 1 WHERE verdict = OLD.verdict;
        INSERT OR IGNORE INTO verdict_counts (verdict, builds) VALUES (NEW.verdict, 0);
        UPDATE verdict_counts SET builds = builds + 1 WHERE verdict = NEW.verdict;
      END;
      CREATE TRIGGER builds_count_delete AFTER DELETE ON builds
      BEGIN
        UPDATE verdict_counts SET builds = builds - 1 WHERE verdict = OLD.verdict;
      END;

      -- Links published before workers signed where the source came from cannot show that it came
      -- from their signed archive index, so none of them is served any more (docs/apt-in-toto.md).
      DROP TABLE apt_links;
      CREATE TABLE apt_links (
        architecture TEXT NOT NULL,
        operator TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        link_sha256 TEXT NOT NULL,
        products_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (architecture, operator, package, version)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX apt_links_build ON apt_links (build_id);
      CREATE INDEX apt_links_version ON apt_links (architecture, package, version);
      CREATE INDEX apt_links_worker ON apt_links (worker_id);

      -- The alarm: a later build of a published package version whose products differ.
      CREATE TABLE apt_link_conflicts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        architecture TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        published_build_id TEXT NOT NULL REFERENCES builds (build_id),
        published_products_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        products_sha256 TEXT NOT NULL,
        detected_at INTEGER NOT NULL,
        UNIQUE (build_id, architecture, package, version, published_build_id, products_sha256)
      ) STRICT;
      CREATE INDEX apt_link_conflicts_published ON apt_link_conflicts (published_build_id);
      ${appendOnly('apt_link_conflicts', 'the apt link conflict record')}

      -- What each result's envelope signs as byproducts, written at intake (after verification).
      CREATE TABLE result_byproducts (
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        sha256 TEXT NOT NULL,
        envelope_sha256 TEXT NOT NULL REFERENCES results (envelope_sha256),
        name TEXT NOT NULL,
        PRIMARY KEY (build_id, sha256, envelope_sha256, name)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX result_byproducts_envelope ON result_byproducts (envelope_sha256);
      ${appendOnly('result_byproducts', 'the result byproduct index')}
    `,
};
