// Property tests of the Merkle core against the RFC 6962 definitions: every tree size up to 3,000,
// seeded sample indexes and old sizes, exhaustive below 65, and tampering of every kind refused.
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE_ROOT, leafHash, type MerkleHash, nodeHash } from './merkle-hash.ts';
import {
  planConsistencyProof,
  planInclusionProof,
  proveConsistency,
  proveInclusion,
  rootFromInclusionProof,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from './merkle-proofs.ts';
import { entryBytes, NaiveMerkle, seededRandom, tlogErrorCode } from './tlog-test-support.ts';

const MAX_SIZE = 3000;
const entries = Array.from({ length: MAX_SIZE }, (_, i) => entryBytes(i));
const naive = NaiveMerkle.of(entries);
const reader = naive.reader();

/** Hex strings compare far faster than Buffers in expect().toEqual. */
const hex = (hashes: readonly MerkleHash[]) => hashes.map((h) => Buffer.from(h).toString('hex'));

function flipped(hash: MerkleHash): MerkleHash {
  const copy = Buffer.from(hash);
  copy[7] = copy[7]! ^ 0x20;
  return copy;
}

/** Indexes (or old sizes) to try in a tree of `size`: both ends and a few seeded ones. */
function samples(size: number, low: number, random: ReturnType<typeof seededRandom>): number[] {
  if (size < 65) return Array.from({ length: size - low + 1 }, (_, i) => low + i);
  return [
    ...new Set([low, size - 1, size, ...Array.from({ length: 4 }, () => low + random.int(size - low))]),
  ].filter((v) => v >= low && v <= size);
}

describe('Merkle tree hashing', () => {
  it('uses RFC 6962 domain separation: leaf 0x00, node 0x01, and SHA-256("") for the empty tree', () => {
    expect(Buffer.from(EMPTY_TREE_ROOT).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    // Known vector: the leaf hash of the empty entry (RFC 6962 test data).
    expect(Buffer.from(leafHash(new Uint8Array())).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    expect(nodeHash(a, b)).not.toEqual(nodeHash(b, a));
  });

  it('computes the root of every tree size from 1 to 3,000 as RFC 6962 defines it', async () => {
    expect(await treeRoot(0, reader)).toEqual(EMPTY_TREE_ROOT);
    for (let size = 1; size <= MAX_SIZE; size++)
      expect(hex([await treeRoot(size, reader)])).toEqual(hex([naive.mth(0, size)]));
  });
});

describe('inclusion proofs', () => {
  it('equal PATH(m, D[n]) and verify, for every size up to 3,000 (all indexes below 65)', async () => {
    const random = seededRandom(15);
    for (let size = 1; size <= MAX_SIZE; size++) {
      const root = naive.mth(0, size);
      for (const index of samples(size, 0, random).filter((i) => i < size)) {
        const proof = await proveInclusion(index, size, reader);
        expect(hex(proof)).toEqual(hex(naive.path(index, 0, size)));
        verifyInclusion(index, size, naive.leaves[index]!, proof, root);
      }
    }
  });

  it('refuse a rewritten entry, a wrong index, a changed proof hash, a cut or padded proof, a wrong size', async () => {
    const random = seededRandom(1515);
    for (let round = 0; round < 400; round++) {
      const size = 2 + random.int(MAX_SIZE - 1);
      const index = random.int(size);
      const root = naive.mth(0, size);
      const leaf = naive.leaves[index]!;
      const proof = await proveInclusion(index, size, reader);
      expect(
        tlogErrorCode(() =>
          verifyInclusion(index, size, leafHash(Buffer.from(`rewritten ${index}`)), proof, root),
        ),
      ).toBe('PROOF_INVALID');
      const other = (index + 1 + random.int(size - 1)) % size;
      expect(tlogErrorCode(() => verifyInclusion(other, size, leaf, proof, root))).toBe('PROOF_INVALID');
      const at = random.int(proof.length);
      const tampered = proof.map((h, i) => (i === at ? flipped(h) : h));
      expect(tlogErrorCode(() => verifyInclusion(index, size, leaf, tampered, root))).toBe('PROOF_INVALID');
      expect(tlogErrorCode(() => verifyInclusion(index, size, leaf, proof.slice(0, -1), root))).toBe(
        'PROOF_INVALID',
      );
      expect(tlogErrorCode(() => verifyInclusion(index, size, leaf, [...proof, proof[0]!], root))).toBe(
        'PROOF_INVALID',
      );
      expect(tlogErrorCode(() => verifyInclusion(index, size + 1, leaf, proof, naive.mth(0, size + 1)))).toBe(
        'PROOF_INVALID',
      );
    }
  });

  it('refuse an index at or past the size, and hashes that are not 32 bytes', () => {
    expect(() => planInclusionProof(5, 5)).toThrow(/not below tree size/);
    expect(rootFromInclusionProof(5, 5, naive.leaves[0]!, [])).toBeUndefined();
    expect(
      tlogErrorCode(() => verifyInclusion(0, 2, naive.leaves[0]!, [new Uint8Array(31)], naive.mth(0, 2))),
    ).toBe('PROOF_INVALID');
    // A tree of one leaf: its root is the leaf hash and the proof is empty.
    verifyInclusion(0, 1, naive.leaves[0]!, [], naive.leaves[0]!);
  });
});

describe('consistency proofs', () => {
  it('equal PROOF(m, D[n]) and verify, for every size up to 3,000 (all old sizes below 65)', async () => {
    const random = seededRandom(9162);
    for (let size = 1; size <= MAX_SIZE; size++) {
      for (const old of samples(size, 1, random)) {
        const proof = await proveConsistency(old, size, reader);
        expect(hex(proof)).toEqual(hex(old === size ? [] : naive.proof(old, size)));
        verifyConsistency(old, size, naive.mth(0, old), naive.mth(0, size), proof);
      }
    }
  });

  it('detect a reordered history, a rewritten entry, a forked head and a tampered proof', async () => {
    const random = seededRandom(6962);
    for (let round = 0; round < 120; round++) {
      const size = 3 + random.int(MAX_SIZE - 3);
      const old = 2 + random.int(size - 2);
      const oldRoot = naive.mth(0, old);
      // The log's later tree, rewritten: two entries before `old` swapped, or one entry changed.
      const i = random.int(old);
      const j = (i + 1 + random.int(old - 1)) % old;
      const reordered = entries.slice(0, size);
      [reordered[i], reordered[j]] = [reordered[j]!, reordered[i]!];
      const rewritten = entries.slice(0, size);
      rewritten[i] = entryBytes(i, 'rewritten');
      for (const history of [reordered, rewritten]) {
        const forged = NaiveMerkle.of(history);
        const proof = await proveConsistency(old, size, forged.reader());
        expect(tlogErrorCode(() => verifyConsistency(old, size, oldRoot, forged.mth(0, size), proof))).toBe(
          'PROOF_INVALID',
        );
      }
      // A fork: another root for the same size, and no proof can join them.
      const fork = NaiveMerkle.of(rewritten).mth(0, old);
      expect(tlogErrorCode(() => verifyConsistency(old, old, oldRoot, fork, []))).toBe('LOG_INCONSISTENT');
      const honest = await proveConsistency(old, size, reader);
      const at = random.int(honest.length);
      const tampered = honest.map((h, k) => (k === at ? flipped(h) : h));
      expect(tlogErrorCode(() => verifyConsistency(old, size, oldRoot, naive.mth(0, size), tampered))).toBe(
        'PROOF_INVALID',
      );
      expect(tlogErrorCode(() => verifyConsistency(old, size, fork, naive.mth(0, size), honest))).toBe(
        'PROOF_INVALID',
      );
    }
  });

  it('treats size 0 as consistent with anything (empty proof only), and refuses a tree that shrank', () => {
    verifyConsistency(0, 10, EMPTY_TREE_ROOT, naive.mth(0, 10), []);
    expect(
      tlogErrorCode(() => verifyConsistency(0, 10, EMPTY_TREE_ROOT, naive.mth(0, 10), [naive.leaves[0]!])),
    ).toBe('PROOF_INVALID');
    expect(tlogErrorCode(() => verifyConsistency(10, 9, naive.mth(0, 10), naive.mth(0, 9), []))).toBe(
      'LOG_INCONSISTENT',
    );
    expect(tlogErrorCode(() => verifyConsistency(4, 8, naive.mth(0, 4), naive.mth(0, 8), []))).toBe(
      'PROOF_INVALID',
    );
    expect(planConsistencyProof(7, 7)).toEqual([]);
  });
});
