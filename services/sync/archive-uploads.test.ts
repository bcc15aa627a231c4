// Which uploads a profile's rules select from a Packages index, how binaries of one source version
// fold into one upload, and where its .buildinfo is: pure functions, checked on edge cases.
import { describe, expect, it } from 'vitest';
import type { ArchivePackage } from '../debian/archive-indexes.ts';
import { buildinfoUrlOf, poolPrefix, sourceOf, uploadSelection, uploadsOf } from './archive-uploads.ts';

function pkg(
  name: string,
  version: string,
  architecture: string,
  extra: { source?: string; section?: string } = {},
): ArchivePackage {
  return {
    name,
    version,
    architecture,
    filename: `pool/main/${name[0]}/${name}_${version}_${architecture}.deb`,
    size: 1,
    sha256: '0'.repeat(64) as ArchivePackage['sha256'],
    essential: false,
    ...(extra.source !== undefined && { source: extra.source }),
    ...(extra.section !== undefined && { section: extra.section }),
    stanza: `Package: ${name}\n${extra.section ? `Section: ${extra.section}\n` : ''}`,
  };
}

describe('archive uploads', () => {
  it('reads the source name and version from the Source field, binNMUs included', () => {
    expect(sourceOf(pkg('hello', '2.10-3', 'amd64'))).toEqual({ source: 'hello', version: '2.10-3' });
    expect(sourceOf(pkg('libfoo1', '1.0-1+b1', 'amd64', { source: 'foo (1.0-1)' }))).toEqual({
      source: 'foo',
      version: '1.0-1',
    });
    expect(sourceOf(pkg('foo-doc', '1:1.0-1', 'all', { source: 'foo' }))).toEqual({
      source: 'foo',
      version: '1:1.0-1',
    });
  });

  it('selects by name (binary or source) and section globs, exclude winning', () => {
    const selection = uploadSelection({ names: ['lib*'], sections: ['games'] }, { names: ['libsecret*'] });
    expect(selection.selects({ name: 'libc6', source: 'glibc' })).toBe(true);
    expect(selection.selects({ name: 'foo', source: 'libfoo' })).toBe(true);
    expect(selection.selects({ name: 'nethack', source: 'nethack', section: 'games' })).toBe(true);
    expect(selection.selects({ name: 'libsecret-1-0', source: 'libsecret' })).toBe(false);
    expect(selection.selects({ name: 'hello', source: 'hello', section: 'devel' })).toBe(false);
    // A glob's other characters are literal: `.` is not "any character".
    expect(uploadSelection({ names: ['a.c'] }, {}).selects({ name: 'abc', source: 'abc' })).toBe(false);
    expect(uploadSelection({}, {}).selects({ name: 'anything', source: 'anything' })).toBe(true);
  });

  it('groups binaries per source version and architecture, folding arch:all into the arch build', () => {
    const uploads = uploadsOf(
      [
        pkg('hello', '2.10-3', 'amd64'),
        pkg('hello-doc', '2.10-3', 'all', { source: 'hello' }),
        pkg('hello-dbgsym', '2.10-3', 'amd64', { source: 'hello' }),
        pkg('tzdata', '2024a-1', 'all'),
        pkg('tzdata-legacy', '2024a-1', 'all', { source: 'tzdata' }),
      ],
      uploadSelection({}, {}),
    );
    expect(uploads).toEqual([
      {
        source: 'hello',
        version: '2.10-3',
        binaryVersion: '2.10-3',
        architecture: 'amd64',
        binaries: ['hello', 'hello-dbgsym', 'hello-doc'],
      },
      {
        source: 'tzdata',
        version: '2024a-1',
        binaryVersion: '2024a-1',
        architecture: 'all',
        binaries: ['tzdata', 'tzdata-legacy'],
      },
    ]);
  });

  it('keeps a binNMU apart from its source version, and folds arch:all only into the sourceful build', () => {
    const uploads = uploadsOf(
      [
        // The source version's own build (still in the index beside the binNMU on another arch).
        pkg('libfoo1', '1:1.2-3', 'amd64', { source: 'foo' }),
        pkg('foo-common', '1:1.2-3', 'all', { source: 'foo' }),
        // binNMU: binary version 1.2-3+b1 of source 1.2-3, its own .buildinfo.
        pkg('foo-tools', '1:1.2-3+b1', 'amd64', { source: 'foo (1:1.2-3)' }),
        pkg('libfoo1-dbgsym', '1:1.2-3+b1', 'amd64', { source: 'foo (1:1.2-3)' }),
      ],
      uploadSelection({}, {}),
    );
    expect(uploads.map((u) => [u.version, u.binaryVersion, u.architecture, u.binaries])).toEqual([
      ['1:1.2-3', '1:1.2-3', 'amd64', ['foo-common', 'libfoo1']],
      ['1:1.2-3', '1:1.2-3+b1', 'amd64', ['foo-tools', 'libfoo1-dbgsym']],
    ]);
    expect(
      uploads.map((u) => buildinfoUrlOf('https://b.example/{source}_{version}_{arch}.buildinfo', u)),
    ).toEqual([
      'https://b.example/foo_1.2-3_amd64.buildinfo',
      'https://b.example/foo_1.2-3+b1_amd64.buildinfo',
    ]);
  });

  it("selects by the source's section from Sources, and marks binaries whose source version is gone", () => {
    const sources = new Map([
      ['hello', new Map([['2.10-3', 'devel']])],
      ['nethack', new Map([['3.6.7-1', 'games']])],
    ]);
    const packages = [
      pkg('hello', '2.10-3', 'amd64', { section: 'devel' }),
      // Its binary is in `doc`, its source in `games`: the source section rule still selects it.
      pkg('nethack-doc', '3.6.7-1', 'all', { source: 'nethack', section: 'doc' }),
      // Cruft: built from nethack 3.6.6-1, which Sources no longer lists.
      pkg('nethack-console', '3.6.6-1', 'amd64', { source: 'nethack', section: 'games' }),
    ];
    const games = uploadsOf(packages, uploadSelection({ sections: ['games'] }, {}), sources);
    expect(games.map((u) => [u.source, u.version, u.cruft])).toEqual([
      ['nethack', '3.6.7-1', undefined],
      ['nethack', '3.6.6-1', "source nethack 3.6.6-1 is not in the suite's Sources"],
    ]);
    // Without Sources nothing is judged cruft and only binary sections count.
    expect(uploadsOf(packages, uploadSelection({ sections: ['games'] }, {})).map((u) => u.version)).toEqual([
      '3.6.6-1',
    ]);
  });

  it("fills the .buildinfo template as Debian's pool names files", () => {
    expect(poolPrefix('libfoo')).toBe('libf');
    expect(poolPrefix('hello')).toBe('h');
    expect(poolPrefix('lib')).toBe('l');
    expect(
      buildinfoUrlOf('https://b.example/pool/{prefix}/{source}/{source}_{version}_{arch}.buildinfo', {
        source: 'libfoo',
        binaryVersion: '1:2.0+dfsg-1',
        architecture: 'amd64',
      }),
    ).toBe('https://b.example/pool/libf/libfoo/libfoo_2.0+dfsg-1_amd64.buildinfo');
  });
});
