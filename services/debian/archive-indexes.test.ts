// Unit tests for the Release, Packages and Sources parsers, including hostile indexes.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import {
  type ArchivePackage,
  type ArchiveSourceVersion,
  packagesIndexStream,
  parsePackagesIndex,
  parseSourcesIndex,
  sourceVersionsStream,
} from './archive-indexes.ts';
import { parseRelease } from './release-index.ts';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

const RELEASE = `Origin: Debian
Label: Debian
Suite: oldstable
Version: 12.15
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
Valid-Until: Sat, 18 Jul 2026 10:16:37 +0200
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib
Description: Debian 12.15 Released 11 July 2026
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
SHA256:
 ${SHA_A}  8790396 main/binary-amd64/Packages.xz
 ${SHA_B} 50060337 main/binary-amd64/Packages
`;

const HELLO = `Package: hello
Version: 2.10-3
Installed-Size: 277
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Depends: libc6 (>= 2.34)
Description: example package based on GNU hello
Tag: devel::debian, devel::examples,
 suite::gnu
Priority: optional
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 53080
SHA256: ${SHA_A}`;

const BASE_FILES = `Package: base-files
Essential: yes
Version: 12.4+deb12u11
Architecture: amd64
Multi-Arch: foreign
Pre-Depends: awk
Source: base-files (12.4)
Filename: pool/main/b/base-files/base-files_12.4+deb12u11_amd64.deb
Size: 70000
SHA256: ${SHA_B}`;

function refusal(run: () => unknown): DebianFormatError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DebianFormatError);
    return err as DebianFormatError;
  }
  throw new Error('expected a refusal');
}

describe('parseRelease', () => {
  it('reads the fields rbnet uses and only the SHA256 list', () => {
    const release = parseRelease(RELEASE);
    expect(release.origin).toBe('Debian');
    expect(release.suite).toBe('oldstable');
    expect(release.codename).toBe('bookworm');
    expect(release.date).toBe(Date.UTC(2026, 6, 11, 10, 16, 37) / 1000);
    expect(release.validUntil).toBe(Date.UTC(2026, 6, 18, 8, 16, 37) / 1000);
    expect(release.architectures).toEqual(['all', 'amd64', 'arm64']);
    expect(release.components).toEqual(['main', 'contrib']);
    expect(release.acquireByHash).toBe(true);
    expect([...release.sha256.keys()]).toEqual([
      'main/binary-amd64/Packages.xz',
      'main/binary-amd64/Packages',
    ]);
    expect(release.sha256.get('main/binary-amd64/Packages.xz')).toEqual({ size: 8790396, sha256: SHA_A });
    expect(Object.isFrozen(release)).toBe(true);
  });

  it('refuses a Release without SHA256, with a path escaping dists/, or a bad date', () => {
    expect(refusal(() => parseRelease(RELEASE.replace(/SHA256:[\s\S]*$/, ''))).field).toBe('SHA256');
    expect(
      refusal(() => parseRelease(RELEASE.replace('main/binary-amd64/Packages.xz', '../../etc/passwd'))).field,
    ).toBe('SHA256');
    expect(
      refusal(() =>
        parseRelease(RELEASE.replace('main/binary-amd64/Packages\n', 'main/binary-amd64/Packages.xz\n')),
      ).message,
    ).toMatch(/twice/);
    expect(refusal(() => parseRelease(RELEASE.replace('Sat, 11 Jul 2026', 'Sat, 31 Feb 2026'))).field).toBe(
      'Date',
    );
    expect(
      refusal(() => parseRelease(RELEASE.replace('Date: Sat, 11 Jul 2026 10:16:37 UTC', 'Date: yesterday')))
        .field,
    ).toBe('Date');
    expect(refusal(() => parseRelease(RELEASE.replace(` ${SHA_A}`, ` ${SHA_A.toUpperCase()}`))).field).toBe(
      'SHA256',
    );
    expect(refusal(() => parseRelease(RELEASE.replace(/^Codename:.*\n/m, ''))).field).toBe('Codename');
  });
});

describe('parsePackagesIndex', () => {
  it('parses paragraphs into frozen packages and keeps each stanza verbatim', () => {
    const packages = parsePackagesIndex(`${HELLO}\n\n${BASE_FILES}\n`, 'Packages');
    expect(packages).toHaveLength(2);
    const [hello, baseFiles] = packages;
    expect(hello).toMatchObject({
      name: 'hello',
      version: '2.10-3',
      architecture: 'amd64',
      filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb',
      size: 53080,
      sha256: SHA_A,
      depends: 'libc6 (>= 2.34)',
      essential: false,
      priority: 'optional',
    });
    expect(hello?.stanza).toBe(HELLO);
    expect(hello?.multiArch).toBeUndefined();
    expect(baseFiles).toMatchObject({
      essential: true,
      multiArch: 'foreign',
      preDepends: 'awk',
      source: 'base-files (12.4)',
    });
    expect(baseFiles?.stanza).toBe(BASE_FILES);
    expect(Object.isFrozen(hello)).toBe(true);
  });

  it('accepts several blank lines (also blank-looking ones) between paragraphs and none at the end', () => {
    const packages = parsePackagesIndex(`\n${HELLO}\n\n \n\t\n${BASE_FILES}`, 'Packages');
    expect(packages.map((p) => p.name)).toEqual(['hello', 'base-files']);
  });

  it("refuses '..' and absolute paths in Filename", () => {
    for (const bad of [
      '../../../etc/shadow',
      'pool/main/../../x.deb',
      '/etc/passwd',
      'pool//x.deb',
      'pool/./x.deb',
      'pool/x y.deb',
    ]) {
      const err = refusal(() =>
        parsePackagesIndex(HELLO.replace(/^Filename: .*$/m, `Filename: ${bad}`), 'Packages'),
      );
      expect(err.field).toBe('Filename');
    }
  });

  it('refuses a missing or malformed SHA256, a bad Size, and every other missing required field', () => {
    expect(refusal(() => parsePackagesIndex(HELLO.replace(/^SHA256: .*$/m, ''), 'Packages')).field).toBe(
      'SHA256',
    );
    expect(refusal(() => parsePackagesIndex(HELLO.replace(SHA_A, 'abc'), 'Packages')).field).toBe('SHA256');
    for (const size of ['-1', '12.5', '0x10', '1e3', '', '9999999999999999']) {
      const err = refusal(() =>
        parsePackagesIndex(HELLO.replace('Size: 53080', `Size: ${size}`), 'Packages'),
      );
      expect(err.field).toBe('Size');
    }
    for (const field of ['Package', 'Version', 'Architecture', 'Filename', 'Size']) {
      const err = refusal(() =>
        parsePackagesIndex(HELLO.replace(new RegExp(`^${field}: .*\\n`, 'm'), ''), 'Packages'),
      );
      expect(err.field).toBe(field);
    }
  });

  it('names the paragraph and package of a refusal', () => {
    const err = refusal(() =>
      parsePackagesIndex(`${HELLO}\n\n${BASE_FILES.replace('Size: 70000', 'Size: lots')}`, 'bookworm main'),
    );
    expect(err.message).toMatch(/bookworm main, paragraph at line 15 \("base-files"\)/);
  });

  it('refuses bad names, versions, architectures, Multi-Arch and Essential values, and duplicate fields', () => {
    expect(
      refusal(() => parsePackagesIndex(HELLO.replace('Package: hello', 'Package: Hello World'), 'P')).field,
    ).toBe('Package');
    expect(
      refusal(() => parsePackagesIndex(HELLO.replace('Version: 2.10-3', 'Version: 2.10 3'), 'P')).field,
    ).toBe('Version');
    expect(
      refusal(() => parsePackagesIndex(HELLO.replace('Architecture: amd64', 'Architecture: ../x'), 'P'))
        .field,
    ).toBe('Architecture');
    expect(
      refusal(() => parsePackagesIndex(BASE_FILES.replace('Multi-Arch: foreign', 'Multi-Arch: any'), 'P'))
        .field,
    ).toBe('Multi-Arch');
    expect(
      refusal(() => parsePackagesIndex(BASE_FILES.replace('Essential: yes', 'Essential: true'), 'P')).field,
    ).toBe('Essential');
    expect(refusal(() => parsePackagesIndex(`${HELLO}\nsha256: ${SHA_B}`, 'P')).message).toMatch(/twice/);
  });

  it('refuses an index over its limits before parsing paragraphs', () => {
    const two = `${HELLO}\n\n${BASE_FILES}\n`;
    expect(refusal(() => parsePackagesIndex(two, 'P', { maxParagraphs: 1 })).message).toMatch(
      /more than 1 paragraphs/,
    );
    expect(refusal(() => parsePackagesIndex(two, 'P', { maxBytes: 100 })).message).toMatch(/larger than 100/);
    expect(refusal(() => parsePackagesIndex(two, 'P', { maxLineLength: 20 })).message).toMatch(
      /longer than 20/,
    );
  });
});

describe('parseSourcesIndex', () => {
  const HELLO_SOURCE = `Package: hello
Binary: hello
Version: 2.10-3
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: any
Format: 3.0 (quilt)
Files:
 0c4e4f7a0c6f1e5fa2bd2b5e4b1fd4c1 1721 hello_2.10-3.dsc
Checksums-Sha256:
 ${SHA_A} 1721 hello_2.10-3.dsc
 ${SHA_B} 725946 hello_2.10.orig.tar.gz
Directory: pool/main/h/hello
Priority: source
Section: devel`;

  it('reads name, version, directory and the sha256 file list', () => {
    const [source] = parseSourcesIndex(`${HELLO_SOURCE}\n`, 'Sources');
    expect(source).toEqual({
      name: 'hello',
      version: '2.10-3',
      directory: 'pool/main/h/hello',
      files: [
        { name: 'hello_2.10-3.dsc', size: 1721, sha256: SHA_A },
        { name: 'hello_2.10.orig.tar.gz', size: 725946, sha256: SHA_B },
      ],
    });
  });

  it('refuses file names with a directory, a Directory with .., and a missing Checksums-Sha256', () => {
    for (const bad of ['../hello_2.10-3.dsc', 'sub/hello.dsc', '.hidden', '..']) {
      const err = refusal(() =>
        parseSourcesIndex(
          HELLO_SOURCE.replace(`${SHA_A} 1721 hello_2.10-3.dsc`, `${SHA_A} 1721 ${bad}`),
          'S',
        ),
      );
      expect(err.field).toBe('Checksums-Sha256');
    }
    expect(
      refusal(() => parseSourcesIndex(HELLO_SOURCE.replace('pool/main/h/hello', 'pool/../../etc'), 'S'))
        .field,
    ).toBe('Directory');
    expect(
      refusal(() => parseSourcesIndex(HELLO_SOURCE.replace(/Checksums-Sha256:\n.*\n.*\n/, ''), 'S')).field,
    ).toBe('Checksums-Sha256');
    expect(
      refusal(() =>
        parseSourcesIndex(
          HELLO_SOURCE.replace(`${SHA_B} 725946 hello_2.10.orig.tar.gz`, `${SHA_B} 725946 hello_2.10-3.dsc`),
          'S',
        ),
      ).message,
    ).toMatch(/twice/);
  });

  it('streams names, versions and sections in chunks of any size, refusing a bad or repeated Version', () => {
    const text = `${HELLO_SOURCE}\n\n${HELLO_SOURCE.replace('Package: hello', 'Package: hello-two')}\n`;
    const read = (chunkBytes: number, input = text) => {
      const seen: ArchiveSourceVersion[] = [];
      const stream = sourceVersionsStream('Sources', (source) => seen.push(source));
      const bytes = Buffer.from(input);
      for (let at = 0; at < bytes.length; at += chunkBytes) stream.push(bytes.subarray(at, at + chunkBytes));
      stream.end();
      return seen;
    };
    const whole = read(text.length);
    expect(whole).toEqual([
      { name: 'hello', version: '2.10-3', section: 'devel' },
      { name: 'hello-two', version: '2.10-3', section: 'devel' },
    ]);
    for (const size of [1, 2, 3, 7, 100]) expect(read(size)).toEqual(whole);
    const refusal = (input: string) => {
      try {
        read(5, input);
      } catch (err) {
        return err as DebianFormatError;
      }
      throw new Error('not refused');
    };
    expect(refusal(`${text}\n${HELLO_SOURCE.replace('Version: 2.10-3', 'Version: 2.10 3')}`).message).toMatch(
      /paragraph at line 31 \("hello"\)/,
    );
    expect(refusal(`${HELLO_SOURCE}\nversion: 1`).field).toBe('Version');
  });

  it('streams a Packages index with the checks of parsePackagesIndex, wherever the chunks split', () => {
    const text = `${HELLO}\n\n${BASE_FILES}\n`;
    const names: string[] = [];
    const stream = packagesIndexStream('Packages', (pkg: ArchivePackage) => names.push(pkg.name));
    for (const byte of Buffer.from(text)) stream.push(Uint8Array.of(byte));
    stream.end();
    expect(names).toEqual(parsePackagesIndex(text, 'Packages').map((pkg) => pkg.name));
    const bad = packagesIndexStream('Packages', () => undefined);
    expect(() => {
      bad.push(Buffer.from(`${HELLO}\n\n${BASE_FILES.replace('Size: 70000', 'Size: lots')}`));
      bad.end();
    }).toThrow(/Size.*paragraph at line/);
  });
});
