// One numbered schema change of the coordinator's SQLite file.
import type Database from 'better-sqlite3';

/**
 * Applied once, in order, inside the transaction that opens the file. Times are INTEGER epoch
 * milliseconds (UTC); booleans are 0/1. A released migration is never edited: the next number is.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** Data changes SQL cannot say (e.g. splitting binary bundles), run right after `sql`. */
  readonly run?: (db: Database.Database) => void;
}
