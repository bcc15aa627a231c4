import { describe, expect, it } from 'vitest';
import type { Sha256Hex } from '../digest.ts';
import { compareOutputsWithClaims } from './compare-outputs-with-claims.ts';

const d = (c: string) => c.repeat(64) as Sha256Hex;

describe('compareOutputsWithClaims', () => {
  it('says no-claim and lists outputs as extra when nothing was claimed', () => {
    expect(compareOutputsWithClaims([], [{ path: 'a', sha256: d('1') }])).toEqual({
      status: 'no-claim',
      extra: ['a'],
    });
  });
  it('matches when every claimed file was rebuilt with its digest; extras do not count', () => {
    const result = compareOutputsWithClaims(
      [{ path: 'a', sha256: d('1') }],
      [
        { path: 'a', sha256: d('1') },
        { path: 'b', sha256: d('2') },
      ],
    );
    expect(result).toMatchObject({ status: 'match', matching: ['a'], extra: ['b'] });
  });
  it('a differing digest is a mismatch naming the file and both digests', () => {
    const result = compareOutputsWithClaims([{ path: 'a', sha256: d('1') }], [{ path: 'a', sha256: d('3') }]);
    expect(result).toMatchObject({
      status: 'mismatch',
      differing: [{ path: 'a', claimed: d('1'), rebuilt: d('3') }],
    });
  });
  it('a claimed file that was not rebuilt is a mismatch', () => {
    const result = compareOutputsWithClaims([{ path: 'a', sha256: d('1') }], []);
    expect(result).toMatchObject({ status: 'mismatch', missing: ['a'] });
  });
});
