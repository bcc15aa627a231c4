// Migration 17: the transparency log's entries in chunks of 16 instead of whole entry bundles, so an
// append writes each entry once (the partial bundle of the right edge, up to 255 entries, was
// written again every batch; now only its last, partial chunk is), a proof reads its entry's chunk
// (about 9 KB) rather than a bundle (about 140 KB), and a bundle is served as the concatenation of
// its 16 chunks, byte for byte as before. The bundles already stored are split into chunks here, in
// the migration's transaction. Never edit it once released.
import type Database from 'better-sqlite3';
import { decodeEntryBundle, encodeEntryBundle } from '../../../../services/tlog/entry-bundle.ts';
import type { Migration } from './migration.ts';

/** Entries per chunk row: 16 divides a bundle's 256, so no chunk spans two bundles. */
export const ENTRIES_PER_CHUNK = 16;
/** Migration 10's level for entry bundles in tlog_tiles. */
const BUNDLE_LEVEL = -1;

/** Splits every stored entry bundle (the widest of each number) into chunks, then drops the bundles. */
function splitStoredBundles(db: Database.Database): void {
  const bundles = db
    .prepare<[], { tile_index: number; width: number; bytes: Buffer }>(
      `SELECT tile_index, width, bytes FROM tlog_tiles AS t WHERE level = ${BUNDLE_LEVEL}
         AND width = (SELECT MAX(width) FROM tlog_tiles
                      WHERE level = ${BUNDLE_LEVEL} AND tile_index = t.tile_index)`,
    )
    .all();
  const insert = db.prepare<[number, number, Buffer]>(
    'INSERT INTO tlog_entry_chunks (chunk, count, bytes) VALUES (?, ?, ?)',
  );
  const chunksPerBundle = 256 / ENTRIES_PER_CHUNK;
  for (const { tile_index, width, bytes } of bundles) {
    const entries = decodeEntryBundle(bytes, width);
    for (let at = 0; at < entries.length; at += ENTRIES_PER_CHUNK) {
      const chunk = entries.slice(at, at + ENTRIES_PER_CHUNK);
      insert.run(
        tile_index * chunksPerBundle + at / ENTRIES_PER_CHUNK,
        chunk.length,
        encodeEntryBundle(chunk),
      );
    }
  }
  db.prepare(`DELETE FROM tlog_tiles WHERE level = ${BUNDLE_LEVEL}`).run();
}

export const migration17: Migration = {
  version: 17,
  name: 'transparency log entries in chunks of 16',
  sql: `
    -- Entries chunk*16 to chunk*16 + count - 1 of the log, as an entry bundle encodes them (each a
    -- 2-byte big-endian length and its bytes). A chunk past the head is an append that did not
    -- complete; the next append writes over it.
    CREATE TABLE tlog_entry_chunks (
      chunk INTEGER PRIMARY KEY CHECK (chunk >= 0),
      count INTEGER NOT NULL CHECK (count BETWEEN 1 AND ${ENTRIES_PER_CHUNK}),
      bytes BLOB NOT NULL
    ) STRICT;
  `,
  run: splitStoredBundles,
};

/**
 * Turns a file back into migration 16's shape (tests of the upgrade): the chunks as entry bundles in
 * tlog_tiles (full ones, and the partial one of the last entries), tlog_entry_chunks dropped.
 */
export function migration17Rollback(db: Database.Database): void {
  const chunks = db.prepare<[], Buffer>('SELECT bytes FROM tlog_entry_chunks ORDER BY chunk').pluck().all();
  const entries = chunks.flatMap((bytes) => decodeEntryBundle(bytes));
  const insert = db.prepare<[number, number, Buffer]>(
    `INSERT INTO tlog_tiles (level, tile_index, width, bytes) VALUES (${BUNDLE_LEVEL}, ?, ?, ?)`,
  );
  for (let first = 0; first < entries.length; first += 256) {
    const bundle = entries.slice(first, first + 256);
    insert.run(first / 256, bundle.length, encodeEntryBundle(bundle));
  }
  db.exec('DROP TABLE tlog_entry_chunks');
}
