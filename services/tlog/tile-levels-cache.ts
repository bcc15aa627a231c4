// A bounded cache of hash tiles with the levels inside each tile hashed once: answering a proof
// from it is a few lookups instead of a tile read and up to 255 hashes per tile level.
import { writeBase64 } from './base64-writer.ts';
import { HASH_BYTES, type MerkleHash, nodeHash } from './merkle-hash.ts';
import type { TileRef } from './tile-path.ts';

/** The cache key of a hash tile: its level, number and width (a tile at a width never changes). */
export function tileLevelsKey(tile: TileRef): string {
  return `${tile.level}/${tile.index}/${tile.width}`;
}

/**
 * The 8 levels inside one hash tile, in one buffer: level k holds floor(width / 2^k) hashes (a
 * partial tile's odd last hash has no pair yet: only complete subtrees are ever asked for).
 */
export class TileLevels {
  readonly #bytes: Buffer;
  readonly #offsets: readonly number[];

  private constructor(bytes: Buffer, offsets: readonly number[]) {
    this.#bytes = bytes;
    this.#offsets = offsets;
  }

  /** Hashes the levels of a tile of `width` hashes (`tileBytes`: width·32 bytes, checked by the caller). */
  static hash(tileBytes: Uint8Array, width: number): TileLevels {
    const offsets: number[] = [0];
    let total = width;
    for (let count = width; count > 1; ) {
      count = Math.floor(count / 2);
      offsets.push(total);
      total += count;
    }
    const bytes = Buffer.alloc(total * HASH_BYTES);
    bytes.set(tileBytes.subarray(0, width * HASH_BYTES));
    for (let level = 1; level < offsets.length; level++) {
      const below = offsets[level - 1]!;
      const at = offsets[level]!;
      const count = (offsets[level + 1] ?? total) - at;
      for (let i = 0; i < count; i++) {
        const left = bytes.subarray((below + 2 * i) * HASH_BYTES, (below + 2 * i + 1) * HASH_BYTES);
        const right = bytes.subarray((below + 2 * i + 1) * HASH_BYTES, (below + 2 * i + 2) * HASH_BYTES);
        bytes.set(nodeHash(left, right), (at + i) * HASH_BYTES);
      }
    }
    return new TileLevels(bytes, offsets);
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /**
   * The hash of the complete subtree `index` at `level` (0…8) inside the tile: a view, never to be
   * written to. @throws RangeError when the tile does not hold it.
   */
  hashAt(level: number, index: number): MerkleHash {
    const start = this.#startOf(level, index);
    return this.#bytes.subarray(start, start + HASH_BYTES);
  }

  /**
   * Writes {@link hashAt}'s hash as base64 into `out` at `at`, straight from the levels' buffer (no
   * view, no string); @returns where the text ends.
   */
  writeBase64At(level: number, index: number, out: Uint8Array, at: number): number {
    const start = this.#startOf(level, index);
    return writeBase64(this.#bytes, start, start + HASH_BYTES, out, at);
  }

  /** Where subtree `index` at `level` starts in the buffer. @throws RangeError when not held. */
  #startOf(level: number, index: number): number {
    const at = this.#offsets[level];
    const end = this.#offsets[level + 1] ?? this.#bytes.length / HASH_BYTES;
    if (at === undefined || index < 0 || at + index >= end)
      throw new RangeError(`subtree ${level}/${index} is not complete in this tile`);
    return (at + index) * HASH_BYTES;
  }
}

/** A tile's levels in the cache, and whether a proof used them since the last eviction pass. */
interface HeldLevels {
  readonly levels: TileLevels;
  used: boolean;
}

/**
 * The cache's own key of a tile: a number while it is exact (tile numbers below 2^40, logs of up to
 * 2^48 entries), since building and hashing a string per proof was a visible part of a proof's cost;
 * {@link tileLevelsKey} beyond that.
 */
function heldKey(tile: TileRef): number | string {
  return tile.index < 2 ** 40 && typeof tile.level === 'number'
    ? tile.index * 4096 + tile.level * 256 + (tile.width - 1)
    : tileLevelsKey(tile);
}

/**
 * Tiles' levels, bounded by `maxBytes`: when full, the oldest tiles not used since they were last
 * passed over go first (a second chance, close to least-recently-used without moving a tile on
 * every hit).
 */
export class TileLevelsCache {
  readonly #entries = new Map<number | string, HeldLevels>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held (the levels' buffers). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(tile: TileRef): TileLevels | undefined {
    const held = this.#entries.get(heldKey(tile));
    if (held === undefined) return undefined;
    held.used = true;
    return held.levels;
  }

  /** Hashes `tileBytes` (the tile `tile`) into levels and keeps them while they fit. */
  put(tile: TileRef, tileBytes: Uint8Array): TileLevels {
    const key = heldKey(tile);
    const levels = TileLevels.hash(tileBytes, tile.width);
    const known = this.#entries.get(key);
    if (known) {
      this.#entries.delete(key);
      this.#bytes -= known.levels.byteLength;
    }
    if (levels.byteLength > this.maxBytes) return levels;
    this.#entries.set(key, { levels, used: false });
    this.#bytes += levels.byteLength;
    // Map order is insertion order: the oldest first. A used tile is moved to the end once, unused.
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldKey);
      if (old.used) {
        old.used = false;
        this.#entries.set(oldKey, old);
      } else this.#bytes -= old.levels.byteLength;
    }
    return levels;
  }
}
