// Migration 14: a sync upload is keyed by its binaries' version too, so a binNMU (binary version
// `1.2-3+b1` of source `1.2-3`, with its own .buildinfo) is an upload and a build of its own instead of
// merging into its source version's; and an upload can be `skipped` with a reason (its source version
// is not in the suite's Sources). SQLite cannot change a primary key: the table is rebuilt, every
// existing row kept with binary_version = version (before this, every upload was sourceful).
// Never edit a released migration (existing databases ran it); add the next number.
import type { Migration } from './migration.ts';

const COLUMNS =
  'profile, source, version, architecture, binaries_json, class, state, first_seen_at, due_at, tries, ' +
  'reason, detail, build_id, submitted_at';

export const migration14: Migration = {
  version: 14,
  name: 'sync uploads keyed by binary version (binNMUs), skipped uploads',
  sql: `
      CREATE TABLE sync_uploads_v14 (
        profile TEXT NOT NULL REFERENCES sync_profiles (name) ON DELETE CASCADE,
        source TEXT NOT NULL,
        version TEXT NOT NULL,
        binary_version TEXT NOT NULL,
        architecture TEXT NOT NULL,
        binaries_json TEXT NOT NULL CHECK (json_valid(binaries_json)),
        class INTEGER NOT NULL CHECK (class IN (0, 1, 2)),
        state TEXT NOT NULL CHECK (state IN ('pending', 'submitting', 'submitted', 'skipped')),
        first_seen_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
        reason TEXT,
        detail TEXT CHECK (detail IS NULL OR length(detail) <= 2000),
        build_id TEXT,
        submitted_at INTEGER,
        CHECK ((state IN ('pending', 'skipped')) = (build_id IS NULL)),
        CHECK ((state = 'submitted') = (submitted_at IS NOT NULL)),
        CHECK (state != 'skipped' OR reason IS NOT NULL),
        PRIMARY KEY (profile, source, version, binary_version, architecture)
      ) STRICT;
      INSERT INTO sync_uploads_v14 (${COLUMNS}, binary_version)
        SELECT ${COLUMNS}, version FROM sync_uploads;
      DROP TABLE sync_uploads;
      ALTER TABLE sync_uploads_v14 RENAME TO sync_uploads;
      CREATE INDEX sync_uploads_due ON sync_uploads (profile, class, due_at)
        WHERE state IN ('pending', 'submitting');
      CREATE INDEX sync_uploads_submitted ON sync_uploads (profile, submitted_at) WHERE state = 'submitted';
    `,
};

/** For tests: the table as migration 12 made it (binNMU and skipped rows cannot be kept and are dropped). */
export const migration14Rollback = `
      CREATE TABLE sync_uploads_v12 (
        profile TEXT NOT NULL REFERENCES sync_profiles (name) ON DELETE CASCADE,
        source TEXT NOT NULL,
        version TEXT NOT NULL,
        architecture TEXT NOT NULL,
        binaries_json TEXT NOT NULL CHECK (json_valid(binaries_json)),
        class INTEGER NOT NULL CHECK (class IN (0, 1, 2)),
        state TEXT NOT NULL CHECK (state IN ('pending', 'submitting', 'submitted')),
        first_seen_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
        reason TEXT,
        detail TEXT CHECK (detail IS NULL OR length(detail) <= 2000),
        build_id TEXT,
        submitted_at INTEGER,
        CHECK ((state = 'pending') = (build_id IS NULL)),
        CHECK ((state = 'submitted') = (submitted_at IS NOT NULL)),
        PRIMARY KEY (profile, source, version, architecture)
      ) STRICT;
      INSERT INTO sync_uploads_v12 (${COLUMNS})
        SELECT ${COLUMNS} FROM sync_uploads WHERE binary_version = version AND state != 'skipped';
      DROP TABLE sync_uploads;
      ALTER TABLE sync_uploads_v12 RENAME TO sync_uploads;
      CREATE INDEX sync_uploads_due ON sync_uploads (profile, class, due_at) WHERE state != 'submitted';
      CREATE INDEX sync_uploads_submitted ON sync_uploads (profile, submitted_at) WHERE state = 'submitted';
    `;
