// The archive poller against an archive the test builds, signs and serves on 127.0.0.1: a first
// read backfills, a poll with no change reads no index, a new version is submitted once its
// .buildinfo appears (after waiting with a reason while it does not), binaries of one upload make
// one build, a restart mid-submission never submits twice, and a hostile archive is refused with a
// reason and nothing submitted. Real SQLite, content store, gpg/gpgv and HTTP; no clock assertions.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { helloBuildinfoParts, renderBuildinfoFixture } from '../../services/debian/buildinfo-fixture.ts';
import {
  addProfile,
  advanceClock,
  archive,
  builds,
  coordinator,
  HOUR_MS,
  hello,
  helloBuildinfo,
  key,
  PACKAGES,
  pass,
  restart,
  settings,
  stranger,
  useArchiveSyncFixture,
} from '../../test/support/archive-sync-fixture.ts';
import { syncProfileOnce } from './archive-poller.ts';

useArchiveSyncFixture();

describe('archive poller', () => {
  it('backfills, reads nothing when nothing changed, waits for a .buildinfo with a reason, and submits each upload once', async () => {
    archive.publish(key, 'bookworm', {
      [PACKAGES]: [...hello('2.10-3'), { name: 'secret-tool', version: '1', architecture: 'amd64' }],
    });
    archive.putBuildinfo('hello', '2.10-3', 'amd64', helloBuildinfo('2.10-3'));
    const profile = await addProfile();

    const first = await pass(profile);
    expect(first).toMatchObject({ indexesRead: 1, uploadsAdded: 1, submitted: 1, deferred: 0 });
    const [upload] = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(upload).toMatchObject({
      source: 'hello',
      version: '2.10-3',
      architecture: 'amd64',
      binaries: ['hello', 'hello-dbgsym', 'hello-doc'],
      class: 'backfill',
      state: 'submitted',
    });
    const [build] = await builds();
    expect(build).toMatchObject({ buildId: upload!.buildId, submittedBy: 'archive-bot', backend: 'debian' });

    // Nothing changed: the InRelease is read, no index is fetched, nothing is submitted.
    const requestsBefore = archive.requests.length;
    expect(await pass(profile)).toMatchObject({ indexesRead: 0, uploadsAdded: 0, submitted: 0 });
    expect(archive.requests.slice(requestsBefore)).toEqual(['/debian/dists/bookworm/InRelease']);

    // A new upload whose .buildinfo is not published yet waits, without counting a try.
    archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-4') });
    expect(await pass(profile)).toMatchObject({ indexesRead: 1, uploadsAdded: 1, submitted: 0, deferred: 1 });
    const waiting = (await coordinator.deps.syncProgress.listUploads(profile.name)).find(
      (u) => u.version === '2.10-4',
    );
    expect(waiting).toMatchObject({
      class: 'new',
      state: 'pending',
      reason: 'buildinfo-not-published',
      tries: 0,
    });
    // Not due again until the initial delay is over: no tight loop.
    expect(await pass(profile)).toMatchObject({ submitted: 0, deferred: 0 });

    archive.putBuildinfo('hello', '2.10-4', 'amd64', helloBuildinfo('2.10-4'));
    advanceClock(HOUR_MS);
    expect(await pass(profile)).toMatchObject({ submitted: 1 });
    expect(await builds()).toHaveLength(2);
    expect(await pass(profile)).toMatchObject({ submitted: 0 });
    expect(await builds()).toHaveLength(2);
  });

  it('records a missing .buildinfo after the initial delay and an unbuildable architecture, retrying with backoff', async () => {
    archive.publish(key, 'bookworm', {
      [PACKAGES]: hello('2.10-3'),
      'main/binary-arm64/Packages': [{ name: 'hello', version: '2.10-3', architecture: 'arm64' }],
    });
    const profile = await addProfile({
      archive: {
        url: `${archive.url}/debian`,
        suites: ['bookworm'],
        components: ['main'],
        architectures: ['amd64', 'arm64'],
        keyring: { path: key.keyringPath },
      },
      initialDelaySeconds: 0,
    });
    archive.putBuildinfo('hello', '2.10-3', 'arm64', helloBuildinfo('2.10-3').replaceAll('amd64', 'arm64'));
    expect(await pass(profile)).toMatchObject({ uploadsAdded: 2, submitted: 0, deferred: 2 });
    const uploads = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(uploads.map((u) => [u.architecture, u.reason, u.class, u.tries])).toEqual([
      ['amd64', 'buildinfo-missing', 'retry', 1],
      ['arm64', 'environment-unavailable', 'retry', 1],
    ]);
    // Due again only after the backoff.
    expect(await pass(profile)).toMatchObject({ submitted: 0, deferred: 0 });
    expect(await builds()).toEqual([]);
  });

  it('resumes after a restart mid-submission without submitting anything twice', async () => {
    archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-3') });
    archive.putBuildinfo('hello', '2.10-3', 'amd64', helloBuildinfo('2.10-3'));
    const profile = await addProfile();
    // A pass that read the index and claimed the upload, then died before creating the build.
    await syncProfileOnce(coordinator.deps, profile, {
      pollIntervalMs: 0,
      settings: { ...settings, maxUploadsPerPass: 0 },
    });
    const [upload] = await coordinator.deps.syncProgress.listUploads(profile.name);
    const buildId = randomUUID();
    expect(await coordinator.deps.syncProgress.claimUpload(upload!, buildId)).toBe(true);
    await restart();
    expect(await pass(profile)).toMatchObject({ submitted: 1 });
    expect((await builds()).map((b) => b.buildId)).toEqual([buildId]);

    // And a crash after the build was created but before it was marked: marked, not built again.
    archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-4') });
    archive.putBuildinfo('hello', '2.10-4', 'amd64', helloBuildinfo('2.10-4'));
    await syncProfileOnce(coordinator.deps, profile, {
      pollIntervalMs: 0,
      settings: { ...settings, maxUploadsPerPass: 0 },
    });
    const next = (await coordinator.deps.syncProgress.listUploads(profile.name)).find(
      (u) => u.version === '2.10-4',
    )!;
    const secondId = randomUUID();
    await coordinator.deps.syncProgress.claimUpload(next, secondId);
    const { submitManifest } = await import('../scheduler/submit-manifest.ts');
    const { buildinfoDeterminedFields } = await import(
      '../../services/debian/debian-manifest-from-buildinfo.ts'
    );
    const { parseBuildinfo } = await import('../../services/debian/buildinfo.ts');
    const { sha256Hex } = await import('../../services/digest.ts');
    const { Readable } = await import('node:stream');
    const bytes = Buffer.from(helloBuildinfo('2.10-4'));
    await coordinator.deps.content.put(Readable.from([bytes]), {
      sha256: sha256Hex(bytes),
      maxBytes: bytes.byteLength,
    });
    const manifest = {
      ...buildinfoDeterminedFields(parseBuildinfo(bytes), sha256Hex(bytes)),
      source: { from: 'archive' },
      timeLimitSeconds: 7200,
    };
    await submitManifest(coordinator.deps, Buffer.from(JSON.stringify(manifest)), {
      submittedBy: 'archive-bot',
      buildId: secondId,
    });
    await restart();
    expect(await pass(profile)).toMatchObject({ submitted: 1 });
    expect((await builds()).map((b) => b.buildId).sort()).toEqual([buildId, secondId].sort());
    expect(await pass(profile)).toMatchObject({ submitted: 0 });
    expect(await builds()).toHaveLength(2);
  });

  it('verifies the archive with an armored key and clearsigned .buildinfos with their keyring', async () => {
    archive.publish(key, 'bookworm', {
      [PACKAGES]: [...hello('2.10-3'), { name: 'other', version: '1.0-1', architecture: 'amd64' }],
    });
    archive.putBuildinfo('hello', '2.10-3', 'amd64', key.clearsign(helloBuildinfo('2.10-3')));
    const otherParts = { ...helloBuildinfoParts(), source: 'other', binaries: ['other'], version: '1.0-1' };
    // Signed, but by a key the profile does not trust.
    archive.putBuildinfo('other', '1.0-1', 'amd64', stranger.clearsign(renderBuildinfoFixture(otherParts)));
    const armored = spawnSync('gpg', ['--enarmor'], { input: await readFile(key.keyringPath) });
    const armoredKey = armored.stdout
      .toString()
      .replace('-----BEGIN PGP ARMORED FILE-----', '-----BEGIN PGP PUBLIC KEY BLOCK-----')
      .replace('-----END PGP ARMORED FILE-----', '-----END PGP PUBLIC KEY BLOCK-----')
      .replace(/^Comment: .*\n/m, '');
    const profile = await addProfile({
      archive: {
        url: `${archive.url}/debian`,
        suites: ['bookworm'],
        components: ['main'],
        architectures: ['amd64'],
        keyring: { armored: armoredKey },
      },
      buildinfo: { urlTemplate: archive.buildinfoTemplate, keyring: { path: key.keyringPath } },
    });
    expect(await pass(profile)).toMatchObject({ indexesRead: 1, uploadsAdded: 2, submitted: 1, deferred: 1 });
    const uploads = await coordinator.deps.syncProgress.listUploads(profile.name);
    expect(uploads.map((u) => [u.source, u.state, u.reason])).toEqual([
      ['hello', 'submitted', undefined],
      ['other', 'pending', 'buildinfo-signature'],
    ]);
    expect(await builds()).toHaveLength(1);
  });

  const hostile: [string, () => void, string, RegExp][] = [
    [
      'an InRelease signed by another key',
      () => archive.publish(stranger, 'bookworm', { [PACKAGES]: hello('2.10-3') }),
      'archive-signature',
      /./,
    ],
    [
      'a Packages index that is not what the Release lists',
      () => {
        archive.publish(key, 'bookworm', { [PACKAGES]: hello('2.10-3') });
        archive.misbehaviour.set(`/debian/dists/bookworm/${PACKAGES}`, {
          kind: 'bytes',
          bytes: Buffer.from(
            hello('9.9-9')
              .map((b) => `Package: ${b.name}\n`)
              .join('\n'),
          ),
        });
      },
      'archive-index',
      /not the size and sha256/,
    ],
    [
      'an index the Release says is larger than the limit',
      () =>
        archive.publish(
          key,
          'bookworm',
          { [PACKAGES]: hello('2.10-3') },
          { releaseSizes: { [PACKAGES]: 2 ** 40 } },
        ),
      'archive-index',
      /over the limit/,
    ],
    [
      'a server that never answers',
      () => archive.misbehaviour.set('/debian/dists/bookworm/InRelease', { kind: 'stall' }),
      'archive-unreachable',
      /no complete answer within/,
    ],
    [
      'a redirect to another host',
      () =>
        archive.misbehaviour.set('/debian/dists/bookworm/InRelease', {
          kind: 'redirect',
          location: 'http://127.0.0.2:9/x',
        }),
      'archive-unreachable',
      /redirect refused/,
    ],
  ];
  it.each(hostile)('refuses %s with a reason and submits nothing', async (_what, arrange, reason, detail) => {
    arrange();
    archive.putBuildinfo('hello', '2.10-3', 'amd64', helloBuildinfo('2.10-3'));
    const profile = await addProfile();
    const report = await pass(profile);
    expect(report.pollFailure).toMatchObject({ reason, detail: expect.stringMatching(detail) });
    expect(await coordinator.deps.syncProgress.listUploads(profile.name)).toEqual([]);
    expect(await coordinator.deps.syncProgress.getPoll(profile.name)).toMatchObject({ reason, failures: 1 });
    expect(await builds()).toEqual([]);
    // The next poll backs off: not due at once, so no tight loop against a broken archive.
    const requests = archive.requests.length;
    await syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: HOUR_MS, settings });
    expect(archive.requests.length).toBe(requests);
  });
});
