// Tar listing: the fields each member carries, streaming search and gzip headers, and hostile
// entries reported as hazards while the listing goes on.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dirEntry, FIXTURE_EPOCH, fileEntry, gzipWithHeader, packTar, sampleData } from './deb-fixture.ts';
import { listTarMembers, parseGzipHeader } from './list-tar-members.ts';

/** Feeds the tar in small chunks so matches straddle chunk boundaries. */
function chunked(bytes: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

const list = async (bytes: Buffer, options: Partial<Parameters<typeof listTarMembers>[1]> = {}) =>
  listTarMembers(chunked(bytes), { member: 'data.tar.xz', ...options });

describe('listTarMembers', () => {
  it('lists every member in archive order with its metadata, sha256 and link target', async () => {
    const listing = await list(await packTar(sampleData()));
    expect(listing.complete).toBe(true);
    expect(listing.hazards).toEqual([]);
    expect(listing.members.map((m) => m.path)).toEqual([
      '.',
      'usr/',
      'usr/bin/',
      'usr/bin/hello',
      'usr/share/',
      'usr/share/doc/',
      'usr/share/doc/hello/',
      'usr/share/doc/hello/README',
      'usr/share/doc/hello/changelog.Debian.gz',
      'usr/bin/hi',
    ]);
    expect(listing.members[3]).toEqual({
      path: 'usr/bin/hello',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      mtimeSeconds: FIXTURE_EPOCH,
      size: 18,
      sha256: 'ab513db6d35d25c1c541a2ba33af26a4cea93ef952037aec86dbe7c74fd56243',
    });
    expect(listing.members[9]).toMatchObject({ type: 'symlink', linkTarget: 'hello', size: 0 });
    expect(listing.members[8]!.gzipHeader).toEqual({ mtimeSeconds: 0, os: 3, hasName: false });
  });

  it('finds search strings across chunk boundaries and records only those that occur', async () => {
    const needle = '/build/hello-2.10/src';
    const tar = await packTar([
      fileEntry('./a', `xxxxx${needle}yyyy`),
      fileEntry('./b', 'nothing here'),
      fileEntry('./c', `${'z'.repeat(5000)}${needle}`),
    ]);
    const listing = await list(tar, { searchStrings: [needle, '/other/path'] });
    expect(listing.members.map((m) => m.foundStrings)).toEqual([[needle], undefined, [needle]]);
    const capped = await list(tar, { searchStrings: [needle], maxSearchBytesPerFile: 1000 });
    expect(capped.members[2]!.foundStrings).toBeUndefined();
  });

  it('records the gzip header mtime and stored name of *.gz files', async () => {
    const gz = gzipWithHeader(Buffer.from('changelog'), {
      mtimeSeconds: 1_650_000_000,
      name: 'changelog.Debian',
    });
    expect(parseGzipHeader(gz)).toEqual({
      mtimeSeconds: 1_650_000_000,
      os: 3,
      hasName: true,
      name: 'changelog.Debian',
    });
    const listing = await list(await packTar([fileEntry('./x.gz', gz), fileEntry('./plain.gz', 'not gzip')]));
    expect(listing.members[0]!.gzipHeader).toMatchObject({ hasName: true, name: 'changelog.Debian' });
    expect(listing.members[1]!.gzipHeader).toBeUndefined();
  });

  it('reports path traversal (relative, absolute, hard link target) but keeps listing', async () => {
    const listing = await list(
      await packTar([
        fileEntry('../../etc/passwd', 'root::0:0::/:/bin/sh\n'),
        fileEntry('/etc/shadow', 'root::1::::::\n'),
        { name: './usr/x', type: 'link', linkname: '../x' },
        fileEntry('./usr/fine', 'ok'),
      ]),
    );
    expect(listing.complete).toBe(true);
    expect(listing.members.map((m) => m.path)).toEqual([
      '../../etc/passwd',
      '/etc/shadow',
      'usr/x',
      'usr/fine',
    ]);
    expect(listing.members[2]).toMatchObject({ type: 'hardlink', linkTarget: '../x' });
    expect(listing.hazards.map((h) => [h.kind, h.path])).toEqual([
      ['path-traversal', '../../etc/passwd'],
      ['path-traversal', '/etc/shadow'],
      ['path-traversal', 'usr/x'],
    ]);
    expect(listing.hazards[2]!.detail).toMatch(/hard link target "..\/x"/);
  });

  it('reports duplicates, device nodes and names too long to list', async () => {
    const longName = `./${'a'.repeat(300)}`;
    const listing = await list(
      await packTar([
        dirEntry('./etc/'),
        fileEntry('./etc/x', 'one'),
        fileEntry('./etc/x', 'two'),
        dirEntry('./etc'),
        { name: './dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
        fileEntry(longName, 'long'),
      ]),
    );
    expect(listing.hazards.map((h) => h.kind)).toEqual([
      'duplicate-member',
      'duplicate-member',
      'device-node',
      'name-too-long',
    ]);
    expect(listing.hazards[2]!.detail).toBe('block-device 8:0');
    expect(listing.members.map((m) => m.path)).not.toContain(longName.slice(2));
    expect(listing.members).toHaveLength(5);
  });

  it('stops after maxMembers with a too-many-members hazard', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => fileEntry(`./f${i}`, `${i}`));
    const listing = await list(await packTar(entries), { maxMembers: 10 });
    expect(listing.complete).toBe(false);
    expect(listing.members).toHaveLength(10);
    expect(listing.hazards).toEqual([
      {
        kind: 'too-many-members',
        member: 'data.tar.xz',
        detail: expect.stringMatching(/more than 10 entries/),
      },
    ]);
  });

  it('returns what it listed and the parser error for a broken or truncated tar', async () => {
    const tar = await packTar(sampleData());
    const truncated = await list(tar.subarray(0, 512 * 5 + 100));
    expect(truncated.complete).toBe(false);
    expect(truncated.error).toMatch(/Unexpected end/);
    expect(truncated.members.length).toBeGreaterThan(0);
    const garbage = await list(Buffer.alloc(2048, 0x41));
    expect(garbage.complete).toBe(false);
    expect(garbage.error).toBeDefined();
  });
});
