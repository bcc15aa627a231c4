// GET /apt/:arch/:operator/sources/:name/:version/metadata through the real app (app.request), SQLite
// and content store: links really signed by each operator's enrolled key, indexed by decideBuild.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptLocalDebName } from '../../../services/apt/apt-file-name.ts';
import { signRebuildLink, verifyRebuildLink } from '../../../services/apt/in-toto-rebuild-link.ts';
import { newKey, type TestKey } from '../../../services/consensus/consensus-test-fixtures.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { AttestationError } from '../../../services/errors.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { type BuiltOutput, DebianBuildRecords } from '../../../test/support/debian-build-records.ts';
import { decideBuild } from '../../consensus/decide-build.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const NOW = new Date('2026-11-25T12:00:00.000Z');
/** The byproduct a Debian worker signs its link into (worker/debian/sign-apt-link.ts). */
const APT_LINK = 'rbnet/apt-link.json';
const LINK_FIELDS = ['_type', 'byproducts', 'command', 'environment', 'materials', 'name', 'products'];

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let records: DebianBuildRecords;

function get(path: string) {
  return app.request(path, { method: 'GET' }, LOOPBACK_ENV);
}

function metadata(operator: string, name: string, version: string, arch = 'amd64') {
  return get(`/apt/${arch}/${operator}/sources/${name}/${version}/metadata`);
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
}

/** A link signed by `key` over `products` (apt file name → sha256), as a worker uploads it. */
async function linkJson(key: TestKey, products: Readonly<Record<string, Sha256Hex>>): Promise<string> {
  return JSON.stringify(
    await signRebuildLink(
      Object.entries(products).map(([aptFileName, sha256]) => ({ aptFileName, sha256 })),
      key.signer,
    ),
  );
}

/** Records `workerId`'s built result attesting `outputs`, with `link` as its apt link byproduct. */
async function rebuilt(buildId: string, workerId: string, outputs: readonly BuiltOutput[], link: string) {
  await records.recordBuilt(buildId, workerId, { outputs, byproducts: [{ name: APT_LINK, bytes: link }] });
}

/** Each worker rebuilds `outputs` and signs its own link naming them as `products`. */
async function agreeingRebuilds(
  buildId: string,
  workerIds: readonly string[],
  outputs: readonly BuiltOutput[],
  products: Readonly<Record<string, Sha256Hex>>,
): Promise<void> {
  for (const workerId of workerIds) {
    await rebuilt(buildId, workerId, outputs, await linkJson(records.keyOf(workerId), products));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-apt-link-'));
  const fixture = await createTestCoordinatorDeps(root, { threshold: 2, now: () => NOW });
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
  records = new DebianBuildRecords(deps, NOW);
  for (const operator of ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']) {
    await records.enrol(operator, `${operator}-1`);
  }
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a reproducible build of hello 2.10-3', () => {
  const DEB = 'hello_2.10-3_amd64.deb';
  const HELLO = sha256Hex('hello 2.10-3 amd64') as Sha256Hex;

  beforeAll(async () => {
    const buildId = await records.createBuild({
      name: 'hello',
      version: '2.10-3',
      claimedOutputs: [{ path: DEB, sha256: HELLO }],
      threshold: 2,
    });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [{ path: DEB, sha256: HELLO }], { [DEB]: HELLO });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it.each(['alpha', 'beta'])("serves %s's own link, signed by its enrolled key", async (operator) => {
    const response = await metadata(operator, 'hello', '2.10-3');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    const key = records.keyOf(`${operator}-1`);
    const verified = verifyRebuildLink(text, [key.publicKey]);
    expect(verified.keyid).toBe(key.keyid);
    expect(verified.products).toEqual([{ aptFileName: DEB, sha256: HELLO }]);
    const document = JSON.parse(text) as { signed: Record<string, unknown> };
    expect(Object.keys(document.signed).sort()).toEqual(LINK_FIELDS);

    // Signed by this operator alone: the other's key does not verify it.
    const other = records.keyOf(operator === 'alpha' ? 'beta-1' : 'alpha-1');
    const refusal = (() => {
      try {
        verifyRebuildLink(text, [other.publicKey]);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(AttestationError);
    expect((refusal as AttestationError).code).toBe('SIGNATURE_INVALID');
  });

  it('answers 404 for an operator without a result, another version, or another architecture', async () => {
    await expectError(await metadata('gamma', 'hello', '2.10-3'), 404, 'NOT_FOUND');
    await expectError(await metadata('nobody', 'hello', '2.10-3'), 404, 'NOT_FOUND');
    await expectError(await metadata('alpha', 'hello', '2.10-4'), 404, 'NOT_FOUND');
    await expectError(await metadata('alpha', 'hello', '1%3a2.10-3'), 404, 'NOT_FOUND');
    await expectError(await metadata('alpha', 'hello', '2.10-3', 'arm64'), 404, 'NOT_FOUND');
    await expectError(await metadata('alpha', 'hello-dbgsym', '2.10-3'), 404, 'NOT_FOUND');
  });

  it('refuses malformed names and versions with 400 and keeps answering', async () => {
    for (const [name, version] of [
      ['Hello', '2.10-3'],
      ['hello', '2.10-3%00'],
      ['hello', '..%2F2.10-3'],
      ['..%2F..%2Fetc', '2.10-3'],
      ['..hello', '2.10-3'],
      ['hello', '2.10-3%2fmetadata'],
      ['hello', '%3a2.10-3'],
    ] as const) {
      await expectError(await metadata('alpha', name, version), 400, 'INVALID');
    }
    await expectError(await metadata('Alpha', 'hello', '2.10-3'), 400, 'INVALID');
    await expectError(await metadata('alpha', 'hello', '2.10-3', 'AMD64'), 400, 'INVALID');
    // A bare `..` segment is resolved by URL parsing before any route sees it: never a link.
    for (const path of [
      '/apt/amd64/alpha/sources/hello/../metadata',
      '/apt/amd64/alpha/sources/../2.10-3/metadata',
      '/apt/amd64/alpha/sources/hello/%2e%2e/metadata',
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await metadata('alpha', 'hello', '2.10-3')).status).toBe(200);
  });
});

describe('an epoch version, 1:2.0-1', () => {
  const FILE = 'pkg_2.0-1_amd64.deb';
  const APT_NAME = 'pkg_1%3a2.0-1_amd64.deb';
  const PKG = sha256Hex('pkg 1:2.0-1 amd64') as Sha256Hex;

  beforeAll(async () => {
    expect(aptLocalDebName('pkg', '1:2.0-1', 'amd64')).toBe(APT_NAME);
    const buildId = await records.createBuild({
      name: 'pkg',
      version: '1:2.0-1',
      claimedOutputs: [{ path: FILE, sha256: PKG }],
    });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [{ path: FILE, sha256: PKG }], {
      [APT_NAME]: PKG,
    });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it('is served with the epoch colon as %3a, %3A or a literal colon', async () => {
    const texts: string[] = [];
    for (const version of ['1%3a2.0-1', '1%3A2.0-1', '1:2.0-1']) {
      const response = await metadata('alpha', 'pkg', version);
      expect(response.status, version).toBe(200);
      texts.push(await response.text());
    }
    expect(new Set(texts).size).toBe(1);
    expect(verifyRebuildLink(texts[0]!, [records.keyOf('alpha-1').publicKey]).products).toEqual([
      { aptFileName: APT_NAME, sha256: PKG },
    ]);
    expect((await metadata('beta', 'pkg', '1%3a2.0-1')).status).toBe(200);
  });

  it('is not served without its epoch', async () => {
    await expectError(await metadata('alpha', 'pkg', '2.0-1'), 404, 'NOT_FOUND');
  });
});

describe('a source with two binary packages', () => {
  const MULTI = { path: 'multi_1.0-1_amd64.deb', sha256: sha256Hex('multi amd64') as Sha256Hex };
  const DATA = { path: 'multi-data_1.0-1_all.deb', sha256: sha256Hex('multi-data all') as Sha256Hex };

  beforeAll(async () => {
    const buildId = await records.createBuild({
      name: 'multi',
      version: '1.0-1',
      claimedOutputs: [MULTI, DATA],
    });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [MULTI, DATA], {
      [MULTI.path]: MULTI.sha256,
      [DATA.path]: DATA.sha256,
    });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it('serves the one link under each binary package name', async () => {
    const multi = await metadata('alpha', 'multi', '1.0-1');
    const data = await metadata('alpha', 'multi-data', '1.0-1');
    expect([multi.status, data.status]).toEqual([200, 200]);
    const text = await multi.text();
    expect(await data.text()).toBe(text);
    expect(verifyRebuildLink(text, [records.keyOf('alpha-1').publicKey]).products).toEqual([
      { aptFileName: DATA.path, sha256: DATA.sha256 },
      { aptFileName: MULTI.path, sha256: MULTI.sha256 },
    ]);
    expect((await metadata('beta', 'multi-data', '1.0-1')).status).toBe(200);
  });
});

describe('a link not signed by the worker’s enrolled key', () => {
  const DEB = { path: 'keyed_1.0-1_amd64.deb', sha256: sha256Hex('keyed') as Sha256Hex };
  const products = { [DEB.path]: DEB.sha256 };

  beforeAll(async () => {
    const buildId = await records.createBuild({ name: 'keyed', version: '1.0-1', claimedOutputs: [DEB] });
    // Each statement is signed by the enrolled key, so all three results count; only the links differ.
    await rebuilt(buildId, 'alpha-1', [DEB], await linkJson(newKey(), products));
    const betaLink = await linkJson(records.keyOf('beta-1'), products);
    await rebuilt(buildId, 'beta-1', [DEB], betaLink);
    // gamma's worker replays beta's link as its own.
    await rebuilt(buildId, 'gamma-1', [DEB], betaLink);
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it('is not served, while an operator whose link verifies is', async () => {
    await expectError(await metadata('alpha', 'keyed', '1.0-1'), 404, 'NOT_FOUND');
    await expectError(await metadata('gamma', 'keyed', '1.0-1'), 404, 'NOT_FOUND');
    const beta = await metadata('beta', 'keyed', '1.0-1');
    expect(beta.status).toBe(200);
    expect(verifyRebuildLink(await beta.text(), [records.keyOf('beta-1').publicKey]).keyid).toBe(
      records.keyOf('beta-1').keyid,
    );
  });
});

describe('a link whose products are not the attested .debs', () => {
  const PROD = { path: 'prod_1.0-1_amd64.deb', sha256: sha256Hex('prod') as Sha256Hex };
  const TOOLS = { path: 'prod-tools_1.0-1_amd64.deb', sha256: sha256Hex('prod-tools') as Sha256Hex };
  const OTHER = sha256Hex('some other .deb') as Sha256Hex;

  beforeAll(async () => {
    const buildId = await records.createBuild({
      name: 'prod',
      version: '1.0-1',
      claimedOutputs: [PROD, TOOLS],
    });
    const outputs = [PROD, TOOLS];
    const sign = (workerId: string, products: Record<string, Sha256Hex>) =>
      linkJson(records.keyOf(workerId), products);
    // alpha leaves one .deb out.
    await rebuilt(buildId, 'alpha-1', outputs, await sign('alpha-1', { [PROD.path]: PROD.sha256 }));
    // beta names a digest it did not attest.
    await rebuilt(
      buildId,
      'beta-1',
      outputs,
      await sign('beta-1', { [PROD.path]: PROD.sha256, [TOOLS.path]: OTHER }),
    );
    // gamma files an attested digest under another version's name.
    await rebuilt(
      buildId,
      'gamma-1',
      outputs,
      await sign('gamma-1', { [PROD.path]: PROD.sha256, 'prod-tools_1.0-2_amd64.deb': TOOLS.sha256 }),
    );
    // delta swaps the two names.
    await rebuilt(
      buildId,
      'delta-1',
      outputs,
      await sign('delta-1', { [PROD.path]: TOOLS.sha256, [TOOLS.path]: PROD.sha256 }),
    );
    // zeta gives a .deb an epoch the build's version does not have.
    await rebuilt(
      buildId,
      'zeta-1',
      outputs,
      await sign('zeta-1', { 'prod_7%3a1.0-1_amd64.deb': PROD.sha256, [TOOLS.path]: TOOLS.sha256 }),
    );
    await rebuilt(
      buildId,
      'epsilon-1',
      outputs,
      await sign('epsilon-1', { [PROD.path]: PROD.sha256, [TOOLS.path]: TOOLS.sha256 }),
    );
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it('is not served for any of its packages', async () => {
    for (const operator of ['alpha', 'beta', 'gamma', 'delta', 'zeta']) {
      for (const [name, version] of [
        ['prod', '1.0-1'],
        ['prod', '7%3a1.0-1'],
        ['prod-tools', '1.0-1'],
        ['prod-tools', '1.0-2'],
      ] as const) {
        expect((await metadata(operator, name, version)).status, `${operator} ${name} ${version}`).toBe(404);
      }
    }
  });

  it('while a link with exactly the attested .debs is', async () => {
    expect((await metadata('epsilon', 'prod', '1.0-1')).status).toBe(200);
    expect((await metadata('epsilon', 'prod-tools', '1.0-1')).status).toBe(200);
    expect((await metadata('epsilon', 'prod-tools', '1.0-2')).status).toBe(404);
  });
});

describe('a link with a .deb for another architecture', () => {
  const AMD64 = { path: 'arch-a_1.0-1_amd64.deb', sha256: sha256Hex('arch-a amd64') as Sha256Hex };
  const ARM64 = { path: 'arch-b_1.0-1_arm64.deb', sha256: sha256Hex('arch-b arm64') as Sha256Hex };

  beforeAll(async () => {
    // Only the amd64 .deb is claimed: the arm64 one is an unclaimed extra, so the build is reproducible.
    const buildId = await records.createBuild({ name: 'arch-a', version: '1.0-1', claimedOutputs: [AMD64] });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [AMD64, ARM64], {
      [AMD64.path]: AMD64.sha256,
      [ARM64.path]: ARM64.sha256,
    });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
  });

  it('is refused whole: none of its packages is served', async () => {
    for (const operator of ['alpha', 'beta']) {
      for (const [name, arch] of [
        ['arch-a', 'amd64'],
        ['arch-b', 'amd64'],
        ['arch-b', 'arm64'],
      ] as const) {
        expect((await metadata(operator, name, '1.0-1', arch)).status, `${operator} ${name} ${arch}`).toBe(
          404,
        );
      }
    }
  });
});

describe('builds that are not reproducible', () => {
  it('serves nothing for a build whose agreed outputs differ from the published ones', async () => {
    const published = { path: 'drift_1.0-1_amd64.deb', sha256: sha256Hex('published drift') as Sha256Hex };
    const rebuiltDeb = { path: published.path, sha256: sha256Hex('rebuilt drift') as Sha256Hex };
    const buildId = await records.createBuild({
      name: 'drift',
      version: '1.0-1',
      claimedOutputs: [published],
    });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [rebuiltDeb], {
      [rebuiltDeb.path]: rebuiltDeb.sha256,
    });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe(
      'mismatch-upstream',
    );
    for (const operator of ['alpha', 'beta', 'gamma']) {
      await expectError(await metadata(operator, 'drift', '1.0-1'), 404, 'NOT_FOUND');
    }
  });

  it('withdraws the links of a reproducible build when a later dissent makes it diverged', async () => {
    const deb = { path: 'flaky_1.0-1_amd64.deb', sha256: sha256Hex('flaky') as Sha256Hex };
    const buildId = await records.createBuild({ name: 'flaky', version: '1.0-1', claimedOutputs: [deb] });
    await agreeingRebuilds(buildId, ['alpha-1', 'beta-1'], [deb], { [deb.path]: deb.sha256 });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('reproducible');
    expect((await metadata('alpha', 'flaky', '1.0-1')).status).toBe(200);
    expect((await metadata('beta', 'flaky', '1.0-1')).status).toBe(200);

    const dissent = { path: deb.path, sha256: sha256Hex('flaky, built again') as Sha256Hex };
    await agreeingRebuilds(buildId, ['gamma-1'], [dissent], { [dissent.path]: dissent.sha256 });
    expect((await decideBuild(deps, buildId, { maxAttemptsReached: false })).verdict).toBe('diverged');
    for (const operator of ['alpha', 'beta', 'gamma']) {
      await expectError(await metadata(operator, 'flaky', '1.0-1'), 404, 'NOT_FOUND');
    }
  });
});
