// The transparency log's entries on the coordinator's SQLite file (migration 18): one row per entry,
// each encoded as an entry bundle of one entry, so a bundle is its rows' bytes one after another
// (joined by SQLite: one copy out of it). An append writes each entry once; a proof reads one row,
// through the reused read snapshot of sqlite-log-entry-snapshot.ts.
import type { Statement } from 'better-sqlite3';
import { encodeEntryBundle, splitEntryBundle } from '../../../services/tlog/entry-bundle.ts';
import { TILE_WIDTH, type TileRef } from '../../../services/tlog/tile-path.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { SqliteLogEntrySnapshot } from './sqlite-log-entry-snapshot.ts';

/**
 * Rows written per INSERT statement while appending: a statement per row was a third of an append's
 * storage cost (binding and stepping 1,000 statements a batch); 64 rows stay well under SQLite's 32,766
 * variables.
 */
const ROWS_PER_INSERT = 64;

/** A run of rows, joined by SQLite. */
interface JoinedEntries {
  rows: number;
  bytes: Buffer | null;
}

export class SqliteLogEntries {
  readonly #readJoined: Statement<[number, number], JoinedEntries>;
  readonly #write: Statement<[number, Uint8Array]>;
  readonly #writeMany: Statement<(number | Uint8Array)[]>;
  readonly #snapshot: SqliteLogEntrySnapshot;
  readonly #dataVersion: Statement<[], { data_version: number }>;
  /** The batch writeFrom stored last, and SQLite's data_version as its transaction saw it. */
  #lastWritten: { first: number; entries: readonly Uint8Array[]; dataVersion: number } | undefined;

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#readJoined = db.prepare<[number, number], JoinedEntries>(
      `SELECT COUNT(*) AS rows, CAST(group_concat(bytes, '' ORDER BY idx) AS BLOB) AS bytes
       FROM tlog_entries WHERE idx >= ? AND idx < ?`,
    );
    this.#write = db.prepare<[number, Uint8Array]>(
      'INSERT OR REPLACE INTO tlog_entries (idx, bytes) VALUES (?, ?)',
    );
    this.#writeMany = db.prepare<(number | Uint8Array)[]>(
      `INSERT OR REPLACE INTO tlog_entries (idx, bytes) VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?)').join(', ')}`,
    );
    this.#dataVersion = db.prepare<[], { data_version: number }>('PRAGMA data_version');
    this.#snapshot = new SqliteLogEntrySnapshot(connection);
  }

  /** The bytes of entry `index`, or undefined when it was never written. */
  entry(index: number): Uint8Array | undefined {
    return this.#snapshot.entry(index)?.subarray(2);
  }

  /** Entry bundle `tile` (its first `tile.width` entries), or undefined when they are not all stored. */
  bundle(tile: TileRef): Uint8Array | undefined {
    const first = tile.index * TILE_WIDTH;
    const joined = this.#readJoined.get(first, first + tile.width)!;
    return joined.rows === tile.width ? joined.bytes! : undefined;
  }

  /**
   * Stores the entries of bundle `tile` from index `storedSize` on (the entries below the stored head
   * are stored already and never change). Runs inside the caller's write transaction.
   * @throws TlogError TILE_INVALID when `bytes` is not a bundle of `tile.width` entries.
   */
  write(tile: TileRef, bytes: Uint8Array, storedSize: number): void {
    const first = tile.index * TILE_WIDTH;
    if (first + tile.width <= storedSize) return;
    this.#lastWritten = undefined;
    this.#writeRows(first, splitEntryBundle(bytes, tile.width), Math.max(0, storedSize - first));
  }

  /**
   * Stores `entries` as the rows from index `first` on (over whatever rows are there: only ever
   * past the stored head). Runs inside the caller's write transaction.
   */
  writeFrom(first: number, entries: readonly Uint8Array[]): void {
    this.#writeRows(first, splitEntryBundle(encodeEntryBundle(entries), entries.length), 0);
    // Read inside the transaction: a commit by any other connection after it changes the value.
    this.#lastWritten = { first, entries, dataVersion: this.#dataVersion.get()!.data_version };
  }

  /**
   * Whether the rows from index `first` on are exactly `entries` (each row as written). When they
   * are the batch writeFrom stored last through this connection (the same array), and no other
   * connection committed since (SQLite's data_version unchanged), they are without reading them;
   * otherwise they are read back and compared (reading a batch back costs about what writing it does).
   */
  holds(first: number, entries: readonly Uint8Array[]): boolean {
    const last = this.#lastWritten;
    if (
      last?.first === first &&
      last.entries === entries &&
      last.dataVersion === this.#dataVersion.get()!.data_version
    )
      return true;
    const joined = this.#readJoined.get(first, first + entries.length)!;
    return (
      joined.rows === entries.length &&
      joined.bytes !== null &&
      encodeEntryBundle(entries).equals(joined.bytes)
    );
  }

  /** Rows `rows[from…]` at indexes `first + from…`, 64 to a statement. */
  #writeRows(first: number, rows: readonly Uint8Array[], from: number): void {
    let i = from;
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      const values: (number | Uint8Array)[] = [];
      for (let k = i; k < i + ROWS_PER_INSERT; k++) values.push(first + k, rows[k]!);
      this.#writeMany.run(...values);
    }
    for (; i < rows.length; i++) this.#write.run(first + i, rows[i]!);
  }
}
