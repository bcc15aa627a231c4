// Tests the evidence store: kept evidence is verified again on every use (never trusted as cached),
// and the store stays under its size cap, least recently used first.
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { DebEvidenceStore } from './deb-evidence-store.ts';
import { DebianSnapshotServer, fakeDeb, openFixtureSources, sha256 } from './snapshot-server-fixture.ts';

const debs = [fakeDeb('alpha', '1.0-1'), fakeDeb('beta', '2.0-1'), fakeDeb('gamma', '3.0-1', 'all')];
const [alpha, beta, gamma] = debs as [(typeof debs)[0], (typeof debs)[0], (typeof debs)[0]];
const logger = pino({ level: 'silent' });

describe('the evidence store', () => {
  let key: ThrowawayKey;
  let otherKey: ThrowawayKey;
  let server: DebianSnapshotServer;
  let dir: string;

  beforeAll(async () => {
    [key, otherKey] = await Promise.all([createThrowawayKey(), createThrowawayKey()]);
    server = await DebianSnapshotServer.start(key);
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([key?.dispose(), otherKey?.dispose()]);
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-evidence-'));
    server.setMirror([{ suite: 'fakesuite', debs }]);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Verifies all three .debs from the mirror, which keeps their evidence; then the mirror drops them. */
  async function keepAll(): Promise<void> {
    const { sources } = await openFixtureSources({
      server,
      keyringPath: key.keyringPath,
      dir,
      withSnapshot: false,
    });
    const resolution = await sources.resolve(
      debs.map((d) => ({ name: d.name, version: d.version })),
      [],
    );
    if (resolution.kind !== 'resolved') throw new Error('fixture did not resolve');
    await sources.fetchDebs(resolution);
  }

  /** A store as a new worker process would open it (nothing verified in memory yet). */
  function reopened(keyringPath = key.keyringPath, maxBytes = 1024 ** 3): DebEvidenceStore {
    return new DebEvidenceStore({
      dir: join(dir, 'evidence'),
      maxBytes,
      keyringPath,
      architecture: 'amd64',
      logger,
    });
  }

  const recordPath = async (name: string): Promise<string> => {
    const [file] = await readdir(join(dir, 'evidence', 'records', name));
    return join(dir, 'evidence', 'records', name, file!);
  };

  it('keeps the signed InRelease, the index and each .deb, and finds them again verified', async () => {
    await keepAll();
    const usage = await reopened().usage();
    expect(usage).toMatchObject({ debs: 3, records: 3 });
    expect(usage.releaseBytes).toBeGreaterThan(0);
    expect(usage.indexBytes).toBeGreaterThan(0);
    const found = await reopened().find({ name: 'gamma', version: '3.0-1' });
    expect(found?.pkg.sha256).toBe(sha256(gamma.bytes));
    expect(found?.origin).toMatchObject({ from: 'evidence', archive: server.mirrorUrl, suite: 'fakesuite' });
    expect(await reopened().find({ name: 'gamma', architecture: 'amd64', version: '3.0-1' })).toBeUndefined();
    expect(await reopened().find({ name: 'alpha', version: '1.0-2' })).toBeUndefined();
  });

  it('never trusts what it kept: a changed .deb is deleted, a changed InRelease, index or record is not used, nor a Release the pinned keyring did not sign', async () => {
    await keepAll();
    // A .deb whose bytes changed on disk.
    const alphaPath = join(dir, 'evidence', 'debs', `${sha256(alpha.bytes)}.deb`);
    await writeFile(alphaPath, Buffer.from('tampered'));
    expect(await reopened().find({ name: 'alpha', version: '1.0-1' })).toBeUndefined();
    await expect(stat(alphaPath)).rejects.toThrow();

    // A record edited to claim other bytes for beta (gamma's, which the index lists for gamma only).
    const betaRecord = await recordPath('beta');
    const original = await readFile(betaRecord, 'utf8');
    await writeFile(betaRecord, original.replaceAll(sha256(beta.bytes), sha256(gamma.bytes)));
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeUndefined();
    await writeFile(betaRecord, original);
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeDefined();

    // The kept InRelease changed on disk.
    const [release] = await readdir(join(dir, 'evidence', 'releases'));
    const releasePath = join(dir, 'evidence', 'releases', release!);
    const releaseBytes = await readFile(releasePath);
    await writeFile(releasePath, Buffer.concat([releaseBytes, Buffer.from('\n')]));
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeUndefined();
    await writeFile(releasePath, releaseBytes);

    // A record pointing at an InRelease with the same text signed by a key the keyring does not hold.
    const plaintext = releaseBytes.toString('utf8').split('\n\n')[1]!.split('\n-----BEGIN PGP SIGNATURE')[0]!;
    const foreign = otherKey.clearsign(`${plaintext}\n`);
    await writeFile(join(dir, 'evidence', 'releases', `${sha256(foreign)}.InRelease`), foreign);
    await writeFile(betaRecord, original.replace(release!.replace('.InRelease', ''), sha256(foreign)));
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeUndefined();
    // The same text signed by the pinned key is accepted: only the signer differed.
    const resigned = key.clearsign(`${plaintext}\n`);
    await writeFile(join(dir, 'evidence', 'releases', `${sha256(resigned)}.InRelease`), resigned);
    await writeFile(betaRecord, original.replace(release!.replace('.InRelease', ''), sha256(resigned)));
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeDefined();
    await writeFile(betaRecord, original);

    // The kept index changed on disk.
    const [index] = await readdir(join(dir, 'evidence', 'indexes'));
    const indexPath = join(dir, 'evidence', 'indexes', index!);
    const indexBytes = await readFile(indexPath);
    await writeFile(indexPath, Buffer.concat([indexBytes, Buffer.from([0])]));
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeUndefined();
    await writeFile(indexPath, indexBytes);

    // A worker whose pinned keyring no longer holds the key uses none of it.
    expect(await reopened(otherKey.keyringPath).find({ name: 'beta', version: '2.0-1' })).toBeUndefined();
    expect(await reopened().find({ name: 'beta', version: '2.0-1' })).toBeDefined();
  });

  it('stays under its cap: least recently used .debs go first, pinned ones never, and evidence nobody names goes with them', async () => {
    await keepAll();
    // Use order: alpha long ago, then beta, gamma most recently.
    const debPath = (d: typeof alpha) => join(dir, 'evidence', 'debs', `${sha256(d.bytes)}.deb`);
    for (const [index, deb] of [alpha, beta, gamma].entries()) {
      const when = new Date(Date.now() - (3 - index) * 60_000);
      await utimes(debPath(deb), when, when);
      await utimes(await recordPath(deb.name), when, when);
    }
    const usage = await reopened().usage();
    const total = usage.debBytes + usage.recordBytes + usage.releaseBytes + usage.indexBytes;
    expect(await reopened(key.keyringPath, total).evict()).toBe(0);

    await reopened(key.keyringPath, total - 1).evict();
    expect((await readdir(join(dir, 'evidence', 'debs'))).sort()).toEqual(
      [beta, gamma].map((d) => `${sha256(d.bytes)}.deb`).sort(),
    );
    expect(await readdir(join(dir, 'evidence', 'records', 'alpha'))).toEqual([]);

    const store = reopened(key.keyringPath, 0);
    await store.withPinned([sha256(beta.bytes)], () => store.evict());
    expect(await readdir(join(dir, 'evidence', 'debs'))).toEqual([`${sha256(beta.bytes)}.deb`]);
    expect((await readdir(join(dir, 'evidence', 'releases'))).length).toBe(1);
    expect((await store.find({ name: 'beta', version: '2.0-1' }))?.pkg.sha256).toBe(sha256(beta.bytes));

    await store.evict();
    expect(await store.usage()).toEqual({
      debs: 0,
      debBytes: 0,
      records: 0,
      recordBytes: 0,
      releaseBytes: 0,
      indexBytes: 0,
    });
  });
});
