// Benchmark: following an archive. (1) A sync profile's first read of a generated Packages index as
// large as bookworm main amd64 (63,000 binaries, about 45 MB) into the coordinator (InRelease
// verified, index fetched, digest checked, parsed, uploads recorded in SQLite; no submissions) vs
// `apt-get update` of the same signed archive into a private apt state, both from 127.0.0.1,
// interleaved. (2) A poll with no change. (3) Peak RSS of this process during a sync.
// Run under the engine lock: flock /tmp/rbnet-engine.lock npx tsx bench/archive-sync.bench.ts
// (BENCH_RUNS=n runs of each, default 3.)
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { archiveSyncDefaults, syncProfileOnce } from '../coordinator/sync/archive-poller.ts';
import { createThrowawayKey } from '../services/debian/gpg-key-fixture.ts';
import { newSyncProfileOf } from '../services/storage/sync-profile-store.ts';
import { createTestCoordinatorDeps } from '../test/support/coordinator-deps-fixture.ts';
import { type FixtureBinary, SignedArchiveServer } from '../test/support/signed-archive-server.ts';
import { formatRow, median, timeMs } from './bench-support.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BINARIES = 63_000;

function generatedIndex(): FixtureBinary[] {
  const binaries: FixtureBinary[] = [];
  for (let i = 0; i < BINARIES; i++) {
    const source = `src${Math.floor(i / 2)}`;
    binaries.push({
      name: `pkg${i}`,
      version: `1.${i % 97}-${i % 7}`,
      architecture: i % 5 === 0 ? 'all' : 'amd64',
      source: `${source} (1.${i % 97}-${i % 7})`,
      section: i % 3 === 0 ? 'libs' : 'utils',
      // What a real stanza carries beside the fields the sync reads (bookworm's average is ~700 B).
      description: `generated package ${i}\n ${'padding text of a long description '.repeat(14)}`,
    });
  }
  return binaries;
}

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
      `deb [arch=amd64 signed-by=${keyringPath}] ${archiveUrl}/debian bookworm main\n`,
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
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const key = await createThrowawayKey();
const archive = await SignedArchiveServer.start();
const root = await mkdtemp(join(tmpdir(), 'rbnet-bench-sync-'));
const coordinator = await createTestCoordinatorDeps(root);
try {
  await coordinator.store.registry.addMaintainer('archive-bot');
  archive.publish(key, 'bookworm', { 'main/binary-amd64/Packages': generatedIndex() });
  const indexBytes = archive.files.get('/debian/dists/bookworm/main/binary-amd64/Packages')!.byteLength;
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
            keyring: { path: key.keyringPath },
          },
          buildinfo: { urlTemplate: archive.buildinfoTemplate },
          maintainer: 'archive-bot',
        },
        { priority: 100, rateLimitPerHour: 600, initialDelaySeconds: 3600 },
      ),
      new Date(),
    );
  await aptUpdate(archive.url, key.keyringPath); // warm-up: page cache, apt's own start
  const apt: number[] = [];
  const sync: number[] = [];
  const noChange: number[] = [];
  let peakRss = 0;
  let baseRss = 0;
  let uploads = 0;
  for (let i = 0; i < RUNS; i++) {
    apt.push(await timeMs(() => aptUpdate(archive.url, key.keyringPath)));
    const profile = await newProfile();
    global.gc?.();
    baseRss = Math.max(baseRss, process.memoryUsage().rss);
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    sync.push(
      await timeMs(async () => {
        uploads = (await syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings }))
          .uploadsAdded;
      }),
    );
    clearInterval(sampler);
    noChange.push(
      await timeMs(() => syncProfileOnce(coordinator.deps, profile, { pollIntervalMs: 0, settings })),
    );
  }
  console.log(
    `archive sync: ${BINARIES} binaries, index ${(indexBytes / 1e6).toFixed(1)} MB, ${uploads} uploads recorded; ${RUNS} runs`,
  );
  console.log(formatRow(['what', 'median ms', 'ratio to apt-get update']));
  console.log(formatRow(['---', '---', '---']));
  console.log(formatRow(['apt-get update (private state)', median(apt).toFixed(0), '1.00']));
  console.log(
    formatRow(['sync profile, first read', median(sync).toFixed(0), (median(sync) / median(apt)).toFixed(2)]),
  );
  console.log(
    formatRow([
      'sync profile, poll with no change',
      median(noChange).toFixed(0),
      (median(noChange) / median(apt)).toFixed(2),
    ]),
  );
  console.log(
    `peak RSS of the bench process during a sync: ${(peakRss / 2 ** 20).toFixed(0)} MiB (${(baseRss / 2 ** 20).toFixed(0)} MiB before it: the generated index, the test archive server's copy and the SQLite cache live in the same process)`,
  );
} finally {
  await archive.close();
  await coordinator.close();
  await key.dispose();
  await rm(root, { recursive: true, force: true });
}
