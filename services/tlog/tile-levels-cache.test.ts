// The proofs' tile cache: levels hashed as RFC 6962 says, bounded by bytes (least recently used out
// first), keyed so that a tile of another level, number or width is never served, and proofs made
// through it agree with the definitions at every tree size, whatever sizes it was filled at.
import { describe, expect, it } from 'vitest';
import type { MerkleHash } from './merkle-hash.ts';
import { verifyInclusion } from './merkle-proofs.ts';
import { completeSubtreeHash } from './tile-hash-reader.ts';
import { TileLevels, TileLevelsCache } from './tile-levels-cache.ts';
import type { TileRef } from './tile-path.ts';
import { MemoryTileStorage } from './tile-storage.ts';
import { newLogSigner } from './tlog-fixtures.ts';
import { entryBytes, NaiveMerkle, seededRandom } from './tlog-test-support.ts';
import { MemoryLogHeadStore, TransparencyLog } from './transparency-log.ts';

const ORIGIN = 'log.rbnet.example/cache';
const hex = (hash: MerkleHash) => Buffer.from(hash).toString('hex');
const hashes = (count: number, tag: string) =>
  NaiveMerkle.of(Array.from({ length: count }, (_, i) => entryBytes(i, tag))).leaves;
const tileOf = (level: number, index: number, width: number): TileRef => ({ level, index, width });
/** A full tile's levels: 511 hashes. */
const FULL_BYTES = 511 * 32;

describe('TileLevels', () => {
  it('hashes every complete subtree of a full and of a partial tile as RFC 6962 does', () => {
    for (const width of [256, 200, 1, 2, 3, 255]) {
      const leaves = hashes(width, `w${width}`);
      const levels = TileLevels.hash(Buffer.concat(leaves), width);
      for (let level = 0; 2 ** level <= width; level++)
        for (let i = 0; (i + 1) * 2 ** level <= width; i++)
          expect(hex(levels.hashAt(level, i)), `${width}: ${level}/${i}`).toBe(
            hex(completeSubtreeHash(leaves.slice(i * 2 ** level, (i + 1) * 2 ** level))),
          );
      // The odd last hash of a partial tile has no parent yet.
      const top = Math.floor(Math.log2(width));
      expect(() => levels.hashAt(top, 1)).toThrow(RangeError);
      if (width % 2 === 1 && width > 1) expect(() => levels.hashAt(1, (width - 1) / 2)).toThrow(RangeError);
    }
  });
});

describe('TileLevelsCache', () => {
  it('stays within its bytes and drops the least recently used tile first', () => {
    const cache = new TileLevelsCache(3 * FULL_BYTES);
    const bytes = Buffer.concat(hashes(256, 'lru'));
    for (const index of [0, 1, 2]) cache.put(tileOf(0, index, 256), bytes);
    expect(cache.bytes).toBe(3 * FULL_BYTES);
    expect(cache.get(tileOf(0, 0, 256))).toBeDefined(); // now the most recently used
    cache.put(tileOf(0, 3, 256), bytes);
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect(cache.get(tileOf(0, 1, 256))).toBeUndefined();
    for (const index of [0, 2, 3]) expect(cache.get(tileOf(0, index, 256)), `tile ${index}`).toBeDefined();
    // A tile larger than the whole cache is hashed for the caller and not kept.
    const tiny = new TileLevelsCache(100);
    expect(hex(tiny.put(tileOf(0, 0, 256), bytes).hashAt(8 - 1, 0))).toBe(
      hex(completeSubtreeHash(hashes(256, 'lru').slice(0, 128))),
    );
    expect(tiny.size).toBe(0);
    expect(tiny.bytes).toBe(0);
  });

  it('never answers for a tile of another level, number or width', () => {
    const cache = new TileLevelsCache(64 * FULL_BYTES);
    cache.put(tileOf(1, 4, 10), Buffer.concat(hashes(10, 'a')));
    expect(cache.get(tileOf(1, 4, 10))).toBeDefined();
    for (const other of [
      tileOf(1, 4, 11),
      tileOf(1, 4, 9),
      tileOf(1, 4, 256),
      tileOf(0, 4, 10),
      tileOf(2, 4, 10),
      tileOf(1, 5, 10),
    ])
      expect(cache.get(other), JSON.stringify(other)).toBeUndefined();
    // Past tile 2^40 the cache keys tiles by text rather than number: still one entry per tile.
    const far = 2 ** 40;
    cache.put(tileOf(0, far, 10), Buffer.concat(hashes(10, 'far')));
    expect(hex(cache.get(tileOf(0, far, 10))!.hashAt(0, 0))).toBe(hex(hashes(10, 'far')[0]!));
    for (const other of [tileOf(0, far + 1, 10), tileOf(0, far, 11), tileOf(1, far, 10), tileOf(0, 0, 10)])
      expect(cache.get(other), JSON.stringify(other)).toBeUndefined();
    // The same tile at a greater width is its own entry, with its own hashes.
    const wider = cache.put(tileOf(1, 4, 12), Buffer.concat(hashes(12, 'b')));
    expect(hex(cache.get(tileOf(1, 4, 10))!.hashAt(0, 0))).toBe(hex(hashes(10, 'a')[0]!));
    expect(hex(wider.hashAt(0, 0))).toBe(hex(hashes(12, 'b')[0]!));
  });

  it('makes each proof for the tree size asked, whatever sizes filled it (tiny cache: evicts all along)', async () => {
    const random = seededRandom(15);
    const entries = Array.from({ length: 70_000 }, (_, i) => entryBytes(i));
    const naive = NaiveMerkle.of(entries);
    for (const maxBytes of [2 * FULL_BYTES, 64 * 1024 * 1024]) {
      const log = await TransparencyLog.open({
        origin: ORIGIN,
        signer: newLogSigner(ORIGIN),
        tiles: new MemoryTileStorage(),
        heads: new MemoryLogHeadStore(),
        tileCacheMaxBytes: maxBytes,
      });
      const sizes: number[] = [];
      for (let size = 0; size < entries.length; ) {
        const batch = Math.min(entries.length - size, 1 + random.int(9000));
        await log.append(entries.slice(size, size + batch));
        size += batch;
        sizes.push(size);
        // Proofs at this size and at older ones, in random order, through one cache.
        for (let n = 0; n < 40; n++) {
          const at = sizes[random.int(sizes.length)]!;
          const index = random.int(at);
          const proof = await log.inclusionProof(index, at);
          verifyInclusion(index, at, naive.leaves[index]!, proof, naive.mth(0, at));
        }
      }
    }
  });
});
