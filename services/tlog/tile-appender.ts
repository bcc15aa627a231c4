// Grows a C2SP tiled Merkle tree: keeps only the right edge (the partial tile of each level and the
// partial entry bundle) and turns each batch of entries into the tiles to write and the new root.
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_BYTES } from './entry-bundle.ts';
import { assertTreeSize, EMPTY_TREE_ROOT, leafHash, type MerkleHash } from './merkle-hash.ts';
import { foldSubtreeHashes } from './merkle-proofs.ts';
import { completeSubtreeHash, splitHashTile, type TileReader } from './tile-hash-reader.ts';
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

export class TileAppender {
  #size: number;
  /** Per tile level, the hashes of its rightmost, not yet full tile (0-255 of them). */
  readonly #edge: MerkleHash[][];
  /** The entries of the partial entry bundle (0-255). */
  #bundle: Uint8Array[];

  private constructor(size: number, edge: MerkleHash[][], bundle: Uint8Array[]) {
    this.#size = size;
    this.#edge = edge;
    this.#bundle = bundle;
  }

  static empty(): TileAppender {
    return new TileAppender(0, [], []);
  }

  /**
   * Picks up a tree of `size` leaves from its stored right edge: the partial tile of each level and
   * the partial entry bundle at that size (a reader may cut them from full tiles a crashed append
   * wrote further on: nothing beyond the stored head was published).
   * @throws TlogError TILE_INVALID when a tile the size needs is missing or malformed.
   */
  static async resume(size: number, tiles: TileReader): Promise<TileAppender> {
    assertTreeSize(size, 'tree size');
    const edge: MerkleHash[][] = [];
    const wanted: TileRef[] = [];
    for (let level = 0; hashCountAtTileLevel(size, level) > 0; level++) {
      const count = hashCountAtTileLevel(size, level);
      edge.push([]);
      if (count % TILE_WIDTH > 0)
        wanted.push({ level, index: Math.floor(count / TILE_WIDTH), width: count % TILE_WIDTH });
    }
    if (size % TILE_WIDTH > 0)
      wanted.push({ level: 'entries', index: Math.floor(size / TILE_WIDTH), width: size % TILE_WIDTH });
    const answers = await tiles.readTiles(wanted);
    let bundle: Uint8Array[] = [];
    wanted.forEach((tile, i) => {
      if (tile.level === 'entries')
        bundle = decodeEntryBundle(answers[i]!, tile.width).map((entry) => Uint8Array.from(entry));
      else edge[tile.level] = splitHashTile(tile, answers[i]!).map((hash) => Uint8Array.from(hash));
    });
    return new TileAppender(size, edge, bundle);
  }

  get size(): number {
    return this.#size;
  }

  /** The root hash of the tree as it stands. */
  root(): MerkleHash {
    const subtrees: MerkleHash[] = [];
    for (let level = this.#edge.length - 1; level >= 0; level--) {
      const hashes = this.#edge[level]!;
      let offset = 0;
      for (let span = TILE_WIDTH / 2; span >= 1; span /= 2) {
        if (hashes.length - offset >= span) {
          subtrees.push(completeSubtreeHash(hashes.slice(offset, offset + span)));
          offset += span;
        }
      }
    }
    return subtrees.length === 0 ? EMPTY_TREE_ROOT : foldSubtreeHashes(subtrees);
  }

  /**
   * Appends `entries` (each at most 65,535 bytes) in order. The appender's state moves on even if
   * the caller then fails to store the writes: on failure, resume from storage instead of retrying.
   * @throws TlogError ENTRY_INVALID for an oversized entry (then nothing is appended).
   */
  append(entries: readonly Uint8Array[]): AppendResult {
    entries.forEach((entry, i) => {
      if (entry.length > MAX_ENTRY_BYTES)
        throw new TlogError(
          'ENTRY_INVALID',
          `entry ${i} of the batch is ${entry.length} bytes, over ${MAX_ENTRY_BYTES}`,
        );
    });
    const writes: TileWrite[] = [];
    for (const entry of entries) {
      this.#size++;
      this.#bundle.push(entry);
      if (this.#bundle.length === TILE_WIDTH) {
        writes.push({
          tile: { level: 'entries', index: this.#size / TILE_WIDTH - 1, width: TILE_WIDTH },
          bytes: encodeEntryBundle(this.#bundle),
        });
        this.#bundle = [];
      }
      this.#push(0, leafHash(entry), writes);
    }
    for (let level = 0; level < this.#edge.length; level++) {
      const hashes = this.#edge[level]!;
      if (hashes.length > 0)
        writes.push({
          tile: tileAtSize(
            level,
            Math.floor(hashCountAtTileLevel(this.#size, level) / TILE_WIDTH),
            this.#size,
          )!,
          bytes: Buffer.concat(hashes),
        });
    }
    if (this.#bundle.length > 0)
      writes.push({
        tile: tileAtSize('entries', Math.floor(this.#size / TILE_WIDTH), this.#size)!,
        bytes: encodeEntryBundle(this.#bundle),
      });
    return { size: this.#size, root: this.root(), writes };
  }

  #push(level: number, hash: MerkleHash, writes: TileWrite[]): void {
    if (this.#edge.length === level) this.#edge.push([]);
    const hashes = this.#edge[level]!;
    hashes.push(hash);
    if (hashes.length < TILE_WIDTH) return;
    const index = hashCountAtTileLevel(this.#size, level) / TILE_WIDTH - 1;
    writes.push({ tile: { level, index, width: TILE_WIDTH }, bytes: Buffer.concat(hashes) });
    this.#edge[level] = [];
    this.#push(level + 1, completeSubtreeHash(hashes), writes);
  }
}
