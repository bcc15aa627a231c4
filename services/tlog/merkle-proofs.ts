// Inclusion and consistency proofs over an RFC 6962 Merkle tree of any size: which subtree hashes a
// proof needs (pure), assembling it from a hash reader, and verifying it (RFC 9162 §2.1.3, §2.1.4).
// Sizes and indexes are exact JavaScript numbers up to 2^53 - 1, so no bit operators (32-bit) here.
import {
  assertTreeSize,
  EMPTY_TREE_ROOT,
  HASH_BYTES,
  hashesEqual,
  type MerkleHash,
  nodeHash,
} from './merkle-hash.ts';
import { TlogError } from './tlog-errors.ts';

/** A complete subtree: the 2^level leaves from index·2^level up to (index+1)·2^level, exclusive. */
export interface SubtreeRef {
  readonly level: number;
  readonly index: number;
}

/** Reads the hashes of complete subtrees of one tree, in the order asked (tiles, memory, SQL…). */
export interface SubtreeHashReader {
  readSubtreeHashes(refs: readonly SubtreeRef[]): Promise<readonly MerkleHash[]>;
}

/** The largest power of two ≤ n (n ≥ 1). */
export function largestPowerOfTwoAtMost(n: number): number {
  let power = 1;
  while (power * 2 <= n) power *= 2;
  return power;
}

/** The largest power of two < n (n ≥ 2): RFC 6962's split point k. */
function splitPoint(n: number): number {
  return largestPowerOfTwoAtMost(n - 1);
}

function levelOf(power: number): number {
  let level = 0;
  for (let p = 1; p < power; p *= 2) level++;
  return level;
}

/**
 * The complete subtrees, left to right and shrinking, whose right fold is MTH(D[lo:hi]). Valid for
 * the ranges RFC 6962 recursion produces: `lo` is a multiple of the largest power of two ≤ hi - lo.
 */
export function rangeSubtrees(lo: number, hi: number): SubtreeRef[] {
  const refs: SubtreeRef[] = [];
  let start = lo;
  while (start < hi) {
    const size = largestPowerOfTwoAtMost(hi - start);
    if (start % size !== 0) throw new RangeError(`range [${lo}, ${hi}) is not one RFC 6962 proofs use`);
    refs.push({ level: levelOf(size), index: start / size });
    start += size;
  }
  return refs;
}

/** MTH of a range from its complete subtrees' hashes (left to right): a right fold. */
export function foldSubtreeHashes(hashes: readonly MerkleHash[]): MerkleHash {
  if (hashes.length === 0) return EMPTY_TREE_ROOT;
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** The subtrees whose hashes make the root of a tree of `size` leaves. */
export function planTreeRoot(size: number): SubtreeRef[] {
  assertTreeSize(size, 'tree size');
  return rangeSubtrees(0, size);
}

/**
 * The ranges, leaf sibling first, whose MTHs form the inclusion proof of leaf `index` in a tree of
 * `size` leaves (RFC 9162 §2.1.3.1 PATH), each as the subtrees that fold into it.
 */
export function planInclusionProof(index: number, size: number): SubtreeRef[][] {
  assertTreeSize(size, 'tree size');
  assertTreeSize(index, 'leaf index');
  if (index >= size)
    throw new TlogError('PROOF_INVALID', `leaf index ${index} is not below tree size ${size}`);
  const siblings: [number, number][] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index - lo < k) {
      siblings.push([lo + k, hi]);
      hi = lo + k;
    } else {
      siblings.push([lo, lo + k]);
      lo += k;
    }
  }
  return siblings.reverse().map(([a, b]) => rangeSubtrees(a, b));
}

/**
 * The ranges whose MTHs form the consistency proof from a tree of `oldSize` leaves to one of
 * `newSize` (RFC 9162 §2.1.4.1 SUBPROOF), innermost first. Empty when oldSize is 0 or equal.
 */
export function planConsistencyProof(oldSize: number, newSize: number): SubtreeRef[][] {
  assertTreeSize(oldSize, 'old tree size');
  assertTreeSize(newSize, 'new tree size');
  if (oldSize > newSize)
    throw new TlogError('PROOF_INVALID', `old tree size ${oldSize} is larger than new tree size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const nodes: [number, number][] = [];
  let lo = 0;
  let hi = newSize;
  let m = oldSize;
  let whole = true;
  for (;;) {
    if (m === hi - lo) {
      if (!whole) nodes.push([lo, hi]);
      break;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      nodes.push([lo + k, hi]);
      hi = lo + k;
    } else {
      nodes.push([lo, lo + k]);
      lo += k;
      m -= k;
      whole = false;
    }
  }
  return nodes.reverse().map(([a, b]) => rangeSubtrees(a, b));
}

/**
 * MTHs of ranges that are not one complete subtree (the right edge of a tree), by their subtrees.
 * The MTH of a range of leaves never changes as the tree grows, so these stay true at every size.
 * Bounded: emptied when full (a tree of any size has at most 64 such ranges per proof).
 */
export class RangeHashMemo {
  readonly #hashes = new Map<string, MerkleHash>();
  constructor(readonly maxRanges = 4096) {}

  fold(refs: readonly SubtreeRef[], hashes: readonly MerkleHash[]): MerkleHash {
    const key = refs.map((ref) => `${ref.level}/${ref.index}`).join(',');
    const known = this.#hashes.get(key);
    if (known) return known;
    const hash = foldSubtreeHashes(hashes);
    if (this.#hashes.size >= this.maxRanges) this.#hashes.clear();
    this.#hashes.set(key, hash);
    return hash;
  }
}

/** Reads every subtree a plan names in one call and folds each element (through `memo`, if given). */
export async function resolvePlan(
  plan: readonly (readonly SubtreeRef[])[],
  reader: SubtreeHashReader,
  memo?: RangeHashMemo,
): Promise<MerkleHash[]> {
  const hashes = await reader.readSubtreeHashes(plan.flat());
  let next = 0;
  return plan.map((refs) => {
    const start = next;
    next += refs.length;
    if (refs.length === 1) return hashes[start]!;
    const range = hashes.slice(start, next);
    return memo ? memo.fold(refs, range) : foldSubtreeHashes(range);
  });
}

export async function treeRoot(size: number, reader: SubtreeHashReader): Promise<MerkleHash> {
  const hashes = await reader.readSubtreeHashes(planTreeRoot(size));
  return foldSubtreeHashes(hashes);
}

export function proveInclusion(
  index: number,
  size: number,
  reader: SubtreeHashReader,
  memo?: RangeHashMemo,
): Promise<MerkleHash[]> {
  return resolvePlan(planInclusionProof(index, size), reader, memo);
}

export function proveConsistency(
  oldSize: number,
  newSize: number,
  reader: SubtreeHashReader,
): Promise<MerkleHash[]> {
  return resolvePlan(planConsistencyProof(oldSize, newSize), reader);
}

const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

function checkProofHashes(proof: readonly MerkleHash[], what: string): void {
  if (proof.length > 64)
    throw new TlogError('PROOF_INVALID', `${what}: ${proof.length} hashes, at most 64 possible`);
  proof.forEach((hash, i) => {
    if (hash.length !== HASH_BYTES) throw new TlogError('PROOF_INVALID', `${what}[${i}]: not a 32-byte hash`);
  });
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when it has the wrong shape. */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: MerkleHash,
  proof: readonly MerkleHash[],
): MerkleHash | undefined {
  assertTreeSize(size, 'tree size');
  assertTreeSize(index, 'leaf index');
  checkProofHashes(proof, 'inclusion proof');
  if (index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** @throws TlogError PROOF_INVALID unless `proof` shows leaf `leaf` at `index` in the tree with root `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: MerkleHash,
  proof: readonly MerkleHash[],
  root: MerkleHash,
): void {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  if (computed === undefined || !hashesEqual(computed, root))
    throw new TlogError(
      'PROOF_INVALID',
      `the inclusion proof of entry ${index} does not lead to the root of the tree of size ${size}`,
    );
}

/**
 * Checks that the tree of `oldSize` with root `oldRoot` is a prefix of the tree of `newSize` with
 * root `newRoot` (RFC 9162 §2.1.4.2). From size 0 anything is consistent and the proof must be
 * empty; at equal sizes the proof must be empty and the roots equal.
 *
 * @throws TlogError PROOF_INVALID for a malformed or failing proof, LOG_INCONSISTENT for equal sizes
 *   with different roots or a new size below the old.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: MerkleHash,
  newRoot: MerkleHash,
  proof: readonly MerkleHash[],
): void {
  assertTreeSize(oldSize, 'old tree size');
  assertTreeSize(newSize, 'new tree size');
  checkProofHashes(proof, 'consistency proof');
  if (oldSize > newSize)
    throw new TlogError('LOG_INCONSISTENT', `the tree shrank from size ${oldSize} to ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) {
    if (proof.length !== 0)
      throw new TlogError(
        'PROOF_INVALID',
        `a consistency proof from size ${oldSize} to ${newSize} must be empty`,
      );
    if (oldSize === newSize && !hashesEqual(oldRoot, newRoot))
      throw new TlogError('LOG_INCONSISTENT', `two different root hashes for the same tree size ${oldSize}`);
    return;
  }
  const path = [...proof];
  if (path.length === 0) throw new TlogError('PROOF_INVALID', 'the consistency proof is empty');
  if (largestPowerOfTwoAtMost(oldSize) === oldSize) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw failedConsistency(oldSize, newSize);
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0 || !hashesEqual(fr, oldRoot) || !hashesEqual(sr, newRoot))
    throw failedConsistency(oldSize, newSize);
}

function failedConsistency(oldSize: number, newSize: number): TlogError {
  return new TlogError(
    'PROOF_INVALID',
    `the consistency proof does not show the tree of size ${oldSize} to be a prefix of the tree of size ${newSize}`,
  );
}
