// The right edge of a Merkle tree as the hashes of its maximal complete subtrees (one per set bit
// of the size): enough to append leaves and compute the root, in O(log n) space. The monitor keeps
// one to check, entry by entry, that a log's new checkpoint extends the one it verified before.
import {
  decodeHash,
  EMPTY_TREE_ROOT,
  encodeHash,
  leafHash,
  type MerkleHash,
  nodeHash,
} from './merkle-hash.ts';
import { foldSubtreeHashes } from './merkle-proofs.ts';
import { TlogError } from './tlog-errors.ts';

export class CompactRange {
  #size: number;
  /** Subtree hashes from the largest (leftmost) to the smallest, and their levels. */
  readonly #hashes: MerkleHash[];
  readonly #levels: number[];

  private constructor(size: number, hashes: MerkleHash[], levels: number[]) {
    this.#size = size;
    this.#hashes = hashes;
    this.#levels = levels;
  }

  static empty(): CompactRange {
    return new CompactRange(0, [], []);
  }

  get size(): number {
    return this.#size;
  }

  appendEntry(entry: Uint8Array): void {
    this.appendLeafHash(leafHash(entry));
  }

  appendLeafHash(hash: MerkleHash): void {
    let merged = hash;
    let level = 0;
    // Merge while the smallest subtree is as high as the new one: binary addition of one.
    while (this.#levels.length > 0 && this.#levels[this.#levels.length - 1] === level) {
      merged = nodeHash(this.#hashes.pop()!, merged);
      this.#levels.pop();
      level++;
    }
    this.#hashes.push(merged);
    this.#levels.push(level);
    this.#size++;
  }

  root(): MerkleHash {
    return this.#hashes.length === 0 ? EMPTY_TREE_ROOT : foldSubtreeHashes(this.#hashes);
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.#size, hashes: this.#hashes.map(encodeHash) };
  }

  /** @throws TlogError PROOF_INVALID when the hashes do not fit the size (one per set bit). */
  static fromJSON(value: { size: number; hashes: readonly string[] }): CompactRange {
    const levels: number[] = [];
    for (let level = 52; level >= 0; level--)
      if (Math.floor(value.size / 2 ** level) % 2 === 1) levels.push(level);
    if (!Number.isSafeInteger(value.size) || value.size < 0 || levels.length !== value.hashes.length)
      throw new TlogError(
        'PROOF_INVALID',
        `a compact range of size ${value.size} needs ${levels.length} hashes`,
      );
    return new CompactRange(
      value.size,
      value.hashes.map((h, i) => decodeHash(h, `compact range hash ${i}`)),
      levels,
    );
  }
}
