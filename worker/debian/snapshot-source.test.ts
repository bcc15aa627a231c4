// Tests where an environment's packages come from: the mirror, the worker's kept evidence, or a
// snapshot archive (a local one with several signed timestamps), and how each is recorded.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { sha256File } from '../../services/digest.ts';
import {
  describeUnavailable,
  packageSourcesOf,
  type ResolvedEnvironment,
} from './environment-package-sources.ts';
import {
  DebianSnapshotServer,
  type FixtureDeb,
  fakeDeb,
  fixtureIdentitySha256,
  openFixtureSources,
  sha256,
} from './snapshot-server-fixture.ts';

const T1 = '20240101T000000Z';
const T2 = '20240201T000000Z';
const T3 = '20240301T000000Z';

const debs = {
  oldA: fakeDeb('alpha', '1.0-1'),
  newA: fakeDeb('alpha', '1.0-2'),
  beta: fakeDeb('beta', '2.0-1'),
  gamma: fakeDeb('gamma', '3.0-1', 'all'),
  base: fakeDeb('base-thing', '1.0-1'),
};

function labels(list: readonly FixtureDeb[]): string[] {
  return list.map((d) => `${d.name}:${d.architecture}=${d.version}`).sort();
}

function resolved(
  resolution: Awaited<ReturnType<Awaited<ReturnType<typeof openFixtureSources>>['sources']['resolve']>>,
): ResolvedEnvironment {
  if (resolution.kind !== 'resolved') throw new Error(`expected resolved, got ${JSON.stringify(resolution)}`);
  return resolution;
}

describe('environment package sources: mirror, kept evidence, snapshot', () => {
  let key: ThrowawayKey;
  let server: DebianSnapshotServer;
  let dir: string;

  beforeAll(async () => {
    key = await createThrowawayKey();
    server = await DebianSnapshotServer.start(key);
    // alpha 1.0-1 from T1 until T3 replaced it; gamma appeared at T2 and is gone from the mirror now.
    server.addSnapshot('debian', T1, [{ suite: 'fakesuite', debs: [debs.oldA, debs.beta, debs.base] }]);
    server.addSnapshot('debian', T2, [
      { suite: 'fakesuite', debs: [debs.oldA, debs.beta, debs.gamma, debs.base] },
    ]);
    server.addSnapshot('debian', T3, [
      { suite: 'fakesuite', debs: [debs.newA, debs.beta, debs.gamma, debs.base] },
    ]);
  });

  afterAll(async () => {
    await server?.close();
    await key?.dispose();
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-sources-'));
    server.setMirror([{ suite: 'fakesuite', debs: [debs.newA, debs.beta, debs.base] }]);
    server.requests.length = 0;
    server.intercept.length = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes versions that left the mirror from the snapshot that lists them, opening one snapshot for both, and records where each came from', async () => {
    const { sources } = await openFixtureSources({ server, keyringPath: key.keyringPath, dir });
    const resolution = resolved(
      await sources.resolve(
        [
          { name: 'alpha', version: '1.0-1' },
          { name: 'beta', version: '2.0-1' },
          { name: 'gamma', version: '3.0-1' },
        ],
        ['base-thing'],
      ),
    );
    const expected = [debs.oldA, debs.beta, debs.gamma, debs.base];
    // The identity is the package list only, wherever the packages came from.
    expect(resolution.identitySha256).toBe(fixtureIdentitySha256(expected));
    // gamma first appeared at T2 and alpha 1.0-1 at T1; T2 still lists alpha, so T1 is never opened.
    expect(server.requests.filter((p) => p.includes(`/archive/debian/${T1}/`))).toEqual([]);
    expect(server.requests).toContain(`/archive/debian/${T2}/dists/fakesuite/InRelease`);

    const groups = packageSourcesOf(resolution);
    expect(groups.map((g) => [g.from, g.archive, g.suite, g.snapshotTimestamp, g.packages])).toEqual([
      ['mirror', server.mirrorUrl, 'fakesuite', undefined, labels([debs.base, debs.beta])],
      ['snapshot', `${server.url}/archive/debian/${T2}`, 'fakesuite', T2, labels([debs.oldA, debs.gamma])],
    ]);
    for (const group of groups) expect(group.releaseSha256).toMatch(/^[0-9a-f]{64}$/);

    const paths = await sources.fetchDebs(resolution);
    for (const deb of expected) {
      const path = paths.get(sha256(deb.bytes) as never);
      expect(path, deb.name).toBeDefined();
      expect((await sha256File(path!)).sha256).toBe(sha256(deb.bytes));
    }
    expect(server.requests).toContain(`/archive/debian/${T2}/pool/main/a/alpha/alpha_1.0-1_amd64.deb`);
  });

  it('keeps the evidence of every verified .deb and rebuilds the same identity from it when mirror and snapshot no longer help', async () => {
    const first = await openFixtureSources({ server, keyringPath: key.keyringPath, dir });
    const wanted = [
      { name: 'alpha', version: '1.0-1' },
      { name: 'beta', version: '2.0-1' },
    ];
    const before = resolved(await first.sources.resolve(wanted, ['base-thing']));
    await first.sources.fetchDebs(before);
    expect((await first.evidence.usage()).records).toBe(3);

    // Later: the mirror dropped beta too, and this worker has no snapshot source configured.
    server.setMirror([{ suite: 'fakesuite', debs: [debs.newA, debs.base] }]);
    server.requests.length = 0;
    const later = await openFixtureSources({
      server,
      keyringPath: key.keyringPath,
      dir,
      withSnapshot: false,
    });
    const after = resolved(await later.sources.resolve(wanted, ['base-thing']));
    expect(after.identitySha256).toBe(before.identitySha256);
    expect(server.requests.some((p) => p.startsWith('/archive/') || p.startsWith('/mr/'))).toBe(false);
    const groups = packageSourcesOf(after);
    expect(groups.map((g) => [g.from, g.archive, g.snapshotTimestamp, g.packages])).toEqual([
      // Evidence keeps the origin it was first verified from: beta the mirror, alpha the snapshot at T1.
      ['evidence', `${server.url}/archive/debian/${T1}`, T1, labels([debs.oldA])],
      ['evidence', server.mirrorUrl, undefined, labels([debs.beta])],
      ['mirror', server.mirrorUrl, undefined, labels([debs.base])],
    ]);
    const paths = await later.sources.fetchDebs(after);
    expect(paths.get(sha256(debs.oldA.bytes) as never)).toBe(
      join(dir, 'evidence', 'debs', `${sha256(debs.oldA.bytes)}.deb`),
    );
  });

  it('names every missing version, with why each source could not provide it', async () => {
    const { sources } = await openFixtureSources({ server, keyringPath: key.keyringPath, dir });
    const resolution = await sources.resolve(
      [
        { name: 'alpha', version: '0.5-1' },
        { name: 'beta', version: '2.0-1' },
        { name: 'gamma', architecture: 'amd64', version: '3.0-1' },
        { name: 'delta', version: '9.9-9' },
      ],
      ['base-thing', 'no-such-base'],
    );
    expect(resolution.kind).toBe('unavailable');
    if (resolution.kind !== 'unavailable') return;
    expect(resolution.missing.map((m) => [m.name, m.architecture, m.version])).toEqual([
      ['alpha', undefined, '0.5-1'],
      ['gamma', 'amd64', '3.0-1'],
      ['delta', undefined, '9.9-9'],
      ['no-such-base', undefined, undefined],
    ]);
    const text = describeUnavailable(resolution.missing);
    for (const named of [
      'alpha (= 0.5-1)',
      'gamma:amd64 (= 3.0-1)',
      'delta (= 9.9-9)',
      'no-such-base (not in the archive at all)',
    ])
      expect(text).toContain(named);
    expect(text).toContain(
      'alpha 0.5-1: the mirror does not list it; no kept evidence; the snapshot archive at',
    );
    expect(text).toContain(
      'gamma 3.0-1: the mirror does not list it; no kept evidence; the snapshot archive has no amd64 file of gamma 3.0-1',
    );
    expect(await readdir(join(dir, 'evidence')).catch(() => [])).not.toContain('records');
  });
});
