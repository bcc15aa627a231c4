// The coordinator's archive poller loop: a paused profile is not polled, a resumed one is, and one
// profile's broken archive does not stop the next profile's pass.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { newSyncProfileOf } from '../../services/storage/sync-profile-store.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../test/support/coordinator-deps-fixture.ts';
import { SignedArchiveServer } from '../../test/support/signed-archive-server.ts';
import { archiveSyncDefaults } from './archive-poller.ts';
import { startArchiveSync } from './archive-sync-loop.ts';

let key: ThrowawayKey;
let archive: SignedArchiveServer;
let root: string;
let coordinator: TestCoordinatorDeps;

beforeAll(async () => {
  key = await createThrowawayKey();
  archive = await SignedArchiveServer.start();
  root = await mkdtemp(join(tmpdir(), 'rbnet-sync-loop-'));
  coordinator = await createTestCoordinatorDeps(root);
  await coordinator.store.registry.addMaintainer('archive-bot');
});
afterAll(async () => {
  await archive?.close();
  await coordinator?.close();
  await key?.dispose();
  await rm(root, { recursive: true, force: true });
});

function profile(name: string, archivePath: string) {
  return newSyncProfileOf(
    {
      name,
      archive: {
        url: `${archive.url}/${archivePath}`,
        suites: ['bookworm'],
        components: ['main'],
        architectures: ['amd64'],
        keyring: { path: key.keyringPath },
      },
      buildinfo: { urlTemplate: archive.buildinfoTemplate },
      maintainer: 'archive-bot',
      initialDelaySeconds: 0,
    },
    { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 0 },
  );
}

describe('archive sync loop', () => {
  it('skips paused profiles and keeps going past a broken one', async () => {
    archive.publish(key, 'bookworm', {
      'main/binary-amd64/Packages': [{ name: 'hello', version: '2.10-3', architecture: 'amd64' }],
    });
    const good = `good-${randomUUID().slice(0, 8)}`;
    const broken = `broken-${randomUUID().slice(0, 8)}`;
    const now = new Date();
    // Higher priority and broken: polled first, fails, and must not stop the other profile.
    await coordinator.deps.syncProfiles.addSyncProfile({ ...profile(broken, 'nowhere'), priority: 900 }, now);
    await coordinator.deps.syncProfiles.addSyncProfile(profile(good, 'debian'), now);
    await coordinator.deps.syncProfiles.setSyncProfilePaused(good, true, now);
    const loop = startArchiveSync(coordinator.deps, {
      pollIntervalMs: 3_600_000,
      settings: { ...archiveSyncDefaults, fetchTimeoutMs: 2000 },
      timer: false,
    });
    await loop.tick();
    expect(archive.requests).toEqual(['/nowhere/dists/bookworm/InRelease']);
    expect(await coordinator.deps.syncProgress.getPoll(good)).toBeUndefined();
    expect(await coordinator.deps.syncProgress.getPoll(broken)).toMatchObject({ reason: 'archive-index' });

    await coordinator.deps.syncProfiles.setSyncProfilePaused(good, false, new Date());
    await loop.tick();
    await loop.stop();
    // Its .buildinfo is not published and there is no initial delay: recorded with why, not submitted.
    expect(await coordinator.deps.syncProgress.listUploads(good)).toMatchObject([
      { source: 'hello', reason: 'buildinfo-missing' },
    ]);
    expect(await coordinator.store.builds.listBuilds({ limit: 10 })).toEqual([]);
  });
});
