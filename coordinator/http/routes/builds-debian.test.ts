// POST /v1/builds with rbnet.debian/v1 manifests through the real app (app.request), SQLite and content
// store: a correct submission is accepted, and every way a manifest can disagree with its .buildinfo
// or .dsc is refused with 422 naming the field, storing no build and queueing no job.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDebianSubmission } from '../../../cli/debian-submission.ts';
import {
  type BuildinfoParts,
  fixtureFile,
  helloBuildinfoParts,
  renderBuildinfoFixture,
} from '../../../services/debian/buildinfo-fixture.ts';
import { sha256Hex } from '../../../services/digest.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../../test/support/coordinator-deps-fixture.ts';
import { writeHostileSourcePackage } from '../../../test/support/debian-fixture.ts';
import { enrolmentRequestFor, newTestWorkerKeys } from '../../../test/support/test-worker-keys.ts';
import { createCoordinatorApp } from '../create-app.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const ORIGIN = 'http://127.0.0.1:8470';

const DEB = fixtureFile('rbnet-hostile_1.0_amd64.deb', 'rbnet-hostile deb\n');
const TOOLS_DEB = fixtureFile('rbnet-hostile-tools_1.0_amd64.deb', 'rbnet-hostile-tools deb\n');
const DBGSYM_DEB = fixtureFile('rbnet-hostile-dbgsym_1.0_amd64.deb', 'rbnet-hostile-dbgsym deb\n');
const DSC = 'rbnet-hostile_1.0.dsc';
const TARBALL = 'rbnet-hostile_1.0.tar.xz';

/** A .buildinfo for the hostile source package: two claimable .debs and a dbgsym one. */
function hostileParts(changes: Partial<BuildinfoParts> = {}): BuildinfoParts {
  return {
    ...helloBuildinfoParts(),
    source: 'rbnet-hostile',
    binaries: ['rbnet-hostile', 'rbnet-hostile-tools', 'rbnet-hostile-dbgsym'],
    version: '1.0',
    files: [DBGSYM_DEB, DEB, TOOLS_DEB],
    buildPath: '/build/reproducible-path/rbnet-hostile-1.0',
    ...changes,
  };
}

interface Answer {
  status: number;
  json: { error?: { code: string; message: string }; [key: string]: unknown };
}

/** One coordinator with three operators whose workers build amd64 on `backends`. */
class Coordinator {
  app!: ReturnType<typeof createCoordinatorApp>;
  fixture!: TestCoordinatorDeps;
  #adminToken = '';
  #maintainerToken = '';

  static async start(root: string, backends: readonly string[]): Promise<Coordinator> {
    const coordinator = new Coordinator();
    coordinator.fixture = await createTestCoordinatorDeps(root);
    coordinator.app = createCoordinatorApp(coordinator.fixture.deps);
    coordinator.#adminToken = (
      await coordinator.fixture.store.registry.createToken({
        kind: 'admin',
        subject: 'admin',
        scopes: ['admin'],
        singleUse: false,
      })
    ).secret;
    const maintainer = await coordinator.admin('/v1/admin/maintainers', { name: 'maint' });
    expect(maintainer.status).toBe(201);
    coordinator.#maintainerToken = maintainer.json.token as string;
    for (const operator of ['alpha', 'beta', 'gamma']) {
      expect((await coordinator.admin('/v1/admin/operators', { name: operator })).status).toBe(201);
      await coordinator.enrol(operator, `${operator}-1`, backends);
    }
    return coordinator;
  }

  async request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) {
    const response = await this.app.request(
      path,
      {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body !== undefined ? { body: body as unknown as BodyInit } : {}),
      },
      LOOPBACK_ENV,
    );
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined } as Answer;
  }

  admin(path: string, body: Record<string, unknown>): Promise<Answer> {
    return this.request('POST', path, JSON.stringify(body), { authorization: `Bearer ${this.#adminToken}` });
  }

  async enrol(operator: string, workerId: string, backends: readonly string[]): Promise<void> {
    const token = await this.admin('/v1/admin/enrolment-tokens', { operator });
    const { body, headers } = await enrolmentRequestFor(newTestWorkerKeys(workerId), {
      origin: ORIGIN,
      token: token.json.token as string,
      backends,
      capacity: { cores: 4, memoryBytes: 2 ** 34, diskBytes: 2 ** 36 },
    });
    const enrolled = await this.request('POST', '/v1/workers/enrol', body, headers);
    expect(enrolled.status).toBe(201);
  }

  /** PUTs `bytes` into the content store as the maintainer. @returns their sha256. */
  async upload(bytes: string | Buffer): Promise<string> {
    const buffer = Buffer.from(bytes);
    const digest = sha256Hex(buffer);
    const answer = await this.request('PUT', `/v1/cas/sha256/${digest}`, buffer, {
      authorization: `Bearer ${this.#maintainerToken}`,
      'content-type': 'application/octet-stream',
    });
    expect([200, 201]).toContain(answer.status);
    return digest;
  }

  submit(manifest: string): Promise<Answer> {
    return this.request('POST', '/v1/builds', manifest, { authorization: `Bearer ${this.#maintainerToken}` });
  }

  /**
   * Submits `manifest` and checks the refusal: `status`, `code`, a message holding every `names`
   * entry; no build stored, no job queued, and the app still answering.
   */
  async expectRefused(
    manifest: string,
    expected: { code: string; names: readonly (string | RegExp)[]; status?: number },
  ): Promise<string> {
    const builds = await this.fixture.store.builds.listBuilds({ limit: 1000 });
    const jobs = this.fixture.enqueued.length;
    const answer = await this.submit(manifest);
    expect(answer.status, JSON.stringify(answer.json)).toBe(expected.status ?? 422);
    expect(answer.json.error?.code).toBe(expected.code);
    const message = answer.json.error?.message ?? '';
    for (const name of expected.names) {
      if (typeof name === 'string') expect(message).toContain(name);
      else expect(message).toMatch(name);
    }
    expect(await this.fixture.store.builds.listBuilds({ limit: 1000 })).toEqual(builds);
    expect(this.fixture.enqueued).toHaveLength(jobs);
    const health = await this.request('GET', '/healthz');
    expect(health).toEqual({ status: 200, json: { ok: true } });
    return message;
  }
}

type ManifestDocument = Record<string, unknown> & {
  claimedOutputs: { path: string; sha256: string }[];
  source: { from: string; dsc?: string; files?: { name: string; sha256: string }[] };
};

/** `manifest` with `change` applied to a copy of its document. */
function edited(manifest: string, change: (document: ManifestDocument) => void): string {
  const document = JSON.parse(manifest) as ManifestDocument;
  change(document);
  return JSON.stringify(document);
}

let root: string;
let files: string;
let debian: Coordinator;
/** A correct manifest for the hostile package with its source files supplied (source.from files). */
let hostileManifest: string;
/** A correct manifest for hello 2.10-3 fetched from the archive (source.from archive). */
let helloManifest: string;
let uploadedHostile: { label: string; path: string; sha256: string }[];
let uploadedHello: { label: string; path: string; sha256: string }[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-debian-intake-'));
  files = join(root, 'files');
  await mkdir(files);
  const dscPath = await writeHostileSourcePackage(files);
  const hostileBuildinfo = join(files, 'rbnet-hostile_1.0_amd64.buildinfo');
  await writeFile(hostileBuildinfo, renderBuildinfoFixture(hostileParts()));
  const helloBuildinfo = join(files, 'hello_2.10-3_amd64.buildinfo');
  await writeFile(helloBuildinfo, renderBuildinfoFixture(helloBuildinfoParts()));
  const hostile = await prepareDebianSubmission({ buildinfoPath: hostileBuildinfo, dscPath });
  const hello = await prepareDebianSubmission({ buildinfoPath: helloBuildinfo });
  hostileManifest = hostile.manifestText;
  helloManifest = hello.manifestText;
  uploadedHostile = [...hostile.uploads];
  uploadedHello = [...hello.uploads];

  await mkdir(join(root, 'debian'));
  debian = await Coordinator.start(join(root, 'debian'), ['debian']);
  for (const file of [...uploadedHostile, ...uploadedHello]) await debian.upload(await readFile(file.path));
});

afterAll(async () => {
  await debian?.fixture.store.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('POST /v1/builds with an rbnet.debian/v1 manifest', () => {
  describe('a correct submission is accepted (the control case)', () => {
    it('with the source files supplied: the build claims the non-dbgsym .debs and is queued on two operators', async () => {
      const jobs = debian.fixture.enqueued.length;
      const answer = await debian.submit(hostileManifest);
      expect(answer.status, JSON.stringify(answer.json)).toBe(201);
      const buildId = answer.json.buildId as string;
      const build = await debian.fixture.store.builds.getBuild(buildId);
      expect(build).toMatchObject({
        name: 'rbnet-hostile',
        architecture: 'amd64',
        backend: 'debian',
        // Sorted bytewise by file name: '-' sorts before '_'.
        claimedOutputs: [
          { path: TOOLS_DEB.name, sha256: TOOLS_DEB.sha256 },
          { path: DEB.name, sha256: DEB.sha256 },
        ],
      });
      const queued = debian.fixture.enqueued.slice(jobs);
      expect(queued).toHaveLength(2);
      expect(queued.every((entry) => entry.job.buildId === buildId)).toBe(true);
      expect(new Set(queued.map((entry) => entry.workerId)).size).toBe(2);
    });

    it('with the source from the archive', async () => {
      const answer = await debian.submit(helloManifest);
      expect(answer.status, JSON.stringify(answer.json)).toBe(201);
      expect(await debian.fixture.store.builds.getBuild(answer.json.buildId as string)).toMatchObject({
        name: 'hello',
        claimedOutputs: [{ path: 'hello_2.10-3_amd64.deb' }],
      });
      // The package index reads the source version from the stored Debian manifest.
      const [builds] = await debian.fixture.store.feed.findPackageBuilds(
        [{ source: 'hello', version: '2.10-3' }],
        10,
      );
      expect(builds?.map((b) => [b.buildId, b.architecture, b.verdict])).toContainEqual([
        answer.json.buildId,
        'amd64',
        'pending',
      ]);
    });
  });

  it('a .buildinfo that was never uploaded is refused with INPUTS_MISSING naming its digest', async () => {
    const path = join(files, 'hello-unsent.buildinfo');
    await writeFile(
      path,
      renderBuildinfoFixture({ ...helloBuildinfoParts(), buildDate: 'Mon, 03 Oct 2022 12:20:35 +0000' }),
    );
    const { manifestText, uploads } = await prepareDebianSubmission({ buildinfoPath: path });
    await debian.expectRefused(manifestText, {
      code: 'INPUTS_MISSING',
      names: [`sha256:${uploads[0]!.sha256}`],
    });
  });

  describe('a manifest that says something other than its .buildinfo', () => {
    it.each([
      ['name', 'hello'],
      ['version', '1.1'],
      ['version', '1:1.0'],
      ['architecture', 'arm64'],
    ])('%s %j is refused naming the field', async (field, value) => {
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document[field] = value;
        }),
        { code: 'MANIFEST_INVALID', names: [new RegExp(`^${field}: `), JSON.stringify(value)] },
      );
    });

    it('buildinfoSha256 naming another uploaded .buildinfo is refused', async () => {
      const helloSha = JSON.parse(helloManifest).buildinfoSha256 as string;
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document.buildinfoSha256 = helloSha;
        }),
        { code: 'MANIFEST_INVALID', names: [/^name: /, '"rbnet-hostile"', '"hello"'] },
      );
    });

    it.each([
      ['missing a .deb', (claims: ManifestDocument['claimedOutputs']) => claims.splice(1, 1)],
      ['with no claims at all', (claims: ManifestDocument['claimedOutputs']) => claims.splice(0)],
      [
        'with a wrong digest',
        (claims: ManifestDocument['claimedOutputs']) => {
          claims[0]!.sha256 = sha256Hex('something else');
        },
      ],
      [
        'including the dbgsym .deb',
        (claims: ManifestDocument['claimedOutputs']) => {
          claims.push({ path: DBGSYM_DEB.name, sha256: DBGSYM_DEB.sha256 });
        },
      ],
      [
        'including a .deb the .buildinfo does not list',
        (claims: ManifestDocument['claimedOutputs']) => {
          claims.push({ path: 'rbnet-hostile-extra_1.0_amd64.deb', sha256: sha256Hex('extra') });
        },
      ],
    ])('claimedOutputs %s is refused naming claimedOutputs', async (_case, change) => {
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          change(document.claimedOutputs);
        }),
        { code: 'MANIFEST_INVALID', names: [/^claimedOutputs: /] },
      );
    });

    it('claimedOutputs in another order is the same claim, and accepted', async () => {
      const answer = await debian.submit(
        edited(hostileManifest, (document) => {
          document.claimedOutputs.reverse();
        }),
      );
      expect(answer.status, JSON.stringify(answer.json)).toBe(201);
    });
  });

  describe('an uploaded .buildinfo that does not parse', () => {
    const good = renderBuildinfoFixture(hostileParts());
    it.each([
      ['a duplicate field', `${good}Version: 1.0\n`, 'Version'],
      ['CRLF line ends', good.replace(/\n/g, '\r\n'), 'buildinfo'],
      ['binary junk (a gzip header)', Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), 'buildinfo'],
      ['a NUL byte', good.replace('Debian', 'Deb\u0000ian'), 'buildinfo'],
      [
        'a +b1 Version without Binary-Only-Changes',
        renderBuildinfoFixture(hostileParts({ version: '1.0+b1', sourceVersion: '1.0' })),
        'Binary-Only-Changes',
      ],
      ['two paragraphs', `${good}\nFormat: 1.0\n`, 'buildinfo'],
    ])('%s is refused naming the .buildinfo field', async (_case, bytes, field) => {
      const digest = await debian.upload(bytes);
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document.buildinfoSha256 = digest;
        }),
        { code: 'MANIFEST_INVALID', names: [/^buildinfoSha256 \(the \.buildinfo\): /, `: ${field}: `] },
      );
    });

    it('a .buildinfo blob over 1 MiB is refused before it is parsed', async () => {
      const good = renderBuildinfoFixture(hostileParts());
      const digest = await debian.upload(`${good}X-Padding: ${'a'.repeat(1024 * 1024)}\n`);
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document.buildinfoSha256 = digest;
        }),
        { code: 'MANIFEST_INVALID', names: [/^buildinfoSha256: /, /larger than 1048576 bytes/] },
      );
    });
  });

  describe('source.from files that are not exactly the .dsc and what it lists', () => {
    const withFile = (name: string, sha256: string): ((document: ManifestDocument) => void) => {
      return (document) => {
        for (const file of document.source.files!) if (file.name === name) file.sha256 = sha256;
      };
    };

    it('a tarball whose digest differs from what the .dsc lists is refused naming it', async () => {
      const tarball = uploadedHostile.find((file) => file.label === TARBALL)!;
      const other = await debian.upload(Buffer.concat([await readFile(tarball.path), Buffer.from('x')]));
      await debian.expectRefused(edited(hostileManifest, withFile(TARBALL, other)), {
        code: 'MANIFEST_INVALID',
        names: [/^source\.files: /, TARBALL, other, tarball.sha256],
      });
    });

    it('a file the .dsc lists that is not supplied is refused naming it', async () => {
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document.source.files = document.source.files!.filter((file) => file.name !== TARBALL);
        }),
        { code: 'MANIFEST_INVALID', names: [/^source\.files: /, TARBALL, 'missing'] },
      );
    });

    it('a file the .dsc does not list is refused naming it', async () => {
      const extra = await debian.upload('an extra patch\n');
      await debian.expectRefused(
        edited(hostileManifest, (document) => {
          document.source.files!.push({ name: 'rbnet-hostile_1.0.extra.patch', sha256: extra });
        }),
        { code: 'MANIFEST_INVALID', names: [/^source\.files: /, 'rbnet-hostile_1.0.extra.patch'] },
      );
    });

    it('a .dsc for another version of the source is refused naming source.dsc', async () => {
      const dsc = uploadedHostile.find((file) => file.label === DSC)!;
      const text = (await readFile(dsc.path, 'utf8')).replace(/^Version: 1\.0$/m, 'Version: 1.1');
      const other = await debian.upload(text);
      await debian.expectRefused(edited(hostileManifest, withFile(DSC, other)), {
        code: 'MANIFEST_INVALID',
        names: [/^source\.dsc: /, 'rbnet-hostile 1.1', 'rbnet-hostile 1.0'],
      });
    });

    it('a .dsc of another source than the .buildinfo is refused naming source.dsc', async () => {
      await debian.expectRefused(
        edited(helloManifest, (document) => {
          document.source = JSON.parse(hostileManifest).source;
        }),
        { code: 'MANIFEST_INVALID', names: [/^source\.dsc: /, 'built from hello 2.10-3'] },
      );
    });

    it('a source.dsc whose bytes are no .dsc is refused naming source.dsc', async () => {
      const tarball = uploadedHostile.find((file) => file.label === TARBALL)!;
      await debian.expectRefused(edited(hostileManifest, withFile(DSC, tarball.sha256)), {
        code: 'MANIFEST_INVALID',
        names: [/^source\.dsc: /],
      });
    });
  });

  describe('manifests refused for their shape', () => {
    it.each([
      [
        'an unknown field',
        (d: ManifestDocument) => Object.assign(d, { mirror: 'x' }),
        /^mirror: unknown field/,
      ],
      [
        'an unknown field in source',
        (d: ManifestDocument) => Object.assign(d.source, { mirror: 'x' }),
        /^source\.mirror: unknown field/,
      ],
      [
        'source.from "url"',
        (d: ManifestDocument) => {
          d.source = { from: 'url' };
        },
        /^source\.from: /,
      ],
      [
        "a claimed output with a '/'",
        (d: ManifestDocument) => {
          d.claimedOutputs[0]!.path = `pool/${DEB.name}`;
        },
        /^claimedOutputs\[0\]\.path: /,
      ],
      [
        'a source.dsc not among source.files',
        (d: ManifestDocument) => {
          d.source.dsc = 'rbnet-hostile_1.1.dsc';
        },
        /^source\.dsc: /,
      ],
      [
        'backend "generic"',
        (d: ManifestDocument) => {
          d.backend = 'generic';
        },
        /^backend: /,
      ],
    ])('%s is refused naming the field', async (_case, change, name) => {
      await debian.expectRefused(edited(hostileManifest, change), {
        code: 'MANIFEST_INVALID',
        names: [name],
      });
    });
  });
});

describe('a Debian manifest when only generic workers are enrolled', () => {
  let generic: Coordinator;
  beforeAll(async () => {
    await mkdir(join(root, 'generic'));
    generic = await Coordinator.start(join(root, 'generic'), ['generic']);
    for (const file of uploadedHostile) await generic.upload(await readFile(file.path));
  });
  afterAll(async () => {
    await generic?.fixture.store.close();
  });

  it('is refused with INSUFFICIENT_OPERATORS naming the platform nobody builds', async () => {
    await generic.expectRefused(hostileManifest, {
      code: 'INSUFFICIENT_OPERATORS',
      names: ['amd64/debian', 'amd64/generic'],
    });
  });
});
