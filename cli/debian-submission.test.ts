// rbnet submit FILE.buildinfo: everything checked on the maintainer's machine before any upload.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixtureFile,
  helloBuildinfoParts,
  renderBuildinfoFixture,
} from '../services/debian/buildinfo-fixture.ts';
import { createThrowawayKey, type ThrowawayKey } from '../services/debian/gpg-key-fixture.ts';
import { sha256Hex } from '../services/digest.ts';
import { parseDebianManifest } from '../services/manifest/parse-debian-manifest.ts';
import { writeHostileSourcePackage } from '../test/support/debian-fixture.ts';
import { prepareDebianSubmission } from './debian-submission.ts';

let dir: string;
let maintainer: ThrowawayKey;
let stranger: ThrowawayKey;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-submit-deb-'));
  [maintainer, stranger] = await Promise.all([createThrowawayKey(), createThrowawayKey()]);
});
afterAll(async () => {
  await Promise.all([maintainer?.dispose(), stranger?.dispose()]);
  await rm(dir, { recursive: true, force: true });
});

function helloText(): string {
  const parts = helloBuildinfoParts();
  return renderBuildinfoFixture({
    ...parts,
    files: [
      fixtureFile('hello_2.10-3_amd64.deb', 'hello deb'),
      fixtureFile('hello-dbgsym_2.10-3_amd64.deb', 'dbgsym deb'),
    ],
  });
}

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('prepareDebianSubmission', () => {
  it('claims every non-dbgsym .deb, pins the .buildinfo by sha256 and lets workers fetch the source', async () => {
    const path = await write('hello_2.10-3_amd64.buildinfo', helloText());
    const prepared = await prepareDebianSubmission({ buildinfoPath: path });
    const manifest = parseDebianManifest(prepared.manifestText).manifest;
    expect(manifest.name).toBe('hello');
    expect(manifest.version).toBe('2.10-3');
    expect(manifest.source).toEqual({ from: 'archive' });
    expect(manifest.buildinfoSha256).toBe(sha256Hex(await readFile(path)));
    expect(manifest.claimedOutputs).toEqual([
      { path: 'hello_2.10-3_amd64.deb', sha256: sha256Hex('hello deb') },
    ]);
    expect(prepared.uploads.map((u) => u.label)).toEqual(['hello_2.10-3_amd64.buildinfo']);
  });

  it('a malformed .buildinfo is refused before anything is uploaded, naming the field', async () => {
    const path = await write('bad.buildinfo', helloText().replace('Version: 2.10-3', 'Version: x2.10'));
    await expect(prepareDebianSubmission({ buildinfoPath: path })).rejects.toMatchObject({
      field: 'Version',
    });
  });

  describe('--source', () => {
    let dscPath: string;
    let buildinfoPath: string;
    beforeAll(async () => {
      dscPath = await writeHostileSourcePackage(dir);
      const parts = helloBuildinfoParts();
      buildinfoPath = await write(
        'rbnet-hostile_1.0_amd64.buildinfo',
        renderBuildinfoFixture({
          ...parts,
          source: 'rbnet-hostile',
          binaries: ['rbnet-hostile'],
          version: '1.0',
          files: [fixtureFile('rbnet-hostile_1.0_amd64.deb', 'x')],
        }),
      );
    });

    it('uploads the .dsc and the files it lists, each checked against it', async () => {
      const prepared = await prepareDebianSubmission({ buildinfoPath, dscPath });
      const manifest = parseDebianManifest(prepared.manifestText).manifest;
      expect(manifest.source).toMatchObject({ from: 'files', dsc: 'rbnet-hostile_1.0.dsc' });
      expect(prepared.uploads.map((u) => u.label)).toEqual([
        'rbnet-hostile_1.0_amd64.buildinfo',
        'rbnet-hostile_1.0.dsc',
        'rbnet-hostile_1.0.tar.xz',
      ]);
    });

    it('a file that differs from the .dsc is refused, naming it', async () => {
      const tarball = join(dir, 'rbnet-hostile_1.0.tar.xz');
      const original = await readFile(tarball);
      await writeFile(tarball, Buffer.concat([original, Buffer.from('x')]));
      try {
        await expect(prepareDebianSubmission({ buildinfoPath, dscPath })).rejects.toThrow(
          /rbnet-hostile_1\.0\.tar\.xz/,
        );
      } finally {
        await writeFile(tarball, original);
      }
    });

    it('a .dsc of another source than the .buildinfo records is refused', async () => {
      const hello = await write('hello.buildinfo', helloText());
      await expect(prepareDebianSubmission({ buildinfoPath: hello, dscPath })).rejects.toThrow(
        /was built from hello/,
      );
    });
  });

  describe('--maintainer-keyring', () => {
    it('accepts a .buildinfo clearsigned by a key of the keyring', async () => {
      const path = await write('signed.buildinfo', maintainer.clearsign(helloText()));
      const prepared = await prepareDebianSubmission({
        buildinfoPath: path,
        maintainerKeyringPath: maintainer.keyringPath,
      });
      expect(parseDebianManifest(prepared.manifestText).manifest.name).toBe('hello');
    });

    it('refuses an unsigned one, and one signed by another key', async () => {
      const plain = await write('plain.buildinfo', helloText());
      await expect(
        prepareDebianSubmission({ buildinfoPath: plain, maintainerKeyringPath: maintainer.keyringPath }),
      ).rejects.toThrow(/not clearsigned/);
      const other = await write('other.buildinfo', stranger.clearsign(helloText()));
      await expect(
        prepareDebianSubmission({ buildinfoPath: other, maintainerKeyringPath: maintainer.keyringPath }),
      ).rejects.toThrow(/--maintainer-keyring/);
    });
  });
});
