// What every coordinator record store shares: its error (with stable codes) and how it writes times.
import { RbnetError } from '../errors.ts';

/**
 * A record store refused or failed an operation. The SQLite stores raise these from the database's
 * own constraints and triggers (docs/storage.md, "What SQL enforces"), so any implementation that
 * enforces the same rules answers with the same codes.
 * - `INVALID`: an argument or a row was malformed; the message starts with the field's name.
 * - `NOT_FOUND`: a record the operation needs (operator, worker, build, attempt) does not exist.
 * - `CONFLICT`: the operation contradicts what is stored (a duplicate name, a different envelope for
 *   the same result key, a revoked worker, a finished attempt finished differently).
 * - `DIGEST_MISMATCH`: a digest given alongside its document does not match it.
 * - `SCHEMA`: the database was written by a newer rbnet, or a migration failed.
 */
export class BuildStoreError extends RbnetError<
  'INVALID' | 'NOT_FOUND' | 'CONFLICT' | 'DIGEST_MISMATCH' | 'SCHEMA'
> {}

/**
 * Every time a store returns is an ISO 8601 UTC string with milliseconds
 * (`2024-05-01T12:00:00.000Z`, what `Date.prototype.toISOString` prints): it sorts as text, is
 * unambiguous in JSON, and converts back with `new Date(s)`. Times go in as `Date`.
 */
export type IsoTimestamp = string;

/** Keyset pagination of builds, newest first unless the method says otherwise. */
export interface PageOptions {
  /** 1..1000; each method names its default. */
  readonly limit?: number;
  /** A buildId from a previous page: the page continues after it. */
  readonly after?: string;
}

/** The largest page any store method returns. */
export const MAX_PAGE = 1000;
