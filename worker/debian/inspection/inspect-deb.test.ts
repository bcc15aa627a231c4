// inspectDeb on crafted .debs: a well-formed one listed fully; hostile and malformed ones reported as
// hazards (never thrown), with whatever could still be listed; only our own failures throw.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AR_CONTAINER, type DebListing } from '../../../services/debian/deb-inspection/deb-listing.ts';
import { InspectionError } from '../../../services/errors.ts';
import { buildDeb, compress, dirEntry, fileEntry, packTar, sampleData, writeAr } from './deb-fixture.ts';
import { type DebInspectionLimits, inspectDeb } from './inspect-deb.ts';

let dir: string;
let counter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-inspect-deb-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function inspectBytes(bytes: Buffer, limits: Partial<DebInspectionLimits> = {}): Promise<DebListing> {
  counter += 1;
  const path = join(dir, `${counter}.deb`);
  await writeFile(path, bytes);
  return inspectDeb(path, limits);
}

const hazardKinds = (l: DebListing) => l.hazards.map((h) => `${h.kind}:${h.member}`);

describe('inspectDeb on a well-formed .deb', () => {
  it('gives sha256, size, debian-binary, the ar members and both listings, with no hazards', async () => {
    const deb = await buildDeb({ data: sampleData(), controlCompression: 'gzip', dataCompression: 'zstd' });
    const listing = await inspectBytes(deb);
    expect(listing).toMatchObject({
      size: deb.length,
      debianBinary: '2.0\n',
      arMembers: ['debian-binary', 'control.tar.gz', 'data.tar.zst'],
      hazards: [],
    });
    expect(listing.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(listing.control).toMatchObject({ member: 'control.tar.gz', compression: 'gzip', complete: true });
    expect(listing.control!.members.map((m) => m.path)).toEqual(['.', 'control', 'md5sums']);
    expect(listing.data).toMatchObject({ member: 'data.tar.zst', compression: 'zstd', complete: true });
    expect(listing.data!.members).toHaveLength(10);
    expect(Object.isFrozen(listing)).toBe(true);
  });
});

describe('inspectDeb on hostile .debs', () => {
  it('lists traversal members and reports each as path-traversal', async () => {
    const listing = await inspectBytes(
      await buildDeb({
        data: [
          dirEntry('./'),
          fileEntry('../../etc/passwd', 'evil'),
          fileEntry('/etc/shadow', 'evil'),
          { name: './usr/x', type: 'link', linkname: '../x' },
        ],
      }),
    );
    expect(listing.data!.complete).toBe(true);
    expect(listing.hazards.map((h) => [h.kind, h.member, h.path])).toEqual([
      ['path-traversal', 'data.tar.xz', '../../etc/passwd'],
      ['path-traversal', 'data.tar.xz', '/etc/shadow'],
      ['path-traversal', 'data.tar.xz', 'usr/x'],
    ]);
  });

  it.each(['xz', 'gzip'] as const)(
    'reports a %s decompression bomb as a hazard and stops reading it',
    async (c) => {
      const bomb = await buildDeb({
        data: [dirEntry('./'), fileEntry('./zeros', Buffer.alloc(16 * 1024 ** 2)), fileEntry('./after', 'x')],
        dataCompression: c,
      });
      expect(bomb.length).toBeLessThan(100_000);
      const listing = await inspectBytes(bomb, { maxDecompressedBytes: 1024 ** 2 });
      expect(hazardKinds(listing)).toEqual([`decompression-bomb:data.tar.${c === 'gzip' ? 'gz' : 'xz'}`]);
      expect(listing.hazards[0]!.detail).toMatch(/past the cap/);
      expect(listing.data!.complete).toBe(false);
      expect(listing.data!.members.map((m) => m.path)).toEqual(['.']);
      expect(listing.control!.complete).toBe(true);
    },
  );

  it('reports too many members and stops listing', async () => {
    const data = [dirEntry('./'), ...Array.from({ length: 50 }, (_, i) => fileEntry(`./f${i}`, ''))];
    const listing = await inspectBytes(await buildDeb({ data }), { maxMembers: 20 });
    expect(hazardKinds(listing)).toEqual(['too-many-members:data.tar.xz']);
    expect(listing.data!.members).toHaveLength(20);
  });

  it('reports a timeout as a hazard', async () => {
    const listing = await inspectBytes(await buildDeb({ data: sampleData() }), { timeoutMs: 0 });
    expect(listing.hazards.some((h) => h.kind === 'timeout')).toBe(true);
  });
});

describe('inspectDeb on malformed .debs (a `malformed` hazard with the reason, never an exception)', () => {
  it('corrupt ar magic: nothing listed', async () => {
    const deb = await buildDeb({ data: sampleData() });
    deb.write('!<arkh>\n', 0, 'latin1');
    const listing = await inspectBytes(deb);
    expect(listing).toMatchObject({ arMembers: [], control: null, data: null, debianBinary: null });
    expect(listing.hazards).toEqual([
      { kind: 'malformed', member: AR_CONTAINER, detail: expect.stringMatching(/not an ar archive/) },
    ]);
  });

  it('truncated member: the ar container is refused', async () => {
    const deb = await buildDeb({ data: sampleData() });
    const listing = await inspectBytes(deb.subarray(0, deb.length - 50));
    expect(hazardKinds(listing)).toEqual([`malformed:${AR_CONTAINER}`]);
    expect(listing.hazards[0]!.detail).toMatch(/past the end of the file/);
  });

  it('compression magic that does not match the name', async () => {
    const tar = await packTar(sampleData());
    const deb = writeAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      {
        name: 'control.tar.xz',
        data: compress(await packTar([fileEntry('./control', 'Package: x\n')]), 'xz'),
      },
      { name: 'data.tar.xz', data: compress(tar, 'gzip') },
    ]);
    const listing = await inspectBytes(deb);
    expect(listing.hazards).toEqual([
      {
        kind: 'malformed',
        member: 'data.tar.xz',
        detail: 'the name says xz data, but the bytes are gzip data',
      },
    ]);
    expect(listing.data).toMatchObject({ complete: false, members: [] });
    expect(listing.control!.complete).toBe(true);
  });

  it('corrupt compressed data and a broken tar inside valid compression', async () => {
    const xz = compress(await packTar(sampleData()), 'xz');
    xz.fill(0x55, 60, 120);
    const corrupt = await inspectBytes(
      writeAr([
        { name: 'debian-binary', data: Buffer.from('2.0\n') },
        { name: 'control.tar', data: await packTar([fileEntry('./control', 'Package: x\n')]) },
        { name: 'data.tar.xz', data: xz },
      ]),
    );
    expect(hazardKinds(corrupt)).toEqual(['malformed:data.tar.xz']);
    expect(corrupt.hazards[0]!.detail).toMatch(/corrupt xz data/);

    const brokenTar = Buffer.concat([
      Buffer.from((await packTar(sampleData())).subarray(0, 1024)),
      Buffer.alloc(512, 0x41),
    ]);
    const broken = await inspectBytes(
      writeAr([
        { name: 'debian-binary', data: Buffer.from('2.0\n') },
        { name: 'control.tar', data: await packTar([fileEntry('./control', 'Package: x\n')]) },
        { name: 'data.tar.gz', data: compress(brokenTar, 'gzip') },
      ]),
    );
    expect(hazardKinds(broken)).toEqual(['malformed:data.tar.gz']);
    expect(broken.hazards[0]!.detail).toMatch(/unreadable tar/);
  });

  it('odd structure: wrong first member, bad format version, unknown and missing members', async () => {
    const control = compress(await packTar([fileEntry('./control', 'Package: x\n')]), 'xz');
    const listing = await inspectBytes(
      writeAr([
        { name: 'control.tar.xz', data: control },
        { name: 'debian-binary', data: Buffer.from('3.0\n') },
        { name: 'evil', data: Buffer.from('xx') },
      ]),
    );
    expect(listing.arMembers).toEqual(['control.tar.xz', 'debian-binary', 'evil']);
    expect(listing.debianBinary).toBe('3.0\n');
    expect(listing.hazards.map((h) => [h.member, h.detail])).toEqual([
      [AR_CONTAINER, 'the first member is "control.tar.xz", not "debian-binary"'],
      ['debian-binary', 'format version "3.0\\n" is not "2.x\\n"'],
      ['evil', 'not a member a .deb may have'],
      [AR_CONTAINER, 'no control.tar member'],
      [AR_CONTAINER, 'no data.tar member'],
    ]);
  });
});

describe('inspectDeb failures of our own', () => {
  it('throws INSPECTION_FAILED for a file it cannot read', async () => {
    const err = await inspectDeb(join(dir, 'missing.deb')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InspectionError);
    expect((err as InspectionError).code).toBe('INSPECTION_FAILED');
  });
});
