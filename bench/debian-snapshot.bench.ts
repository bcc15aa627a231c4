// Benchmark: where a Debian environment's packages come from. (1) Preparing a small real environment
// (bookworm's essential set + dpkg-dev, fakeroot, make: real .debs verified against Debian's archive)
// with every package from a snapshot archive vs every package from the mirror, both served on
// 127.0.0.1 and signed by the bench, cold, interleaved; the resolve-and-fetch part alone too.
// (2) Warm (this worker prepared it before: environment and evidence cached) and evidence-warm
// (evidence kept, environment image gone) vs cold. (3) Disk the evidence store holds per 1,000
// verified .debs beyond the .debs, with an index as large as bookworm's. (4) Peak RSS of a process
// resolving 200 packages against Debian's real bookworm indexes, this tree vs main at b7108d3.
// Run under the engine lock: flock /tmp/rbnet-engine.lock npx tsx bench/debian-snapshot.bench.ts
// (BENCH_RUNS=n cold runs of each kind, default 3.)
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { createThrowawayKey } from '../services/debian/gpg-key-fixture.ts';
import type { Sha256Hex } from '../services/digest.ts';
import { resolveInstallSet } from '../test/support/debian-fixture.ts';
import { createRunnerHarness, REPO_ROOT, STATE_DIR } from '../test/support/runner-harness.ts';
import { tinyDebianEnvironment } from '../test/support/tiny-debian-environment.ts';
import { openDebianArchive } from '../worker/debian/debian-archive.ts';
import { DebianEnvironmentCache } from '../worker/debian/debian-environment-cache.ts';
import { prepareDebianEnvironment } from '../worker/debian/prepare-debian-environment.ts';
import {
  DebianSnapshotServer,
  type FixtureDeb,
  fakeDeb,
  openFixtureSources,
} from '../worker/debian/snapshot-server-fixture.ts';
import { defaultWorkerDebianConfig } from '../worker/worker-config.ts';
import { formatRow, median, timeMs } from './bench-support.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FETCH_RUNS = 5;
const RSS_RUNS = 3;
const RSS_PACKAGES = 200;
const EVIDENCE_DEBS = 1000;
/** main before this change, for the RSS baseline. */
const BASELINE_COMMIT = 'b7108d3';
const T1 = '20250101T000000Z';
const T2 = '20250201T000000Z';

const progress = (message: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const mib = (bytes: number) => Number((bytes / 1024 ** 2).toFixed(2));
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination(2));

const scratch = await mkdtemp(join(tmpdir(), 'rbnet-snapbench-'));
const key = await createThrowawayKey({ validity: '2d' });
const harness = await createRunnerHarness('snapbench');
const docker = harness.docker;
const servers: DebianSnapshotServer[] = [];
const caches: string[] = [];
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cores: availableParallelism() },
};

async function cleanup(): Promise<void> {
  for (const dir of caches) await new DebianEnvironmentCache(dir, docker, 0, logger).evict('' as Sha256Hex);
  for (const server of servers) await server.close();
  await key.dispose();
  await harness.cleanup();
  await rm(scratch, { recursive: true, force: true });
}

async function startServer(): Promise<DebianSnapshotServer> {
  const server = await DebianSnapshotServer.start(key);
  servers.push(server);
  return server;
}

/** Bytes and allocated bytes (blocks) of every file below `dir`. */
async function diskOf(dir: string): Promise<{ bytes: number; allocated: number; files: number }> {
  let bytes = 0;
  let allocated = 0;
  let files = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name));
    bytes += info.size;
    allocated += info.blocks * 512;
    files += 1;
  }
  return { bytes, allocated, files };
}

try {
  // ---- 1 and 2: snapshot vs mirror, warm vs cold ----------------------------------------------
  progress('fetching the environment from Debian and verifying it');
  const environment = await tinyDebianEnvironment(join(scratch, 'debs'));
  const wanted = environment.map((d) => ({ name: d.name, version: d.version }));
  const totalDebBytes = environment.reduce((sum, d) => sum + d.bytes.length, 0);
  const mirrorServer = await startServer();
  mirrorServer.setMirror([{ suite: 'bookworm', debs: environment }]);
  // The snapshot side: the mirror holds none of these versions; half were first seen at T1, all at T2.
  const snapshotServer = await startServer();
  snapshotServer.setMirror([{ suite: 'bookworm', debs: [fakeDeb('unrelated', '1.0-1')] }]);
  snapshotServer.addSnapshot('debian', T1, [
    { suite: 'bookworm', debs: environment.slice(0, Math.floor(environment.length / 2)) },
  ]);
  snapshotServer.addSnapshot('debian', T2, [{ suite: 'bookworm', debs: environment }]);

  interface Prepared {
    resolveMs: number;
    fetchMs?: number;
    totalMs: number;
    cached: boolean;
    imageMs?: number;
    downloadMs?: number;
    fromSnapshot: number;
    fromEvidence: number;
  }
  let counter = 0;
  async function prepareOnce(
    server: DebianSnapshotServer,
    args: { dir?: string; withSnapshot?: boolean; cacheDir?: string } = {},
  ): Promise<Prepared & { dir: string; cacheDir: string }> {
    counter += 1;
    const dir = args.dir ?? join(scratch, `worker-${counter}`);
    const cacheDir = args.cacheDir ?? join(dir, `environments-${counter}`);
    caches.push(cacheDir);
    const started = performance.now();
    const { sources } = await openFixtureSources({
      server,
      keyringPath: key.keyringPath,
      dir,
      suites: ['bookworm'],
      ...(args.withSnapshot === false ? { withSnapshot: false } : {}),
    });
    const resolution = await sources.resolve(wanted, []);
    if (resolution.kind !== 'resolved') throw new Error(JSON.stringify(resolution.missing).slice(0, 500));
    const resolveMs = performance.now() - started;
    const timed = await prepareDebianEnvironment({
      docker,
      stateDir: STATE_DIR,
      logger,
      cache: new DebianEnvironmentCache(cacheDir, docker, 20 * 1024 ** 3, logger),
      sources,
      resolution,
      timeoutMs: defaultWorkerDebianConfig.preparationTimeoutSeconds * 1000,
    });
    return {
      dir,
      cacheDir,
      resolveMs: Math.round(resolveMs),
      totalMs: Math.round(performance.now() - started),
      cached: timed.cached,
      ...(timed.imageMs === undefined ? {} : { imageMs: timed.imageMs }),
      ...(timed.downloadMs === undefined ? {} : { downloadMs: timed.downloadMs }),
      fromSnapshot: resolution.plan.filter((p) => p.origin.from === 'snapshot').length,
      fromEvidence: resolution.plan.filter((p) => p.origin.from === 'evidence').length,
    };
  }

  /** Resolve and fetch only (no mmdebstrap): the part where the sources differ. */
  async function fetchOnce(server: DebianSnapshotServer): Promise<number> {
    counter += 1;
    const dir = join(scratch, `fetch-${counter}`);
    const ms = await timeMs(async () => {
      const { sources } = await openFixtureSources({
        server,
        keyringPath: key.keyringPath,
        dir,
        suites: ['bookworm'],
      });
      const resolution = await sources.resolve(wanted, []);
      if (resolution.kind !== 'resolved') throw new Error('unresolved');
      await sources.fetchDebs(resolution);
    });
    await rm(dir, { recursive: true, force: true });
    return ms;
  }

  const fetchMs = { mirror: [] as number[], snapshot: [] as number[] };
  for (let i = 0; i < FETCH_RUNS; i += 1) {
    const order = i % 2 === 0 ? (['mirror', 'snapshot'] as const) : (['snapshot', 'mirror'] as const);
    for (const which of order)
      fetchMs[which].push(await fetchOnce(which === 'mirror' ? mirrorServer : snapshotServer));
  }
  progress(
    `resolve+fetch medians: mirror ${median(fetchMs.mirror)} ms, snapshot ${median(fetchMs.snapshot)} ms`,
  );

  const cold = { mirror: [] as Prepared[], snapshot: [] as Prepared[] };
  const warm: Prepared[] = [];
  const evidenceWarm: Prepared[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const order = i % 2 === 0 ? (['mirror', 'snapshot'] as const) : (['snapshot', 'mirror'] as const);
    for (const which of order) {
      progress(`cold ${i + 1}/${RUNS}: ${which}`);
      const prepared = await prepareOnce(which === 'mirror' ? mirrorServer : snapshotServer);
      if (prepared.cached) throw new Error('a cold preparation found its environment cached');
      cold[which].push(prepared);
      if (which === 'snapshot') {
        progress(`warm ${i + 1}/${RUNS}: the same worker again`);
        const again = await prepareOnce(snapshotServer, { dir: prepared.dir, cacheDir: prepared.cacheDir });
        if (!again.cached) throw new Error('a warm preparation missed the cache');
        warm.push(again);
        progress(`evidence-warm ${i + 1}/${RUNS}: evidence kept, image gone, no snapshot configured`);
        await new DebianEnvironmentCache(prepared.cacheDir, docker, 0, logger).evict('' as Sha256Hex);
        const kept = await prepareOnce(snapshotServer, { dir: prepared.dir, withSnapshot: false });
        if (kept.cached || kept.fromEvidence !== environment.length)
          throw new Error('expected all from evidence');
        evidenceWarm.push(kept);
      }
      await new DebianEnvironmentCache(prepared.cacheDir, docker, 0, logger).evict('' as Sha256Hex);
    }
  }
  /** Resolving and making the .debs ready: the part of a preparation where the sources differ. */
  const sourcesPhase = (list: Prepared[]) => median(list.map((p) => p.resolveMs + (p.downloadMs ?? 0)));
  const coldMirror = median(cold.mirror.map((p) => p.totalMs));
  const coldSnapshot = median(cold.snapshot.map((p) => p.totalMs));
  results.sources = {
    packages: environment.length,
    debMiB: mib(totalDebBytes),
    fetchOnlyMs: fetchMs,
    fetchOnlyMedianMs: { mirror: median(fetchMs.mirror), snapshot: median(fetchMs.snapshot) },
    fetchOnlySnapshotOverMirror: median(fetchMs.snapshot) / median(fetchMs.mirror),
    cold,
    coldMedianMs: { mirror: coldMirror, snapshot: coldSnapshot },
    snapshotOverMirror: coldSnapshot / coldMirror,
    warmMs: warm.map((p) => p.totalMs),
    warmOverCold: median(warm.map((p) => p.totalMs)) / coldSnapshot,
    evidenceWarm,
    evidenceWarmMs: evidenceWarm.map((p) => p.totalMs),
    sourcesPhaseMedianMs: {
      mirror: sourcesPhase(cold.mirror),
      snapshot: sourcesPhase(cold.snapshot),
      evidence: sourcesPhase(evidenceWarm),
    },
    evidenceWarmOverCold: median(evidenceWarm.map((p) => p.totalMs)) / coldSnapshot,
  };

  // ---- 3: disk held by the evidence store per 1,000 .debs --------------------------------------
  progress('evidence disk: an index the size of bookworm main, 1,000 verified .debs');
  const bookworm = await openDebianArchive({
    mirrorUrl: defaultWorkerDebianConfig.mirrorUrl,
    suites: ['bookworm'],
    keyringPath: defaultWorkerDebianConfig.keyringPath,
    cacheDir: join(scratch, 'bookworm-main'),
    architecture: 'amd64',
  });
  const mainIndex = bookworm.indexes[0]!;
  const { stdout: mainText } = await run('xz', ['-dc', mainIndex.file], {
    maxBuffer: 256 * 1024 ** 2,
    encoding: 'utf8',
  });
  const stanzas = mainText.replace(/\n+$/, '').split(/\n\n+/);
  const kept: FixtureDeb[] = stanzas.slice(0, EVIDENCE_DEBS).map((stanza) => {
    const name = /^Package: (\S+)$/m.exec(stanza)![1]!;
    const version = /^Version: (\S+)$/m.exec(stanza)![1]!;
    const architecture = /^Architecture: (\S+)$/m.exec(stanza)![1]!;
    return {
      ...fakeDeb(name, version, architecture),
      control: stanza
        .split('\n')
        .filter((line) => !/^(Filename|Size|SHA256):/i.test(line))
        .join('\n'),
    };
  });
  const diskServer = await startServer();
  diskServer.setMirror([{ suite: 'bookworm', debs: kept, extraStanzas: stanzas.slice(EVIDENCE_DEBS) }]);
  const diskDir = join(scratch, 'evidence-disk');
  const { sources: diskSources, evidence } = await openFixtureSources({
    server: diskServer,
    keyringPath: key.keyringPath,
    dir: diskDir,
    suites: ['bookworm'],
    withSnapshot: false,
    evidenceMaxBytes: 1024 ** 4,
  });
  const diskResolution = await diskSources.resolve(
    kept.map((d) => ({ name: d.name, architecture: d.architecture, version: d.version })),
    [],
  );
  if (diskResolution.kind !== 'resolved') throw new Error('the disk fixture did not resolve');
  await diskSources.fetchDebs(diskResolution);
  const usage = await evidence.usage();
  const evidenceRoot = join(diskDir, 'evidence');
  const records = await diskOf(join(evidenceRoot, 'records'));
  const releases = await diskOf(join(evidenceRoot, 'releases'));
  const indexes = await diskOf(join(evidenceRoot, 'indexes'));
  results.evidenceDisk = {
    debs: usage.debs,
    indexMiB: mib(indexes.bytes),
    indexParagraphs: stanzas.length,
    recordsBytes: records.bytes,
    recordsAllocatedBytes: records.allocated,
    releaseBytes: releases.bytes,
    beyondDebsBytes: records.bytes + releases.bytes + indexes.bytes,
    beyondDebsAllocatedBytes: records.allocated + releases.allocated + indexes.allocated,
    perRecordBytes: Math.round(records.bytes / usage.records),
  };
  await rm(diskDir, { recursive: true, force: true });

  // ---- 4: RSS resolving 200 packages ----------------------------------------------------------
  progress(`RSS: resolving ${RSS_PACKAGES} packages against bookworm, this tree vs ${BASELINE_COMMIT}`);
  const set = await resolveInstallSet([
    'build-essential',
    'debhelper',
    'texinfo',
    'help2man',
    'python3',
    'cmake',
    'pkg-config',
    'libssl-dev',
    'zlib1g-dev',
    'git',
    'libglib2.0-dev',
  ]);
  if (set.length < RSS_PACKAGES) throw new Error(`only ${set.length} packages resolved`);
  const packagesFile = join(scratch, 'rss-packages.json');
  await writeFile(
    packagesFile,
    JSON.stringify(set.slice(0, RSS_PACKAGES).map(({ name, version }) => ({ name, version }))),
  );
  const baselineRoot = join(scratch, `main-${BASELINE_COMMIT}`);
  await mkdir(baselineRoot, { recursive: true });
  await run('sh', [
    '-c',
    `git -C '${REPO_ROOT}' archive ${BASELINE_COMMIT} services worker package.json | tar -x -C '${baselineRoot}'`,
  ]);
  await symlink(join(REPO_ROOT, 'node_modules'), join(baselineRoot, 'node_modules'));
  const rssCache = join(scratch, 'rss-cache');
  const child = async (root: string, file: string) => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'bench', 'archive-rss-child.ts'), root, rssCache, file],
      { cwd: REPO_ROOT, maxBuffer: 1024 ** 2 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      ms: number;
      resolved: number;
      maxRssKiB: number;
    };
  };
  await child(REPO_ROOT, packagesFile); // fills the index cache, so every measured run reads it from disk
  const rss = { idle: [] as number[], now: [] as number[], baseline: [] as number[], resolved: 0 };
  for (let i = 0; i < RSS_RUNS; i += 1) {
    rss.idle.push((await child(REPO_ROOT, '-')).maxRssKiB);
    const now = await child(REPO_ROOT, packagesFile);
    rss.now.push(now.maxRssKiB);
    rss.resolved = now.resolved;
    rss.baseline.push((await child(baselineRoot, packagesFile)).maxRssKiB);
  }
  results.rss = {
    packages: rss.resolved,
    idleMiB: rss.idle.map((k) => mib(k * 1024)),
    nowMiB: rss.now.map((k) => mib(k * 1024)),
    baselineMiB: rss.baseline.map((k) => mib(k * 1024)),
    nowMedianMiB: mib(median(rss.now) * 1024),
    baselineMedianMiB: mib(median(rss.baseline) * 1024),
    idleMedianMiB: mib(median(rss.idle) * 1024),
    nowOverBaseline: median(rss.now) / median(rss.baseline),
  };

  // ---- Report ----------------------------------------------------------------------------------
  const sources = results.sources as { fetchOnlyMedianMs: { mirror: number; snapshot: number } };
  console.log('## Where packages come from (medians)\n');
  console.log(
    `Environment: ${environment.length} real bookworm packages, ${mib(totalDebBytes)} MiB of .debs.\n`,
  );
  console.log('| what | runs | median ms | ratio |');
  console.log('|---|---|---|---|');
  console.log(
    formatRow([
      'resolve + fetch, all from the mirror',
      FETCH_RUNS,
      sources.fetchOnlyMedianMs.mirror,
      '1.000×',
    ]),
  );
  console.log(
    formatRow([
      'resolve + fetch, all from a snapshot',
      FETCH_RUNS,
      sources.fetchOnlyMedianMs.snapshot,
      ratio(sources.fetchOnlyMedianMs.snapshot, sources.fetchOnlyMedianMs.mirror),
    ]),
  );
  console.log(formatRow(['cold preparation, all from the mirror', RUNS, coldMirror, '1.000×']));
  console.log(
    formatRow(['cold preparation, all from a snapshot', RUNS, coldSnapshot, ratio(coldSnapshot, coldMirror)]),
  );
  console.log(
    formatRow([
      'warm: the same worker again (environment cached)',
      warm.length,
      median(warm.map((p) => p.totalMs)),
      `${ratio(median(warm.map((p) => p.totalMs)), coldSnapshot)} of cold snapshot`,
    ]),
  );
  console.log(
    formatRow([
      'evidence-warm: all from kept evidence, image made again',
      evidenceWarm.length,
      median(evidenceWarm.map((p) => p.totalMs)),
      `${ratio(median(evidenceWarm.map((p) => p.totalMs)), coldSnapshot)} of cold snapshot`,
    ]),
  );
  console.log(
    formatRow([
      'sources phase (resolve + .debs ready) of cold, mirror / snapshot / evidence',
      RUNS,
      `${sourcesPhase(cold.mirror)} / ${sourcesPhase(cold.snapshot)} / ${sourcesPhase(evidenceWarm)}`,
      `evidence ${ratio(sourcesPhase(evidenceWarm), sourcesPhase(cold.snapshot))} of snapshot`,
    ]),
  );
  results.loadAverage1m = loadavg()[0];
  console.log(`\n\`\`\`json\n${JSON.stringify(results, null, 2)}\n\`\`\``);
} finally {
  await cleanup();
}
