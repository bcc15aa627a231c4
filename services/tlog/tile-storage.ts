// Where a tiled log keeps its tiles, entry bundles and latest checkpoint: the interface the log
// writes through and proofs read through, and an in-memory implementation (tests, benches).
import { decodeEntryBundle, encodeEntryBundle } from './entry-bundle.ts';
import { HASH_BYTES } from './merkle-hash.ts';
import type { TileWrite } from './tile-appender.ts';
import type { TileReader } from './tile-hash-reader.ts';
import { TILE_WIDTH, type TileRef, tileAtSize, tilePath } from './tile-path.ts';
import { TlogError } from './tlog-errors.ts';

/**
 * Tiles addressed by their C2SP path. A tile at a path never changes once a checkpoint covering it
 * was published; writes beyond the published head (an append that crashed before its head moved)
 * may be overwritten by the next append.
 */
export interface TileStorage extends TileReader {
  /** The stored bytes of one tile, or undefined when it was never written. */
  readTile(tile: TileRef): Promise<Uint8Array | undefined>;
  /**
   * The bytes of entry `index` alone, where the storage can read one without its whole bundle and
   * without waiting (a local database: a proof made from cached hashes then needs no await);
   * undefined when it was never written. Asked only below the published head.
   */
  readEntry?(index: number): Uint8Array | undefined;
  /** Stores every write durably before resolving. */
  writeTiles(writes: readonly TileWrite[]): Promise<void>;
  /** Publishes the signed checkpoint text served at `<prefix>/checkpoint`. */
  writeCheckpoint(text: string): Promise<void>;
  readCheckpoint(): Promise<string | undefined>;
}

/**
 * Reads tiles one by one through `readTile`. A partial tile that is not stored (no checkpoint was
 * published at exactly that size) is cut from the full tile when that exists; anything else
 * missing is refused.
 * @throws TlogError TILE_INVALID.
 */
export async function readTilesOrFail(
  storage: Pick<TileStorage, 'readTile'>,
  tiles: readonly TileRef[],
): Promise<Uint8Array[]> {
  return Promise.all(
    tiles.map(async (tile) => {
      const bytes = await storage.readTile(tile);
      if (bytes) return bytes;
      const full =
        tile.width < TILE_WIDTH ? await storage.readTile({ ...tile, width: TILE_WIDTH }) : undefined;
      if (!full) throw new TlogError('TILE_INVALID', `${tilePath(tile)} is not stored`);
      return tile.level === 'entries'
        ? encodeEntryBundle(decodeEntryBundle(full, TILE_WIDTH).slice(0, tile.width))
        : full.subarray(0, tile.width * HASH_BYTES);
    }),
  );
}

/**
 * Reads tiles for any tree size up to `headSize` from the tiles stored for `headSize`: a tile's
 * first W hashes (or entries) are the same at every size that has at least W, so a proof at an
 * older size never needs that size's own partial tiles.
 */
export function tilesUpTo(storage: Pick<TileStorage, 'readTile'>, headSize: number): TileReader {
  return {
    async readTiles(tiles: readonly TileRef[]): Promise<Uint8Array[]> {
      const atHead = tiles.map((tile) => {
        const stored = tileAtSize(tile.level, tile.index, headSize);
        if (!stored || stored.width < tile.width)
          throw new TlogError('TILE_INVALID', `${tilePath(tile)} is beyond the log head ${headSize}`);
        return stored;
      });
      const answers = await readTilesOrFail(storage, atHead);
      return answers.map((bytes, i) => {
        const tile = tiles[i]!;
        if (atHead[i]!.width === tile.width) return bytes;
        return tile.level === 'entries'
          ? encodeEntryBundle(decodeEntryBundle(bytes, atHead[i]!.width).slice(0, tile.width))
          : bytes.subarray(0, tile.width * HASH_BYTES);
      });
    },
  };
}

export class MemoryTileStorage implements TileStorage {
  readonly #tiles = new Map<string, Uint8Array>();
  #checkpoint: string | undefined;

  async readTile(tile: TileRef): Promise<Uint8Array | undefined> {
    return this.#tiles.get(tilePath(tile));
  }

  readTiles(tiles: readonly TileRef[]): Promise<Uint8Array[]> {
    return readTilesOrFail(this, tiles);
  }

  async writeTiles(writes: readonly TileWrite[]): Promise<void> {
    for (const write of writes) this.#tiles.set(tilePath(write.tile), write.bytes);
  }

  async writeCheckpoint(text: string): Promise<void> {
    this.#checkpoint = text;
  }

  async readCheckpoint(): Promise<string | undefined> {
    return this.#checkpoint;
  }

  /** Every stored path and its bytes (tests build static mirrors from it). */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.#tiles.entries();
  }
}
