// The poller records where it found each upload, against an archive the test builds, signs and
// serves on 127.0.0.1: an upload read in one suite is submitted once and its build is in that suite;
// when the same upload shows up in another suite later it is not submitted again, and its build is
// listed in that suite's feed with the verdict it has. Real SQLite, gpg/gpgv, HTTP and poller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloBuildinfoParts, renderBuildinfoFixture } from '../../services/debian/buildinfo-fixture.ts';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { newSyncProfileOf } from '../../services/storage/sync-profile-store.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../test/support/coordinator-deps-fixture.ts';
import { enrolDebianWorkers } from '../../test/support/debian-workers.ts';
import { SignedArchiveServer } from '../../test/support/signed-archive-server.ts';
import { createCoordinatorApp } from '../http/create-app.ts';
import { archiveSyncDefaults, syncProfileOnce } from './archive-poller.ts';

const PACKAGES = 'main/binary-amd64/Packages';
const hello = [{ name: 'hello', version: '2.10-3', architecture: 'amd64', section: 'devel' }];

let key: ThrowawayKey;
let archive: SignedArchiveServer;
let root: string;
let coordinator: TestCoordinatorDeps;

beforeAll(async () => {
  key = await createThrowawayKey();
  root = await mkdtemp(join(tmpdir(), 'rbnet-sync-suites-'));
  coordinator = await createTestCoordinatorDeps(root);
  await coordinator.store.registry.addMaintainer('archive-bot');
  await enrolDebianWorkers(createCoordinatorApp(coordinator.deps), coordinator.store, ['alpha', 'beta']);
  archive = await SignedArchiveServer.start();
});
afterAll(async () => {
  await archive?.close();
  await coordinator?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await key?.dispose();
});

describe('archive poller suites', () => {
  it('records the suite of each index an upload is read in, for the upload and its one build', async () => {
    archive.publish(key, 'bookworm-proposed-updates', { [PACKAGES]: hello });
    archive.publish(key, 'bookworm', { [PACKAGES]: [] });
    const parts = helloBuildinfoParts();
    archive.putBuildinfo('hello', '2.10-3', 'amd64', renderBuildinfoFixture({ ...parts, version: '2.10-3' }));
    const profile = await coordinator.deps.syncProfiles.addSyncProfile(
      newSyncProfileOf(
        {
          name: 'debian',
          archive: {
            url: `${archive.url}/debian`,
            suites: ['bookworm', 'bookworm-proposed-updates'],
            components: ['main'],
            architectures: ['amd64'],
            keyring: { path: key.keyringPath },
          },
          buildinfo: { urlTemplate: archive.buildinfoTemplate },
          maintainer: 'archive-bot',
        },
        { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 3600 },
      ),
      new Date(),
    );
    const pass = () =>
      syncProfileOnce(coordinator.deps, profile, {
        pollIntervalMs: 0,
        settings: { ...archiveSyncDefaults, fetchTimeoutMs: 2000 },
      });
    expect(await pass()).toMatchObject({ submitted: 1 });
    const [build] = await coordinator.store.builds.listBuilds({ limit: 10 });
    await coordinator.store.builds.recordVerdict({
      buildId: build!.buildId,
      verdict: 'reproducible',
      decisionJson: JSON.stringify({ agreeingOperators: ['alpha', 'beta'] }),
      decidedAt: new Date(),
    });
    const inSuite = async (suite: string) =>
      (await coordinator.store.feed.readFeed({ after: 0, limit: 10, suite })).entries.map((e) => [
        e.buildId,
        e.verdict,
        e.suites,
      ]);
    expect(await inSuite('bookworm-proposed-updates')).toEqual([
      [build!.buildId, 'reproducible', ['bookworm-proposed-updates']],
    ]);
    expect(await inSuite('bookworm')).toEqual([]);

    // The point release: the same upload is now in bookworm. Not submitted again; listed there.
    archive.publish(key, 'bookworm', { [PACKAGES]: hello });
    expect(await pass()).toMatchObject({ indexesRead: 1, uploadsAdded: 0, submitted: 0 });
    expect(await coordinator.store.builds.listBuilds({ limit: 10 })).toHaveLength(1);
    const both = ['bookworm', 'bookworm-proposed-updates'];
    expect(await inSuite('bookworm')).toEqual([[build!.buildId, 'reproducible', both]]);
    const { uploads } = await coordinator.deps.syncProgress.listUploadsPage('debian', { limit: 10 });
    expect(uploads.map((u) => [u.source, u.state, u.suites])).toEqual([['hello', 'submitted', both]]);
  });
});
