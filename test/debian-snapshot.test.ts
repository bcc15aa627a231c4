// A record whose dependencies left the mirror rebuilds from a snapshot archive, end to end on the real
// engine with real mmdebstrap and dpkg-buildpackage: a tiny environment of real bookworm .debs
// (resolved and verified against Debian's archive today), re-served by a mirror and a snapshot archive
// the test builds and signs itself. `make` has left the test's mirror; the snapshot still holds it.

import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDebianSubmission } from '../cli/debian-submission.ts';
import { fixtureFile } from '../services/debian/buildinfo-fixture.ts';
import { createThrowawayKey, type ThrowawayKey } from '../services/debian/gpg-key-fixture.ts';
import type { Sha256Hex } from '../services/digest.ts';
import { ArchiveError } from '../services/errors.ts';
import { parseDebianManifest } from '../services/manifest/parse-debian-manifest.ts';
import { createDebianBackend } from '../worker/debian/create-debian-backend.ts';
import { DebianEnvironmentCache } from '../worker/debian/debian-environment-cache.ts';
import {
  DEBIAN_BASE_EXTRAS,
  type DebianRebuildResult,
  rebuildDebian,
} from '../worker/debian/rebuild-debian.ts';
import {
  DebianSnapshotServer,
  type FixtureDeb,
  fakeDeb,
  fixtureIdentitySha256,
  poolPath,
} from '../worker/debian/snapshot-server-fixture.ts';
import { LocalInputSource } from '../worker/inputs/input-source.ts';
import type { RebuildContext } from '../worker/rebuild-manifest.ts';
import { defaultWorkerDebianConfig } from '../worker/worker-config.ts';
import { buildNativeSourcePackage, writeBuildinfo } from './support/debian-fixture.ts';
import { createRunnerHarness, type RunnerHarness } from './support/runner-harness.ts';
import { tinyDebianEnvironment } from './support/tiny-debian-environment.ts';

const T1 = '20250101T000000Z';
const T2 = '20250201T000000Z';
const T3 = '20250301T000000Z';
const LEFT_THE_MIRROR = 'make';
const LIMITS = {
  memoryBytes: 1024 ** 3,
  diskBytes: 2 * 1024 ** 3,
  maxBuildTimeSeconds: 600,
  maxOutputBytes: 64 * 1024 ** 2,
  maxLogBytes: 8 * 1024 ** 2,
  pidsLimit: 512,
};

let key: ThrowawayKey;
let server: DebianSnapshotServer;
let harness: RunnerHarness;
let context: RebuildContext;
let dir: string;
/** The environment: real bookworm .debs plus a stand-in build-essential the test makes. */
let environment: FixtureDeb[];
let leftTheMirror: FixtureDeb;
let submission: { manifestText: string; cas: string; dir: string };
const caches: string[] = [];
/** The environment identity the first rebuild attested. */
let firstIdentity: string | undefined;

/** A native source package whose debian/rules is a makefile: the build cannot run without make. */
async function writeSourcePackage(): Promise<string> {
  await mkdir(join(dir, 'src'), { recursive: true });
  return buildNativeSourcePackage(join(dir, 'src'), 'rbnet-snaptest', '1.0', {
    'debian/source/format': '3.0 (native)\n',
    'debian/changelog':
      'rbnet-snaptest (1.0) unstable; urgency=medium\n\n  * Rebuilt in an environment from a snapshot.\n\n -- rbnet tests <tests@rbnet.invalid>  Sun, 02 Oct 2022 12:20:35 +0000\n',
    'debian/control':
      'Source: rbnet-snaptest\nSection: misc\nPriority: optional\nMaintainer: rbnet tests <tests@rbnet.invalid>\nRules-Requires-Root: no\n\n' +
      'Package: rbnet-snaptest\nArchitecture: all\nDescription: rebuilt from a snapshot\n a test package\n',
    'debian/rules': [
      '#!/usr/bin/make -f',
      'clean build build-arch build-indep binary-arch:',
      '\t@:',
      'binary binary-indep:',
      '\tmkdir -p debian/tmp/DEBIAN debian/tmp/usr/share/doc/rbnet-snaptest',
      "\tprintf 'rebuilt from a snapshot\\n' > debian/tmp/usr/share/doc/rbnet-snaptest/README",
      '\tdpkg-gencontrol -prbnet-snaptest -Pdebian/tmp',
      '\tdpkg-deb --root-owner-group --build debian/tmp ..',
      '',
    ].join('\n'),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-debian-snapshot-'));
  key = await createThrowawayKey({ validity: '2d' });
  server = await DebianSnapshotServer.start(key);
  harness = await createRunnerHarness('debsnap');
  context = harness.context(LIMITS);

  // What a fresh build of a tiny package installs today, verified against Debian's signed archive.
  environment = await tinyDebianEnvironment(join(dir, 'debs'), ['dpkg-dev', 'fakeroot', LEFT_THE_MIRROR]);
  leftTheMirror = environment.find((d) => d.name === LEFT_THE_MIRROR)!;
  const others = environment.filter((d) => d !== leftTheMirror);

  // Three snapshots: make is not there yet at T1, arrives at T2, and has been replaced by T3; the
  // mirror looks like T3 (a newer make whose bytes nobody fetches).
  const newer = fakeDeb(LEFT_THE_MIRROR, `${leftTheMirror.version}+rbnet-newer`);
  server.addSnapshot('debian', T1, [{ suite: 'bookworm', debs: others }]);
  server.addSnapshot('debian', T2, [{ suite: 'bookworm', debs: environment }]);
  server.addSnapshot('debian', T3, [{ suite: 'bookworm', debs: [...others, newer] }]);
  server.setMirror([{ suite: 'bookworm', debs: [...others, newer] }]);

  // The record: built in exactly that environment, make included.
  const dscPath = await writeSourcePackage();
  const buildinfo = await writeBuildinfo(dir, {
    source: 'rbnet-snaptest',
    version: '1.0',
    binaries: ['rbnet-snaptest'],
    architectures: ['all'],
    debs: [fixtureFile('rbnet-snaptest_1.0_all.deb', 'the published bytes are unknown to this test')],
    installed: environment.map((d) => ({ name: d.name, architecture: d.architecture, version: d.version })),
    buildPath: '/build/reproducible-path/rbnet-snaptest-1.0',
  });
  const prepared = await prepareDebianSubmission({ buildinfoPath: buildinfo.path, dscPath });
  const cas = join(dir, 'cas');
  await mkdir(join(cas, 'sha256'), { recursive: true });
  for (const upload of prepared.uploads) await copyFile(upload.path, join(cas, 'sha256', upload.sha256));
  submission = { manifestText: prepared.manifestText, cas, dir };
}, 600_000);

afterAll(async () => {
  await server?.close();
  await key?.dispose();
  const docker = harness?.docker;
  if (docker) {
    for (const cacheDir of caches)
      await new DebianEnvironmentCache(cacheDir, docker, 0, pino({ level: 'silent' })).evict('' as Sha256Hex);
  }
  await harness?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A worker of this test: its own state, evidence store and environment cache under `name`. */
function backendFor(name: string, options: { snapshot: boolean; evidence?: string; cache?: string }) {
  const cacheDir = options.cache ?? join(dir, name, 'environments');
  caches.push(cacheDir);
  return createDebianBackend({
    config: {
      ...defaultWorkerDebianConfig,
      mirrorUrl: server.mirrorUrl,
      suites: ['bookworm'],
      securityMirrorUrl: '',
      keyringPath: key.keyringPath,
      architecture: 'amd64',
      snapshotUrl: options.snapshot ? server.url : '',
      evidenceDir: options.evidence ?? join(dir, name, 'evidence'),
      cacheDir,
      inspectionImageSha256: '',
    },
    stateDir: join(dir, name, 'state'),
    docker: harness.docker,
    sandbox: context.sandbox,
    workerId: harness.workerId,
    logger: context.logger,
  });
}

async function rebuild(
  backend: ReturnType<typeof backendFor>,
  outName: string,
): Promise<DebianRebuildResult> {
  return rebuildDebian(context, backend, {
    parsed: parseDebianManifest(submission.manifestText),
    inputs: new LocalInputSource(submission.dir, submission.cas),
    outDir: join(dir, outName),
  });
}

interface PackageSourceFacts {
  from: string;
  archive: string;
  suite: string;
  snapshotTimestamp?: string;
  packages: string[];
}

async function statementOf(result: DebianRebuildResult) {
  if (result.kind !== 'built')
    throw new Error(`expected a build, got ${JSON.stringify(result).slice(0, 2000)}`);
  const envelope = JSON.parse(await readFile(result.attestationPath, 'utf8')) as { payload: string };
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  return {
    identity: statement.predicate.buildDefinition.resolvedDependencies[0].digest.sha256 as string,
    debian: statement.predicate.buildDefinition.internalParameters.debian as {
      packageCount: number;
      packageSources: PackageSourceFacts[];
    },
  };
}

const label = (d: FixtureDeb) => `${d.name}:${d.architecture}=${d.version}`;

describe('a record whose dependencies left the mirror', () => {
  it('rebuilds from the snapshot that holds them, and the attestation says which package came from where', async () => {
    const result = await rebuild(backendFor('alpha', { snapshot: true }), 'out-alpha');
    expect(result.kind, JSON.stringify(result).slice(0, 3000)).toBe('built');
    if (result.kind !== 'built') return;
    expect(result.outputs.map((o) => o.path)).toEqual(['rbnet-snaptest_1.0_all.deb']);
    const { identity, debian } = await statementOf(result);
    // The identity is the package list alone, exactly as before snapshots existed.
    expect(identity).toBe(fixtureIdentitySha256(environment));
    expect(debian.packageCount).toBe(environment.length);
    firstIdentity = identity;
    expect(debian.packageSources.map((g) => [g.from, g.archive, g.suite, g.snapshotTimestamp])).toEqual([
      ['mirror', server.mirrorUrl, 'bookworm', undefined],
      ['snapshot', `${server.url}/archive/debian/${T2}`, 'bookworm', T2],
    ]);
    expect(debian.packageSources[1]?.packages).toEqual([label(leftTheMirror)]);
    expect(debian.packageSources[0]?.packages).toHaveLength(environment.length - 1);
    expect(server.requests).toContain(`/archive/debian/${T2}/${poolPath(leftTheMirror)}`);
    expect(DEBIAN_BASE_EXTRAS.every((name) => environment.some((d) => d.name === name))).toBe(true);
  }, 900_000);

  it('later, with no snapshot configured, rebuilds the same identity from the evidence the worker kept', async () => {
    const result = await rebuild(
      backendFor('alpha-later', {
        snapshot: false,
        evidence: join(dir, 'alpha', 'evidence'),
        cache: join(dir, 'alpha', 'environments'),
      }),
      'out-alpha-later',
    );
    const { identity, debian } = await statementOf(result);
    expect(firstIdentity).toBeDefined();
    expect(identity).toBe(firstIdentity);
    const evidence = debian.packageSources.filter((g) => g.from === 'evidence');
    expect(evidence.map((g) => [g.archive, g.snapshotTimestamp, g.packages])).toEqual([
      [`${server.url}/archive/debian/${T2}`, T2, [label(leftTheMirror)]],
    ]);
  }, 900_000);

  it('with neither snapshot nor evidence: environment-unavailable naming the version, nothing built', async () => {
    const result = await rebuild(backendFor('beta', { snapshot: false }), 'out-beta');
    expect(result.kind).toBe('unavailable');
    if (result.kind !== 'unavailable') return;
    expect(result.reason).toBe('environment-unavailable');
    expect(result.detail).toContain(`${LEFT_THE_MIRROR} (= ${leftTheMirror.version})`);
    expect(result.detail).toContain(
      'the mirror does not list it; no kept evidence; no snapshot archive is configured',
    );
  });

  it('from a snapshot whose .deb differs from its signed index: refused (ARCHIVE_DIGEST), nothing built', async () => {
    const path = `/archive/debian/${T2}/${poolPath(leftTheMirror)}`;
    const tampered = Buffer.from(leftTheMirror.bytes);
    tampered[tampered.length - 1] = (tampered.at(-1)! + 1) % 256;
    server.intercept.push((requested, _req, res) => {
      if (requested !== path) return false;
      res.writeHead(200, { 'content-length': tampered.length }).end(tampered);
      return true;
    });
    try {
      const outDir = join(dir, 'out-gamma');
      const error = await rebuild(backendFor('gamma', { snapshot: true }), 'out-gamma').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ArchiveError);
      expect((error as ArchiveError).code).toBe('ARCHIVE_DIGEST');
      expect((error as Error).message).toContain(poolPath(leftTheMirror).split('/').at(-1));
      // Nothing was built: no result, no attestation, no environment recorded for this worker.
      await expect(readFile(join(outDir, 'result.json'))).rejects.toThrow();
      expect(
        await new DebianEnvironmentCache(
          join(dir, 'gamma', 'environments'),
          harness.docker,
          0,
          context.logger,
        ).list(),
      ).toEqual([]);
    } finally {
      server.intercept.length = 0;
    }
  });
});
