// Test support for the transparency-log core: a seeded random source (no fast-check here) and the
// RFC 6962 definitions written as literally as the RFC states them, as the oracle our code must match.
import { leafHash, type MerkleHash, nodeHash } from './merkle-hash.ts';
import type { SubtreeHashReader, SubtreeRef } from './merkle-proofs.ts';
import { TlogError } from './tlog-errors.ts';

/** The code of the TlogError `run` throws, or undefined when it returns; any other error is thrown on. */
export function tlogErrorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (!(error instanceof TlogError)) throw error;
    return error.code;
  }
  return undefined;
}

/** mulberry32: a small, fast, seeded generator; the same seed gives the same run. */
export function seededRandom(seed: number): { next(): number; int(below: number): number } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (below: number) => Math.floor(next() * below) };
}

export function entryBytes(i: number, tag = 'entry'): Uint8Array {
  return Buffer.from(`${tag} ${i}`);
}

/** The RFC 6962 §2.1 definitions over leaf hashes, memoised by range. */
export class NaiveMerkle {
  readonly #memo = new Map<string, MerkleHash>();

  constructor(readonly leaves: MerkleHash[]) {}

  static of(entries: readonly Uint8Array[]): NaiveMerkle {
    return new NaiveMerkle(entries.map(leafHash));
  }

  /** MTH(D[lo:hi]): k is the largest power of two smaller than n. */
  mth(lo: number, hi: number): MerkleHash {
    const key = `${lo}:${hi}`;
    const known = this.#memo.get(key);
    if (known) return known;
    const n = hi - lo;
    let hash: MerkleHash;
    if (n === 0) throw new Error('MTH of an empty range is only the empty tree root');
    if (n === 1) hash = this.leaves[lo]!;
    else {
      let k = 1;
      while (k * 2 < n) k *= 2;
      hash = nodeHash(this.mth(lo, lo + k), this.mth(lo + k, hi));
    }
    this.#memo.set(key, hash);
    return hash;
  }

  /** PATH(m, D[lo:hi]) of RFC 6962 §2.1.1. */
  path(m: number, lo: number, hi: number): MerkleHash[] {
    const n = hi - lo;
    if (n <= 1) return [];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m < k
      ? [...this.path(m, lo, lo + k), this.mth(lo + k, hi)]
      : [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }

  /** PROOF(m, D[0:n]) of RFC 6962 §2.1.2. */
  proof(m: number, n: number): MerkleHash[] {
    return this.#subproof(m, 0, n, true);
  }

  #subproof(m: number, lo: number, hi: number, whole: boolean): MerkleHash[] {
    const n = hi - lo;
    if (m === n) return whole ? [] : [this.mth(lo, hi)];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m <= k
      ? [...this.#subproof(m, lo, lo + k, whole), this.mth(lo + k, hi)]
      : [...this.#subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }

  reader(): SubtreeHashReader {
    return {
      readSubtreeHashes: async (refs: readonly SubtreeRef[]) =>
        refs.map((ref) => this.mth(ref.index * 2 ** ref.level, (ref.index + 1) * 2 ** ref.level)),
    };
  }
}
