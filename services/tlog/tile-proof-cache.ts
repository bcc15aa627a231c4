// Inclusion proofs of entries in full level-0 tiles, made from two cached parts: the 8 siblings
// inside the entry's tile (from the tile's cached levels) and the rest of the path, which is the
// same for all 256 entries of that tile at one tree size (the tile is a node of the tree: RFC 6962's
// recursion never splits an aligned complete subtree). The second part is kept per tree size and
// tile, so a proof is never made from a part computed for another size. The text of a proof after
// the in-tile hashes (the rest of the path and the checkpoint) is kept per checkpoint note likewise.
import { base64Length } from './base64-writer.ts';
import { HASH_BYTES, type MerkleHash } from './merkle-hash.ts';
import type { TileLevels } from './tile-levels-cache.ts';
import { TILE_HEIGHT } from './tile-path.ts';

/** The siblings of entry `offset` (0-255) inside its full tile, from the leaf's sibling up. */
export function siblingsInTile(levels: TileLevels, offset: number): MerkleHash[] {
  const siblings: MerkleHash[] = [];
  for (let level = 0; level < TILE_HEIGHT; level++)
    siblings.push(levels.hashAt(level, Math.floor(offset / 2 ** level) ^ 1));
  return siblings;
}

/** The bytes of {@link writeSiblingLinesInTile}'s lines: 8 hashes in base64, each led by a newline. */
export const SIBLING_LINES_BYTES = TILE_HEIGHT * (1 + base64Length(HASH_BYTES));

/**
 * Writes {@link siblingsInTile} as the proof's lines (each hash in base64, led by its newline) into
 * `out` at `at`; @returns where they end ({@link SIBLING_LINES_BYTES} later).
 */
export function writeSiblingLinesInTile(
  levels: TileLevels,
  offset: number,
  out: Uint8Array,
  at: number,
): number {
  for (let level = 0; level < TILE_HEIGHT; level++) {
    out[at] = 0x0a;
    at = levels.writeBase64At(level, (offset >>> level) ^ 1, out, at + 1);
  }
  return at;
}

/** The proof path above each full level-0 tile, by tree size and tile; emptied when full. */
export class TilePathCache {
  readonly #paths = new Map<string, readonly MerkleHash[]>();

  constructor(readonly maxPaths = 16_384) {}

  get(size: number, tileIndex: number): readonly MerkleHash[] | undefined {
    return this.#paths.get(`${size}/${tileIndex}`);
  }

  /** Keeps a copy of `path` (never views into buffers it would keep alive). */
  set(size: number, tileIndex: number, path: readonly MerkleHash[]): void {
    if (this.#paths.size >= this.maxPaths) this.#paths.clear();
    const bytes = Buffer.concat(path);
    this.#paths.set(
      `${size}/${tileIndex}`,
      path.map((_, i) => bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)),
    );
  }
}

/**
 * The text of a tlog-proof (as UTF-8 bytes, which is how it is served) after the 8 in-tile hashes of an entry in a full level-0 tile (the path
 * above the tile, the blank line, the checkpoint), by tile, for one checkpoint note at a time: a
 * proof under another note (so possibly another tree size) empties it first, so a tail is never
 * joined to a proof under any note but its own. Emptied when full.
 */
export class ProofTailCache {
  #note: string | undefined;
  readonly #tails = new Map<number, Buffer>();

  constructor(readonly maxTails = 16_384) {}

  get(note: string, tileIndex: number): Buffer | undefined {
    return note === this.#note ? this.#tails.get(tileIndex) : undefined;
  }

  set(note: string, tileIndex: number, tail: string): void {
    if (note !== this.#note || this.#tails.size >= this.maxTails) {
      this.#tails.clear();
      this.#note = note;
    }
    this.#tails.set(tileIndex, Buffer.from(tail, 'utf8'));
  }
}
