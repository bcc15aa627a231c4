// Tests for Debian version parsing, dpkg's version ordering, package names and binNMU suffixes.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import {
  binNmuSuffix,
  compareDebianVersions,
  isDebianPackageName,
  MAX_DEBIAN_PACKAGE_NAME_LENGTH,
  parseDebianVersion,
} from './debian-version.ts';

function version(text: string) {
  return parseDebianVersion(text, 'Version');
}

describe('parseDebianVersion', () => {
  it.each([
    ['2.10-3', 0, '2.10', '3'],
    ['1:2.10-3+b1', 1, '2.10', '3+b1'],
    ['4:12.2.0-3', 4, '12.2.0', '3'],
    ['1.0', 0, '1.0', undefined],
    ['1.0+dfsg-1-2', 0, '1.0+dfsg-1', '2'],
    ['0~rc1-1~bpo12+1', 0, '0~rc1', '1~bpo12+1'],
    ['20220109.1', 0, '20220109.1', undefined],
    ['1.34+dfsg-1.2', 0, '1.34+dfsg', '1.2'],
    ['2.0a.B-0ubuntu1', 0, '2.0a.B', '0ubuntu1'],
    ['0:1', 0, '1', undefined],
  ])('%s', (text, epoch, upstream, revision) => {
    const parsed = version(text);
    expect(parsed).toEqual({ text, epoch, upstream, revision });
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['a1.0-1', 'start with a digit'],
    ['x:1.0', 'epoch must be digits'],
    ['-1:1.0', 'epoch must be digits'],
    [':1.0', 'epoch must be digits'],
    ['1:', 'empty upstream'],
    ['1.0-', 'empty revision'],
    ['-1', 'empty upstream'],
    ['1.0_1-1', 'only alphanumerics'],
    ['1.0 -1', 'only alphanumerics'],
    ['1:2:3-1', 'only alphanumerics'],
    ['1.0-1_2', 'revision with characters'],
    ['1.0-a:b', 'epoch must be digits'],
    ['1.0-a!b', 'revision with characters'],
    ['99999999999:1.0', 'epoch is too large'],
    [`1.${'0'.repeat(300)}`, 'longer than 256'],
  ])('refuses %j (%s)', (text, message) => {
    let caught: unknown;
    try {
      version(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DebianFormatError);
    expect((caught as DebianFormatError).field).toBe('Version');
    expect((caught as DebianFormatError).message).toContain(message);
  });

  it('names the field it was given', () => {
    expect(() => parseDebianVersion('x', 'Installed-Build-Depends')).toThrow(/^Installed-Build-Depends: /);
  });
});

describe('compareDebianVersions follows dpkg --compare-versions', () => {
  // Each pair was checked against dpkg 1.21.22.
  it.each([
    ['1.0', '1.0', 0],
    ['1.0', '1.0-0', 0],
    ['1:1.0', '01:1.0', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0', '1.0+b1', -1],
    ['2.10-3', '2.10-3+b1', -1],
    ['1.0-1', '1.0-1~bpo1', 1],
    ['1:0.1', '9.9', 1],
    ['1.2', '1.10', -1],
    ['1.0a', '1.0+', -1],
    ['1.0a', '1.0', 1],
    ['1.0-1', '1.0.1-1', -1],
    ['1.001', '1.1', 0],
    ['10', '9', 1],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
    ['1.0-2', '1.0-10', -1],
    ['1.0-a', '1.0-B', 1],
    ['0~', '0', -1],
  ])('%s vs %s', (a, b, expected) => {
    expect(Math.sign(compareDebianVersions(version(a), version(b)))).toBe(expected);
    expect(Math.sign(compareDebianVersions(version(b), version(a)))).toBe(-expected || 0);
  });
});

describe('isDebianPackageName', () => {
  it.each(['hello', 'libstdc++6', 'g++', 'hello-dbgsym', 'python3.11', '0ad', 'xz-utils'])(
    'accepts %s',
    (name) => {
      expect(isDebianPackageName(name)).toBe(true);
    },
  );
  it.each([
    '',
    'a',
    'Hello',
    '-hello',
    '+hello',
    '.hello',
    'hel_lo',
    'hel lo',
    'hello:amd64',
    'a'.repeat(MAX_DEBIAN_PACKAGE_NAME_LENGTH + 1),
  ])('refuses %j', (name) => {
    expect(isDebianPackageName(name)).toBe(false);
  });
  it('accepts the longest allowed name', () => {
    expect(isDebianPackageName('a'.repeat(MAX_DEBIAN_PACKAGE_NAME_LENGTH))).toBe(true);
  });
});

describe('binNmuSuffix', () => {
  it.each([
    ['2.10-3+b1', 1],
    ['1:2.10-3+b12', 12],
    ['1.0+b2', 2],
    ['2.10-3', undefined],
    ['2.10-3+b0', undefined],
    ['2.10-3+b01', undefined],
    ['2.10-3+b1~bpo1', undefined],
    ['2.10+b1-3', undefined],
  ])('%s → %s', (text, expected) => {
    expect(binNmuSuffix(version(text))).toBe(expected);
  });
});
