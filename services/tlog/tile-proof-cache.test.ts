// Proofs from cached parts: the siblings inside a tile are the first 8 hashes of the path, and the
// path above a tile is reused only at the tree size it was computed for.
import { describe, expect, it } from 'vitest';
import type { MerkleHash } from './merkle-hash.ts';
import { verifyInclusion } from './merkle-proofs.ts';
import { TileLevels } from './tile-levels-cache.ts';
import {
  SIBLING_LINES_BYTES,
  siblingsInTile,
  TilePathCache,
  writeSiblingLinesInTile,
} from './tile-proof-cache.ts';
import { MemoryTileStorage } from './tile-storage.ts';
import { newLogSigner } from './tlog-fixtures.ts';
import { entryBytes, NaiveMerkle } from './tlog-test-support.ts';
import { MemoryLogHeadStore, TransparencyLog } from './transparency-log.ts';

const ORIGIN = 'log.rbnet.example/paths';
const hex = (hashes: readonly MerkleHash[]) => hashes.map((h) => Buffer.from(h).toString('hex'));
const entries = Array.from({ length: 3000 }, (_, i) => entryBytes(i));
const naive = NaiveMerkle.of(entries);

describe('siblingsInTile', () => {
  it('gives the first 8 hashes of every entry’s inclusion proof', async () => {
    const log = await TransparencyLog.open({
      origin: ORIGIN,
      signer: newLogSigner(ORIGIN),
      tiles: new MemoryTileStorage(),
      heads: new MemoryLogHeadStore(),
    });
    await log.append(entries.slice(0, 600));
    const levels = TileLevels.hash(Buffer.concat(naive.leaves.slice(256, 512)), 256);
    for (const offset of [0, 1, 2, 127, 128, 200, 255]) {
      const proof = await log.inclusionProof(256 + offset, 600);
      expect(hex(siblingsInTile(levels, offset)), `offset ${offset}`).toEqual(hex(proof.slice(0, 8)));
      const lines = Buffer.alloc(SIBLING_LINES_BYTES + 2);
      expect(writeSiblingLinesInTile(levels, offset, lines, 1)).toBe(1 + SIBLING_LINES_BYTES);
      expect(lines.subarray(1, 1 + SIBLING_LINES_BYTES).toString('latin1')).toBe(
        proof
          .slice(0, 8)
          .map((hash) => `\n${Buffer.from(hash).toString('base64')}`)
          .join(''),
      );
    }
  });
});

describe('TilePathCache', () => {
  it('answers only for the tree size and tile a path was kept for, and stays bounded', () => {
    const cache = new TilePathCache(2);
    cache.set(1000, 3, [naive.leaves[0]!]);
    expect(cache.get(1000, 3)).toBeDefined();
    expect(cache.get(1001, 3)).toBeUndefined();
    expect(cache.get(1000, 2)).toBeUndefined();
    cache.set(1000, 4, [naive.leaves[1]!]);
    cache.set(1000, 5, [naive.leaves[2]!]);
    expect(cache.get(1000, 3)).toBeUndefined();
    expect(hex(cache.get(1000, 5)!)).toEqual(hex([naive.leaves[2]!]));
  });

  it('never proves an entry against a tree size its cached path was not made for', async () => {
    const log = await TransparencyLog.open({
      origin: ORIGIN,
      signer: newLogSigner(ORIGIN),
      tiles: new MemoryTileStorage(),
      heads: new MemoryLogHeadStore(),
    });
    const sizes = [300, 1000, 1024, 2999, 3000];
    let appended = 0;
    for (const size of sizes) {
      await log.append(entries.slice(appended, size));
      appended = size;
      // The same tiles at every size so far, in both orders: each proof must lead to its size's root.
      for (const at of [...sizes.filter((s) => s <= size), ...sizes.filter((s) => s <= size).reverse()])
        for (const index of [0, 5, 255, 256, 299])
          verifyInclusion(
            index,
            at,
            naive.leaves[index]!,
            await log.inclusionProof(index, at),
            naive.mth(0, at),
          );
    }
  });
});
