// Reads of single log entries (what every proof needs) through a second, read-only connection whose
// read transaction is kept open for a few milliseconds and reused. Each statement outside a
// transaction takes and drops the WAL's read locks with system calls of its own, which were half of
// a one-row read; a reused snapshot takes them once per window. Safe because rows below the stored
// head never change: a snapshot answers only for entries below the head it sees itself, and
// anything else (an entry past it, a database in memory) is read through the coordinator's own
// connection as before. Short-lived, so it never holds back the WAL's checkpoints for long.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './sqlite-connection.ts';

/** How long one read snapshot is reused, in milliseconds. */
export const entrySnapshotMaxMs = 10;

const ENTRY_SQL = 'SELECT bytes FROM tlog_entries WHERE idx = ?';

interface Reader {
  readonly db: Database.Database;
  readonly entry: Statement<[number], Buffer>;
  readonly headSize: Statement<[], number>;
}

export class SqliteLogEntrySnapshot {
  readonly #connection: SqliteConnection;
  readonly #direct: Statement<[number], Buffer>;
  /** Opened on first use; null when the database cannot be opened twice (in memory). */
  #reader: Reader | null | undefined;
  /** Entries below this are answered from the open snapshot; 0 while none is open. */
  #coveredSize = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
    this.#direct = connection.db.prepare<[number], Buffer>(ENTRY_SQL).pluck();
  }

  /** Row `index` of tlog_entries (the entry with its length prefix), or undefined when not stored. */
  entry(index: number): Buffer | undefined {
    if (index < this.#coveredSize || (this.#begin() && index < this.#coveredSize))
      return this.#reader!.entry.get(index);
    return this.#direct.get(index);
  }

  /** Opens a new snapshot (ending the current one); false when there is no reader. */
  #begin(): boolean {
    const reader = this.#open();
    if (!reader) return false;
    this.#end();
    // Deferred: the snapshot is taken by its first read, the head's, so every row below that
    // head was committed before it and is final.
    reader.db.exec('BEGIN');
    // The timer first: a head read that fails still leaves no transaction open past the window.
    this.#timer = setTimeout(() => this.#end(), entrySnapshotMaxMs);
    this.#timer.unref();
    this.#coveredSize = reader.headSize.get() ?? 0;
    return true;
  }

  #end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#coveredSize = 0;
    const db = this.#reader?.db;
    if (db?.open && db.inTransaction) db.exec('COMMIT');
  }

  #open(): Reader | null {
    if (this.#reader !== undefined) return this.#reader?.db.open ? this.#reader : null;
    const db = this.#connection.openReadOnlyPeer();
    this.#reader = db
      ? {
          db,
          entry: db.prepare<[number], Buffer>(ENTRY_SQL).pluck(),
          headSize: db.prepare<[], number>('SELECT size FROM tlog_head WHERE id = 1').pluck(),
        }
      : null;
    return this.#reader;
  }
}
