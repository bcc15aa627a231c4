// Migration 18: the transparency log's entries one per row instead of in chunks of 16, so a proof
// reads its entry's row (about 550 bytes, inside one B-tree page) rather than a chunk of about 9 KB
// spread over overflow pages, which was most of a proof's cost at a million entries. Each row holds
// its entry as an entry bundle encodes it (2-byte big-endian length, then the bytes), so a bundle is
// still its rows' bytes one after another, byte for byte as before. The chunks already stored are
// split into rows here, in the migration's transaction. Never edit it once released.
import type Database from 'better-sqlite3';
import { splitEntryBundle } from '../../../../services/tlog/entry-bundle.ts';
import { ENTRIES_PER_CHUNK, migration17 } from './m017-tlog-entry-chunks.ts';
import type { Migration } from './migration.ts';

/** Chunks read per statement while splitting: a page at a time, never the whole log in memory. */
const CHUNKS_PER_PAGE = 1024;

/** Splits every chunk of migration 17 into one row per entry, then drops the chunks. */
function splitChunks(db: Database.Database): void {
  const insert = db.prepare<[number, Uint8Array]>('INSERT INTO tlog_entries (idx, bytes) VALUES (?, ?)');
  const page = db.prepare<[number, number], { chunk: number; bytes: Buffer }>(
    'SELECT chunk, bytes FROM tlog_entry_chunks WHERE chunk >= ? ORDER BY chunk LIMIT ?',
  );
  for (let from = 0; ; ) {
    const chunks = page.all(from, CHUNKS_PER_PAGE);
    if (chunks.length === 0) break;
    // A chunk is its entries' rows one after another: each row is a view into it, prefix included.
    for (const { chunk, bytes } of chunks) {
      const rows = splitEntryBundle(bytes);
      for (let i = 0; i < rows.length; i++) insert.run(chunk * ENTRIES_PER_CHUNK + i, rows[i]!);
    }
    from = chunks.at(-1)!.chunk + 1;
  }
  db.exec('DROP TABLE tlog_entry_chunks');
}

export const migration18: Migration = {
  version: 18,
  name: 'transparency log entries one per row',
  sql: `
    -- Entry idx of the log as an entry bundle encodes it (a 2-byte big-endian length, then its
    -- bytes). A row past the head is an append that did not complete; the next append writes over it.
    CREATE TABLE tlog_entries (
      idx INTEGER PRIMARY KEY CHECK (idx >= 0),
      bytes BLOB NOT NULL CHECK (length(bytes) BETWEEN 2 AND 65537)
    ) STRICT;
  `,
  run: splitChunks,
};

/** Turns a file back into migration 17's shape (tests of the upgrade): the rows as chunks of 16. */
export function migration18Rollback(db: Database.Database): void {
  const rows = db.prepare<[], Buffer>('SELECT bytes FROM tlog_entries ORDER BY idx').pluck().all();
  db.exec(migration17.sql);
  const insert = db.prepare<[number, number, Buffer]>(
    'INSERT INTO tlog_entry_chunks (chunk, count, bytes) VALUES (?, ?, ?)',
  );
  for (let first = 0; first < rows.length; first += ENTRIES_PER_CHUNK) {
    const chunk = rows.slice(first, first + ENTRIES_PER_CHUNK);
    insert.run(first / ENTRIES_PER_CHUNK, chunk.length, Buffer.concat(chunk));
  }
  db.exec('DROP TABLE tlog_entries');
}
