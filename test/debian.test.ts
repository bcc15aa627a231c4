// Real Debian packages end to end: .buildinfo files generated today against Debian's archive, three
// operators with the debian backend on the real engine, exact environments from real mmdebstrap,
// dpkg-buildpackage, and the nested report against the published .deb.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDebianSubmission } from '../cli/debian-submission.ts';
import type { FixtureFile } from '../services/debian/buildinfo-fixture.ts';
import { DebianEnvironmentCache } from '../worker/debian/debian-environment-cache.ts';
import { createDockerClient } from '../worker/main.ts';
import { createAptIntotoWorld, createScenario } from './support/apt-intoto-harness.ts';
import {
  absentVersionOf,
  type CurrentPackage,
  currentPackage,
  downloadPublishedDeb,
  type InstalledPackage,
  resolveInstallSet,
  writeBuildinfo,
  writeHostileSourcePackage,
} from './support/debian-fixture.ts';
import { inspectionEnvironmentSha256 } from './support/inspection-environment.ts';
import { type NetworkHarness, startNetworkHarness } from './support/network-harness.ts';
import { runCli } from './support/run-cli.ts';
import { runScopedId } from './support/run-scoped-id.ts';
import { ENGINE_HOST } from './support/runner-harness.ts';

/** hello's Build-Depends today (debhelper-compat 13 is provided by debhelper). */
const HELLO_BUILD_DEPENDS = ['build-essential', 'debhelper', 'help2man', 'texinfo'];
const DEBIAN_LIMITS = {
  memoryBytes: 2 * 1024 ** 3,
  diskBytes: 4 * 1024 ** 3,
  maxBuildTimeSeconds: 1500,
  maxOutputBytes: 512 * 1024 ** 2,
  maxLogBytes: 8 * 1024 ** 2,
  pidsLimit: 1024,
};
const VERDICT_TIMEOUT_MS = 25 * 60 * 1000;

let net: NetworkHarness;
let maintainer: string;
let dir: string;
let installed: InstalledPackage[];
/** hello at the version the archive holds today (derived at test time, never assumed). */
let hello: CurrentPackage;
let publishedHello: FixtureFile & { path: string };

interface StatementFacts {
  byproducts: { name: string; digest: { sha256: string } }[];
  debian: {
    preparationMs: number;
    environmentCached: boolean;
    extraPackages: string[];
    packageCount: number;
    source?: { name: string; version: string; origin: string; dscSha256: string };
  };
  environmentSha256: string;
}

async function blobText(sha256: string): Promise<string> {
  const response = await net.api('GET', `/v1/cas/sha256/${sha256}`);
  expect(response.status).toBe(200);
  return response.text;
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field
async function statementsOf(status: any): Promise<StatementFacts[]> {
  const facts: StatementFacts[] = [];
  for (const result of status.results.filter((r: { kind: string }) => r.kind === 'built')) {
    const envelope = JSON.parse(await blobText(result.envelopeSha256)) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    facts.push({
      byproducts: statement.predicate.runDetails.byproducts,
      debian: statement.predicate.buildDefinition.internalParameters.debian,
      environmentSha256: statement.predicate.buildDefinition.resolvedDependencies[0].digest.sha256,
    });
  }
  return facts;
}

/** Each operator's worker id in this run. */
const workerIds = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-debian-'));
  const inspection = await inspectionEnvironmentSha256();
  net = await startNetworkHarness({ threshold: 3, prefix: 'debian' });
  for (const operator of ['alpha', 'beta', 'gamma']) {
    workerIds.set(operator, runScopedId(`${operator}-deb`));
    await net.addWorker(operator, workerIds.get(operator)!, {
      backends: ['generic', 'debian'],
      // A cache of its own, so the first build prepares its environment cold in every run.
      env: {
        RBNET_INSPECTION_IMAGE: inspection,
        RBNET_DEBIAN_CACHE_DIR: join(dir, 'environments'),
        // Small enough that the hostile package's 200 MB of zeros is a bomb.
        RBNET_INSPECTION_MAX_DECOMPRESSED_BYTES: String(64 * 1024 ** 2),
      },
      limits: DEBIAN_LIMITS,
    });
  }
  maintainer = await net.maintainerToken();
  installed = await resolveInstallSet(HELLO_BUILD_DEPENDS);
  hello = await currentPackage('hello');
  // A binNMU would need its Binary-Only-Changes, which this test does not write.
  if (hello.sourceVersion !== hello.version)
    throw new Error(
      `hello ${hello.version} is a binNMU of ${hello.sourceVersion}; this test rebuilds sourceful uploads`,
    );
  publishedHello = await downloadPublishedDeb(dir, 'hello', hello.version);
}, 300_000);

afterAll(async () => {
  await net?.close();
  // Remove the images this run prepared (the cache would keep them for the next jobs).
  if (dir) {
    await new DebianEnvironmentCache(
      join(dir, 'environments'),
      createDockerClient(ENGINE_HOST),
      0,
      pino({ level: 'silent' }),
    ).evict('' as never);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Debian .buildinfo rebuilds by three operators', () => {
  let rebuiltBuildinfo: string;
  let reproducedHello: { path: string; sha256: string } | undefined;
  let firstPreparationMs: number;

  it(
    "hello at today's version against the published .deb: mismatch-upstream, naming exactly the members that differ",
    async () => {
      const buildinfo = await writeBuildinfo(dir, {
        source: 'hello',
        version: hello.version,
        binaries: ['hello'],
        architectures: ['amd64'],
        debs: [publishedHello],
        installed,
      });
      const buildId = await net.submitPrepared(
        await prepareDebianSubmission({ buildinfoPath: buildinfo.path }),
        maintainer,
      );
      const status = await net.waitForVerdict(buildId, VERDICT_TIMEOUT_MS, 2000);
      expect(status.verdict, JSON.stringify(status.decision)).toBe('mismatch-upstream');
      expect(status.decision.countedOperators).toEqual(['alpha', 'beta', 'gamma']);

      const statements = await statementsOf(status);
      expect(statements).toHaveLength(3);
      // One environment identity for all three, with the documented extras named.
      expect(new Set(statements.map((s) => s.environmentSha256)).size).toBe(1);
      for (const s of statements) {
        expect(s.debian.extraPackages.map((p) => p.split(':')[0])).toEqual(['fakeroot', 'libfakeroot']);
        expect(s.debian.packageCount).toBe(installed.length + 2);
        // Each worker fetched the source from its own signed archive, and signs that it did.
        expect(s.debian.source).toMatchObject({
          name: 'hello',
          version: hello.sourceVersion,
          origin: 'archive',
        });
      }
      firstPreparationMs = Math.max(...statements.map((s) => s.debian.preparationMs));

      // Each worker opened its .deb and the published one: exactly md5sums and usr/bin/hello differ.
      for (const s of statements) {
        const digest = s.byproducts.find((b) => b.name === 'rbnet/deb-inspection.json')?.digest.sha256;
        expect(digest).toBeDefined();
        const inspection = JSON.parse(await blobText(digest!));
        const pair = inspection.report.comparisons[0];
        const differing = pair.comparison.members.map(
          (m: { area: string; path: string }) => `${m.area}:${m.path}`,
        );
        expect(differing.sort()).toEqual(['control:md5sums', 'data:usr/bin/hello']);
        expect(s.byproducts.some((b) => b.name === 'rbnet/diffoscope-1.html')).toBe(true);
      }

      const divergence = await net.api('GET', `/v1/builds/${buildId}/divergence?format=text`);
      expect(divergence.status).toBe(200);
      expect(divergence.text).toContain('usr/bin/hello');

      const own = statements[0]!.byproducts.find((b) => b.name.endsWith('_amd64.buildinfo'));
      expect(own?.name).toBe(`byproducts/hello_${hello.fileVersion}_amd64.buildinfo`);
      rebuiltBuildinfo = await blobText(own!.digest.sha256);
    },
    VERDICT_TIMEOUT_MS + 60_000,
  );

  it(
    'the .buildinfo rbnet wrote, submitted again: reproducible, on the cached environment',
    async () => {
      expect(rebuiltBuildinfo).toContain('Installed-Build-Depends:');
      const path = join(dir, 'rebuilt', `hello_${hello.fileVersion}_amd64.buildinfo`);
      await mkdirFor(path);
      await writeFile(path, rebuiltBuildinfo);
      const buildId = await net.submitPrepared(
        await prepareDebianSubmission({ buildinfoPath: path }),
        maintainer,
      );
      const status = await net.waitForVerdict(buildId, VERDICT_TIMEOUT_MS, 2000);
      expect(status.verdict, JSON.stringify(status.decision)).toBe('reproducible');
      expect(status.decision.countedOperators).toEqual(['alpha', 'beta', 'gamma']);
      const statements = await statementsOf(status);
      for (const s of statements) expect(s.debian.environmentCached).toBe(true);
      const secondPreparationMs = Math.max(...statements.map((s) => s.debian.preparationMs));
      // Preparation is reported; reusing the environment is a small fraction of making it.
      expect(secondPreparationMs).toBeLessThan(firstPreparationMs / 4);
      reproducedHello = status.results[0].outputs.find(
        (o: { path: string }) => o.path === `hello_${hello.fileVersion}_amd64.deb`,
      );
      expect(reproducedHello).toBeDefined();
    },
    VERDICT_TIMEOUT_MS + 60_000,
  );

  it('rbnet verify, pinned to the archive’s current hello, accepts the reproduced .deb and says its source came from the signed archive', async () => {
    expect(reproducedHello).toBeDefined();
    const path = join(dir, 'verify', `hello_${hello.fileVersion}_amd64.deb`);
    await mkdirFor(path);
    const response = await fetch(`${net.coordinator.url}/v1/cas/sha256/${reproducedHello!.sha256}`);
    await writeFile(path, Buffer.from(await response.arrayBuffer()));
    const policyPath = join(dir, 'verify', 'policy.json');
    const created = await runCli([
      'policy',
      'create',
      '--threshold',
      '3',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--out',
      policyPath,
      ...['alpha', 'beta', 'gamma'].flatMap((name) => [
        '--operator',
        `${name}=${join(net.workerDirs.get(workerIds.get(name)!)!, 'worker-signing.key.pub')}`,
      ]),
    ]);
    expect(created.code, created.stderr).toBe(0);
    const run = await runCli([
      'verify',
      path,
      '--policy',
      policyPath,
      '--coordinator',
      net.coordinator.url,
      '--debian-source',
      `hello=${hello.sourceVersion}`,
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `Debian source hello ${hello.sourceVersion}: fetched from the signed archive by each counted operator`,
    );
  });

  it("Debian's own apt (apt-transport-in-toto) installs the .deb the three operators reproduced, and refuses the published one", async () => {
    expect(reproducedHello).toBeDefined();
    const path = join(dir, 'apt', `hello_${hello.fileVersion}_amd64.deb`);
    await mkdirFor(path);
    const response = await fetch(`${net.coordinator.url}/v1/cas/sha256/${reproducedHello!.sha256}`);
    expect(response.status).toBe(200);
    await writeFile(path, Buffer.from(await response.arrayBuffer()));
    const deb = (debPath: string, sha256: string) => ({
      name: 'hello',
      version: hello.version,
      architecture: 'amd64',
      payload: '',
      path: debPath,
      aptFileName: `hello_${hello.version.replace(/^(\d+):/, '$1%3a')}_amd64.deb`,
      sha256,
    });
    const world = await createAptIntotoWorld({
      extraArchives: {
        rebuilt: [deb(path, reproducedHello!.sha256)],
        published: [deb(publishedHello.path, publishedHello.sha256)],
      },
    });
    try {
      const operators = ['alpha', 'beta', 'gamma'].map((name) => ({
        name,
        publicKeyPath: join(net.workerDirs.get(runScopedId(`${name}-deb`))!, 'worker-signing.key.pub'),
      }));
      const rebuilderUrls = operators.map((o) => `${net.coordinator.url}/apt/amd64/${o.name}/`);
      // hello needs libc6, which the test archive does not carry: the isolated dpkg has it.
      const runtimeDependencies = installed.filter((p) => p.name === 'libc6');
      const accepted = await createScenario(world, {
        name: 'rbnet-rebuilt',
        archive: 'rebuilt',
        threshold: 3,
        operators,
        rebuilderUrls,
        installed: runtimeDependencies,
      });
      const run = await accepted.install(['hello']);
      expect(run.exitCode, run.output).toBe(0);
      expect(await accepted.downloaded()).toEqual([
        `hello_${hello.version.replace(/^(\d+):/, '$1%3a')}_amd64.deb`,
      ]);

      // The official .deb is not what the operators reproduced: refused, and nothing is kept.
      const refused = await createScenario(world, {
        name: 'rbnet-published',
        archive: 'published',
        threshold: 3,
        operators,
        rebuilderUrls,
        installed: runtimeDependencies,
      });
      const denied = await refused.install(['hello']);
      expect(denied.exitCode).not.toBe(0);
      expect(await refused.downloaded()).toEqual([]);
    } finally {
      await world.close();
    }
  }, 300_000);

  it('a recorded version the archive lacks: environment-unavailable naming it, nothing built', async () => {
    // A libc6 version no archive holds, derived from today's.
    const libc6 = installed.find((p) => p.name === 'libc6')!;
    const absent = absentVersionOf(libc6.version);
    const broken = installed.map((p) => (p === libc6 ? { ...p, version: absent } : p));
    const buildinfo = await writeBuildinfo(join(dir), {
      source: 'hello',
      version: hello.version,
      binaries: ['hello'],
      architectures: ['amd64'],
      debs: [publishedHello],
      installed: broken,
      buildPath: '/build/reproducible-path/hello-unavailable',
    });
    const buildId = await net.submitPrepared(
      await prepareDebianSubmission({ buildinfoPath: buildinfo.path }),
      maintainer,
    );
    const status = await net.waitForVerdict(buildId, 300_000, 1000);
    expect(status.verdict).toBe('environment-unavailable');
    for (const result of status.results) {
      expect(result.kind).toBe('failed');
      expect(result.failureReason).toBe('environment-unavailable');
      // The "log" of a refused record is the refusal: it names the missing version.
      expect(await blobText(result.logSha256)).toContain(`libc6 (= ${absent})`);
    }
  });

  it('a source version the archive lacks: source-unavailable naming it, nothing built', async () => {
    // A source version the Sources index lacks, derived from today's.
    const absent = absentVersionOf(hello.version);
    const oldHello = { ...publishedHello, name: `hello_${absent.replace(/^\d+:/, '')}_amd64.deb` };
    const buildinfo = await writeBuildinfo(join(dir), {
      source: 'hello',
      version: absent,
      binaries: ['hello'],
      architectures: ['amd64'],
      debs: [oldHello],
      installed,
    });
    const buildId = await net.submitPrepared(
      await prepareDebianSubmission({ buildinfoPath: buildinfo.path }),
      maintainer,
    );
    const status = await net.waitForVerdict(buildId, 300_000, 1000);
    expect(status.verdict).toBe('source-unavailable');
    for (const result of status.results) {
      expect(result.failureReason).toBe('source-unavailable');
      expect(await blobText(result.logSha256)).toContain('hello');
    }
  });
});

describe('a hostile .deb', () => {
  it(
    'a build that makes a path-traversal member and a decompression bomb: the report says so, the coordinator stays up',
    async () => {
      const hostileDir = join(dir, 'hostile');
      await mkdirFor(join(hostileDir, 'x'));
      const dscPath = await writeHostileSourcePackage(hostileDir);
      const buildinfo = await writeBuildinfo(hostileDir, {
        source: 'rbnet-hostile',
        version: '1.0',
        binaries: ['rbnet-hostile'],
        architectures: ['amd64'],
        // A claim nobody can match: the published bytes are unknown, so the verdict cannot be reproducible.
        debs: [{ ...publishedHello, name: 'rbnet-hostile_1.0_amd64.deb' }],
        installed,
        buildPath: '/build/reproducible-path/rbnet-hostile-1.0',
      });
      const buildId = await net.submitPrepared(
        await prepareDebianSubmission({ buildinfoPath: buildinfo.path, dscPath }),
        maintainer,
      );
      const status = await net.waitForVerdict(buildId, VERDICT_TIMEOUT_MS, 2000);
      expect(status.verdict, JSON.stringify(status.decision)).toBe('mismatch-upstream');
      for (const s of await statementsOf(status)) {
        // The maintainer supplied this source: every worker signs that it was uploaded.
        expect(s.debian.source).toMatchObject({ name: 'rbnet-hostile', version: '1.0', origin: 'uploaded' });
        const digest = s.byproducts.find((b) => b.name === 'rbnet/deb-inspection.json')!.digest.sha256;
        const hazards = JSON.parse(await blobText(digest)).report.debs.flatMap(
          (deb: { listing?: { hazards?: { kind: string; path?: string }[] } }) => deb.listing?.hazards ?? [],
        );
        const kinds = hazards.map((h: { kind: string }) => h.kind);
        expect(kinds).toContain('path-traversal');
        expect(kinds).toContain('decompression-bomb');
      }
      const divergence = await net.api('GET', `/v1/builds/${buildId}/divergence?format=text`);
      expect(divergence.status).toBe(200);
      expect(divergence.text).toContain('path-traversal');
      expect(divergence.text).toContain('../../etc/evil');
      expect((await net.api('GET', '/healthz')).json).toEqual({ ok: true });
    },
    VERDICT_TIMEOUT_MS + 60_000,
  );
});

async function mkdirFor(path: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(path, '..'), { recursive: true });
}
