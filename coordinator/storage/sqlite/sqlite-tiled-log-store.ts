// The tiled transparency log on the coordinator's SQLite file (migrations 10, 17, 18): what is sequenced
// for it, its hash tiles, its entries (one row each, entry bundles joined from them), and its head,
// moved by compare-and-swap in one UPDATE.
import { parseCheckpointText } from '../../../services/tlog/checkpoint.ts';
import type { MerkleHash } from '../../../services/tlog/merkle-hash.ts';
import { parseSignedNote } from '../../../services/tlog/signed-note.ts';
import type { TileWrite } from '../../../services/tlog/tile-appender.ts';
import { TILE_WIDTH, type TileRef } from '../../../services/tlog/tile-path.ts';
import { readTilesOrFail, type TileStorage } from '../../../services/tlog/tile-storage.ts';
import { type LogHead, type LogHeadStore, sameHead } from '../../../services/tlog/transparency-log.ts';
import type { SqliteConnection } from './sqlite-connection.ts';
import { SqliteLogEntries } from './sqlite-log-entries.ts';

/** Where a sequenced entry came from; the integrator turns its facts into the entry. */
export type SequencedSource = 'chain' | 'result' | 'verdict' | 'key-event';

export interface SequencedEntry {
  readonly index: number;
  readonly source: SequencedSource;
  readonly buildId?: string;
  readonly factsJson: string;
}

interface SequenceRow {
  idx: number;
  source: SequencedSource;
  build_id: string | null;
  facts_json: string;
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    sequenceFrom: db.prepare<[number, number], SequenceRow>(
      'SELECT idx, source, build_id, facts_json FROM tlog_sequence WHERE idx >= ? ORDER BY idx LIMIT ?',
    ),
    sequenceOfBuild: db.prepare<[string], SequenceRow>(
      'SELECT idx, source, build_id, facts_json FROM tlog_sequence WHERE build_id = ? ORDER BY idx',
    ),
    sequencedSize: db.prepare<[], { n: number }>('SELECT COALESCE(MAX(idx), -1) + 1 AS n FROM tlog_sequence'),
    readTile: db.prepare<[number, number, number], { bytes: Buffer }>(
      'SELECT bytes FROM tlog_tiles WHERE level = ? AND tile_index = ? AND width = ?',
    ),
    writeTile: db.prepare<[number, number, number, Uint8Array]>(
      'INSERT OR REPLACE INTO tlog_tiles (level, tile_index, width, bytes) VALUES (?, ?, ?, ?)',
    ),
    dropPartials: db.prepare<[number, number]>(
      `DELETE FROM tlog_tiles WHERE level = ? AND tile_index = ? AND width < ${TILE_WIDTH}`,
    ),
    head: db.prepare<[], { size: number; root_hash: Buffer; checkpoint: string | null }>(
      'SELECT size, root_hash, checkpoint FROM tlog_head WHERE id = 1',
    ),
    firstHead: db.prepare<[number, Uint8Array]>(
      'INSERT OR IGNORE INTO tlog_head (id, size, root_hash) VALUES (1, ?, ?)',
    ),
    swapHead: db.prepare<[number, Uint8Array, number, Uint8Array]>(
      'UPDATE tlog_head SET size = ?, root_hash = ? WHERE id = 1 AND size = ? AND root_hash = ?',
    ),
    setCheckpoint: db.prepare<[string, number]>(
      'UPDATE tlog_head SET checkpoint = ? WHERE id = 1 AND size = ?',
    ),
  };
}

/** Tiles, head and sequence of the coordinator's tiled log (services/tlog's storage interfaces). */
export class SqliteTiledLogStore implements TileStorage, LogHeadStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;
  readonly #entries: SqliteLogEntries;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
    this.#entries = new SqliteLogEntries(connection);
  }

  /** Up to `limit` sequenced entries from `fromIndex` on, in order. */
  sequencedFrom(fromIndex: number, limit: number): SequencedEntry[] {
    return this.#s.sequenceFrom.all(fromIndex, limit).map(mapSequenced);
  }

  /** Every entry sequenced about one build (its results and verdicts), in order. */
  sequencedOfBuild(buildId: string): SequencedEntry[] {
    return this.#s.sequenceOfBuild.all(buildId).map(mapSequenced);
  }

  /** How many entries are sequenced (integrated or not). */
  sequencedSize(): number {
    return this.#s.sequencedSize.get()!.n;
  }

  async readTile(tile: TileRef): Promise<Uint8Array | undefined> {
    if (tile.level === 'entries') return this.#entries.bundle(tile);
    return this.#s.readTile.get(tile.level, tile.index, tile.width)?.bytes;
  }

  readEntry(index: number): Uint8Array | undefined {
    return this.#entries.entry(index);
  }

  readTiles(tiles: readonly TileRef[]): Promise<Uint8Array[]> {
    return readTilesOrFail(this, tiles);
  }

  /**
   * Tiles are committed without their own fsync: in WAL mode commits reach the disk in order, so the
   * head's compare-and-swap (synchronous = FULL) that follows makes them durable first. A crash
   * before it loses only tiles beyond the stored head, which the next append writes again.
   */
  async writeTiles(writes: readonly TileWrite[]): Promise<void> {
    this.#relaxed(() => this.#c.write(() => this.#writeTilesAbove(writes, this.#s.head.get()?.size ?? 0)));
  }

  /**
   * Of an entry bundle only the entries at or past `storedSize` are written (those below the stored
   * head are stored already and never change). Runs inside the caller's write transaction.
   */
  #writeTilesAbove(writes: readonly TileWrite[], storedSize: number): void {
    for (const { tile, bytes } of writes) {
      if (tile.level === 'entries') this.#entries.write(tile, bytes, storedSize);
      else {
        this.#s.writeTile.run(tile.level, tile.index, tile.width, bytes);
        if (tile.width === TILE_WIDTH) this.#s.dropPartials.run(tile.level, tile.index);
      }
    }
  }

  /** Runs one synchronous write with synchronous = NORMAL, then restores FULL (nothing interleaves). */
  #relaxed<T>(write: () => T): T {
    this.#c.db.pragma('synchronous = NORMAL');
    try {
      return write();
    } finally {
      this.#c.db.pragma('synchronous = FULL');
    }
  }

  /**
   * Stores the checkpoint served for the head it names; a checkpoint of any other size is ignored.
   * Without its own fsync: a checkpoint lost in a crash is signed again from the head (the same
   * bytes: Ed25519 is deterministic) and sent to the witnesses again on start.
   */
  async writeCheckpoint(text: string): Promise<void> {
    const { size } = parseCheckpointText(parseSignedNote(text).text);
    this.#relaxed(() => this.#c.write(() => this.#s.setCheckpoint.run(text, size)));
  }

  async readCheckpoint(): Promise<string | undefined> {
    return this.#s.head.get()?.checkpoint ?? undefined;
  }

  async readHead(): Promise<LogHead | undefined> {
    return this.#storedHead();
  }

  #storedHead(): LogHead | undefined {
    const row = this.#s.head.get();
    return row && { size: row.size, rootHash: row.root_hash as MerkleHash };
  }

  async swapHead(expected: LogHead | undefined, next: LogHead): Promise<boolean> {
    return this.#c.write(() => this.#swapHeadIn(expected, next));
  }

  /**
   * A batch's tiles and the head's move in one transaction: one commit and one fsync where
   * writeTiles then swapHead take two commits. With `writtenEntries`, the batch's entries were
   * stored by writeEntries before, and must still be the rows past the head (another writer may
   * have written over them since). When another writer moved the head or the rows, nothing is
   * written and the answer is false.
   */
  async swapHeadWithTiles(
    writes: readonly TileWrite[],
    expected: LogHead | undefined,
    next: LogHead,
    writtenEntries?: readonly Uint8Array[],
  ): Promise<boolean> {
    return this.#c.write(() => {
      if (!sameHead(this.#storedHead(), expected)) return false;
      if (writtenEntries && !this.#entries.holds(expected?.size ?? 0, writtenEntries)) return false;
      this.#writeTilesAbove(writes, expected?.size ?? 0);
      return this.#swapHeadIn(expected, next);
    });
  }

  /**
   * Stores a batch's entries as the rows past the head `expected`, in a transaction of their own
   * without an fsync (the head's move makes them durable; a crash before it leaves rows past the
   * head, which the next append writes over). False, and nothing written, when the head moved.
   */
  async writeEntries(expected: LogHead | undefined, entries: readonly Uint8Array[]): Promise<boolean> {
    return this.#relaxed(() =>
      this.#c.write(() => {
        if (!sameHead(this.#storedHead(), expected)) return false;
        this.#entries.writeFrom(expected?.size ?? 0, entries);
        return true;
      }),
    );
  }

  #swapHeadIn(expected: LogHead | undefined, next: LogHead): boolean {
    return expected === undefined
      ? this.#s.firstHead.run(next.size, next.rootHash).changes === 1
      : this.#s.swapHead.run(next.size, next.rootHash, expected.size, expected.rootHash).changes === 1;
  }
}

function mapSequenced(row: SequenceRow): SequencedEntry {
  return Object.freeze({
    index: row.idx,
    source: row.source,
    ...(row.build_id !== null && { buildId: row.build_id }),
    factsJson: row.facts_json,
  });
}
