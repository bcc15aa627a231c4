// A rogue maintainer against the apt links (docs/apt-in-toto.md): each test is one attack, run
// through the real coordinator app (app.request), real SQLite and content store, with results
// really signed by enrolled workers and posted through the real intake. apt must only ever see
// links for sources every worker fetched from its own signed archive index, and a published link
// is never replaced by a later build that disagrees with it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorDeps } from '../../../coordinator/coordinator-deps.ts';
import { createCoordinatorApp } from '../../../coordinator/http/create-app.ts';
import type { SqliteStores } from '../../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { signRebuildLink, verifyRebuildLink } from '../../../services/apt/in-toto-rebuild-link.ts';
import type { DebianSourceOrigin } from '../../../services/attestation/rebuild-statement.ts';
import type { Sha256Hex } from '../../../services/digest.ts';
import { createTestCoordinatorDeps } from '../../support/coordinator-deps-fixture.ts';
import { DebianBuildRecords } from '../../support/debian-build-records.ts';
import { LOOPBACK_ENV, postWorkerResult } from '../../support/post-worker-result.ts';
import { parseExposition, sampleValue } from '../../support/prometheus-text-parser.ts';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const APT_LINK = 'rbnet/apt-link.json';

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let records: DebianBuildRecords;
let packages = 0;

// biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field
async function get(path: string): Promise<{ status: number; json: any; text: string }> {
  const response = await app.request(path, { method: 'GET' }, LOOPBACK_ENV);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

function metadata(operator: string, name: string, version: string) {
  return get(`/apt/amd64/${operator}/sources/${name}/${version}/metadata`);
}

/** A package name used by one test only, so tests never see each other's links. */
function packageName(label: string): string {
  packages += 1;
  return `${label}-${packages}`;
}

/** A .deb of `name` `version` with content `bytes`, stored so intake finds it. */
async function deb(name: string, version: string, bytes: string) {
  return { path: `${name}_${version}_amd64.deb`, sha256: await records.putBlob(bytes) };
}

/**
 * Each worker rebuilds `outputs`, signs its link over them and its statement (with `source.origin`,
 * default what the manifest asks for), and posts the result through intake; attempts are opened
 * first so the scheduler assigns nobody else. @returns the last intake answer.
 */
async function rebuildAndReport(
  buildId: string,
  workerIds: readonly string[],
  outputs: readonly { path: string; sha256: Sha256Hex }[],
  options: { readonly sourceOrigin?: Readonly<Record<string, DebianSourceOrigin | null>> } = {},
) {
  const signed = [];
  for (const workerId of workerIds) {
    const link = await signRebuildLink(
      outputs.map((o) => ({ aptFileName: o.path, sha256: o.sha256 })),
      records.keyOf(workerId).signer,
    );
    signed.push(
      await records.signBuilt(buildId, workerId, {
        outputs,
        byproducts: [{ name: APT_LINK, bytes: JSON.stringify(link) }],
        ...(options.sourceOrigin && workerId in options.sourceOrigin
          ? { sourceOrigin: options.sourceOrigin[workerId] }
          : {}),
      }),
    );
  }
  let last: Awaited<ReturnType<typeof postWorkerResult>> | undefined;
  for (const result of signed) {
    last = await postWorkerResult(app, deps, records, result);
    expect(last.status, JSON.stringify(last.json)).toBe(202);
  }
  return last!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-adv-maintainer-'));
  const fixture = await createTestCoordinatorDeps(root, { threshold: 2, replicas: 2, now: () => NOW });
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
  records = new DebianBuildRecords(deps, NOW);
  for (const operator of ['alpha', 'beta', 'gamma', 'delta']) await records.enrol(operator, `${operator}-1`);
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('rogue maintainer: apt links', () => {
  it('uploads its own source (--source) that every operator reproduces: the verdict stands, apt gets no link', async () => {
    const name = packageName('uploaded');
    const built = await deb(name, '1.0-1', `${name} built from uploaded source`);
    const buildId = await records.createBuild({
      name,
      version: '1.0-1',
      claimedOutputs: [built],
      source: { dsc: `${name}_1.0-1.dsc`, files: { [`${name}_1.0-1.dsc`]: 'Format: 3.0 (native)\n' } },
    });
    const answer = await rebuildAndReport(buildId, ['alpha-1', 'beta-1'], [built]);
    expect(answer.json.verdict).toBe('reproducible');
    for (const operator of ['alpha', 'beta']) {
      const response = await metadata(operator, name, '1.0-1');
      expect(response.status, `${operator} serves a link for an uploaded source`).toBe(404);
    }
  });

  it('uploads a source and has workers claim it came from the archive: the manifest says files, no link', async () => {
    const name = packageName('claimed-archive');
    const built = await deb(name, '1.0-1', `${name} bytes`);
    const buildId = await records.createBuild({
      name,
      version: '1.0-1',
      claimedOutputs: [built],
      source: { dsc: `${name}_1.0-1.dsc`, files: { [`${name}_1.0-1.dsc`]: 'Format: 3.0 (native)\n' } },
    });
    const answer = await rebuildAndReport(buildId, ['alpha-1', 'beta-1'], [built], {
      sourceOrigin: { 'alpha-1': 'archive', 'beta-1': 'archive' },
    });
    expect(answer.json.verdict).toBe('reproducible');
    expect((await metadata('alpha', name, '1.0-1')).status).toBe(404);
  });

  it('gets a build reproduced where one worker used an uploaded source: no operator serves a link', async () => {
    const name = packageName('mixed-origin');
    const built = await deb(name, '1.0-1', `${name} bytes`);
    const buildId = await records.createBuild({ name, version: '1.0-1', claimedOutputs: [built] });
    const answer = await rebuildAndReport(buildId, ['alpha-1', 'beta-1'], [built], {
      sourceOrigin: { 'beta-1': 'uploaded' },
    });
    expect(answer.json.verdict).toBe('reproducible');
    for (const operator of ['alpha', 'beta'])
      expect((await metadata(operator, name, '1.0-1')).status).toBe(404);
  });

  it('relies on workers that never signed where the source came from: no link', async () => {
    const name = packageName('unsigned-origin');
    const built = await deb(name, '1.0-1', `${name} bytes`);
    const buildId = await records.createBuild({ name, version: '1.0-1', claimedOutputs: [built] });
    await rebuildAndReport(buildId, ['alpha-1', 'beta-1'], [built], {
      sourceOrigin: { 'alpha-1': null, 'beta-1': null },
    });
    expect((await metadata('alpha', name, '1.0-1')).status).toBe(404);
  });

  it('control: an archive source every worker signed as fetched from its own signed index is served', async () => {
    const name = packageName('archive');
    const built = await deb(name, '1.0-1', `${name} bytes`);
    const buildId = await records.createBuild({ name, version: '1.0-1', claimedOutputs: [built] });
    await rebuildAndReport(buildId, ['alpha-1', 'beta-1'], [built]);
    const response = await metadata('alpha', name, '1.0-1');
    expect(response.status).toBe(200);
    expect(verifyRebuildLink(response.text, [records.keyOf('alpha-1').publicKey]).products).toEqual([
      { aptFileName: built.path, sha256: built.sha256 },
    ]);
  });

  describe('submits a second build of a published version whose products differ', () => {
    let name: string;
    let published: { path: string; sha256: Sha256Hex };
    let other: { path: string; sha256: Sha256Hex };
    let firstBuild: string;
    let sameOperators: string;
    let otherOperators: string;
    let publishedLinks: Map<string, string>;

    beforeAll(async () => {
      name = packageName('contested');
      published = await deb(name, '2.0-1', `${name} 2.0-1 as the archive built it`);
      other = await deb(name, '2.0-1', `${name} 2.0-1 as the maintainer wants it`);
      firstBuild = await records.createBuild({ name, version: '2.0-1', claimedOutputs: [published] });
      await rebuildAndReport(firstBuild, ['alpha-1', 'beta-1'], [published]);
      publishedLinks = new Map();
      for (const operator of ['alpha', 'beta']) {
        const response = await metadata(operator, name, '2.0-1');
        expect(response.status).toBe(200);
        publishedLinks.set(operator, response.text);
      }
      // A .buildinfo of its own for the same version (say, other build dependencies), claiming the
      // bytes it wants; the same operators reproduce it, and so do two others.
      sameOperators = await records.createBuild({ name, version: '2.0-1', claimedOutputs: [other] });
      expect((await rebuildAndReport(sameOperators, ['alpha-1', 'beta-1'], [other])).json.verdict).toBe(
        'reproducible',
      );
      otherOperators = await records.createBuild({ name, version: '2.0-1', claimedOutputs: [other] });
      expect((await rebuildAndReport(otherOperators, ['gamma-1', 'delta-1'], [other])).json.verdict).toBe(
        'reproducible',
      );
    });

    it('by the same operators: their published links are not replaced', async () => {
      for (const operator of ['alpha', 'beta']) {
        const response = await metadata(operator, name, '2.0-1');
        expect(response.status).toBe(200);
        expect(response.text).toBe(publishedLinks.get(operator));
        expect(verifyRebuildLink(response.text, [records.keyOf(`${operator}-1`).publicKey]).products).toEqual(
          [{ aptFileName: published.path, sha256: published.sha256 }],
        );
      }
    });

    it('by other operators: none of its links is served, so apt never sees two answers', async () => {
      for (const operator of ['gamma', 'delta']) {
        expect((await metadata(operator, name, '2.0-1')).status, operator).toBe(404);
      }
    });

    it('is an alarm: both build views list the conflict, /metrics counts it, the verdict log entry names it', async () => {
      const first = await get(`/v1/builds/${firstBuild}`);
      const contested = [sameOperators, otherOperators].map((buildId) =>
        expect.objectContaining({
          architecture: 'amd64',
          package: name,
          version: '2.0-1',
          publishedBuildId: firstBuild,
          contestingBuildId: buildId,
        }),
      );
      expect(first.json.conflicts).toEqual(contested);
      for (const [index, buildId] of [sameOperators, otherOperators].entries()) {
        const view = await get(`/v1/builds/${buildId}`);
        expect(view.json.verdict).toBe('reproducible');
        expect(view.json.conflicts).toEqual([contested[index]]);
        expect(view.json.conflicts[0].publishedProductsSha256).not.toBe(
          view.json.conflicts[0].contestingProductsSha256,
        );
      }
      const metrics = parseExposition((await get('/metrics')).text);
      expect(sampleValue(metrics, 'rbnet_apt_link_conflicts')).toBe(2);
      const log = await get('/v1/log?from=0&limit=1000');
      const entries = log.json.entries.filter((e: { buildId: string }) => e.buildId === otherOperators);
      expect(JSON.parse(entries.at(-1).bodyJson).aptLinkConflicts).toEqual([
        { architecture: 'amd64', package: name, version: '2.0-1', publishedBuildId: firstBuild },
      ]);
    });
  });

  it('submits the same version again with the same products: nothing is replaced, no alarm', async () => {
    const name = packageName('resubmitted');
    const built = await deb(name, '1.0-1', `${name} bytes`);
    const first = await records.createBuild({ name, version: '1.0-1', claimedOutputs: [built] });
    await rebuildAndReport(first, ['alpha-1', 'beta-1'], [built]);
    const before = (await metadata('alpha', name, '1.0-1')).text;
    const again = await records.createBuild({ name, version: '1.0-1', claimedOutputs: [built] });
    await rebuildAndReport(again, ['alpha-1', 'gamma-1'], [built]);
    expect((await metadata('alpha', name, '1.0-1')).text).toBe(before);
    expect((await metadata('gamma', name, '1.0-1')).status).toBe(200);
    expect((await get(`/v1/builds/${again}`)).json.conflicts).toEqual([]);
  });
});
