// Applies the numbered migrations of the coordinator's SQLite file, each once, in order.
import type Database from 'better-sqlite3';
import { BuildStoreError } from '../../../../services/storage/store-error.ts';
import { migration1 } from './m001-initial-schema.ts';
import { migration2 } from './m002-redis-password-lease-index.ts';
import { migration3 } from './m003-apt-links.ts';
import { migration4 } from './m004-revocation-conflicts-counters.ts';
import { migration5 } from './m005-replay-record-blob-ledger.ts';
import { migration6 } from './m006-attempt-run-limit.ts';
import { migration7 } from './m007-attempt-failure-reason.ts';
import { migration8 } from './m008-integrity-and-facts.ts';
import { migration9 } from './m009-web-aggregates.ts';
import { migration10 } from './m010-tiled-transparency-log.ts';
import { migration11 } from './m011-consensus-feed.ts';
import { migration12 } from './m012-sync-profiles.ts';
import { migration13 } from './m013-alerts.ts';
import { migration14 } from './m014-sync-upload-binary-version.ts';
import { migration15 } from './m015-build-suites-feed-log-index.ts';
import { migration16 } from './m016-backfill-results-into-log.ts';
import { migration17 } from './m017-tlog-entry-chunks.ts';
import { migration18 } from './m018-tlog-entry-rows.ts';
import type { Migration } from './migration.ts';

/** Every migration, in order. Never edit a released one: add the next number. */
export const MIGRATIONS: readonly Migration[] = [
  migration1,
  migration2,
  migration3,
  migration4,
  migration5,
  migration6,
  migration7,
  migration8,
  migration9,
  migration10,
  migration11,
  migration12,
  migration13,
  migration14,
  migration15,
  migration16,
  migration17,
  migration18,
];

/** The newest schema version this code knows. */
export const sqliteSchemaVersion = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings `db` to {@link sqliteSchemaVersion}, in one IMMEDIATE transaction: two processes opening a
 * fresh file at once apply each migration exactly once.
 * @throws BuildStoreError `SCHEMA` when the file is newer than this code, or a migration fails.
 */
export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  db.transaction(() => {
    const current = (
      db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }
    ).v;
    if (current > sqliteSchemaVersion) {
      throw new BuildStoreError(
        'SCHEMA',
        `database schema version ${current} is newer than this rbnet understands (${sqliteSchemaVersion})`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      try {
        db.exec(migration.sql);
        migration.run?.(db);
      } catch (cause) {
        throw new BuildStoreError(
          'SCHEMA',
          `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`,
          { cause },
        );
      }
      record.run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}
