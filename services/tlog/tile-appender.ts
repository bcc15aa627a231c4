// Grows a C2SP tiled Merkle tree: keeps only the right edge (the partial tile of each level and the
// partial entry bundle) and turns each batch of entries into the tiles to write and the new root.
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_BYTES } from './entry-bundle.ts';
import {
  assertTreeSize,
  EMPTY_TREE_ROOT,
  HASH_BYTES,
  type MerkleHash,
  nodeHash,
  writeLeafHash,
} from './merkle-hash.ts';
import { foldSubtreeHashes } from './merkle-proofs.ts';
import { splitHashTile, type TileReader } from './tile-hash-reader.ts';
import { hashCountAtTileLevel, TILE_WIDTH, type TileRef, tileAtSize } from './tile-path.ts';
import { TlogError } from './tlog-errors.ts';

export interface TileWrite {
  readonly tile: TileRef;
  readonly bytes: Uint8Array;
}

export interface AppendResult {
  /** The tree size after the batch. */
  readonly size: number;
  readonly root: MerkleHash;
  /**
   * Every tile and entry bundle that is new at this size: the full ones completed by the batch and
   * the partial ones (at their new widths) of the right edge. Writing them all before publishing a
   * checkpoint of `size` makes the tree servable at that size.
   */
  readonly writes: readonly TileWrite[];
}

/**
 * The rightmost, not yet full tile of one level: its hashes in one buffer, and the hashes of the
 * complete subtrees they make so far (largest first, one per set bit of the count). Each inner node
 * is hashed once, as its right child arrives; the tile's root is the last one standing when the
 * tile is full, and the tree's root folds these few subtrees instead of hashing the partial tiles
 * again for every batch.
 */
class PartialTile {
  bytes = Buffer.allocUnsafe(TILE_WIDTH * HASH_BYTES);
  count = 0;
  readonly subtrees: MerkleHash[] = [];

  /** The hash at `count` is written; merges it into the subtrees, as binary addition of one does. */
  added(): void {
    let merged: MerkleHash = this.bytes.subarray(this.count * HASH_BYTES, (this.count + 1) * HASH_BYTES);
    this.count++;
    for (let carry = this.count; carry % 2 === 0; carry /= 2) merged = nodeHash(this.subtrees.pop()!, merged);
    this.subtrees.push(merged);
  }

  /** Its hashes as bytes of their own (the buffer is written on by the next batch). */
  copy(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.count * HASH_BYTES));
  }
}

export interface TileAppenderOptions {
  /**
   * Whether the appender keeps the partial entry bundle and writes entry bundles (default true);
   * false for a storage that stores the entries itself (the coordinator's rows).
   */
  readonly entryBundles?: boolean;
}

/** @throws TlogError ENTRY_INVALID naming the first entry of `entries` over 65,535 bytes. */
export function assertEntrySizes(entries: readonly Uint8Array[]): void {
  entries.forEach((entry, i) => {
    if (entry.length > MAX_ENTRY_BYTES)
      throw new TlogError(
        'ENTRY_INVALID',
        `entry ${i} of the batch is ${entry.length} bytes, over ${MAX_ENTRY_BYTES}`,
      );
  });
}

export class TileAppender {
  #size: number;
  /** Per tile level, its partial tile. */
  readonly #edge: PartialTile[];
  /** The entries of the partial entry bundle (0-255); undefined when it writes no bundles. */
  #bundle: Uint8Array[] | undefined;

  private constructor(size: number, edge: PartialTile[], bundle: Uint8Array[] | undefined) {
    this.#size = size;
    this.#edge = edge;
    this.#bundle = bundle;
  }

  static empty(options: TileAppenderOptions = {}): TileAppender {
    return new TileAppender(0, [], options.entryBundles === false ? undefined : []);
  }

  /**
   * Picks up a tree of `size` leaves from its stored right edge: the partial tile of each level and
   * the partial entry bundle at that size (a reader may cut them from full tiles a crashed append
   * wrote further on: nothing beyond the stored head was published).
   * @throws TlogError TILE_INVALID when a tile the size needs is missing or malformed.
   */
  static async resume(
    size: number,
    tiles: TileReader,
    options: TileAppenderOptions = {},
  ): Promise<TileAppender> {
    const wanted = TileAppender.rightEdge(size, options);
    return TileAppender.fromRightEdge(size, wanted, await tiles.readTiles(wanted), options);
  }

  /** The tiles {@link fromRightEdge} needs to pick up a tree of `size` leaves. */
  static rightEdge(size: number, options: TileAppenderOptions = {}): TileRef[] {
    assertTreeSize(size, 'tree size');
    const wanted: TileRef[] = [];
    for (let level = 0; hashCountAtTileLevel(size, level) > 0; level++) {
      const count = hashCountAtTileLevel(size, level);
      if (count % TILE_WIDTH > 0)
        wanted.push({ level, index: Math.floor(count / TILE_WIDTH), width: count % TILE_WIDTH });
    }
    if (options.entryBundles !== false && size % TILE_WIDTH > 0)
      wanted.push({ level: 'entries', index: Math.floor(size / TILE_WIDTH), width: size % TILE_WIDTH });
    return wanted;
  }

  /**
   * An appender at `size` from the bytes of the tiles {@link rightEdge} named, in that order.
   * @throws TlogError TILE_INVALID when one is malformed.
   */
  static fromRightEdge(
    size: number,
    wanted: readonly TileRef[],
    answers: readonly Uint8Array[],
    options: TileAppenderOptions = {},
  ): TileAppender {
    assertTreeSize(size, 'tree size');
    const edge: PartialTile[] = [];
    for (let level = 0; hashCountAtTileLevel(size, level) > 0; level++) edge.push(new PartialTile());
    let bundle: Uint8Array[] | undefined = options.entryBundles === false ? undefined : [];
    wanted.forEach((tile, i) => {
      if (tile.level === 'entries') {
        bundle = decodeEntryBundle(answers[i]!, tile.width).map((entry) => Uint8Array.from(entry));
        return;
      }
      const partial = edge[tile.level]!;
      for (const hash of splitHashTile(tile, answers[i]!)) {
        partial.bytes.set(hash, partial.count * HASH_BYTES);
        partial.added();
      }
    });
    return new TileAppender(size, edge, bundle);
  }

  get size(): number {
    return this.#size;
  }

  /** The root hash of the tree as it stands. */
  root(): MerkleHash {
    const subtrees: MerkleHash[] = [];
    for (let level = this.#edge.length - 1; level >= 0; level--)
      subtrees.push(...this.#edge[level]!.subtrees);
    return subtrees.length === 0 ? EMPTY_TREE_ROOT : foldSubtreeHashes(subtrees);
  }

  /**
   * Appends `entries` (each at most 65,535 bytes) in order. The appender's state moves on even if
   * the caller then fails to store the writes: on failure, resume from storage instead of retrying.
   * @throws TlogError ENTRY_INVALID for an oversized entry (then nothing is appended).
   */
  append(entries: readonly Uint8Array[]): AppendResult {
    assertEntrySizes(entries);
    const writes: TileWrite[] = [];
    for (const entry of entries) {
      this.#size++;
      this.#bundle?.push(entry);
      if (this.#bundle?.length === TILE_WIDTH) {
        writes.push({
          tile: { level: 'entries', index: this.#size / TILE_WIDTH - 1, width: TILE_WIDTH },
          bytes: encodeEntryBundle(this.#bundle),
        });
        this.#bundle = [];
      }
      const leaves = this.#level(0);
      writeLeafHash(entry, leaves.bytes, leaves.count * HASH_BYTES);
      this.#added(0, writes);
    }
    this.#edge.forEach((partial, level) => {
      if (partial.count > 0)
        writes.push({
          tile: tileAtSize(
            level,
            Math.floor(hashCountAtTileLevel(this.#size, level) / TILE_WIDTH),
            this.#size,
          )!,
          bytes: partial.copy(),
        });
    });
    if (this.#bundle && this.#bundle.length > 0)
      writes.push({
        tile: tileAtSize('entries', Math.floor(this.#size / TILE_WIDTH), this.#size)!,
        bytes: encodeEntryBundle(this.#bundle),
      });
    return { size: this.#size, root: this.root(), writes };
  }

  #level(level: number): PartialTile {
    if (this.#edge.length === level) this.#edge.push(new PartialTile());
    return this.#edge[level]!;
  }

  /** A hash was written at the end of `level`'s partial tile; a full tile moves its root up. */
  #added(level: number, writes: TileWrite[]): void {
    const partial = this.#edge[level]!;
    partial.added();
    if (partial.count < TILE_WIDTH) return;
    const index = hashCountAtTileLevel(this.#size, level) / TILE_WIDTH - 1;
    writes.push({ tile: { level, index, width: TILE_WIDTH }, bytes: partial.bytes });
    const tileRoot = partial.subtrees[0]!;
    this.#edge[level] = new PartialTile();
    const above = this.#level(level + 1);
    above.bytes.set(tileRoot, above.count * HASH_BYTES);
    this.#added(level + 1, writes);
  }
}
