// The coordinator's log store keeps entries one per row (migration 18): the bundles it serves are
// byte for byte those an in-memory log writes, an entry below the stored head is never written
// again, rows a crashed append left past the head are written over, and files of migration 13
// (entries inside bundles) and 17 (entries in chunks of 16) are upgraded in place and keep serving
// the same tiles and root.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeEntryBundle } from '../../../services/tlog/entry-bundle.ts';
import { TileAppender } from '../../../services/tlog/tile-appender.ts';
import { tilePath, tilesOfTree } from '../../../services/tlog/tile-path.ts';
import { MemoryTileStorage, tilesUpTo } from '../../../services/tlog/tile-storage.ts';
import { newLogSigner } from '../../../services/tlog/tlog-fixtures.ts';
import { entryBytes, NaiveMerkle } from '../../../services/tlog/tlog-test-support.ts';
import { MemoryLogHeadStore, TransparencyLog } from '../../../services/tlog/transparency-log.ts';
import { undoMigrationsAbove } from '../../../test/support/undo-migrations.ts';
import { SqliteConnection } from './sqlite-connection.ts';
import { SqliteTiledLogStore } from './sqlite-tiled-log-store.ts';

const ORIGIN = 'rbnet.example/log';
const signer = newLogSigner(ORIGIN);
/** Batches crossing bundle boundaries at every offset: sizes 300, 301, 556, 1256, 1300. */
const BATCHES = [300, 1, 255, 700, 44];
let root: string;
let connections: SqliteConnection[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-tiled-log-store-'));
  connections = [];
});
afterEach(async () => {
  for (const connection of connections) connection.close();
  await rm(root, { recursive: true, force: true });
});

function openStore(): SqliteTiledLogStore {
  const connection = new SqliteConnection(join(root, 'db.sqlite'));
  connections.push(connection);
  return new SqliteTiledLogStore(connection);
}

async function appendBatches(log: TransparencyLog, from = 0): Promise<number> {
  let at = from;
  for (const count of BATCHES) {
    await log.append(Array.from({ length: count }, (_, i) => entryBytes(at + i)));
    at += count;
  }
  return at;
}

/** Every tile of the tree of `size`, by path, as a reader of `storage` returns it. */
async function servedTiles(storage: MemoryTileStorage | SqliteTiledLogStore, size: number) {
  const tiles = tilesOfTree(size);
  const bytes = await tilesUpTo(storage, size).readTiles(tiles);
  return new Map(tiles.map((tile, i) => [tilePath(tile), Buffer.from(bytes[i]!).toString('hex')]));
}

/** A log of the batches in a file, then closed: its size, its tiles as served, and its head. */
async function loggedThenClosed() {
  const store = openStore();
  const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
  const size = await appendBatches(log);
  const before = await servedTiles(store, size);
  const head = log.head;
  connections.pop()!.close();
  return { size, before, head };
}

describe('SqliteTiledLogStore: entries one per row', () => {
  it('serves every tile and entry bundle byte-identical to an in-memory log of the same entries', async () => {
    const store = openStore();
    const memory = new MemoryTileStorage();
    const sqliteLog = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    const memoryLog = await TransparencyLog.open({
      origin: ORIGIN,
      signer,
      tiles: memory,
      heads: new MemoryLogHeadStore(),
    });
    const size = await appendBatches(sqliteLog);
    await appendBatches(memoryLog);
    expect(sqliteLog.head).toEqual(memoryLog.head);
    expect(await servedTiles(store, size)).toEqual(await servedTiles(memory, size));
    for (const index of [0, 255, 256, 511, 1299])
      expect(Buffer.from(await sqliteLog.entry(index)).toString()).toBe(`entry ${index}`);
    // A partial bundle of an older size is the prefix of the rows, as C2SP asks.
    const [old] = await tilesUpTo(store, size).readTiles([{ level: 'entries', index: 1, width: 45 }]);
    expect(Buffer.from(old!)).toEqual(
      encodeEntryBundle(Array.from({ length: 45 }, (_, i) => entryBytes(256 + i))),
    );
  });

  it('keeps every byte value exact, up to 65,535-byte entries, through the joined rows', async () => {
    const store = openStore();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    const odd = Array.from({ length: 40 }, (_, i) =>
      Buffer.from(Array.from({ length: i === 3 ? 65_535 : 250 + i * 7 }, (_, b) => (b * 31 + i) % 256)),
    );
    await log.append(odd);
    const [bundle] = await tilesUpTo(store, 40).readTiles([{ level: 'entries', index: 0, width: 40 }]);
    expect(Buffer.compare(Buffer.from(bundle!), encodeEntryBundle(odd))).toBe(0);
    expect(Buffer.compare(Buffer.from(await log.entry(3)), odd[3]!)).toBe(0);
  });

  it('never writes an entry below the stored head again, and writes over rows past it', async () => {
    const store = openStore();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append([entryBytes(0), entryBytes(1)]);
    // A bundle that disagrees below the head (size 2) and reaches past it: only the rows past it land.
    await store.writeTiles([
      {
        tile: { level: 'entries', index: 0, width: 3 },
        bytes: encodeEntryBundle([
          entryBytes(0, 'forged'),
          entryBytes(1, 'forged'),
          entryBytes(2, 'crashed'),
        ]),
      },
    ]);
    expect(Buffer.from((await store.readEntry(1))!).toString()).toBe('entry 1');
    expect(Buffer.from((await store.readEntry(2))!).toString()).toBe('crashed 2');
    // The next append (the crashed one never moved the head) writes its own entry over that row.
    const reopened = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await reopened.append([entryBytes(2)]);
    expect(Buffer.from(await reopened.entry(2)).toString()).toBe('entry 2');
    expect(await store.readTile({ level: 'entries', index: 0, width: 4 })).toBeUndefined();
  });

  it('stores a batch and moves the head in one transaction, and stores nothing of a writer that fell behind', async () => {
    const store = openStore();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    const stale = log.head;
    await log.append([entryBytes(0), entryBytes(1)]);
    const rows = () =>
      connections[0]!.db
        .prepare(
          'SELECT (SELECT COUNT(*) FROM tlog_entries) AS entries, (SELECT COUNT(*) FROM tlog_tiles) AS tiles',
        )
        .get();
    const before = rows();
    // A second writer still at the empty tree: its batch (entries and tiles) must not land at all.
    const behind = TileAppender.empty().append([
      entryBytes(0, 'other'),
      entryBytes(1, 'other'),
      entryBytes(2, 'other'),
    ]);
    const next = { size: behind.size, rootHash: behind.root };
    expect(await store.swapHeadWithTiles(behind.writes, undefined, next)).toBe(false);
    expect(await store.swapHeadWithTiles(behind.writes, stale, next)).toBe(false);
    expect(rows()).toEqual(before);
    expect(Buffer.from((await store.readEntry(0))!).toString()).toBe('entry 0');
    expect(await store.readEntry(2)).toBeUndefined();
    expect((await store.readHead())?.size).toBe(2);
    // A batch from the stored head lands whole: its entries, its tiles and the head, together.
    const onward = (await TileAppender.resume(2, store)).append([entryBytes(2)]);
    expect(await store.swapHeadWithTiles(onward.writes, log.head, { size: 3, rootHash: onward.root })).toBe(
      true,
    );
    expect(Buffer.from((await store.readEntry(2))!).toString()).toBe('entry 2');
    expect(await store.readTile({ level: 0, index: 0, width: 3 })).toEqual(
      Buffer.from(onward.writes.find((w) => w.tile.level === 0)!.bytes),
    );
    expect(await store.readHead()).toEqual({ size: 3, rootHash: Buffer.from(onward.root) });
  });

  it('moves the head over entries written before only while they are still the rows past it', async () => {
    const store = openStore();
    const other = openStore();
    const mine = [entryBytes(0), entryBytes(1)];
    const theirs = [entryBytes(0, 'theirs'), entryBytes(1, 'theirs')];
    const grown = TileAppender.empty({ entryBundles: false });
    const result = grown.append(mine);
    const next = { size: result.size, rootHash: result.root };
    expect(await store.writeEntries(undefined, mine)).toBe(true);
    // Another writer at the same head writes its own entries over those rows, before the head moves.
    expect(await other.writeEntries(undefined, theirs)).toBe(true);
    expect(await store.swapHeadWithTiles(result.writes, undefined, next, mine)).toBe(false);
    expect(await store.readHead()).toBeUndefined();
    // Theirs are the rows: their move lands, and the rows under the head are theirs.
    const their = TileAppender.empty({ entryBundles: false }).append(theirs);
    expect(
      await other.swapHeadWithTiles(their.writes, undefined, { size: 2, rootHash: their.root }, theirs),
    ).toBe(true);
    expect(Buffer.from((await store.readEntry(1))!).toString()).toBe('theirs 1');
    // Entries are never written past a head that moved on.
    expect(await store.writeEntries(undefined, mine)).toBe(false);
    expect(Buffer.from((await store.readEntry(0))!).toString()).toBe('theirs 0');
  });

  it('does not take rows written over through the same connection for the batch written before', async () => {
    const store = openStore();
    const mine = [entryBytes(0), entryBytes(1)];
    const result = TileAppender.empty({ entryBundles: false }).append(mine);
    const next = { size: result.size, rootHash: result.root };
    // Two writers on one store (one connection: SQLite's data_version does not move for either).
    expect(await store.writeEntries(undefined, mine)).toBe(true);
    expect(await store.writeEntries(undefined, [entryBytes(0, 'theirs'), entryBytes(1, 'theirs')])).toBe(
      true,
    );
    expect(await store.swapHeadWithTiles(result.writes, undefined, next, mine)).toBe(false);
    // Rows written over by a tile write of the same store.
    expect(await store.writeEntries(undefined, mine)).toBe(true);
    await store.writeTiles([
      {
        tile: { level: 'entries', index: 0, width: 2 },
        bytes: encodeEntryBundle([entryBytes(0, 'tiles'), entryBytes(1, 'tiles')]),
      },
    ]);
    expect(await store.swapHeadWithTiles(result.writes, undefined, next, mine)).toBe(false);
    expect(await store.readHead()).toBeUndefined();
    // Written again, they are the batch's: the head moves.
    expect(await store.writeEntries(undefined, mine)).toBe(true);
    expect(await store.swapHeadWithTiles(result.writes, undefined, next, mine)).toBe(true);
    expect(Buffer.from((await store.readEntry(1))!).toString()).toBe('entry 1');
  });

  it('a log whose entries fail to store appends nothing, and appends again from what is stored', async () => {
    const store = openStore();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    try {
      await log.append([entryBytes(0)]);
      const failing = vi.spyOn(store, 'writeEntries').mockRejectedValueOnce(new Error('disk full'));
      await expect(log.append([entryBytes(1, 'lost')])).rejects.toThrow(/disk full/);
      expect(log.head.size).toBe(1);
      const next = await log.append([entryBytes(1)]);
      expect(failing).toHaveBeenCalledTimes(2);
      expect(next.head.size).toBe(2);
      expect(Buffer.from(next.head.rootHash)).toEqual(
        Buffer.from(NaiveMerkle.of([entryBytes(0), entryBytes(1)]).mth(0, 2)),
      );
    } finally {
      await log.close();
    }
  });

  it('upgrades a migration-13 file (entries inside bundles) in place: same tiles, same root, appends on', async () => {
    const { size, before, head } = await loggedThenClosed();

    // Back to version 13, with a narrower partial bundle beside the widest, as a v13 log keeps them.
    const old = new SqliteConnection(join(root, 'db.sqlite'));
    undoMigrationsAbove(old.db, 13);
    old.db
      .prepare('INSERT INTO tlog_tiles (level, tile_index, width, bytes) VALUES (-1, 5, 3, ?)')
      .run(encodeEntryBundle([0, 1, 2].map((i) => entryBytes(1280 + i))));
    expect(
      old.db.prepare('SELECT COUNT(*) AS n FROM tlog_tiles WHERE level = -1').get() as { n: number },
    ).toEqual({ n: 7 });
    old.close();

    const upgraded = openStore();
    const reopened = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: upgraded, heads: upgraded });
    expect(reopened.head).toEqual(head);
    expect(await servedTiles(upgraded, size)).toEqual(before);
    const grown = await appendBatches(reopened, size);
    const memoryLog = await TransparencyLog.open({
      origin: ORIGIN,
      signer,
      tiles: new MemoryTileStorage(),
      heads: new MemoryLogHeadStore(),
    });
    await appendBatches(memoryLog);
    await appendBatches(memoryLog, size);
    expect(reopened.head).toEqual(memoryLog.head);
    expect(Buffer.from(await reopened.entry(grown - 1)).toString()).toBe(`entry ${grown - 1}`);
  });

  it('upgrades a migration-17 file (entries in chunks of 16, the last one partial) in place', async () => {
    const { size, before, head } = await loggedThenClosed();

    const old = new SqliteConnection(join(root, 'db.sqlite'));
    undoMigrationsAbove(old.db, 17);
    // 1300 entries: 81 full chunks and one of 4.
    expect(old.db.prepare('SELECT COUNT(*) AS n, MIN(count) AS least FROM tlog_entry_chunks').get()).toEqual({
      n: 82,
      least: 4,
    });
    old.close();

    const upgraded = openStore();
    const reopened = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: upgraded, heads: upgraded });
    expect(reopened.head).toEqual(head);
    expect(await servedTiles(upgraded, size)).toEqual(before);
    for (const index of [0, 15, 16, 1295, 1299])
      expect(Buffer.from(await reopened.entry(index)).toString()).toBe(`entry ${index}`);
    const grown = await appendBatches(reopened, size);
    expect(Buffer.from(await reopened.entry(grown - 1)).toString()).toBe(`entry ${grown - 1}`);
    const check = connections.at(-1)!.db;
    expect(
      check.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'tlog_entry_chunks'").get(),
    ).toEqual({
      n: 0,
    });
    expect(check.prepare('SELECT COUNT(*) AS n FROM tlog_entries').get()).toEqual({ n: grown });
  });
});
