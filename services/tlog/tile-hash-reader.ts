// Reads the hash of any complete subtree of a tree from its C2SP hash tiles: level L lives in tile
// level floor(L/8); the 1-7 levels between tile levels are rehashed from the tile's hashes.
import { HASH_BYTES, type MerkleHash, nodeHash } from './merkle-hash.ts';
import type { SubtreeHashReader, SubtreeRef } from './merkle-proofs.ts';
import { TILE_HEIGHT, TILE_WIDTH, type TileRef, tileAtSize, tilePath } from './tile-path.ts';
import { TlogError } from './tlog-errors.ts';

/** Reads tiles by coordinate; an answer for every tile asked, in order (absent ones throw). */
export interface TileReader {
  readTiles(tiles: readonly TileRef[]): Promise<readonly Uint8Array[]>;
}

/** MTH of a power-of-two run of hashes (a complete subtree). */
export function completeSubtreeHash(hashes: readonly MerkleHash[]): MerkleHash {
  let row = hashes;
  while (row.length > 1) {
    const next: MerkleHash[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

/** The hashes of a hash tile's bytes. @throws TlogError TILE_INVALID when the length is not width·32. */
export function splitHashTile(tile: TileRef, bytes: Uint8Array): MerkleHash[] {
  if (bytes.length !== tile.width * HASH_BYTES)
    throw new TlogError(
      'TILE_INVALID',
      `${tilePath(tile)}: ${bytes.length} bytes where ${tile.width * HASH_BYTES} were expected`,
    );
  const hashes: MerkleHash[] = [];
  for (let at = 0; at < bytes.length; at += HASH_BYTES) hashes.push(bytes.subarray(at, at + HASH_BYTES));
  return hashes;
}

/**
 * The hashes of the 8 levels inside a tile, by path (level k: width/2^k hashes). A tile at a given
 * width never changes (its path names the width), so these never go stale; rehashing them is most of what a proof costs (255 hashes per
 * tile level), and a cache makes a proof a few lookups. Bounded by `maxTiles` (oldest dropped first).
 */
export class TileLevelsCache {
  readonly #levels = new Map<string, MerkleHash[][]>();
  constructor(readonly maxTiles: number) {}

  levelsOf(key: string, hashes: readonly MerkleHash[]): MerkleHash[][] {
    const known = this.#levels.get(key);
    if (known) return known;
    const levels: MerkleHash[][] = [[...hashes]];
    while (levels.at(-1)!.length > 1) {
      const row = levels.at(-1)!;
      const next: MerkleHash[] = [];
      // A partial tile's odd last hash has no pair yet: only complete subtrees are ever asked for.
      for (let i = 0; i + 1 < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
      levels.push(next);
    }
    if (this.#levels.size >= this.maxTiles) this.#levels.delete(this.#levels.keys().next().value!);
    this.#levels.set(key, levels);
    return levels;
  }
}

/**
 * A SubtreeHashReader over the tiles of the tree of `size` leaves. Tiles are not trusted here: a
 * wrong tile gives a wrong hash, and the proof built from it fails verification. With `cache`, the
 * inner levels of each tile are hashed once.
 */
export function tileSubtreeReader(
  size: number,
  tiles: TileReader,
  cache?: TileLevelsCache,
): SubtreeHashReader {
  return {
    async readSubtreeHashes(refs: readonly SubtreeRef[]): Promise<MerkleHash[]> {
      const wanted = new Map<string, TileRef>();
      const spans = refs.map((ref) => {
        if ((ref.index + 1) * 2 ** ref.level > size)
          throw new TlogError(
            'PROOF_INVALID',
            `subtree ${ref.level}/${ref.index} is not complete in a tree of size ${size}`,
          );
        const tileLevel = Math.floor(ref.level / TILE_HEIGHT);
        const count = 2 ** (ref.level - tileLevel * TILE_HEIGHT);
        const first = ref.index * count;
        const tile = tileAtSize(tileLevel, Math.floor(first / TILE_WIDTH), size)!;
        const key = tilePath(tile);
        wanted.set(key, tile);
        return { key, offset: first % TILE_WIDTH, count };
      });
      const list = [...wanted.values()];
      const answers = await tiles.readTiles(list);
      const byPath = new Map(list.map((tile, i) => [tilePath(tile), splitHashTile(tile, answers[i]!)]));
      return spans.map(({ key, offset, count }) => {
        const hashes = byPath.get(key)!;
        if (cache) return cache.levelsOf(key, hashes)[Math.log2(count)]![offset / count]!;
        return completeSubtreeHash(hashes.slice(offset, offset + count));
      });
    },
  };
}
