// The transparency log on SQLite: entries are chained here, and the schema refuses any row that does
// not extend the chain, any change and any removal (migrations 1 and 8).
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { canonicalizeJcs } from '../../../services/jcs.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import {
  LOG_GENESIS_HASH,
  type LogEntryKind,
  type LogEntryRecord,
  logEntryHash,
  type NewLogEntry,
  type TransparencyLog,
} from '../../../services/storage/transparency-log.ts';
import { pageLimit } from './page-arguments.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

interface LogRow {
  idx: number;
  kind: LogEntryKind;
  build_id: string;
  body_sha256: string;
  body_json: string;
  prev_entry_hash: string;
  entry_hash: string;
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insertLogEntry: db.prepare<[LogRow]>(
      `INSERT INTO log_entries (idx, kind, build_id, body_sha256, body_json, prev_entry_hash, entry_hash)
       VALUES (@idx, @kind, @build_id, @body_sha256, @body_json, @prev_entry_hash, @entry_hash)`,
    ),
    lastLogEntry: db.prepare<[], Pick<LogRow, 'idx' | 'entry_hash'>>(
      'SELECT idx, entry_hash FROM log_entries ORDER BY idx DESC LIMIT 1',
    ),
    logEntriesFrom: db.prepare<[number, number], LogRow>(
      'SELECT * FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?',
    ),
    allLogEntries: db.prepare<[], LogRow>('SELECT * FROM log_entries ORDER BY idx'),
    // Migration 10: the verdict's place in the tiled log, taken in the chaining transaction.
    sequenceVerdict: db.prepare<[string, string]>(
      `INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
       VALUES ((SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_sequence), 'verdict', ?, ?)`,
    ),
  };
}

/** The {@link TransparencyLog} on the coordinator's SQLite file. */
export class SqliteTransparencyLog implements TransparencyLog {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async appendLogEntry(
    input: NewLogEntry,
  ): Promise<{ readonly index: number; readonly entryHash: Sha256Hex }> {
    let bodyJson: string;
    try {
      bodyJson = canonicalizeJcs(input.body);
    } catch (cause) {
      throw new BuildStoreError('INVALID', `body: ${(cause as Error).message}`, { cause });
    }
    const bodySha256 = sha256Hex(bodyJson);
    return this.#c.write(() => {
      const last = this.#s.lastLogEntry.get();
      const index = last === undefined ? 0 : last.idx + 1;
      const prevEntryHash = (last?.entry_hash ?? LOG_GENESIS_HASH) as Sha256Hex;
      const entryHash = logEntryHash(prevEntryHash, input.kind, input.buildId, bodyJson);
      this.#s.insertLogEntry.run({
        idx: index,
        kind: input.kind,
        build_id: input.buildId,
        body_sha256: bodySha256,
        body_json: bodyJson,
        prev_entry_hash: prevEntryHash,
        entry_hash: entryHash,
      });
      if (input.tiledEntryJson !== undefined)
        this.#s.sequenceVerdict.run(input.buildId, input.tiledEntryJson);
      // After the schema accepted the entry, inside its transaction: a mismatch undoes it.
      if (bodySha256 !== input.bodySha256) {
        throw new BuildStoreError(
          'DIGEST_MISMATCH',
          `bodySha256: ${input.bodySha256} is not the sha256 of the body's canonical JSON (${bodySha256})`,
        );
      }
      return Object.freeze({ index, entryHash });
    });
  }

  /** @inheritdoc */
  async getLogEntries(fromIndex: number, limit: number): Promise<readonly LogEntryRecord[]> {
    if (!Number.isSafeInteger(fromIndex) || fromIndex < 0)
      throw new BuildStoreError('INVALID', 'fromIndex: expected an integer from 0');
    return Object.freeze(this.#s.logEntriesFrom.all(fromIndex, pageLimit(limit, limit)).map(mapLogEntry));
  }

  /** @inheritdoc */
  async verifyLogChain(): Promise<number | undefined> {
    // One read transaction: a consistent snapshot even while another connection appends.
    return this.#c.read(() => {
      let expected = 0;
      let prev: string = LOG_GENESIS_HASH;
      for (const row of this.#s.allLogEntries.iterate()) {
        if (
          row.idx !== expected ||
          row.kind !== 'verdict' ||
          row.prev_entry_hash !== prev ||
          row.body_sha256 !== sha256Hex(row.body_json) ||
          row.entry_hash !== logEntryHash(prev as Sha256Hex, row.kind, row.build_id, row.body_json)
        ) {
          return expected;
        }
        prev = row.entry_hash;
        expected++;
      }
      return undefined;
    });
  }
}

function mapLogEntry(row: LogRow): LogEntryRecord {
  return Object.freeze({
    index: row.idx,
    kind: row.kind,
    buildId: row.build_id,
    bodySha256: row.body_sha256 as Sha256Hex,
    bodyJson: row.body_json,
    prevEntryHash: row.prev_entry_hash as Sha256Hex,
    entryHash: row.entry_hash as Sha256Hex,
  });
}
