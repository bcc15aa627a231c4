// Benchmark: following an archive. (1) A sync profile's first read of Debian's real bookworm main
// amd64 indexes (InRelease, Packages.xz, Sources.xz, cached by bookworm-index-cache.ts and served
// verbatim from 127.0.0.1) into the coordinator: InRelease verified with Debian's keyring, both indexes
// fetched, decompressed, digest-checked, parsed, uploads recorded in SQLite, no submissions; vs
// `apt-get update` of the same archive (deb and deb-src) into a private apt state, interleaved.
// (2) A poll with no change. (3) The same first sync in a coordinator process of its own
// (archive-sync-rss-child.ts): its time and peak RSS.
// Run under the engine lock: flock /tmp/rbnet-engine.lock npx tsx bench/archive-sync.bench.ts
// (BENCH_RUNS=n runs of each, default 3.)
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { archiveSyncDefaults, syncProfileOnce } from '../coordinator/sync/archive-poller.ts';
import { newSyncProfileOf } from '../services/storage/sync-profile-store.ts';
import { createTestCoordinatorDeps } from '../test/support/coordinator-deps-fixture.ts';
import { SignedArchiveServer } from '../test/support/signed-archive-server.ts';
import { formatRow, median, timeMs } from './bench-support.ts';
import { bookwormIndexes, DEBIAN_KEYRING, serveBookworm } from './bookworm-index-cache.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function aptUpdate(archiveUrl: string, keyringPath: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rbnet-bench-apt-'));
  try {
    for (const sub of [
      'state/lists/partial',
      'cache/archives/partial',
      'etc/trusted.gpg.d',
      'etc/sources.list.d',
    ])
      await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, 'state/status'), '');
    await writeFile(
      join(dir, 'etc/sources.list'),
      `deb [arch=amd64 signed-by=${keyringPath}] ${archiveUrl}/debian bookworm main\n` +
        `deb-src [signed-by=${keyringPath}] ${archiveUrl}/debian bookworm main\n`,
    );
    await run('apt-get', [
      'update',
      '-qq',
      '-o',
      `Dir::State=${dir}/state`,
      '-o',
      `Dir::State::status=${dir}/state/status`,
      '-o',
      `Dir::Cache=${dir}/cache`,
      '-o',
      `Dir::Etc=${dir}/etc`,
      '-o',
      `Dir::Etc::SourceList=${dir}/etc/sources.list`,
      '-o',
      `Dir::Etc::SourceParts=${dir}/etc/sources.list.d`,
      '-o',
      `Dir::Etc::TrustedParts=${dir}/etc/trusted.gpg.d`,
      '-o',
      'APT::Architecture=amd64',
      '-o',
      'APT::Architectures=amd64',
      '-o',
      'Acquire::Languages=none',
      '-o',
      'APT::Sandbox::User=root',
      '-o',
      'Debug::NoLocking=1',
      // The cached InRelease may be older than its Valid-Until; the same for both sides.
      '-o',
      'Acquire::Check-Valid-Until=false',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One first sync in a coordinator process of its own: its time, uploads and peak RSS. */
async function syncInChild(
  archiveUrl: string,
): Promise<{ ms: number; uploadsAdded: number; maxRssKiB: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rbnet-bench-sync-child-'));
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/archive-sync-rss-child.ts', dataDir, `${archiveUrl}/debian`, DEBIAN_KEYRING],
      { maxBuffer: 1024 * 1024 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const indexes = await bookwormIndexes();
const archive = await SignedArchiveServer.start();
serveBookworm(archive, indexes);
const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-sync-'));
const coordinator = await createTestCoordinatorDeps(root);
try {
  await coordinator.store.registry.addMaintainer('archive-bot');
  const settings = { ...archiveSyncDefaults, maxUploadsPerPass: 0 };
  const newProfile = () =>
    coordinator.deps.syncProfiles.addSyncProfile(
      newSyncProfileOf(
        {
          name: `bench-${randomUUID().slice(0, 8)}`,
          archive: {
            url: `${archive.url}/debian`,
            suites: ['bookworm'],
            components: ['main'],
            architectures: ['amd64'],
            keyring: { path: DEBIAN_KEYRING },
          },
          buildinfo: { urlTemplate: `${archive.url}/buildinfo/{source}_{version}_{arch}.buildinfo` },
          maintainer: 'archive-bot',
        },
        { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 3600 },
      ),
      new Date(),
    );
  await aptUpdate(archive.url, DEBIAN_KEYRING); // warm-up: page cache, apt's own start
  const apt: number[] = [];
  const sync: number[] = [];
  const noChange: number[] = [];
  const child: { ms: number; uploadsAdded: number; maxRssKiB: number }[] = [];
  let uploads = 0;
  let indexesRead = 0;
  for (let i = 0; i < RUNS; i++) {
    apt.push(await timeMs(() => aptUpdate(archive.url, DEBIAN_KEYRING)));
    const profile = await newProfile();
    sync.push(
      await timeMs(async () => {
        const report = await syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings });
        if (report.pollFailure) throw new Error(`sync refused: ${JSON.stringify(report.pollFailure)}`);
        uploads = report.uploadsAdded;
        indexesRead = report.indexesRead;
      }),
    );
    noChange.push(
      await timeMs(() => syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings })),
    );
    child.push(await syncInChild(archive.url));
  }
  const sizes = [...indexes.files].map(
    ([path, bytes]) => `${path} ${(bytes.byteLength / 1e6).toFixed(1)} MB`,
  );
  console.log(
    `archive sync: Debian bookworm main amd64 (${sizes.join(', ')}; Release of ${new Date(indexes.release.date * 1000).toISOString()}), ${indexesRead} indexes read, ${uploads} uploads recorded; ${RUNS} runs`,
  );
  console.log(formatRow(['what', 'median ms', 'ratio to apt-get update']));
  console.log(formatRow(['---', '---', '---']));
  console.log(formatRow(['apt-get update (private state)', median(apt).toFixed(0), '1.00']));
  console.log(
    formatRow(['sync profile, first read', median(sync).toFixed(0), (median(sync) / median(apt)).toFixed(2)]),
  );
  const childMs = median(child.map((c) => c.ms));
  console.log(
    formatRow([
      'sync profile, first read (own process)',
      childMs.toFixed(0),
      (childMs / median(apt)).toFixed(2),
    ]),
  );
  console.log(
    formatRow([
      'sync profile, poll with no change',
      median(noChange).toFixed(0),
      (median(noChange) / median(apt)).toFixed(2),
    ]),
  );
  console.log(
    `peak RSS (VmHWM) of a coordinator process doing one first sync: ${child.map((c) => (c.maxRssKiB / 1024).toFixed(0)).join(', ')} MiB`,
  );
  console.log(`runs (ms): apt ${apt.map(Math.round).join(' ')}; sync ${sync.map(Math.round).join(' ')}`);
} finally {
  await archive.close();
  await coordinator.close();
  await rm(root, { recursive: true, force: true });
}
