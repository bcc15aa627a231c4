// Opt-in, not part of `npm test`: `npm run test:real-archive` (needs http://deb.debian.org). A sync
// profile follows Debian's real bookworm archive, read-only: InRelease verified with Debian's keyring,
// the real main amd64 Packages.xz and Sources.xz streamed and parsed, a handful of packages selected by
// include rule. Their .buildinfos are made by this test and served from 127.0.0.1 (Debian's are not
// fetched), then submitted once each; a second poll reads no index.
import { describe, expect, it } from 'vitest';
import {
  type ArchiveSyncSettings,
  archiveSyncDefaults,
  syncProfileOnce,
} from '../../coordinator/sync/archive-poller.ts';
import { renderBuildinfoFixture, uploadBuildinfoParts } from '../../services/debian/buildinfo-fixture.ts';
import type { SyncProfileRecord } from '../../services/storage/sync-profile-store.ts';
import type { SyncUploadRecord } from '../../services/storage/sync-progress-store.ts';
import {
  addProfile,
  archive,
  builds,
  coordinator,
  useArchiveSyncFixture,
} from '../support/archive-sync-fixture.ts';

useArchiveSyncFixture();

const DEBIAN = 'http://deb.debian.org/debian';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const INCLUDE = ['hello', 'tzdata', 'nano'];
/** The poller's real limits and deadlines: Debian's indexes are ~18 MB over the Internet. */
const pass = (profile: SyncProfileRecord, settings: ArchiveSyncSettings = archiveSyncDefaults) =>
  syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings });

/** A .buildinfo for one recorded upload, as dpkg-genbuildinfo would write it (the .debs are stand-ins). */
function buildinfoFor(upload: SyncUploadRecord): string {
  return renderBuildinfoFixture(
    uploadBuildinfoParts({ ...upload, sourceVersion: upload.version, version: upload.binaryVersion }),
  );
}

describe("Debian's real bookworm archive", () => {
  it('follows a handful of packages by include rule, submits each once, and a poll with no change reads nothing', async () => {
    const profile = await addProfile({
      archive: {
        url: DEBIAN,
        suites: ['bookworm'],
        components: ['main'],
        architectures: ['amd64'],
        keyring: { path: KEYRING },
      },
      include: { names: INCLUDE },
      exclude: {},
      initialDelaySeconds: 0,
    });
    // Read only: the versions are known once the real indexes are read.
    const first = await pass(profile, { ...archiveSyncDefaults, maxUploadsPerPass: 0 });
    expect(first.pollFailure).toBeUndefined();
    expect(first.indexesRead).toBe(2);
    const recorded = await coordinator.deps.syncProgress.listUploads(profile.name);
    console.log(
      `recorded: ${recorded.map((u) => `${u.source} ${u.binaryVersion} ${u.architecture} [${u.binaries.join(' ')}] ${u.state}${u.reason ? ` (${u.reason})` : ''}`).join('; ')}`,
    );
    expect(recorded.map((u) => u.source)).toEqual(expect.arrayContaining(INCLUDE));
    expect(recorded.find((u) => u.source === 'hello')).toMatchObject({
      version: '2.10-3',
      architecture: 'amd64',
    });

    // The .buildinfos this test made, where the profile's template finds them; the next pass submits.
    for (const upload of recorded)
      archive.putBuildinfo(upload.source, upload.binaryVersion, upload.architecture, buildinfoFor(upload));
    const second = await pass(profile);
    console.log(`second pass: ${JSON.stringify(second)}`);
    expect(second).toMatchObject({ indexesRead: 0, uploadsAdded: 0 });
    const uploads = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(uploads.filter((u) => u.state !== 'submitted' && u.state !== 'skipped')).toEqual([]);
    const all = await builds();
    expect(all).toHaveLength(uploads.filter((u) => u.state === 'submitted').length);
    // Each build records the suite its upload was read in (what ?suite= feeds and alert filters read).
    const { uploads: listed } = await coordinator.deps.syncProgress.listUploadsPage(profile.name, {
      limit: 100,
    });
    for (const upload of listed.filter((u) => u.state === 'submitted'))
      expect(upload.suites, upload.source).toEqual(['bookworm']);
    // Nothing twice: a third pass submits nothing and reads no index.
    expect(await pass(profile)).toMatchObject({ indexesRead: 0, uploadsAdded: 0, submitted: 0 });
    expect(await builds()).toHaveLength(all.length);
  });
});
