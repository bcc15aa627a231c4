// apt's local .deb names and the metadata path apt-transport-in-toto requests.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import {
  aptLocalDebName,
  aptMetadataRelativePath,
  parseAptLocalDebName,
  parseAptMetadataPath,
} from './apt-file-name.ts';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DebianFormatError);
    return (error as DebianFormatError).field;
  }
  return undefined;
}

describe('aptLocalDebName', () => {
  it('writes name_version_arch.deb with the epoch colon as lowercase %3a', () => {
    expect(aptLocalDebName('hello', '2.10-3', 'amd64')).toBe('hello_2.10-3_amd64.deb');
    expect(aptLocalDebName('libfoo1', '1:0.9~rc1-2+b3', 'amd64')).toBe('libfoo1_1%3a0.9~rc1-2+b3_amd64.deb');
    expect(aptLocalDebName('foo-common', '20230101', 'all')).toBe('foo-common_20230101_all.deb');
  });

  it('refuses invalid names, versions and architectures', () => {
    expect(fieldOf(() => aptLocalDebName('Hello', '1.0', 'amd64'))).toBe('package');
    expect(fieldOf(() => aptLocalDebName('hello', '1.0_1', 'amd64'))).toBe('version');
    expect(fieldOf(() => aptLocalDebName('hello', 'a:1.0', 'amd64'))).toBe('version');
    expect(fieldOf(() => aptLocalDebName('hello', '1.0', 'amd_64'))).toBe('architecture');
    expect(fieldOf(() => aptLocalDebName('hello', '1.0', 'x.y'))).toBe('architecture');
  });
});

describe('aptMetadataRelativePath / parseAptMetadataPath', () => {
  it('round-trips names and versions, binNMU and epoch included', () => {
    expect(aptMetadataRelativePath('libfoo1', '1:0.9-2+b1')).toBe('sources/libfoo1/1%3a0.9-2+b1/metadata');
    const parsed = parseAptMetadataPath('libfoo1', '1%3a0.9-2+b1');
    expect(parsed.name).toBe('libfoo1');
    expect(parsed.version).toMatchObject({ text: '1:0.9-2+b1', epoch: 1, upstream: '0.9', revision: '2+b1' });
    expect(parseAptMetadataPath('libfoo1', '1%3A0.9-2').version.text).toBe('1:0.9-2');
    expect(parseAptMetadataPath('libfoo1', '1:0.9-2').version.text).toBe('1:0.9-2');
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it('refuses other escapes and anything outside the grammar', () => {
    expect(fieldOf(() => parseAptMetadataPath('libfoo1', '1%3a0.9%2b1'))).toBe('version');
    expect(fieldOf(() => parseAptMetadataPath('libfoo1', '1%253a0.9'))).toBe('version');
    expect(fieldOf(() => parseAptMetadataPath('libfoo1', '..'))).toBe('version');
    expect(fieldOf(() => parseAptMetadataPath('libfoo1', ''))).toBe('version');
    expect(fieldOf(() => parseAptMetadataPath('libfoo1', '1%3a%3a2'))).toBe('version');
    expect(fieldOf(() => parseAptMetadataPath('..', '1.0'))).toBe('name');
    expect(fieldOf(() => parseAptMetadataPath('a', '1.0'))).toBe('name');
    expect(fieldOf(() => parseAptMetadataPath('foo/bar', '1.0'))).toBe('name');
    expect(fieldOf(() => parseAptMetadataPath('Foo', '1.0'))).toBe('name');
  });
});

describe('parseAptLocalDebName', () => {
  it('parses only what apt writes', () => {
    expect(parseAptLocalDebName('libfoo1_1%3a0.9-2_amd64.deb')).toMatchObject({
      name: 'libfoo1',
      architecture: 'amd64',
      version: { text: '1:0.9-2' },
    });
    for (const bad of [
      'libfoo1_1%3A0.9-2_amd64.deb',
      'libfoo1_1:0.9-2_amd64.deb',
      'libfoo1_0.9-2.deb',
      'x/libfoo1_0.9-2_amd64.deb',
      'libfoo1_0.9-2_amd64.udeb',
    ]) {
      expect(
        fieldOf(() => parseAptLocalDebName(bad)),
        bad,
      ).toBe('fileName');
    }
  });
});
