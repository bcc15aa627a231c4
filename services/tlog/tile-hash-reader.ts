// Reads the hash of any complete subtree of a tree from its C2SP hash tiles: level L lives in tile
// level floor(L/8); the 1-7 levels between tile levels are rehashed from the tile's hashes.
import { HASH_BYTES, type MerkleHash, nodeHash } from './merkle-hash.ts';
import type { SubtreeHashReader, SubtreeRef } from './merkle-proofs.ts';
import { TileLevels, type TileLevelsCache, tileLevelsKey } from './tile-levels-cache.ts';
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
      const spans = refs.map((ref) => {
        if ((ref.index + 1) * 2 ** ref.level > size)
          throw new TlogError(
            'PROOF_INVALID',
            `subtree ${ref.level}/${ref.index} is not complete in a tree of size ${size}`,
          );
        const tileLevel = Math.floor(ref.level / TILE_HEIGHT);
        const inner = ref.level - tileLevel * TILE_HEIGHT;
        const first = ref.index * 2 ** inner;
        const tile = tileAtSize(tileLevel, Math.floor(first / TILE_WIDTH), size)!;
        return { tile, key: tileLevelsKey(tile), inner, offset: first % TILE_WIDTH };
      });
      // Each tile once: from the cache, or read (those the cache does not hold, in one call).
      const known = new Map<string, TileLevels | MerkleHash[]>();
      const missing: TileRef[] = [];
      for (const span of spans) {
        if (known.has(span.key)) continue;
        const levels = cache?.get(span.tile);
        if (levels) known.set(span.key, levels);
        else {
          known.set(span.key, []);
          missing.push(span.tile);
        }
      }
      if (missing.length > 0) {
        const answers = await tiles.readTiles(missing);
        missing.forEach((tile, i) => {
          const hashes = splitHashTile(tile, answers[i]!);
          known.set(tileLevelsKey(tile), cache ? cache.put(tile, answers[i]!) : hashes);
        });
      }
      return spans.map(({ key, inner, offset }) => {
        const levels = known.get(key)!;
        const count = 2 ** inner;
        if (levels instanceof TileLevels) return levels.hashAt(inner, offset / count);
        return completeSubtreeHash(levels.slice(offset, offset + count));
      });
    },
  };
}
