// The archive poller against an archive laid out as Debian's is: indexes served only as .xz (or
// .gz) with the Release listing the plain digest too, a Sources index beside Packages, and binNMUs.
// A binNMU is an upload and a build of its own; Sources gives source sections to the rules and marks
// cruft (binaries whose source version is gone) skipped with a reason; a corrupt or oversized
// compressed index, one not matching the Release, or a stanza with a bad field is refused with a
// reason, nothing stored, and the poller keeps going. Real SQLite, xz, gpg/gpgv and HTTP.
import { describe, expect, it } from 'vitest';
import { renderBuildinfoFixture, uploadBuildinfoParts } from '../../services/debian/buildinfo-fixture.ts';
import {
  addProfile,
  archive,
  builds,
  coordinator,
  hello,
  helloBuildinfo,
  key,
  PACKAGES,
  pass,
  settings,
  useArchiveSyncFixture,
} from '../../test/support/archive-sync-fixture.ts';
import { compress, type FixtureBinary } from '../../test/support/signed-archive-server.ts';
import { syncProfileOnce } from './archive-poller.ts';

useArchiveSyncFixture();

const SOURCES = 'main/source/Sources';

/** hello 2.10-3 rebuilt as binNMU 2.10-3+b1 on amd64; its arch:all binary stays at 2.10-3. */
function helloBinNmu(): FixtureBinary[] {
  return [
    {
      name: 'hello',
      source: 'hello (2.10-3)',
      version: '2.10-3+b1',
      architecture: 'amd64',
      section: 'devel',
    },
    { name: 'hello-dbgsym', source: 'hello (2.10-3)', version: '2.10-3+b1', architecture: 'amd64' },
    { name: 'hello-doc', source: 'hello', version: '2.10-3', architecture: 'all', section: 'doc' },
  ];
}

function helloBinNmuBuildinfo(): string {
  return renderBuildinfoFixture(
    uploadBuildinfoParts({
      source: 'hello',
      sourceVersion: '2.10-3',
      version: '2.10-3+b1',
      architecture: 'amd64',
      binaries: ['hello', 'hello-dbgsym'],
    }),
  );
}

describe('archive sync, Debian layout', () => {
  it('reads .xz indexes and makes a binNMU its own upload and build, apart from its source version', async () => {
    archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-3') }, { compression: 'xz' });
    archive.putBuildinfo('hello', '2.10-3', 'amd64', helloBuildinfo('2.10-3'));
    const profile = await addProfile();
    expect(await pass(profile)).toMatchObject({ indexesRead: 1, uploadsAdded: 1, submitted: 1 });
    expect(archive.requests).toContain(`/debian/dists/bookworm/${PACKAGES}.xz`);
    expect(archive.requests).not.toContain(`/debian/dists/bookworm/${PACKAGES}`);

    archive.publish(key, 'bookworm', { [PACKAGES]: helloBinNmu() }, { compression: 'xz' });
    archive.putBuildinfo('hello', '2.10-3+b1', 'amd64', helloBinNmuBuildinfo());
    const second = await pass(profile);
    expect(second).toMatchObject({ indexesRead: 1, uploadsAdded: 2, submitted: 1 });
    const uploads = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(uploads.map((u) => [u.version, u.binaryVersion, u.architecture, u.binaries, u.state])).toEqual([
      ['2.10-3', '2.10-3', 'all', ['hello-doc'], 'pending'],
      ['2.10-3', '2.10-3', 'amd64', ['hello', 'hello-dbgsym', 'hello-doc'], 'submitted'],
      ['2.10-3', '2.10-3+b1', 'amd64', ['hello', 'hello-dbgsym'], 'submitted'],
    ]);
    // Two builds: the source version's and the binNMU's, from its own .buildinfo.
    expect(archive.requests).toContain('/buildinfo-pool/h/hello/hello_2.10-3+b1_amd64.buildinfo');
    const all = await builds();
    expect(all).toHaveLength(2);
    expect(new Set(all.map((b) => b.buildId)).size).toBe(2);
  });

  it('reads Sources for source sections and records cruft as skipped with a reason, never submitted', async () => {
    const nethack: FixtureBinary[] = [
      // Its binary is in `doc`, its source in `games`: a source-section rule selects it.
      { name: 'nethack-doc', source: 'nethack', version: '3.6.7-1', architecture: 'all', section: 'doc' },
      // Cruft: built from nethack 3.6.6-1, which Sources no longer lists.
      {
        name: 'nethack-x11',
        source: 'nethack (3.6.6-1)',
        version: '3.6.6-1',
        architecture: 'amd64',
        section: 'games',
      },
    ];
    const sources = [
      { name: 'hello', version: '2.10-3', section: 'devel' },
      { name: 'nethack', version: '3.6.7-1', section: 'games' },
    ];
    archive.publish(
      key,
      'bookworm',
      { [PACKAGES]: [...hello('2.10-3'), ...nethack] },
      { compression: 'gz', sources: { [SOURCES]: sources } },
    );
    archive.putBuildinfo('nethack', '3.6.6-1', 'amd64', helloBuildinfo('2.10-3'));
    const profile = await addProfile({ include: { sections: ['games'] } });
    expect(await pass(profile)).toMatchObject({ indexesRead: 2, uploadsAdded: 2, submitted: 0 });
    const uploads = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(uploads.map((u) => [u.source, u.version, u.state, u.reason])).toEqual([
      ['nethack', '3.6.6-1', 'skipped', 'source-missing'],
      ['nethack', '3.6.7-1', 'pending', 'buildinfo-not-published'],
    ]);
    expect(uploads[0]?.detail).toMatch(/nethack 3.6.6-1 is not in the suite's Sources/);
    expect(archive.requests.filter((path) => path.includes('3.6.6-1'))).toEqual([]);
    expect(await builds()).toEqual([]);

    // Nothing changed: only InRelease is read.
    const before = archive.requests.length;
    expect(await pass(profile)).toMatchObject({ indexesRead: 0, uploadsAdded: 0 });
    expect(archive.requests.slice(before).filter((path) => path.includes('/dists/'))).toEqual([
      '/debian/dists/bookworm/InRelease',
    ]);
    // Only Sources changed: the component is read again (Sources judges its Packages).
    archive.publish(
      key,
      'bookworm',
      { [PACKAGES]: [...hello('2.10-3'), ...nethack] },
      { compression: 'gz', sources: { [SOURCES]: [...sources, { name: 'nethack', version: '3.6.6-1' }] } },
    );
    expect(await pass(profile)).toMatchObject({ indexesRead: 2, uploadsAdded: 0 });
  });

  // 50 kB of one repeated letter: a few hundred bytes of .xz.
  const bomb: FixtureBinary[] = [
    { name: 'bomb', version: '1.0-1', architecture: 'amd64', description: `bomb\n ${'a'.repeat(50_000)}` },
  ];
  const hostile: [string, () => void, RegExp][] = [
    [
      'a corrupt .xz the Release vouches for',
      () =>
        archive.publish(
          key,
          'bookworm',
          { [PACKAGES]: hello('2.10-3') },
          { compression: 'xz', replace: { [`${PACKAGES}.xz`]: Buffer.from('\xfd7zXZ\0 but not really xz') } },
        ),
      /Packages\.xz: not a valid xz stream/,
    ],
    [
      'a corrupt .gz the Release vouches for',
      () =>
        archive.publish(
          key,
          'bookworm',
          { [PACKAGES]: hello('2.10-3') },
          { compression: 'gz', replace: { [`${PACKAGES}.gz`]: Buffer.from('not gzip at all') } },
        ),
      /Packages\.gz: not a valid gzip stream/,
    ],
    [
      'an .xz that decompresses past the limit',
      () => archive.publish(key, 'bookworm', { [PACKAGES]: bomb }, { compression: 'xz' }),
      /Packages\.xz: decompressed, over the limit of 4096 bytes/,
    ],
    [
      'an .xz that is not what the Release lists',
      () => {
        archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-3') }, { compression: 'xz' });
        archive.misbehaviour.set(`/debian/dists/bookworm/${PACKAGES}.xz`, {
          kind: 'bytes',
          bytes: compress(Buffer.from('Package: evil\n'), 'xz'),
        });
      },
      /Packages\.xz: not the size and sha256 the Release lists/,
    ],
    [
      'a stanza with a bad Version',
      () =>
        archive.publish(
          key,
          'bookworm',
          {
            [PACKAGES]: [
              ...hello('2.10-3'),
              { name: 'bad', version: 'not a version!', architecture: 'amd64' },
            ],
          },
          { compression: 'xz' },
        ),
      /Version.*"bad"/,
    ],
  ];
  it.each(hostile)(
    'refuses %s with a reason, stores nothing and keeps polling',
    async (_what, arrange, detail) => {
      arrange();
      archive.putBuildinfo('hello', '2.10-3', 'amd64', helloBuildinfo('2.10-3'));
      const profile = await addProfile();
      // No retry delay: the next poll is due at once (the backoff has its own test).
      const noDelay = { ...settings, maxIndexBytes: 4096, retryDelayMs: 0 };
      const report = await syncProfileOnce(coordinator.deps, profile, {
        pollIntervalMs: 0,
        settings: noDelay,
      });
      expect(report.pollFailure).toMatchObject({
        reason: 'archive-index',
        detail: expect.stringMatching(detail),
      });
      expect(await coordinator.deps.syncProgress.listUploads(profile.name)).toEqual([]);
      expect(await builds()).toEqual([]);
      // The archive is fixed: the next due poll reads it (nothing was recorded as read).
      archive.misbehaviour.clear();
      archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-3') }, { compression: 'xz' });
      const next = await syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings: noDelay });
      expect(next).toMatchObject({ indexesRead: 1, uploadsAdded: 1, submitted: 1 });
    },
  );
});
