// Child process of archive-sync.bench.ts: a coordinator's stores (SQLite and content store) opened in
// a process of their own, one first sync of a profile of <archiveUrl> (bookworm main amd64, verified
// with <keyring>, submissions off), and this process's peak RSS (VmHWM from /proc: getrusage's maxrss
// would carry the parent's peak over fork and exec), so the bench's own memory does not blur it.
// Usage: node --import tsx bench/archive-sync-rss-child.ts <dataDir> <archiveUrl> <keyring>
import { readFileSync } from 'node:fs';
import { archiveSyncDefaults, syncProfileOnce } from '../coordinator/sync/archive-poller.ts';
import { newSyncProfileOf } from '../services/storage/sync-profile-store.ts';
import { createTestCoordinatorDeps } from '../test/support/coordinator-deps-fixture.ts';

const [dataDir, archiveUrl, keyringPath] = process.argv.slice(2) as [string, string, string];
const hwmKiB = () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
const coordinator = await createTestCoordinatorDeps(dataDir);
try {
  await coordinator.store.registry.addMaintainer('archive-bot');
  const profile = await coordinator.deps.syncProfiles.addSyncProfile(
    newSyncProfileOf(
      {
        name: 'rss-child',
        archive: {
          url: archiveUrl,
          suites: ['bookworm'],
          components: ['main'],
          architectures: ['amd64'],
          keyring: { path: keyringPath },
        },
        buildinfo: { urlTemplate: `${archiveUrl}/buildinfo/{source}_{version}_{arch}.buildinfo` },
        maintainer: 'archive-bot',
      },
      { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 3600 },
    ),
    new Date(),
  );
  const beforeKiB = hwmKiB();
  const started = performance.now();
  const report = await syncProfileOnce(coordinator.deps, profile, {
    pollIntervalMs: 0,
    settings: { ...archiveSyncDefaults, maxUploadsPerPass: 0 },
  });
  if (report.pollFailure) throw new Error(`sync refused: ${JSON.stringify(report.pollFailure)}`);
  console.log(
    JSON.stringify({
      ms: Math.round(performance.now() - started),
      uploadsAdded: report.uploadsAdded,
      beforeSyncKiB: beforeKiB,
      maxRssKiB: hwmKiB(),
    }),
  );
} finally {
  await coordinator.close();
}
