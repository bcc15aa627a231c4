// The transparency log's entries on the coordinator's SQLite file (migration 17): chunks of 16
// entries, each encoded as an entry bundle is, so a bundle is its chunks' bytes one after another.
// An append writes each entry once (and the right edge's last chunk again); a proof reads one chunk.
import type { Statement } from 'better-sqlite3';
import { decodeEntryBundle, encodeEntryBundle, entryOfBundle } from '../../../services/tlog/entry-bundle.ts';
import { TILE_WIDTH, type TileRef, tilePath } from '../../../services/tlog/tile-path.ts';
import { TlogError } from '../../../services/tlog/tlog-errors.ts';
import { ENTRIES_PER_CHUNK } from './migrations/m017-tlog-entry-chunks.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

/** A run of chunks, joined by SQLite (one copy out of it, not one per chunk). */
interface JoinedChunks {
  rows: number;
  entries: number | null;
  full: number | null;
  bytes: Buffer | null;
}

interface ChunkRow {
  chunk: number;
  count: number;
  bytes: Buffer;
}

export class SqliteEntryChunks {
  readonly #read: Statement<[number], ChunkRow>;
  readonly #readBytes: Statement<[number], Buffer>;
  readonly #readRange: Statement<[number, number], ChunkRow>;
  readonly #readJoined: Statement<[number, number], JoinedChunks>;
  readonly #write: Statement<[number, number, Uint8Array]>;

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#read = db.prepare<[number], ChunkRow>(
      'SELECT chunk, count, bytes FROM tlog_entry_chunks WHERE chunk = ?',
    );
    this.#readBytes = db
      .prepare<[number], Buffer>('SELECT bytes FROM tlog_entry_chunks WHERE chunk = ?')
      .pluck();
    this.#readRange = db.prepare<[number, number], ChunkRow>(
      'SELECT chunk, count, bytes FROM tlog_entry_chunks WHERE chunk >= ? AND chunk < ? ORDER BY chunk',
    );
    this.#readJoined = db.prepare<[number, number], JoinedChunks>(
      `SELECT COUNT(*) AS rows, SUM(count) AS entries, SUM(count = ${ENTRIES_PER_CHUNK}) AS full,
         CAST(group_concat(bytes, '' ORDER BY chunk) AS BLOB) AS bytes
       FROM tlog_entry_chunks WHERE chunk >= ? AND chunk < ?`,
    );
    this.#write = db.prepare<[number, number, Uint8Array]>(
      'INSERT OR REPLACE INTO tlog_entry_chunks (chunk, count, bytes) VALUES (?, ?, ?)',
    );
  }

  /** The bytes of entry `index`, or undefined when it was never written. */
  entry(index: number): Uint8Array | undefined {
    const bytes = this.#readBytes.get(Math.floor(index / ENTRIES_PER_CHUNK));
    return bytes && entryOfBundle(bytes, index % ENTRIES_PER_CHUNK);
  }

  /** Entry bundle `tile` (its first `tile.width` entries), or undefined when they are not all stored. */
  bundle(tile: TileRef): Uint8Array | undefined {
    const first = (tile.index * TILE_WIDTH) / ENTRIES_PER_CHUNK;
    const chunks = Math.ceil(tile.width / ENTRIES_PER_CHUNK);
    // Full bundles, and the right edge's at its stored width: the chunks hold exactly the entries.
    const joined = this.#readJoined.get(first, first + chunks)!;
    if (joined.rows === chunks && joined.entries === tile.width && joined.full! >= chunks - 1)
      return joined.bytes!;
    const rows = this.#readRange.all(first, first + chunks);
    if (rows.length !== chunks) return undefined;
    const parts = rows.map((row, i) => {
      const wanted = Math.min(ENTRIES_PER_CHUNK, tile.width - i * ENTRIES_PER_CHUNK);
      if (row.chunk !== first + i || row.count < wanted) return undefined;
      // Only the last chunk of an older, narrower bundle holds more entries than the bundle.
      return row.count === wanted
        ? row.bytes
        : encodeEntryBundle(decodeEntryBundle(row.bytes).slice(0, wanted));
    });
    if (parts.some((part) => part === undefined)) return undefined;
    return Buffer.concat(parts as Buffer[]);
  }

  /**
   * Stores the entries of bundle `tile` from index `storedSize` on (the entries below the stored head
   * are stored already and never change): the chunks they fall in, the first one completed from
   * what it already holds. Runs inside the caller's write transaction.
   * @throws TlogError TILE_INVALID when a chunk the head covers is missing.
   */
  write(tile: TileRef, bytes: Uint8Array, storedSize: number): void {
    const first = tile.index * TILE_WIDTH;
    const end = first + tile.width;
    if (end <= storedSize) return;
    const entries = decodeEntryBundle(bytes, tile.width);
    for (
      let chunk = Math.floor(Math.max(first, storedSize) / ENTRIES_PER_CHUNK);
      chunk * ENTRIES_PER_CHUNK < end;
      chunk++
    ) {
      const from = chunk * ENTRIES_PER_CHUNK;
      const to = Math.min(from + ENTRIES_PER_CHUNK, end);
      let kept: Uint8Array[] = [];
      if (from < storedSize) {
        const row = this.#read.get(chunk);
        if (!row || row.count < storedSize - from)
          throw new TlogError(
            'TILE_INVALID',
            `${tilePath(tile)}: entries below the head ${storedSize} are not stored`,
          );
        kept = decodeEntryBundle(row.bytes, row.count).slice(0, storedSize - from);
      }
      const added = entries.slice(from + kept.length - first, to - first);
      this.#write.run(chunk, kept.length + added.length, encodeEntryBundle([...kept, ...added]));
    }
  }
}
