// The base64 a proof is assembled with is Node's own, byte for byte, at every length and offset, and
// a proof head written as bytes is the text formatTlogProofHead gives.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64Length, writeBase64 } from './base64-writer.ts';
import { formatTlogProofHead, tlogProofHeadBytes, writeTlogProofHead } from './tlog-proof.ts';

describe('writeBase64', () => {
  it('writes what Buffer.toString("base64") gives, for every length 0-100 and a slice in the middle', () => {
    for (let length = 0; length <= 100; length++) {
      const src = randomBytes(length + 7);
      const out = Buffer.alloc(5 + base64Length(length) + 5, 0x2e);
      const end = writeBase64(src, 3, 3 + length, out, 5);
      expect(end, `length ${length}`).toBe(5 + base64Length(length));
      expect(out.subarray(5, end).toString('latin1'), `length ${length}`).toBe(
        src.subarray(3, 3 + length).toString('base64'),
      );
      // Nothing written around the text.
      expect(out.subarray(0, 5).toString('latin1') + out.subarray(end).toString('latin1')).toBe('..........');
    }
  });

  it('encodes every byte value, and a 65,535-byte entry', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = randomBytes(65_535);
    for (const src of [all, big]) {
      const out = Buffer.alloc(base64Length(src.length));
      expect(writeBase64(src, 0, src.length, out, 0)).toBe(out.length);
      expect(out.toString('latin1')).toBe(src.toString('base64'));
    }
  });
});

describe('writeTlogProofHead', () => {
  it('writes the bytes of formatTlogProofHead, at every padding and index length', () => {
    for (const length of [0, 1, 2, 3, 550, 65_535])
      for (const index of [0, 9, 10, 255, 1_000_000, Number.MAX_SAFE_INTEGER]) {
        const extra = randomBytes(length);
        const out = Buffer.alloc(3 + tlogProofHeadBytes(length, index));
        expect(writeTlogProofHead(extra, index, out, 3)).toBe(out.length);
        expect(out.subarray(3).toString('latin1')).toBe(formatTlogProofHead(extra, index, []));
      }
  });
});
