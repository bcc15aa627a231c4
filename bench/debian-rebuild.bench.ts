// Benchmark: Debian rebuilds on this machine. (1) hello's environment prepared cold vs found warm,
// (2) rbnet's hermetic build of hello vs the same dpkg-buildpackage run by hand with `docker run`,
// interleaved, and (3) how many of a few real bookworm packages rebuild bit for bit against the
// official archive, with a cause for each miss. Run: npx tsx bench/debian-rebuild.bench.ts [--quick]
// (--quick: 1 cold / 3 warm preparations, 1 build of each kind, hello alone in part 3; about 10 min.
// BENCH_DEBIAN_PACKAGES=a,b picks part 3's packages; BENCH_DEBIAN_REPORTS_DIR keeps the inspection
// reports and diffoscope HTML.) Everything it makes is removed at the end, images included; the
// worker's verified .deb cache under the state directory is shared and kept.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pino from 'pino';
import { prepareDebianSubmission } from '../cli/debian-submission.ts';
import { type ParsedBuildinfo, parseBuildinfo } from '../services/debian/buildinfo.ts';
import {
  DEB_INSPECTION_BYPRODUCT_NAME,
  parseDebInspectionResult,
} from '../services/debian/deb-inspection/inspection-report.ts';
import { DEFAULT_DEBIAN_TIME_LIMIT_SECONDS } from '../services/debian/debian-manifest-from-buildinfo.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import { parseDebianManifest } from '../services/manifest/parse-debian-manifest.ts';
import { type InstalledPackage, resolveInstallSet } from '../test/support/debian-fixture.ts';
import { inspectionEnvironmentSha256 } from '../test/support/inspection-environment.ts';
import { createRunnerHarness, ENGINE_HOST, REPO_ROOT, STATE_DIR } from '../test/support/runner-harness.ts';
import { createDebianBackend } from '../worker/debian/create-debian-backend.ts';
import { type FetchedSourceFile, openDebianArchive } from '../worker/debian/debian-archive.ts';
import { BUILD_SCRIPT_NAME, buildRecordOf, planDebianBuild } from '../worker/debian/debian-build-plan.ts';
import { DebianEnvironmentCache } from '../worker/debian/debian-environment-cache.ts';
import {
  EnvironmentPackageSources,
  type SourcedResolution,
} from '../worker/debian/environment-package-sources.ts';
import { OverlayInputSource } from '../worker/debian/overlay-input-source.ts';
import {
  prepareDebianEnvironment,
  type TimedPreparation,
} from '../worker/debian/prepare-debian-environment.ts';
import { DEBIAN_BASE_EXTRAS, type DebianBackend, rebuildDebian } from '../worker/debian/rebuild-debian.ts';
import { resolveEnvironment } from '../worker/environment/environment-registry.ts';
import { LocalInputSource } from '../worker/inputs/input-source.ts';
import { buildEnvironmentVariables } from '../worker/sandbox/container-spec.ts';
import { defaultWorkerDebianConfig } from '../worker/worker-config.ts';
import { formatRow, median, runCommand, timeMs } from './bench-support.ts';
import {
  binNmuChangelogOf,
  DEBIAN_BENCH_LIMITS,
  type DscFacts,
  type PairSummary,
  type PublishedBinaries,
  publishedBinariesOf,
  readDscFacts,
  summariseInspection,
  writePublishedBuildinfo,
} from './debian-bench-support.ts';

const quick = process.argv.includes('--quick');
const COLD_RUNS = quick ? 1 : 3;
const WARM_RUNS = quick ? 3 : 5;
const BUILD_RUNS = quick ? 1 : 3;
const ALL_PACKAGES = ['hello', 'tree', 'figlet', 'pv', 'dos2unix', 'time', 'sl', 'cowsay'];
const PACKAGES =
  process.env.BENCH_DEBIAN_PACKAGES?.split(',').filter(Boolean) ?? (quick ? ['hello'] : ALL_PACKAGES);
/** When set, each package's inspection result and diffoscope HTML are copied here. */
const REPORTS_DIR = process.env.BENCH_DEBIAN_REPORTS_DIR;
const BENCH_LABEL = 'org.rbnet.bench=debian-rebuild';
const PREPARATION_TIMEOUT_MS = defaultWorkerDebianConfig.preparationTimeoutSeconds * 1000;
const dockerEnv = { ...process.env, DOCKER_HOST: ENGINE_HOST };

const progress = (message: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const seconds = (ms: number) => Number((ms / 1000).toFixed(1));
const mib = (bytes: number) => Number((bytes / 1024 ** 2).toFixed(1));
const ratio = (a: number, b: number) => {
  const value = a / b;
  return `${value >= 0.01 ? value.toFixed(2) : value.toPrecision(2)}×`;
};

// Other work on this machine shares its 2 cores: the 1-minute load average is sampled per part.
let part = 'setup';
const loadSamples: Record<string, number[]> = {};
setInterval(() => {
  const samples = loadSamples[part] ?? [];
  samples.push(loadavg()[0] ?? 0);
  loadSamples[part] = samples;
}, 15_000).unref();

const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const harness = await createRunnerHarness('debbench');
const context = { ...harness.context(DEBIAN_BENCH_LIMITS), logger };
const { docker } = harness;
const scratch = await mkdtemp(join(tmpdir(), 'rbnet-debbench-'));
// The by-hand baseline bind-mounts a directory below this one for the engine's remapped uid 1000.
await chmod(scratch, 0o755);

// Cleanup: only what this run made. An image that existed before the run is never evicted, even if
// a cache entry of ours names it (mmdebstrap output could in principle repeat a digest).
const preexistingTags = new Set((await docker.listImages()).flatMap((image) => image.RepoTags ?? []));
const caches: DebianEnvironmentCache[] = [];
const createdImages = new Set<Sha256Hex>();

function newCache(name: string, maxBytes: number): DebianEnvironmentCache {
  const cache = new DebianEnvironmentCache(join(scratch, name), docker, maxBytes, logger);
  caches.push(cache);
  return cache;
}

async function evictAll(cache: DebianEnvironmentCache): Promise<void> {
  for (const entry of await cache.list()) {
    if (preexistingTags.has(`rbnet-env:${entry.imageSha256}`)) {
      await rm(join(cache.dir, `${entry.identitySha256}.json`), { force: true });
    }
  }
  await new DebianEnvironmentCache(cache.dir, docker, 0, logger).evict('' as Sha256Hex);
}

let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  const leftover = (await runCommand('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}`], dockerEnv))
    .split('\n')
    .filter(Boolean);
  if (leftover.length > 0) await runCommand('docker', ['rm', '-f', ...leftover], dockerEnv);
  await context.sandbox.removeOrphans(harness.workerId);
  for (const cache of caches) await evictAll(cache);
  // The registry entries buildDebianEnvironmentImage wrote for images this run made and removed.
  for (const imageSha256 of createdImages) {
    if (preexistingTags.has(`rbnet-env:${imageSha256}`)) continue;
    const gone = await docker
      .getImage(`rbnet-env:${imageSha256}`)
      .inspect()
      .then(
        () => false,
        () => true,
      );
    if (gone) await rm(join(STATE_DIR, 'environments', `${imageSha256}.json`), { force: true });
  }
  await rm(scratch, { recursive: true, force: true });
  await harness.cleanup();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

progress('opening the signed archive (bookworm, bookworm-updates, bookworm-security)');
const config = defaultWorkerDebianConfig;
const archive = await openDebianArchive(
  {
    mirrorUrl: config.mirrorUrl,
    suites: config.suites,
    keyringPath: config.keyringPath,
    archives: [
      { mirrorUrl: config.securityMirrorUrl, suites: config.securitySuites, keyringPath: config.keyringPath },
    ],
    cacheDir: join(STATE_DIR, 'debian-archive'),
    architecture: config.architecture,
  },
  { logger },
);

/** One source package made ready to rebuild: its source, what the archive published, a .buildinfo. */
interface Subject {
  readonly name: string;
  readonly dir: string;
  readonly facts: DscFacts;
  readonly published: PublishedBinaries;
  readonly installed: readonly InstalledPackage[];
  readonly buildinfoPath: string;
  readonly buildinfo: ParsedBuildinfo;
  readonly dscPath: string;
  readonly sourceFiles: readonly FetchedSourceFile[];
}

type SubjectOutcome = { kind: 'ready'; subject: Subject } | { kind: 'dropped'; reason: string };

async function prepareSubject(name: string): Promise<SubjectOutcome> {
  const dir = join(scratch, 'packages', name);
  await mkdir(dir, { recursive: true });
  const newest = archive.newestBinary(name);
  if (!newest) return { kind: 'dropped', reason: `no binary package ${name} in the archive` };
  const sourceName = newest.source?.split(' ')[0] ?? name;
  const sourceVersion = /\((.+)\)/.exec(newest.source ?? '')?.[1] ?? newest.version;
  const fetched = await archive.fetchSource(sourceName, sourceVersion, join(dir, 'source'));
  if (fetched.kind === 'unavailable') return { kind: 'dropped', reason: fetched.missing };
  const facts = readDscFacts(await readFile(fetched.dscPath, 'utf8'));
  const published = publishedBinariesOf(archive, facts);
  if (published.packages.length === 0)
    return { kind: 'dropped', reason: `no published .deb of ${facts.source} ${facts.version} for amd64/all` };
  let installed: InstalledPackage[];
  try {
    installed = await resolveInstallSet(['build-essential', ...facts.buildDepends]);
  } catch (error) {
    return {
      kind: 'dropped',
      reason: `apt could not resolve its Build-Depends: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  const debPaths = await archive.downloadDebs(published.packages);
  const binaryOnlyChanges = published.binNmu
    ? await binNmuChangelogOf(debPaths.get(published.packages[0]!.sha256)!, published.packages[0]!.name)
    : undefined;
  const buildinfoPath = await writePublishedBuildinfo(dir, {
    facts,
    published,
    debPaths,
    installed,
    ...(binaryOnlyChanges ? { binaryOnlyChanges } : {}),
  });
  return {
    kind: 'ready',
    subject: {
      name,
      dir,
      facts,
      published,
      installed,
      buildinfoPath,
      buildinfo: parseBuildinfo(await readFile(buildinfoPath)),
      dscPath: fetched.dscPath,
      sourceFiles: fetched.files,
    },
  };
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  quick,
  machine: { cores: availableParallelism(), engine: ENGINE_HOST },
};

try {
  // ---- 1. Environment preparation, cold vs warm ------------------------------------------------
  part = 'preparation';
  progress('resolving hello with the host apt');
  const helloReady = await prepareSubject('hello');
  if (helloReady.kind !== 'ready') throw new Error(`hello: ${helloReady.reason}`);
  const hello = helloReady.subject;
  const requested = hello.buildinfo.installedBuildDepends.map((dep) => ({
    name: dep.name,
    version: dep.version.text,
    ...(dep.architecture !== undefined ? { architecture: dep.architecture } : {}),
  }));
  let resolutionMs = 0;
  const sources = new EnvironmentPackageSources(archive);
  let resolution: SourcedResolution | undefined;
  resolutionMs = await timeMs(async () => {
    resolution = await sources.resolve(requested, DEBIAN_BASE_EXTRAS);
  });
  if (resolution?.kind !== 'resolved') throw new Error(`hello's environment: ${JSON.stringify(resolution)}`);
  const resolved = resolution;

  const cold: TimedPreparation[] = [];
  const prepareTimed = (cache: DebianEnvironmentCache) =>
    prepareDebianEnvironment({
      docker: context.docker,
      stateDir: context.stateDir,
      logger: context.logger,
      cache,
      sources,
      resolution: resolved,
      timeoutMs: PREPARATION_TIMEOUT_MS,
    });
  const warm: number[] = [];
  let helloCache: DebianEnvironmentCache | undefined;
  for (let i = 0; i < COLD_RUNS; i += 1) {
    const cache = newCache(`environments-cold-${i + 1}`, config.cacheMaxBytes);
    progress(`preparation: cold ${i + 1}/${COLD_RUNS}`);
    const prepared = await prepareTimed(cache);
    if (prepared.cached) throw new Error('a cold preparation found its environment cached');
    createdImages.add(prepared.imageSha256);
    cold.push(prepared);
    const warmHere = Math.floor(WARM_RUNS / COLD_RUNS) + (i < WARM_RUNS % COLD_RUNS ? 1 : 0);
    for (let j = 0; j < warmHere; j += 1) {
      const hit = await prepareTimed(cache);
      if (!hit.cached) throw new Error('a warm preparation missed the cache');
      warm.push(hit.totalMs);
    }
    progress(`preparation: cold ${seconds(prepared.totalMs)} s, warm so far ${warm.join(', ')} ms`);
    if (i < COLD_RUNS - 1) await evictAll(cache);
    else helloCache = cache;
  }
  const helloImage = cold.at(-1)!.imageSha256;
  const coldMedian = median(cold.map((c) => c.totalMs));
  const warmMedian = median(warm);
  results.preparation = {
    package: `hello ${hello.facts.version}`,
    packages: resolved.packages.length + resolved.extras.length,
    resolutionMs: Number(resolutionMs.toFixed(1)),
    cold: cold.map(({ imageSha256: _image, ...rest }) => rest),
    warmMs: warm,
    coldMedianMs: coldMedian,
    warmMedianMs: warmMedian,
    warmOverCold: warmMedian / coldMedian,
  };

  // ---- 2. Build: rbnet's sandbox run vs the same build by hand ----------------------------------
  part = 'build';
  const plan = planDebianBuild({
    record: buildRecordOf(hello.buildinfo),
    sourceFiles: hello.sourceFiles.map((file) => ({ name: file.name, sha256: file.sha256 })),
    dscName: basename(hello.dscPath),
    imageSha256: helloImage,
    timeLimitSeconds: DEFAULT_DEBIAN_TIME_LIMIT_SECONDS,
  });
  const generatedDir = join(scratch, 'generated');
  const handDir = join(scratch, 'by-hand');
  await mkdir(generatedDir, { recursive: true });
  await mkdir(handDir, { recursive: true, mode: 0o755 });
  const overlay = new OverlayInputSource(new LocalInputSource(generatedDir, undefined));
  for (const file of hello.sourceFiles) {
    overlay.addLocalFile(file.sha256, file.path);
    await copyFile(file.path, join(handDir, file.name));
    await chmod(join(handDir, file.name), 0o644);
  }
  for (const [name, text] of plan.generatedFiles) {
    await writeFile(join(generatedDir, name), text);
    overlay.addLocalFile(sha256Hex(text), join(generatedDir, name));
    await writeFile(join(handDir, name), text);
    await chmod(join(handDir, name), 0o755);
  }
  const manifestSha256 = sha256Hex(JSON.stringify(plan.manifest));
  const buildPath = plan.manifest.environment.buildPath;
  const outputDir = plan.manifest.outputDir;
  const limits = context.limits;
  const handArgs = (capped: boolean) => [
    'run',
    '--rm',
    '--network',
    'none',
    '--label',
    BENCH_LABEL,
    '--user',
    `${plan.manifest.environment.uid}:${plan.manifest.environment.gid}`,
    '--hostname',
    plan.manifest.environment.hostname,
    ...(capped
      ? [
          '--cpus',
          String(limits.nanoCpus / 1e9),
          '--memory',
          String(limits.memoryBytes),
          '--memory-swap',
          String(limits.memoryBytes),
          '--pids-limit',
          String(limits.pidsLimit),
        ]
      : []),
    ...buildEnvironmentVariables(plan.manifest).flatMap((variable) => ['-e', variable]),
    '-v',
    `${handDir}:/rbnet-src:ro`,
    '--workdir',
    '/build',
    `rbnet-env:${helloImage}`,
    '/bin/sh',
    '-c',
    `set -e; mkdir -p "$1"; cp /rbnet-src/* "$1"/; cd "$1"; /bin/sh ./${BUILD_SCRIPT_NAME}; sha256sum ${outputDir}/debs/*`,
    'rbnet-by-hand',
    buildPath,
  ];
  const debsOfHand = (stdout: string) =>
    [...stdout.matchAll(/^([0-9a-f]{64}) {2}\S+\/debs\/(\S+)$/gm)].map((m) => `${m[2]} ${m[1]}`).sort();

  let buildCounter = 0;
  const rbnetBuild = async (): Promise<{ debs: string[]; inContainerMs: number }> => {
    buildCounter += 1;
    const outDir = join(scratch, `build-${buildCounter}`);
    await mkdir(outDir, { recursive: true });
    const environment = await resolveEnvironment(docker, STATE_DIR, helloImage);
    const outcome = await context.sandbox.run({
      manifest: plan.manifest,
      manifestSha256,
      environment,
      inputs: overlay,
      limits,
      workerId: harness.workerId,
      logPath: join(outDir, 'build.log'),
      outputsDir: join(outDir, 'outputs'),
    });
    if (outcome.kind !== 'built') throw new Error(`rbnet build: ${outcome.reason}: ${outcome.detail}`);
    await rm(outDir, { recursive: true, force: true });
    const debs = outcome.outputs
      .filter((o) => o.path.startsWith(`${plan.subjectsDir}/`))
      .map((o) => `${o.path.slice(plan.subjectsDir.length + 1)} ${o.sha256}`)
      .sort();
    return { debs, inContainerMs: outcome.durationMs };
  };
  const builds = { rbnet: [] as number[], hand: [] as number[], handCapped: [] as number[] };
  /** rbnet's build container from start to exit; the rest of each rbnet run is rbnet's own work. */
  const rbnetInContainer: number[] = [];
  const buildLoad: { which: string; load1m: number }[] = [];
  const debSets = new Set<string>();
  const runners: Record<keyof typeof builds, () => Promise<void>> = {
    rbnet: async () => {
      let built = { debs: [] as string[], inContainerMs: 0 };
      builds.rbnet.push(await timeMs(async () => (built = await rbnetBuild())));
      rbnetInContainer.push(built.inContainerMs);
      debSets.add(built.debs.join(' '));
    },
    hand: async () => {
      let out = '';
      builds.hand.push(
        await timeMs(async () => (out = await runCommand('docker', handArgs(false), dockerEnv))),
      );
      debSets.add(debsOfHand(out).join(' '));
    },
    handCapped: async () => {
      let out = '';
      builds.handCapped.push(
        await timeMs(async () => (out = await runCommand('docker', handArgs(true), dockerEnv))),
      );
      debSets.add(debsOfHand(out).join(' '));
    },
  };
  for (let i = 0; i < BUILD_RUNS; i += 1) {
    const order: (keyof typeof builds)[] =
      i % 2 === 0 ? ['rbnet', 'hand', 'handCapped'] : ['handCapped', 'hand', 'rbnet'];
    for (const which of order) {
      progress(`build ${i + 1}/${BUILD_RUNS}: ${which}`);
      buildLoad.push({ which, load1m: loadavg()[0] ?? 0 });
      await runners[which]();
    }
  }
  if (helloCache) await evictAll(helloCache);
  const handMedian = median(builds.hand);
  results.build = {
    package: `hello ${hello.facts.version}`,
    runs: BUILD_RUNS,
    rbnetMs: builds.rbnet,
    byHandMs: builds.hand,
    byHandCappedMs: builds.handCapped,
    rbnetInContainerMs: rbnetInContainer,
    rbnetOwnWorkMs: builds.rbnet.map((total, i) => total - (rbnetInContainer[i] ?? 0)),
    loadAtStart: buildLoad,
    rbnetMedianMs: median(builds.rbnet),
    byHandMedianMs: handMedian,
    byHandCappedMedianMs: median(builds.handCapped),
    rbnetOverByHand: median(builds.rbnet) / handMedian,
    rbnetOverByHandCapped: median(builds.rbnet) / median(builds.handCapped),
    identicalDebsAcrossAllBuilds: debSets.size === 1,
    debs: [...debSets],
  };

  // ---- 3. Reproducibility against the official archive -----------------------------------------
  part = 'reproducibility';
  const inspectionImage = await inspectionEnvironmentSha256();
  const packagesCacheDir = join(scratch, 'environments-packages');
  // A cap of 0 bytes: each new environment evicts the previous one, so the loop holds one at a time.
  const created = createDebianBackend({
    config: {
      ...config,
      inspectionImageSha256: inspectionImage,
      cacheDir: packagesCacheDir,
      cacheMaxBytes: 0,
    },
    stateDir: STATE_DIR,
    docker,
    sandbox: context.sandbox,
    workerId: harness.workerId,
    logger,
  });
  const backend: DebianBackend = { ...created, openSources: async () => sources };
  caches.push(created.cache);

  interface PackageRow {
    package: string;
    version: string;
    published: string[];
    verdict: string;
    reproducible: boolean;
    preparationMs?: number;
    environmentCached?: boolean;
    buildMs?: number;
    inspectionMs?: number;
    totalMs?: number;
    matching?: string[];
    differing?: PairSummary[];
    note?: string;
  }
  async function ensureInspectionImage(): Promise<void> {
    const present = await docker
      .getImage(`rbnet-env:${inspectionImage}`)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (!present) await runCommand('bash', [join(REPO_ROOT, 'infra', 'build-env-inspect.sh')]);
  }

  async function rebuildPackage(subject: Subject): Promise<PackageRow> {
    const row: PackageRow = {
      package: subject.facts.source,
      version: subject.published.version,
      published: subject.published.packages.map((p) => `${p.name}_${p.architecture}`),
      verdict: 'error',
      reproducible: false,
      ...(subject.published.skipped.length > 0
        ? { note: `not claimed: ${subject.published.skipped.join(', ')}` }
        : {}),
    };
    try {
      await ensureInspectionImage();
      const prepared = await prepareDebianSubmission({ buildinfoPath: subject.buildinfoPath });
      const cas = join(subject.dir, 'cas');
      await mkdir(join(cas, 'sha256'), { recursive: true });
      for (const upload of prepared.uploads) await copyFile(upload.path, join(cas, 'sha256', upload.sha256));
      const phases = new Map<string, number>();
      const started = performance.now();
      const result = await rebuildDebian(context, backend, {
        parsed: parseDebianManifest(prepared.manifestText),
        inputs: new LocalInputSource(subject.dir, cas),
        outDir: join(subject.dir, 'out'),
        onPhase: (phase) => {
          if (!phases.has(phase)) phases.set(phase, performance.now() - started);
        },
      });
      row.totalMs = Math.round(performance.now() - started);
      if (result.kind === 'unavailable') {
        row.verdict = `unavailable (${result.reason})`;
        row.note = `${result.reason}: ${result.detail}`;
        return row;
      }
      createdImages.add(result.environment.imageSha256);
      row.preparationMs = result.preparation?.durationMs;
      row.environmentCached = result.preparation?.cached;
      row.buildMs = result.durationMs;
      const inspectAt = phases.get('inspect');
      if (inspectAt !== undefined)
        row.inspectionMs = Math.round((phases.get('sign') ?? row.totalMs) - inspectAt);
      if (result.kind === 'failed') {
        row.verdict = `build failed (${result.reason})`;
        row.note = result.detail;
        return row;
      }
      const claims = result.claims;
      row.reproducible = claims.status === 'match';
      row.verdict = row.reproducible ? 'reproducible' : 'differs';
      row.matching = claims.status === 'no-claim' ? [] : [...claims.matching];
      const byName = new Map(result.byproductFiles.map((file) => [file.name, file.path]));
      const reportPath = byName.get(DEB_INSPECTION_BYPRODUCT_NAME);
      if (!row.reproducible && reportPath) {
        const inspection = parseDebInspectionResult(await readFile(reportPath, 'utf8'));
        const html = new Map<string, string>();
        for (const d of inspection.diffoscope) {
          const path = byName.get(d.byproduct);
          if (path) html.set(d.byproduct, await readFile(path, 'utf8'));
        }
        row.differing = summariseInspection(inspection, html);
        if (REPORTS_DIR) {
          await mkdir(join(REPORTS_DIR, subject.name), { recursive: true });
          for (const file of result.byproductFiles.filter((f) => f.name.startsWith('rbnet/')))
            await copyFile(file.path, join(REPORTS_DIR, subject.name, basename(file.name)));
        }
      }
      if (claims.status === 'mismatch' && claims.missing.length > 0)
        row.note = [row.note, `not rebuilt: ${claims.missing.join(', ')}`].filter(Boolean).join('; ');
      progress(`  ${row.verdict} in ${seconds(row.totalMs)} s`);
    } catch (error) {
      row.verdict = 'error';
      row.note = (error as Error).message;
      progress(`  error: ${row.note}`);
    } finally {
      await rm(join(subject.dir, 'out'), { recursive: true, force: true });
    }
    return row;
  }

  const rows: PackageRow[] = [];
  const dropped: { package: string; reason: string }[] = [];
  for (const name of PACKAGES) {
    progress(`reproducibility: ${name}`);
    let outcome: SubjectOutcome;
    try {
      outcome = name === 'hello' ? helloReady : await prepareSubject(name);
    } catch (error) {
      outcome = { kind: 'dropped', reason: (error as Error).message };
    }
    if (outcome.kind === 'dropped') {
      dropped.push({ package: name, reason: outcome.reason });
      progress(`  dropped: ${outcome.reason}`);
      continue;
    }
    const subject = outcome.subject;
    let row = await rebuildPackage(subject);
    if (row.verdict === 'error' && row.note?.includes(inspectionImage)) {
      // Other work on this engine may remove the shared inspection image; bring it back and retry once.
      progress('  the inspection image went missing; re-importing it and retrying');
      await ensureInspectionImage();
      row = await rebuildPackage(subject);
      row.note = [row.note, 'retried after the inspection image was re-imported by the bench']
        .filter(Boolean)
        .join('; ');
    }
    if (row.verdict.startsWith('unavailable'))
      dropped.push({ package: name, reason: row.note ?? row.verdict });
    else rows.push(row);
  }
  const reproduced = rows.filter((r) => r.reproducible).length;
  results.reproducibility = { packages: rows, dropped, reproduced, attempted: rows.length };

  // ---- Report ----------------------------------------------------------------------------------
  results.loadAverage1m = Object.fromEntries(
    Object.entries(loadSamples).map(([name, values]) => [
      name,
      { median: Number(median(values).toFixed(2)), max: Math.max(...values), samples: values.length },
    ]),
  );
  const first = cold[0]!;
  console.log(`## Debian rebuilds (${quick ? 'quick' : 'full'} run, medians)\n`);
  console.log(
    `### Environment preparation: hello ${hello.facts.version} (${resolved.packages.length} + ${resolved.extras.length} packages)\n`,
  );
  console.log('| what | runs | median ms | ratio vs cold |');
  console.log('|---|---|---|---|');
  console.log(
    formatRow([
      'cold: empty cache → .debs, flat repo, mmdebstrap, import',
      String(COLD_RUNS),
      coldMedian,
      '1.00×',
    ]),
  );
  console.log(
    formatRow([
      '  of which .debs ready (verified, from the .deb cache)',
      String(COLD_RUNS),
      median(cold.map((c) => c.downloadMs ?? 0)),
      ratio(median(cold.map((c) => c.downloadMs ?? 0)), coldMedian),
    ]),
  );
  console.log(
    formatRow([
      '  of which mmdebstrap (unshare) + image import',
      String(COLD_RUNS),
      median(cold.map((c) => c.imageMs ?? 0)),
      ratio(median(cold.map((c) => c.imageMs ?? 0)), coldMedian),
    ]),
  );
  console.log(
    formatRow([
      'warm: cache hit (lock + lookup)',
      String(WARM_RUNS),
      warmMedian,
      ratio(warmMedian, coldMedian),
    ]),
  );
  console.log(
    `\n.debs installed: ${mib(first.debBytes ?? 0)} MiB (${mib(first.networkBytes ?? 0)} MiB of it from the mirror in the first cold run); image ${mib(first.imageSizeBytes ?? 0)} MiB; package resolution ${resolutionMs.toFixed(0)} ms\n`,
  );
  console.log(`### Build: hello ${hello.facts.version}, ${BUILD_RUNS} interleaved runs each\n`);
  console.log('| what | median s | ratio vs by hand |');
  console.log('|---|---|---|');
  console.log(
    formatRow([
      'by hand: `docker run --rm --network none`, same image, env, uid, sources',
      seconds(handMedian),
      '1.00×',
    ]),
  );
  console.log(
    formatRow([
      "by hand with rbnet's caps (`--cpus 1 --memory 2g --pids-limit 1024`)",
      seconds(median(builds.handCapped)),
      ratio(median(builds.handCapped), handMedian),
    ]),
  );
  console.log(
    formatRow([
      "rbnet: planDebianBuild's manifest through DockerSandbox.run",
      seconds(median(builds.rbnet)),
      ratio(median(builds.rbnet), handMedian),
    ]),
  );
  const ownWork = builds.rbnet.map((total, i) => total - (rbnetInContainer[i] ?? 0));
  console.log(
    `\nrbnet vs by hand with the same caps: ${ratio(median(builds.rbnet), median(builds.handCapped))}; rbnet's own work around the container (inputs in, create, capture and hash outputs, remove): median ${seconds(median(ownWork))} s = ${ratio(median(ownWork), median(builds.rbnet))} of its run; every build made the same .debs: ${debSets.size === 1 ? 'yes' : 'no'}\n`,
  );
  console.log(`### Reproducibility against the official archive: ${reproduced}/${rows.length} reproduced\n`);
  console.log('| package | version | verdict | prep s | build s | inspect s | differing members | cause |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const members = (row.differing ?? []).flatMap((d) =>
      d.members.map((m) => `${d.deb.split('_')[0]}: ${m}`),
    );
    const causes = (row.differing ?? []).map((d) => `${d.deb.split('_')[0]}: ${d.cause}`);
    console.log(
      `| ${row.package} | ${row.version} | ${row.verdict} | ${row.preparationMs === undefined ? '' : `${seconds(row.preparationMs)}${row.environmentCached ? ' (cached)' : ''}`} | ${row.buildMs === undefined ? '' : seconds(row.buildMs)} | ${row.inspectionMs === undefined ? '' : seconds(row.inspectionMs)} | ${members.join('<br>')} | ${[...causes, row.note ?? ''].filter(Boolean).join('<br>')} |`,
    );
  }
  for (const d of dropped) console.log(`\ndropped ${d.package}: ${d.reason}`);
  console.log(
    `\n1-minute load average on the ${availableParallelism()} cores, median (max) per part: ${Object.entries(
      results.loadAverage1m as Record<string, { median: number; max: number }>,
    )
      .map(([name, l]) => `${name} ${l.median} (${l.max})`)
      .join(', ')}`,
  );
  console.log('\n```json');
  console.log(JSON.stringify(results, null, 2));
  console.log('```');
} finally {
  progress('cleaning up');
  await cleanup();
  const left = await harness.labelledContainers();
  const benchContainers = await runCommand(
    'docker',
    ['ps', '-aq', '--filter', `label=${BENCH_LABEL}`],
    dockerEnv,
  );
  progress(
    `left behind: ${left} build containers, ${benchContainers.split('\n').filter(Boolean).length} by-hand containers`,
  );
}
// The archive keeps its Packages indexes in memory; nothing else should hold the process open.
process.exit(0);
