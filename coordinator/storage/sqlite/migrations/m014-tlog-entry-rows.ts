// Migration 14: the transparency log's entries as one row each instead of inside entry bundles, so
// an append writes each entry once (a bundle of the right edge was written again every batch) and a
// proof reads its one entry rather than a whole bundle. Bundles are served assembled from the rows,
// byte for byte as before. The bundles already stored are split into rows here, in the migration's
// transaction. Never edit it once released.
import type Database from 'better-sqlite3';
import { decodeEntryBundle, encodeEntryBundle } from '../../../../services/tlog/entry-bundle.ts';
import { TILE_WIDTH } from '../../../../services/tlog/tile-path.ts';
import type { Migration } from './migration.ts';

/** Migration 10's level for entry bundles in tlog_tiles. */
const BUNDLE_LEVEL = -1;

/** Splits every stored entry bundle (the widest of each number) into rows, then drops the bundles. */
function splitStoredBundles(db: Database.Database): void {
  const bundles = db
    .prepare<[], { tile_index: number; width: number; bytes: Buffer }>(
      `SELECT tile_index, width, bytes FROM tlog_tiles AS t WHERE level = ${BUNDLE_LEVEL}
         AND width = (SELECT MAX(width) FROM tlog_tiles
                      WHERE level = ${BUNDLE_LEVEL} AND tile_index = t.tile_index)`,
    )
    .all();
  const insert = db.prepare<[number, Buffer]>('INSERT INTO tlog_entries (idx, entry) VALUES (?, ?)');
  for (const { tile_index, width, bytes } of bundles)
    decodeEntryBundle(bytes, width).forEach((entry, i) => {
      insert.run(tile_index * TILE_WIDTH + i, Buffer.from(entry));
    });
  db.prepare(`DELETE FROM tlog_tiles WHERE level = ${BUNDLE_LEVEL}`).run();
}

export const migration14: Migration = {
  version: 14,
  name: 'transparency log entries as rows',
  sql: `
    -- Entry idx of the log, as logged (at most 65,535 bytes: a bundle's uint16 length). Rows past
    -- the head are an append that did not complete; the next append writes over them.
    CREATE TABLE tlog_entries (
      idx INTEGER PRIMARY KEY CHECK (idx >= 0),
      entry BLOB NOT NULL CHECK (length(entry) <= 65535)
    ) STRICT;
  `,
  run: splitStoredBundles,
};

/**
 * Turns a file back into migration 13's shape (tests of the upgrade): the entry rows as entry
 * bundles in tlog_tiles (full ones, and the partial one of the last rows), tlog_entries dropped.
 */
export function migration14Rollback(db: Database.Database): void {
  const entries = db.prepare<[], Buffer>('SELECT entry FROM tlog_entries ORDER BY idx').pluck().all();
  const insert = db.prepare<[number, number, Buffer]>(
    `INSERT INTO tlog_tiles (level, tile_index, width, bytes) VALUES (${BUNDLE_LEVEL}, ?, ?, ?)`,
  );
  for (let first = 0; first < entries.length; first += TILE_WIDTH) {
    const bundle = entries.slice(first, first + TILE_WIDTH);
    insert.run(first / TILE_WIDTH, bundle.length, encodeEntryBundle(bundle));
  }
  db.exec('DROP TABLE tlog_entries');
}
