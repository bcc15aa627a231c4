// The one connection every SQLite store of the coordinator shares: opening (settings, migrations),
// transactions, and SQLite's refusals turned into store errors.
import Database from 'better-sqlite3';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import { migrate } from './migrations/migrate.ts';
import { asStoreErrors } from './sqlite-errors.ts';

export interface SqliteConnectionOptions {
  /** How long a statement waits for another connection's write lock before failing, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** The most of the file read through a memory map (SQLite's own ceiling, ~2 GiB); past it, read(). */
const mmapMaxBytes = 0x7fff0000;

export const sqliteConnectionDefaults = Object.freeze({ busyTimeoutMs: 5000 });

/**
 * The coordinator's embedded database: one SQLite file in WAL mode (readers never block the writer),
 * foreign keys enforced, `synchronous = FULL` so an acknowledged write survives power loss. Opening
 * applies any pending migrations; opening an already-migrated file changes nothing.
 *
 * better-sqlite3 is synchronous, so a store method runs to completion before its promise settles,
 * and every multi-row change runs in one `BEGIN IMMEDIATE` transaction ({@link write}: the write
 * lock is taken before the first read, so a read-then-write never races another connection).
 */
export class SqliteConnection {
  readonly db: Database.Database;
  /** Read-only connections to the same file, closed with this one. */
  readonly #peers: Database.Database[] = [];
  readonly #busyTimeoutMs: number;
  /**
   * Told after every committed change to apt links, by whichever store made it: a publication
   * (the apt link store) or a compromise whose trigger withdrew links (the registry).
   */
  readonly #aptLinkListeners = new Set<(buildId?: string) => void>();

  /**
   * Opens (creating if needed) the database at `path` and migrates it.
   * @throws BuildStoreError `INVALID` for a bad option, `SCHEMA` when the file was written by a newer
   *   rbnet or a migration fails.
   */
  constructor(path: string, options: SqliteConnectionOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? sqliteConnectionDefaults.busyTimeoutMs;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new BuildStoreError('INVALID', 'busyTimeoutMs: expected a non-negative integer');
    }
    const db = new Database(path, { timeout: busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Reads through a memory map: no read() system call per page (proofs read an entry's row per
      // request, at random across the file). Writes still go through write() and fsync, so
      // durability is unchanged.
      db.pragma(`mmap_size = ${mmapMaxBytes}`);
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction; SQLite's refusals become store errors. */
  write<T>(fn: () => T): T {
    return asStoreErrors(() => this.db.transaction(fn).immediate());
  }

  /** Runs `fn` in one read transaction: a consistent snapshot even while another connection writes. */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  /** Adds a listener for apt link changes; @returns a function that removes it. */
  watchAptLinks(listener: (buildId?: string) => void): () => void {
    this.#aptLinkListeners.add(listener);
    return () => this.#aptLinkListeners.delete(listener);
  }

  /** Tells the listeners that `buildId`'s links (or, without one, any build's) may have changed. */
  aptLinksChanged(buildId: string | undefined): void {
    for (const listener of this.#aptLinkListeners) listener(buildId);
  }

  /** The schema version of the open database (the highest migration applied). */
  schemaVersion(): number {
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  /**
   * A second, read-only connection to the same file (its reads memory-mapped as this one's), closed
   * when this one is; undefined for a database in memory, which has no file to open twice.
   */
  openReadOnlyPeer(): Database.Database | undefined {
    if (this.db.memory || !this.db.name || !this.db.open) return undefined;
    const peer = new Database(this.db.name, {
      readonly: true,
      fileMustExist: true,
      timeout: this.#busyTimeoutMs,
    });
    peer.pragma(`mmap_size = ${mmapMaxBytes}`);
    this.#peers.push(peer);
    return peer;
  }

  /** Closes the database and its read-only peers; idempotent. Every store on it is unusable afterwards. */
  close(): void {
    for (const peer of this.#peers.splice(0)) if (peer.open) peer.close();
    if (this.db.open) this.db.close();
  }
}

/** `date` as epoch milliseconds; an invalid Date becomes NULL, which the schema refuses by name. */
export function epochMs(date: Date): number | null {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  return Number.isFinite(ms) ? ms : null;
}

/** `date` as epoch milliseconds, or NULL when absent or invalid. */
export function optionalEpochMs(date: Date | undefined): number | null {
  return date === undefined ? null : epochMs(date);
}
