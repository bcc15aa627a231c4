// Tests for the consumer's pin: parsing what the consumer typed, and describing it.
import { describe, expect, it } from 'vitest';
import { describeBuildPin, parseBuildPin } from './build-pin.ts';

const HEX = 'ab'.repeat(32);

describe('parseBuildPin', () => {
  it('reads a manifest digest, with or without the sha256: prefix', () => {
    expect(parseBuildPin({ manifestSha256: HEX })).toEqual({ manifestSha256: HEX });
    expect(parseBuildPin({ manifestSha256: `sha256:${HEX}` })).toEqual({ manifestSha256: HEX });
  });

  it('reads a Debian source as NAME=VERSION, epochs included, and both pins together', () => {
    expect(parseBuildPin({ debianSource: 'hello=2.10-3' })).toEqual({
      debianSource: { name: 'hello', version: '2.10-3' },
    });
    const both = parseBuildPin({ manifestSha256: HEX, debianSource: 'libfoo++=1:2.0~rc1-1+b2' });
    expect(both.debianSource).toEqual({ name: 'libfoo++', version: '1:2.0~rc1-1+b2' });
    expect(describeBuildPin(both)).toBe(
      `manifest sha256:${HEX} and Debian source libfoo++ 1:2.0~rc1-1+b2 from the archive`,
    );
  });

  it('refuses an empty pin with PIN_MISSING, naming every way to pin', () => {
    expect(() => parseBuildPin({})).toThrow(
      expect.objectContaining({
        code: 'PIN_MISSING',
        message: expect.stringMatching(/--manifest FILE.*--manifest-sha256.*--debian-source NAME=VERSION/),
      }),
    );
  });

  it.each([
    ['a short digest', { manifestSha256: 'abc' }, /manifest sha256/],
    ['an uppercase digest', { manifestSha256: HEX.toUpperCase() }, /manifest sha256/],
    ['a source without a version', { debianSource: 'hello' }, /NAME=VERSION/],
    ['a source name with capitals', { debianSource: 'Hello=1.0' }, /NAME=VERSION/],
    [
      'a version that is no Debian version',
      { debianSource: 'hello=v1' },
      /upstream version must start with a digit/,
    ],
    ['an empty version', { debianSource: 'hello=' }, /version is empty/],
  ])('refuses %s with PIN_INVALID', (_label, input, message) => {
    expect(() => parseBuildPin(input)).toThrow(
      expect.objectContaining({ code: 'PIN_INVALID', message: expect.stringMatching(message) }),
    );
  });
});
