// The sync profile store on a real SQLite file: the schema (migration 12) refuses what the API would,
// even when a caller skips the API: an unregistered maintainer, out-of-range settings, a name taken,
// more profiles than a coordinator keeps.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syncProfileLimits } from '../../../services/api/sync-profiles.ts';
import type { NewSyncProfile } from '../../../services/storage/sync-profile-store.ts';
import { undoMigrationsAbove } from '../../../test/support/undo-migrations.ts';
import { openSqliteStores, type SqliteStores } from './open-sqlite-stores.ts';

let root: string;
let stores: SqliteStores;
const T0 = new Date('2026-12-01T00:00:00Z');

function profile(name: string, overrides: Partial<NewSyncProfile> = {}): NewSyncProfile {
  return {
    name,
    archive: {
      url: 'http://127.0.0.1:9/debian',
      suites: ['bookworm'],
      components: ['main'],
      architectures: ['amd64'],
      keyring: { path: '/usr/share/keyrings/debian-archive-keyring.gpg' },
    },
    buildinfo: { urlTemplate: 'http://127.0.0.1:9/{source}_{version}_{arch}.buildinfo' },
    include: {},
    exclude: { sections: ['non-free/*'] },
    priority: 100,
    rateLimitPerHour: 600,
    initialDelaySeconds: 3600,
    maintainer: 'bot',
    ...overrides,
  };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-sync-store-'));
  stores = openSqliteStores(join(root, 'db.sqlite'));
  await stores.registry.addMaintainer('bot', T0);
});
afterEach(async () => {
  await stores.close();
  await rm(root, { recursive: true, force: true });
});

describe('SqliteSyncProfileStore', () => {
  it('stores a profile whole and reads it back frozen, ordered by priority', async () => {
    const added = await stores.syncProfiles.addSyncProfile(profile('a', { priority: 1 }), T0);
    expect(added).toMatchObject({
      ...profile('a', { priority: 1 }),
      paused: false,
      createdAt: T0.toISOString(),
    });
    expect(Object.isFrozen(added.archive.suites)).toBe(true);
    await stores.syncProfiles.addSyncProfile(profile('b', { priority: 2 }), T0);
    expect((await stores.syncProfiles.listSyncProfiles()).map((p) => p.name)).toEqual(['b', 'a']);
    const later = new Date(T0.getTime() + 1000);
    expect(await stores.syncProfiles.setSyncProfilePaused('a', true, later)).toMatchObject({
      paused: true,
      updatedAt: later.toISOString(),
    });
    expect(await stores.syncProfiles.removeSyncProfile('a')).toBe(true);
    expect(await stores.syncProfiles.removeSyncProfile('a')).toBe(false);
    expect(await stores.syncProfiles.getSyncProfile('a')).toBeUndefined();
    await expect(stores.syncProfiles.setSyncProfilePaused('a', true, later)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  const refused: [string, Partial<NewSyncProfile>, string, RegExp][] = [
    ['an unregistered maintainer', { maintainer: 'nobody' }, 'NOT_FOUND', /^maintainer: /],
    ['a bad name', { name: 'Bad Name' }, 'INVALID', /^name: /],
    ['a priority over 1000', { priority: 1001 }, 'INVALID', /^priority: /],
    ['a zero rate limit', { rateLimitPerHour: 0 }, 'INVALID', /^rateLimitPerHour: /],
    ['a negative initial delay', { initialDelaySeconds: -1 }, 'INVALID', /^initialDelaySeconds: /],
  ];
  it.each(refused)('refuses %s in SQL', async (_what, overrides, code, message) => {
    await expect(stores.syncProfiles.addSyncProfile(profile('p', overrides), T0)).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
    expect(await stores.syncProfiles.listSyncProfiles()).toEqual([]);
  });

  it('refuses a name taken, a rename, and one profile over the limit', async () => {
    await stores.syncProfiles.addSyncProfile(profile('p'), T0);
    await expect(stores.syncProfiles.addSyncProfile(profile('p'), T0)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(() => stores.connection.db.exec("UPDATE sync_profiles SET name = 'q'")).toThrow(/never renamed/);
    for (let i = 1; i < syncProfileLimits.maxProfiles; i++)
      await stores.syncProfiles.addSyncProfile(profile(`p${i}`), T0);
    await expect(stores.syncProfiles.addSyncProfile(profile('one-too-many'), T0)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`at most ${syncProfileLimits.maxProfiles}`),
    });
  });

  it('migration 14 keeps the uploads recorded before it, and a binNMU becomes an upload of its own', async () => {
    await stores.syncProfiles.addSyncProfile(profile('p'), T0);
    await stores.close();
    // Back to version 13: sync_uploads as migration 12 made it, with one submitted upload.
    const old = new Database(join(root, 'db.sqlite'));
    undoMigrationsAbove(old, 13);
    old
      .prepare(
        `INSERT INTO sync_uploads (profile, source, version, architecture, binaries_json, class, state,
           first_seen_at, due_at, build_id, submitted_at)
         VALUES ('p', 'hello', '2.10-3', 'amd64', '["hello"]', 2, 'submitted', 1, 1, 'b-1', 2)`,
      )
      .run();
    old.close();
    stores = openSqliteStores(join(root, 'db.sqlite'));
    const upload = { source: 'hello', version: '2.10-3', architecture: 'amd64', binaries: ['hello'] };
    const added = await stores.syncProgress.recordIndex(
      'p',
      'bookworm/main/binary-amd64/Packages',
      'a'.repeat(64),
      [
        { ...upload, binaryVersion: '2.10-3' },
        { ...upload, binaryVersion: '2.10-3+b1' },
      ],
      'new',
      T0,
      'bookworm',
    );
    expect(added).toBe(1);
    expect(
      (await stores.syncProgress.listUploads('p')).map((u) => [u.binaryVersion, u.state, u.buildId]),
    ).toEqual([
      ['2.10-3', 'submitted', 'b-1'],
      ['2.10-3+b1', 'pending', undefined],
    ]);
  });
});
