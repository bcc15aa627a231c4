// The archive poller's test fixture: an archive the test builds, signs and serves on 127.0.0.1, a
// coordinator on real SQLite with two enrolled workers, a clock the test moves, and a profile of that
// archive. Call useArchiveSyncFixture() in a test file; the bindings below are live.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createCoordinatorApp } from '../../coordinator/http/create-app.ts';
import {
  type ArchiveSyncSettings,
  archiveSyncDefaults,
  syncProfileOnce,
} from '../../coordinator/sync/archive-poller.ts';
import { helloBuildinfoParts, renderBuildinfoFixture } from '../../services/debian/buildinfo-fixture.ts';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { newSyncProfileOf, type SyncProfileRecord } from '../../services/storage/sync-profile-store.ts';
import { createTestCoordinatorDeps, type TestCoordinatorDeps } from './coordinator-deps-fixture.ts';
import { enrolDebianWorkers } from './debian-workers.ts';
import { type FixtureBinary, SignedArchiveServer } from './signed-archive-server.ts';

export const PACKAGES = 'main/binary-amd64/Packages';
export const HOUR_MS = 3_600_000;

export let key: ThrowawayKey;
export let stranger: ThrowawayKey;
export let archive: SignedArchiveServer;
let root: string;
export let coordinator: TestCoordinatorDeps;
// Starts at the real time: the workers' enrolment proofs are checked against it.
let clockMs = Date.now();

/** Moves the coordinator's clock forward. */
export function advanceClock(ms: number): void {
  clockMs += ms;
}

export const settings: ArchiveSyncSettings = {
  ...archiveSyncDefaults,
  fetchTimeoutMs: 2000,
  retryDelayMs: HOUR_MS,
};

export function hello(version: string): FixtureBinary[] {
  return [
    { name: 'hello', version, architecture: 'amd64', section: 'devel' },
    { name: 'hello-dbgsym', source: `hello (${version})`, version, architecture: 'amd64', section: 'debug' },
    // Built by the same .buildinfo: folded into the amd64 upload, never a build of its own.
    { name: 'hello-doc', source: 'hello', version, architecture: 'all', section: 'doc' },
  ];
}

export function helloBuildinfo(version: string): string {
  const parts = helloBuildinfoParts();
  return renderBuildinfoFixture({ ...parts, version, files: parts.files });
}

async function enrolWorkers(): Promise<void> {
  await enrolDebianWorkers(createCoordinatorApp(coordinator.deps), coordinator.store, ['alpha', 'beta']);
}

export async function addProfile(
  overrides: Partial<Parameters<typeof newSyncProfileOf>[0]> = {},
): Promise<SyncProfileRecord> {
  return coordinator.deps.syncProfiles.addSyncProfile(
    newSyncProfileOf(
      {
        name: `p-${randomUUID().slice(0, 8)}`,
        archive: {
          url: `${archive.url}/debian`,
          suites: ['bookworm'],
          components: ['main'],
          architectures: ['amd64'],
          keyring: { path: key.keyringPath },
        },
        buildinfo: { urlTemplate: archive.buildinfoTemplate },
        exclude: { names: ['secret*'] },
        maintainer: 'archive-bot',
        initialDelaySeconds: 3600,
        ...overrides,
      },
      { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 3600 },
    ),
    new Date(clockMs),
  );
}

export const pass = (profile: SyncProfileRecord) =>
  syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings });
/** Closes the coordinator's connections and opens new ones on the same files, as a restart does. */
export async function restart(): Promise<void> {
  await coordinator.close();
  // The fixture makes a fresh coordinator key; the database and content store stay.
  for (const name of await readdir(root)) if (name.startsWith('coordinator.key')) await rm(join(root, name));
  coordinator = await createTestCoordinatorDeps(root, { now: () => new Date(clockMs) });
}

export const builds = async () => coordinator.store.builds.listBuilds({ limit: 1000 });

/** Registers the fixture's hooks in the calling test file. */
export function useArchiveSyncFixture(): void {
  beforeAll(async () => {
    key = await createThrowawayKey();
    stranger = await createThrowawayKey();
  });
  afterAll(async () => {
    await key?.dispose();
    await stranger?.dispose();
  });

  beforeEach(async () => {
    clockMs = Date.now();
    root = await mkdtemp(join(tmpdir(), 'rbnet-sync-'));
    coordinator = await createTestCoordinatorDeps(root, { now: () => new Date(clockMs) });
    await coordinator.store.registry.addMaintainer('archive-bot');
    await enrolWorkers();
    archive = await SignedArchiveServer.start();
    return async () => {
      await archive.close();
      await coordinator.close();
      await rm(root, { recursive: true, force: true });
    };
  });
}
