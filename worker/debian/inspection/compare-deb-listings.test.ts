// The nested divergence report: which members of two .debs differ, how, and the hint that names the
// evidence for each usual cause.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompareOptions,
  compareDebListings,
  type DebComparison,
} from '../../../services/debian/deb-inspection/compare-deb-listings.ts';
import type { DebListing } from '../../../services/debian/deb-inspection/deb-listing.ts';
import {
  buildDeb,
  type DebSpec,
  FIXTURE_EPOCH,
  type FixtureEntry,
  fileEntry,
  gzipWithHeader,
  sampleData,
} from './deb-fixture.ts';
import { inspectDeb } from './inspect-deb.ts';

let dir: string;
let counter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-compare-deb-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listing(spec: DebSpec, searchStrings?: string[]): Promise<DebListing> {
  counter += 1;
  const path = join(dir, `${counter}.deb`);
  await writeFile(path, await buildDeb(spec));
  return inspectDeb(path, {}, searchStrings ? { searchStrings } : {});
}

async function compareData(
  change: (entries: FixtureEntry[]) => FixtureEntry[],
  options: CompareOptions = {},
): Promise<DebComparison> {
  const search = options.buildPaths ? [...options.buildPaths] : undefined;
  const left = await listing({ data: sampleData() }, search);
  const right = await listing({ data: change(sampleData()) }, search);
  return compareDebListings(left, right, options);
}

function patch(path: string, over: Partial<FixtureEntry>): (entries: FixtureEntry[]) => FixtureEntry[] {
  return (entries) => entries.map((e) => (e.name === path ? { ...e, ...over } : e));
}

const summary = (c: DebComparison) =>
  c.members.map((m) => [m.area, m.path, m.only ?? m.differences.join(',')]);

describe('compareDebListings', () => {
  it('identical .debs: identical, nothing listed, no hints', async () => {
    const c = await compareData((e) => e);
    expect(c).toEqual({
      identical: true,
      arMembersDiffer: false,
      compressionDiffers: [],
      members: [],
      orderDiffers: [],
      hints: [],
    });
  });

  it('one data member changed: exactly that member (sha256, size), and md5sums explained', async () => {
    const c = await compareData(patch('./usr/bin/hello', { content: '\x7fELF hello binary, patched\n' }));
    expect(c.identical).toBe(false);
    expect(summary(c)).toEqual([
      ['control', 'md5sums', 'sha256'],
      ['data', 'usr/bin/hello', 'sha256,size'],
    ]);
    expect(c.members[1]!.left!.sha256).not.toBe(c.members[1]!.right!.sha256);
    expect(c.hints).toEqual([
      'md5sums in control.tar differs because 1 data member differs in content (usr/bin/hello); it follows from those, it is not a cause of its own.',
    ]);
  });

  it('mtime changed: an mtime difference and the SOURCE_DATE_EPOCH hint', async () => {
    const c = await compareData(patch('./usr/share/doc/hello/README', { mtime: FIXTURE_EPOCH + 3600 }), {
      sourceDateEpoch: FIXTURE_EPOCH,
    });
    expect(summary(c)).toEqual([['data', 'usr/share/doc/hello/README', 'mtime']]);
    expect(c.hints).toEqual([
      `1 member has mtimes later than SOURCE_DATE_EPOCH=${FIXTURE_EPOCH} (usr/share/doc/hello/README ${FIXTURE_EPOCH} vs ${FIXTURE_EPOCH + 3600}): mtime clamping was not applied.`,
    ]);
    const earlier = await compareData(patch('./usr/bin/hello', { mtime: 1_000 }), {
      sourceDateEpoch: FIXTURE_EPOCH,
    });
    expect(earlier.hints[0]).toMatch(
      /not all equal SOURCE_DATE_EPOCH=1700000000 \(usr\/bin\/hello 1700000000 vs 1000\)/,
    );
  });

  it('mode changed: the permissions hint', async () => {
    const c = await compareData(patch('./usr/bin/hello', { mode: 0o775 }));
    expect(summary(c)).toEqual([['data', 'usr/bin/hello', 'mode']]);
    expect(c.hints).toEqual([
      '1 member differs in permissions (usr/bin/hello 0755 vs 0775): the builds ran with different umasks, or the packaging does not set modes.',
    ]);
  });

  it('owner changed: the fakeroot hint', async () => {
    const c = await compareData(
      patch('./usr/bin/hello', { uid: 1000, gid: 1000, uname: 'builder', gname: 'builder' }),
    );
    expect(summary(c)).toEqual([['data', 'usr/bin/hello', 'owner']]);
    expect(c.hints[0]).toMatch(
      /usr\/bin\/hello root:root 0:0 vs builder:builder 1000:1000\): one build ran without fakeroot/,
    );
  });

  it('order changed: orderDiffers, no member differences', async () => {
    const c = await compareData((entries) => {
      const copy = [...entries];
      const readme = copy.findIndex((e) => e.name.endsWith('README'));
      const [moved] = copy.splice(readme, 1);
      return [...copy, moved!];
    });
    expect(c.members).toEqual([]);
    expect(c.orderDiffers).toEqual([{ area: 'data' }]);
    expect(c.hints).toEqual([
      'The file order in data.tar differs (same members, different order): the tar was not written with sorted names.',
    ]);
  });

  it('gzip header mtime differs in a .gz member: the gzip hint', async () => {
    const path = './usr/share/doc/hello/changelog.Debian.gz';
    const c = await compareData(
      patch(path, {
        content: gzipWithHeader(Buffer.from('hello (1.0) unstable\n'), {
          mtimeSeconds: 1_690_000_000,
          name: 'changelog.Debian',
        }),
      }),
    );
    expect(summary(c)).toEqual([
      ['control', 'md5sums', 'sha256'],
      ['data', 'usr/share/doc/hello/changelog.Debian.gz', 'sha256,size'],
    ]);
    expect(c.hints).toContain(
      'gzip headers differ in usr/share/doc/hello/changelog.Debian.gz (mtime 0 vs 1690000000, file name absent vs "changelog.Debian"): compress with gzip -n (no name, no timestamp), as dh_compress does.',
    );
  });

  it('build path embedded: the build path hint names the member and the side', async () => {
    const buildPaths = ['/build/hello-1a2b', '/build/hello-9z8y'];
    const c = await compareData(
      patch('./usr/bin/hello', { content: '\x7fELF hello binary /build/hello-9z8y/src/hello.c\n' }),
      { buildPaths },
    );
    expect(c.hints).toContain(
      'The build path leaks into differing members (usr/bin/hello contains /build/hello-9z8y on the right): build in a fixed path or map it away (-ffile-prefix-map).',
    );
  });

  it('members on one side only, compression and ar differences, and same content compressed differently', async () => {
    const left = await listing({ data: sampleData() });
    const right = await listing({
      data: [...sampleData(), fileEntry('./usr/bin/extra', 'x')],
      dataCompression: 'zstd',
    });
    const c = compareDebListings(left, right);
    expect(summary(c)).toEqual([
      ['control', 'md5sums', 'sha256,size'],
      ['data', 'usr/bin/extra', 'right'],
    ]);
    expect(c.arMembersDiffer).toBe(true);
    expect(c.hints).not.toContain(expect.stringMatching(/ar members differ/));
    expect(c.compressionDiffers).toEqual([{ area: 'data', left: 'xz', right: 'zstd' }]);

    const gz = await listing({ data: sampleData(), dataCompression: 'gzip' });
    const xz = await listing({ data: sampleData(), dataCompression: 'xz' });
    const same = compareDebListings(gz, xz);
    expect(same.identical).toBe(false);
    expect(same.members).toEqual([]);
    expect(same.hints).toEqual([
      'data.tar is compressed differently (gzip vs xz): the builds used different dpkg-deb versions or -Z options.',
      'Every member has the same content and metadata in the same order: the bytes differ in the compression (compressor version or level) or in tar header fields not compared.',
    ]);
  });

  it('says when a hazard left a listing incomplete', async () => {
    const left = await listing({ data: sampleData() });
    counter += 1;
    const path = join(dir, `${counter}.deb`);
    await writeFile(
      path,
      await buildDeb({ data: [...sampleData(), fileEntry('./big', Buffer.alloc(4 * 1024 ** 2))] }),
    );
    const right = await inspectDeb(path, { maxDecompressedBytes: 1024 ** 2 });
    const c = compareDebListings(left, right);
    expect(c.hints[0]).toBe(
      'The right .deb has hazards (decompression-bomb ×1); its data listing is incomplete, so differences there may be missing.',
    );
  });
});
