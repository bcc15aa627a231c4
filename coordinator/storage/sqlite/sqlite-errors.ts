// Turns what SQLite refuses into the stores' errors: a trigger's `<CODE> <field>: <problem>`
// message becomes that BuildStoreError; a constraint names its column, which becomes the field.
import Database from 'better-sqlite3';
import { BuildStoreError } from '../../../services/storage/store-error.ts';

const TRIGGER_MESSAGE = /^(INVALID|NOT_FOUND|CONFLICT|DIGEST_MISMATCH) ([\s\S]+)$/;

/** `created_at` → `createdAt`. */
function fieldOf(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The column a constraint message names: `UNIQUE constraint failed: workers.queue_name` → `queueName`. */
function columnField(message: string): string {
  const match = /(?:failed: |column )\w+\.(\w+)/.exec(message) ?? /failed: (\w+)/.exec(message);
  return match ? fieldOf(match[1]!) : 'row';
}

/**
 * The BuildStoreError an SQLite error stands for, or the error itself when it is not a refusal (an
 * I/O error, a closed database: those stay what they are).
 */
export function storeErrorOf(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  const options = { cause: err };
  switch (err.code) {
    case 'SQLITE_CONSTRAINT_TRIGGER': {
      const match = TRIGGER_MESSAGE.exec(err.message);
      return match ? new BuildStoreError(match[1] as BuildStoreError['code'], match[2]!, options) : err;
    }
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return new BuildStoreError('CONFLICT', `${columnField(err.message)}: already recorded`, options);
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return new BuildStoreError('INVALID', `${columnField(err.message)}: required`, options);
    case 'SQLITE_CONSTRAINT_CHECK':
    case 'SQLITE_CONSTRAINT_DATATYPE':
      return new BuildStoreError('INVALID', `${columnField(err.message)}: ${err.message}`, options);
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return new BuildStoreError('NOT_FOUND', 'row: a record it refers to does not exist', options);
    default:
      return err;
  }
}

/** Runs `fn`, throwing what it throws as a store error (see {@link storeErrorOf}). */
export function asStoreErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw storeErrorOf(err);
  }
}

/** Runs `fn`, prefixing the field of any store error with `prefix` (`inputs[3].`, `links[0].`). */
export function withFieldPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const error = storeErrorOf(err);
    if (error instanceof BuildStoreError) {
      throw new BuildStoreError(error.code, `${prefix}${error.message}`, { cause: error.cause ?? error });
    }
    throw error;
  }
}
