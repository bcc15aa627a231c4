// The tiled log: tiles and roots as RFC 6962 and C2SP define them, proofs served from tiles, the
// head moved by compare-and-swap, and a log that resumes from storage after a failed append.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { parseCheckpointText } from './checkpoint.ts';
import { decodeEntryBundle } from './entry-bundle.ts';
import { FileLogHeadStore, FileTileStorage } from './file-tile-storage.ts';
import { leafHash, type MerkleHash } from './merkle-hash.ts';
import { verifyConsistency, verifyInclusion } from './merkle-proofs.ts';
import { ed25519NoteSigner, ed25519NoteVerifier } from './note-keys.ts';
import { parseSignedNote, verifyNote } from './signed-note.ts';
import { TileAppender, type TileWrite } from './tile-appender.ts';
import { splitHashTile } from './tile-hash-reader.ts';
import { tilePath, tilesOfTree } from './tile-path.ts';
import { MemoryTileStorage, type TileStorage } from './tile-storage.ts';
import { TlogError } from './tlog-errors.ts';
import { entryBytes, NaiveMerkle, seededRandom } from './tlog-test-support.ts';
import {
  type LogHead,
  type LogHeadStore,
  MemoryLogHeadStore,
  sameHead,
  TransparencyLog,
} from './transparency-log.ts';

const ORIGIN = 'log.rbnet.example/test';
const hex = (hashes: readonly MerkleHash[]) => hashes.map((h) => Buffer.from(h).toString('hex'));
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function logKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return ed25519NoteSigner(ORIGIN, Ed25519FileSigner.fromKeyObject(privateKey), publicKey);
}

describe('TileAppender', () => {
  it('writes the tiles RFC 6962 gives, for batches of every shape up to 70,000 entries, resumed from them at random sizes', async () => {
    const random = seededRandom(256);
    const entries = Array.from({ length: 70_000 }, (_, i) => entryBytes(i));
    const naive = NaiveMerkle.of(entries);
    const storage = new MemoryTileStorage();
    let appender = TileAppender.empty();
    let size = 0;
    let resumed = 0;
    while (size < entries.length) {
      const batch = Math.min(entries.length - size, [1, 2, 255, 256, 257, 1000, 5000][random.int(7)]!);
      const result = appender.append(entries.slice(size, size + batch));
      size += batch;
      await storage.writeTiles(result.writes);
      expect(result.size).toBe(size);
      expect(hex([result.root])).toEqual(hex([naive.mth(0, size)]));
      // A restart: the right edge (each level's partial tile and its subtrees) read back from tiles.
      if (random.int(4) === 0) {
        appender = await TileAppender.resume(size, storage);
        expect(hex([appender.root()])).toEqual(hex([naive.mth(0, size)]));
        resumed++;
      }
    }
    expect(resumed).toBeGreaterThan(3);
    // Every tile of the final tree is stored and holds the MTHs the tlog-tiles formula names.
    for (const tile of tilesOfTree(size)) {
      const bytes = await storage.readTile(tile);
      expect(bytes, tilePath(tile)).toBeDefined();
      if (tile.level === 'entries') {
        const got = decodeEntryBundle(bytes!, tile.width);
        expect(got.map((e) => Buffer.from(e).toString())).toEqual(
          entries
            .slice(tile.index * 256, tile.index * 256 + tile.width)
            .map((e) => Buffer.from(e).toString()),
        );
        continue;
      }
      const span = 256 ** tile.level;
      const expected = Array.from({ length: tile.width }, (_, i) =>
        naive.mth((tile.index * 256 + i) * span, (tile.index * 256 + i + 1) * span),
      );
      expect(hex(splitHashTile(tile, bytes!)), tilePath(tile)).toEqual(hex(expected));
    }
  });

  it('refuses an entry over 65,535 bytes and appends nothing of its batch', () => {
    const appender = TileAppender.empty();
    expect(() => appender.append([entryBytes(0), new Uint8Array(65_536)])).toThrow(/over 65535/);
    expect(appender.size).toBe(0);
    expect(appender.append([new Uint8Array(65_535)]).size).toBe(1);
  });
});

describe('TransparencyLog', () => {
  async function openLog(
    tiles: TileStorage = new MemoryTileStorage(),
    heads: LogHeadStore = new MemoryLogHeadStore(),
  ) {
    const signer = logKey();
    return {
      log: await TransparencyLog.open({ origin: ORIGIN, signer, tiles, heads }),
      signer,
      tiles,
      heads,
    };
  }

  it('signs checkpoints the log key verifies, and serves inclusion and consistency proofs from its tiles', async () => {
    const { log, signer } = await openLog();
    const random = seededRandom(42);
    const entries = Array.from({ length: 2000 }, (_, i) => entryBytes(i, 'log'));
    const naive = NaiveMerkle.of(entries);
    const checkpoints: { size: number; root: MerkleHash }[] = [];
    let size = 0;
    while (size < entries.length) {
      const batch = Math.min(entries.length - size, 1 + random.int(300));
      const appended = await log.append(entries.slice(size, size + batch));
      expect(appended.firstIndex).toBe(size);
      size += batch;
      const note = verifyNote(parseSignedNote(appended.checkpoint), [ed25519NoteVerifier(signer.vkey)]);
      const checkpoint = parseCheckpointText(note.note.text);
      expect(checkpoint).toMatchObject({ origin: ORIGIN, size });
      expect(hex([checkpoint.rootHash])).toEqual(hex([naive.mth(0, size)]));
      checkpoints.push({ size, root: checkpoint.rootHash });
    }
    for (const { size: at, root } of checkpoints) {
      const index = random.int(at);
      verifyInclusion(index, at, leafHash(entries[index]!), await log.inclusionProof(index, at), root);
      verifyConsistency(at, size, root, log.head.rootHash, await log.consistencyProof(at));
    }
    expect(Buffer.from(await log.entry(1999)).toString()).toBe('log 1999');
    // One head, one checkpoint: signing it again gives the same bytes.
    expect(await log.signedCheckpoint()).toBe(await log.signedCheckpoint());
  });

  it('refuses to move a head another writer moved, and carries on from what is stored', async () => {
    const tiles = new MemoryTileStorage();
    const heads = new MemoryLogHeadStore();
    const first = await openLog(tiles, heads);
    const second = await openLog(tiles, heads);
    await first.log.append([entryBytes(0)]);
    await expect(second.log.append([entryBytes(99, 'other')])).rejects.toMatchObject({
      code: 'HEAD_CONFLICT',
    });
    expect(second.log.head.size).toBe(1);
    const next = await second.log.append([entryBytes(1)]);
    expect(next.firstIndex).toBe(1);
    expect(hex([next.head.rootHash])).toEqual(
      hex([NaiveMerkle.of([entryBytes(0), entryBytes(1)]).mth(0, 2)]),
    );
  });

  it('stores each batch through swapHeadWithTiles when the head store offers it', async () => {
    /** Tiles and head in one object, as the coordinator's SQLite store; it counts how it is called. */
    class OneStore extends MemoryTileStorage implements LogHeadStore {
      readonly heads = new MemoryLogHeadStore();
      readonly calls = { writeTiles: 0, swapHead: 0, swapHeadWithTiles: 0 };
      override async writeTiles(writes: readonly TileWrite[]): Promise<void> {
        this.calls.writeTiles++;
        await super.writeTiles(writes);
      }
      readHead() {
        return this.heads.readHead();
      }
      swapHead(expected: LogHead | undefined, next: LogHead) {
        this.calls.swapHead++;
        return this.heads.swapHead(expected, next);
      }
      async swapHeadWithTiles(writes: readonly TileWrite[], expected: LogHead | undefined, next: LogHead) {
        this.calls.swapHeadWithTiles++;
        if (!sameHead(await this.heads.readHead(), expected)) return false;
        await super.writeTiles(writes);
        return this.heads.swapHead(expected, next);
      }
    }
    const store = new OneStore();
    const { log } = await openLog(store, store);
    for (let i = 0; i < 3; i++) await log.append([entryBytes(i)]);
    expect(store.calls).toEqual({ writeTiles: 0, swapHead: 0, swapHeadWithTiles: 3 });
    expect(hex([log.head.rootHash])).toEqual(
      hex([NaiveMerkle.of([0, 1, 2].map((i) => entryBytes(i))).mth(0, 3)]),
    );
    // A head store without it (tiles in one object, the head in another): the two calls.
    const split = new OneStore();
    const { log: other } = await openLog(split, split.heads);
    await other.append([entryBytes(0)]);
    expect(split.calls).toEqual({ writeTiles: 1, swapHead: 0, swapHeadWithTiles: 0 });
  });

  it('reopens from files after an append whose head never moved, and signs only stored heads', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rbnet-tlog-'));
    folders.push(root);
    const tiles = new FileTileStorage(join(root, 'public'));
    const heads = new FileLogHeadStore(join(root, 'head.json'));
    const { log } = await openLog(tiles, heads);
    await log.append(Array.from({ length: 300 }, (_, i) => entryBytes(i)));
    // A crash after the tiles of the next batch were written but before the head moved:
    const crashed = await TileAppender.resume(300, tiles);
    await tiles.writeTiles(
      crashed.append(Array.from({ length: 500 }, (_, i) => entryBytes(i, 'lost'))).writes,
    );
    const reopened = await openLog(tiles, heads);
    expect(reopened.log.head.size).toBe(300);
    const appended = await reopened.log.append([entryBytes(300)]);
    const expected = NaiveMerkle.of(Array.from({ length: 301 }, (_, i) => entryBytes(i)));
    expect(hex([appended.head.rootHash])).toEqual(hex([expected.mth(0, 301)]));
    expect(await tiles.readCheckpoint()).toBe(appended.checkpoint);
  });

  it('refuses to open on tiles that do not give the stored head', async () => {
    const tiles = new MemoryTileStorage();
    const heads = new MemoryLogHeadStore();
    const { log } = await openLog(tiles, heads);
    await log.append([entryBytes(0), entryBytes(1), entryBytes(2)]);
    await tiles.writeTiles([{ tile: { level: 0, index: 0, width: 3 }, bytes: Buffer.alloc(96, 7) }]);
    await expect(openLog(tiles, heads)).rejects.toSatisfy(
      (error: unknown) => error instanceof TlogError && error.code === 'TILE_INVALID',
    );
  });
});
