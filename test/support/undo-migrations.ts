// Turns a migrated coordinator database back into an older schema version by hand, as a file written
// by an older rbnet would be, so a test can check what a migration does to existing rows. One place
// for every migration's undo: each new migration adds its step here.
import type Database from 'better-sqlite3';
import { migration8Objects } from '../../coordinator/storage/sqlite/migrations/m008-integrity-and-facts.ts';
import { migration9Objects } from '../../coordinator/storage/sqlite/migrations/m009-web-aggregates.ts';
import { migration10Objects } from '../../coordinator/storage/sqlite/migrations/m010-tiled-transparency-log.ts';
import { migration11Rollback } from '../../coordinator/storage/sqlite/migrations/m011-consensus-feed.ts';
import { migration13Rollback } from '../../coordinator/storage/sqlite/migrations/m013-alerts.ts';
import { migration14Rollback } from '../../coordinator/storage/sqlite/migrations/m014-sync-upload-binary-version.ts';
import { migration15Rollback } from '../../coordinator/storage/sqlite/migrations/m015-build-suites-feed-log-index.ts';
import { migration16Rollback } from '../../coordinator/storage/sqlite/migrations/m016-backfill-results-into-log.ts';
import { migration17Rollback } from '../../coordinator/storage/sqlite/migrations/m017-tlog-entry-chunks.ts';
import { migration18Rollback } from '../../coordinator/storage/sqlite/migrations/m018-tlog-entry-rows.ts';

type SchemaObjects = readonly { readonly type: 'table' | 'trigger' | 'index'; readonly name: string }[];

function dropAll(db: Database.Database, objects: SchemaObjects): void {
  for (const { type, name } of objects) db.exec(`DROP ${type.toUpperCase()} ${name}`);
}

/** Undo steps, newest first; each leaves the schema as the version before it. */
const UNDO: readonly { readonly version: number; readonly undo: (db: Database.Database) => void }[] = [
  { version: 18, undo: migration18Rollback },
  { version: 17, undo: migration17Rollback },
  { version: 16, undo: (db) => db.exec(migration16Rollback) },
  { version: 15, undo: (db) => db.exec(migration15Rollback) },
  { version: 14, undo: (db) => db.exec(migration14Rollback) },
  { version: 13, undo: (db) => db.exec(migration13Rollback) },
  {
    version: 12,
    undo: (db) =>
      db.exec(
        'DROP TABLE sync_polls; DROP TABLE sync_uploads; DROP TABLE sync_indexes; DROP TABLE sync_profiles',
      ),
  },
  { version: 11, undo: (db) => db.exec(migration11Rollback) },
  { version: 10, undo: (db) => dropAll(db, migration10Objects) },
  { version: 9, undo: (db) => dropAll(db, migration9Objects) },
  { version: 8, undo: (db) => dropAll(db, migration8Objects) },
];

/**
 * Undoes every migration above `version` (7 at the lowest: older ones are undone by the tests that
 * need them) and removes their rows from schema_migrations.
 */
export function undoMigrationsAbove(db: Database.Database, version: number): void {
  if (version < 7) throw new Error(`undoMigrationsAbove: ${version} is below 7`);
  for (const step of UNDO) if (step.version > version) step.undo(db);
  db.prepare('DELETE FROM schema_migrations WHERE version > ?').run(version);
}
