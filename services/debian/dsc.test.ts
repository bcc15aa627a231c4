// Tests for the .dsc parser: a hello 2.10-3 source package, its variants, and refusals by field.
import { describe, expect, it } from 'vitest';
import { DebianFormatError } from '../errors.ts';
import { clearsignFixture, FIXTURE_ARMORED_SIGNATURE, fixtureFile } from './buildinfo-fixture.ts';
import { DSC_LIMITS, parseDsc } from './dsc.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const orig = fixtureFile('hello_2.10.orig.tar.gz', 'stand-in for the upstream tarball\n');
const debian = fixtureFile('hello_2.10-3.debian.tar.xz', 'stand-in for the packaging\n');
const list = (key: 'sha256' | 'sha1' | 'md5', files = [orig, debian]) =>
  files.map((file) => `\n ${file[key]} ${file.size} ${file.name}`).join('');

const good = `Format: 3.0 (quilt)
Source: hello
Binary: hello
Architecture: any
Version: 2.10-3
Maintainer: Santiago Vila <sanvila@debian.org>
Homepage: https://www.gnu.org/software/hello/
Standards-Version: 4.6.1
Vcs-Browser: https://salsa.debian.org/sanvila/hello
Vcs-Git: https://salsa.debian.org/sanvila/hello.git
Testsuite: autopkgtest
Build-Depends: debhelper-compat (= 13)
Package-List:
 hello deb devel optional arch=any
Checksums-Sha1:${list('sha1')}
Checksums-Sha256:${list('sha256')}
Files:${list('md5')}
`;

function replaceField(text: string, name: string, value: string | undefined): string {
  const pattern = new RegExp(`^${name}:.*\\n(?:[ \\t].*\\n)*`, 'm');
  expect(text).toMatch(pattern);
  return text.replace(pattern, value === undefined ? '' : `${name}:${value}\n`);
}

describe('parseDsc accepts', () => {
  it('a plain hello 2.10-3 .dsc', () => {
    const parsed = parseDsc(utf8(good));
    expect(parsed).toEqual({
      format: '3.0 (quilt)',
      source: 'hello',
      version: { text: '2.10-3', epoch: 0, upstream: '2.10', revision: '3' },
      binaries: ['hello'],
      architectures: ['any'],
      files: [orig, debian].map(({ name, size, sha256, sha1, md5 }) => ({ name, size, sha256, sha1, md5 })),
      signature: undefined,
    });
    expect(Object.isFrozen(parsed.files[0])).toBe(true);
    expect(Object.isFrozen(parsed.binaries)).toBe(true);
  });

  it('a clearsigned .dsc, keeping the signature', () => {
    const parsed = parseDsc(utf8(clearsignFixture(good)));
    expect(parsed.signature).toEqual({
      armoredSignature: FIXTURE_ARMORED_SIGNATURE,
      signedText: good,
      hashAlgorithms: ['SHA512'],
    });
    expect(parsed.files).toHaveLength(2);
  });

  it('a native 1.0 package with a wrapped Binary list, wildcard architectures and only Checksums-Sha256', () => {
    let text = replaceField(good, 'Format', ' 1.0');
    text = replaceField(text, 'Binary', ' hello, hello-doc,\n hello-udeb');
    text = replaceField(text, 'Architecture', ' linux-any all any-amd64');
    text = replaceField(text, 'Checksums-Sha1', undefined);
    text = replaceField(text, 'Files', undefined);
    const parsed = parseDsc(utf8(text));
    expect(parsed.format).toBe('1.0');
    expect(parsed.binaries).toEqual(['hello', 'hello-doc', 'hello-udeb']);
    expect(parsed.architectures).toEqual(['linux-any', 'all', 'any-amd64']);
    expect(parsed.files[0]).toMatchObject({ sha1: undefined, md5: undefined });
  });

  it('3.0 (native) with an epoch', () => {
    const text = replaceField(replaceField(good, 'Format', ' 3.0 (native)'), 'Version', ' 1:2.10');
    expect(parseDsc(utf8(text)).version).toEqual({
      text: '1:2.10',
      epoch: 1,
      upstream: '2.10',
      revision: undefined,
    });
  });
});

describe('parseDsc refuses, naming the field at fault', () => {
  it.each([
    ['a file over 1 MiB', new Uint8Array(DSC_LIMITS.maxBytes + 1).fill(0x41), 'dsc'],
    ['CRLF line ends', utf8(good.replace(/\n/g, '\r\n')), 'dsc'],
    ['two paragraphs', utf8(`${good}\nSource: other\n`), 'dsc'],
    ['a bad clearsign framing', utf8(`${clearsignFixture(good)}junk\n`), 'OpenPGP signature'],
    ['Format 3.0 (git)', utf8(replaceField(good, 'Format', ' 3.0 (git)')), 'Format'],
    ['a missing Format', utf8(replaceField(good, 'Format', undefined)), 'Format'],
    ['a missing Source', utf8(replaceField(good, 'Source', undefined)), 'Source'],
    ['a Source with a version', utf8(replaceField(good, 'Source', ' hello (2.10-3)')), 'Source'],
    ['a bad Version', utf8(replaceField(good, 'Version', ' 2.10-')), 'Version'],
    ['a missing Binary', utf8(replaceField(good, 'Binary', undefined)), 'Binary'],
    ['a Binary listed twice', utf8(replaceField(good, 'Binary', ' hello, hello')), 'Binary'],
    ['a space-separated Binary', utf8(replaceField(good, 'Binary', ' hello hello-doc')), 'Binary'],
    ['a missing Architecture', utf8(replaceField(good, 'Architecture', undefined)), 'Architecture'],
    ['Architecture source', utf8(replaceField(good, 'Architecture', ' source')), 'Architecture'],
    ['Architecture in upper case', utf8(replaceField(good, 'Architecture', ' AMD64')), 'Architecture'],
    [
      'a missing Checksums-Sha256',
      utf8(replaceField(good, 'Checksums-Sha256', undefined)),
      'Checksums-Sha256',
    ],
    [
      'a path in Checksums-Sha256',
      utf8(replaceField(good, 'Checksums-Sha256', list('sha256', [{ ...orig, name: '../hello.tar.gz' }]))),
      'Checksums-Sha256',
    ],
    [
      'Files naming a file Checksums-Sha256 does not',
      utf8(replaceField(good, 'Files', list('md5', [orig, { ...debian, name: 'x.tar.xz' }]))),
      'Files',
    ],
    [
      'an uppercase Checksums-Sha1',
      utf8(replaceField(good, 'Checksums-Sha1', list('sha1').toUpperCase())),
      'Checksums-Sha1',
    ],
  ])('%s', (_name, bytes, field) => {
    let caught: unknown;
    try {
      parseDsc(bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DebianFormatError);
    expect((caught as DebianFormatError).field).toBe(field);
  });
});
