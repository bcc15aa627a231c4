// Named attacks by whoever answers for the snapshot archive (the snapshot service itself, or anyone on
// the path to it): each is refused with a reason, and nothing it served is kept or offered to a build.
// Against a local snapshot server on 127.0.0.1 signed with the test's own pinned throwaway key.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createThrowawayKey, type ThrowawayKey } from '../../../services/debian/gpg-key-fixture.ts';
import { ArchiveError } from '../../../services/errors.ts';
import {
  DebianSnapshotServer,
  type FixtureSuite,
  fakeDeb,
  openFixtureSources,
  poolPath,
  sha256,
} from '../../../worker/debian/snapshot-server-fixture.ts';

const T1 = '20240101T000000Z';
const T1_MS = Date.UTC(2024, 0, 1);
const gone = fakeDeb('alpha', '1.0-1');
const current = fakeDeb('alpha', '1.0-2');
const beta = fakeDeb('beta', '2.0-1');
/** What the build asks for: alpha 1.0-1 has left the mirror; the snapshot at T1 still has it. */
const WANTED = [
  { name: 'alpha', version: '1.0-1' },
  { name: 'beta', version: '2.0-1' },
];
const TIMEOUT_MS = 300;

describe('a snapshot archive that lies or stalls', () => {
  let key: ThrowawayKey;
  let stranger: ThrowawayKey;
  let server: DebianSnapshotServer;
  let dir: string;

  beforeAll(async () => {
    [key, stranger] = await Promise.all([createThrowawayKey(), createThrowawayKey()]);
  });

  afterAll(async () => {
    await Promise.all([key?.dispose(), stranger?.dispose()]);
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-snapshot-attack-'));
    server = await DebianSnapshotServer.start(key);
    server.setMirror([{ suite: 'fakesuite', debs: [current, beta] }]);
  });

  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function snapshotAtT1(overrides: Partial<FixtureSuite> = {}): void {
    server.addSnapshot('debian', T1, [{ suite: 'fakesuite', debs: [gone, beta], ...overrides }]);
  }

  function open() {
    return openFixtureSources({ server, keyringPath: key.keyringPath, dir, requestTimeoutMs: TIMEOUT_MS });
  }

  async function refusal(promise: Promise<unknown>, code: ArchiveError['code']): Promise<string> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).code, (err as Error).message).toBe(code);
    return (err as Error).message;
  }

  /** Nothing from the attacker was kept: no .deb of alpha 1.0-1 and no evidence record for it. */
  async function nothingKept(): Promise<void> {
    const debsDir = join(dir, 'evidence', 'debs');
    expect(await readdir(debsDir).catch(() => [])).not.toContain(`${sha256(gone.bytes)}.deb`);
    expect(await readdir(join(debsDir, '..', 'records', 'alpha')).catch(() => [])).toEqual([]);
    expect((await readdir(debsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.part'))).toEqual(
      [],
    );
  }

  /** Serves `body` at `path` (with a correct Content-Length) instead of the real file. */
  function serve(path: string, body: Buffer): void {
    server.intercept.push((requested, _req, res) => {
      if (requested !== path) return false;
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return true;
    });
  }

  /** Streams endless bytes at `path` with no Content-Length; counts what was sent. */
  function flood(path: string): { sentBytes: number } {
    const counter = { sentBytes: 0 };
    server.intercept.push((requested, _req, res) => {
      if (requested !== path) return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && counter.sentBytes < 4 * 1024 ** 3) {
          counter.sentBytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.destroy());
      pump();
      return true;
    });
    return counter;
  }

  const debUrlPath = `/archive/debian/${T1}/${poolPath(gone)}`;
  const inReleasePath = `/archive/debian/${T1}/dists/fakesuite/InRelease`;
  const binfilesPath = '/mr/binary/alpha/1.0-1/binfiles';

  it('a .deb whose bytes differ from its signed index → ARCHIVE_DIGEST, nothing kept', async () => {
    snapshotAtT1();
    const tampered = Buffer.from(gone.bytes);
    tampered[10] = 0x21;
    serve(debUrlPath, tampered);
    const { sources } = await open();
    const resolution = await sources.resolve(WANTED, []);
    expect(resolution.kind).toBe('resolved');
    if (resolution.kind !== 'resolved') return;
    const message = await refusal(sources.fetchDebs(resolution), 'ARCHIVE_DIGEST');
    expect(message).toContain(`snapshot ${server.url}`);
    expect(message).toContain(
      `the signed index lists ${gone.bytes.length} bytes with sha256 ${sha256(gone.bytes)}`,
    );
    await nothingKept();
  });

  it('an unsigned InRelease → ARCHIVE_SIGNATURE, nothing kept', async () => {
    snapshotAtT1({ signer: 'unsigned' });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_SIGNATURE')).toMatch(
      /not a clearsigned document/,
    );
    await nothingKept();
  });

  it('an InRelease signed by a key the worker does not pin → ARCHIVE_SIGNATURE, nothing kept', async () => {
    snapshotAtT1({ signer: stranger });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_SIGNATURE')).toMatch(/no good signature/);
    await nothingKept();
  });

  it('an InRelease whose text changed after it was signed (bad signature) → ARCHIVE_SIGNATURE, nothing kept', async () => {
    snapshotAtT1();
    const signed = server.snapshotFile('debian', T1, 'dists/fakesuite/InRelease')!;
    serve(
      inReleasePath,
      Buffer.from(signed.toString('utf8').replace('Label: rbnet-test', 'Label: rbnet-tesT')),
    );
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_SIGNATURE')).toMatch(/BADSIG/);
    await nothingKept();
  });

  it('a Release that expired before its own snapshot time (Valid-Until) → ARCHIVE_SIGNATURE, nothing kept', async () => {
    // A stale Release replayed into a later snapshot: it stopped being valid a day before T1.
    snapshotAtT1({ date: new Date(T1_MS - 10 * 86_400_000), validUntil: new Date(T1_MS - 86_400_000) });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_SIGNATURE')).toMatch(
      /expired at 2023-12-31T00:00:00\.000Z \(Valid-Until\), before the time of the snapshot at 2024-01-01/,
    );
    await nothingKept();
  });

  it('a Release dated after its own snapshot time → ARCHIVE_SIGNATURE, nothing kept', async () => {
    snapshotAtT1({ date: new Date(T1_MS + 86_400_000) });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_SIGNATURE')).toMatch(
      /after the time of the snapshot/,
    );
    await nothingKept();
  });

  it('an index that omits the version the API promised → environment unavailable, naming it and why', async () => {
    snapshotAtT1({ omitFromIndex: ['alpha'] });
    const { sources } = await open();
    const resolution = await sources.resolve(WANTED, []);
    expect(resolution.kind).toBe('unavailable');
    if (resolution.kind !== 'unavailable') return;
    expect(resolution.missing.map((m) => `${m.name} ${m.version}`)).toEqual(['alpha 1.0-1']);
    expect(resolution.missing[0]?.reasons.at(-1)).toBe(
      `the snapshot API names debian ${T1} (file ${createHash('sha1').update(gone.bytes).digest('hex')}), but the signed indexes of its configured suites there do not list alpha 1.0-1`,
    );
    await nothingKept();
  });

  it('an API answer about another package → ARCHIVE_API, nothing kept', async () => {
    snapshotAtT1();
    serve(binfilesPath, server.binfilesAnswer('beta', '2.0-1')!);
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_API')).toMatch(
      /binary: is "beta", asked for alpha/,
    );
    await nothingKept();
  });

  it('an API that never answers → ARCHIVE_UNREACHABLE after the request timeout, nothing kept', async () => {
    snapshotAtT1();
    server.intercept.push((path, _req, res) => {
      if (path !== binfilesPath) return false;
      server.hold(res);
      return true;
    });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_UNREACHABLE')).toMatch(
      new RegExp(`no answer within ${TIMEOUT_MS} ms .*after 3 attempts`),
    );
    await nothingKept();
  });

  it('a .deb transfer that stalls half-way → ARCHIVE_UNREACHABLE after the request timeout, nothing kept', async () => {
    snapshotAtT1();
    server.intercept.push((path, _req, res: ServerResponse) => {
      if (path !== debUrlPath) return false;
      res.writeHead(200, { 'content-length': gone.bytes.length });
      res.write(gone.bytes.subarray(0, 100));
      server.hold(res);
      return true;
    });
    const { sources } = await open();
    const resolution = await sources.resolve(WANTED, []);
    if (resolution.kind !== 'resolved') throw new Error('expected resolved');
    expect(await refusal(sources.fetchDebs(resolution), 'ARCHIVE_UNREACHABLE')).toMatch(
      new RegExp(`transfer stalled for ${TIMEOUT_MS} ms`),
    );
    await nothingKept();
  });

  it('an API answering gigabytes where kilobytes are due → ARCHIVE_TOO_LARGE at 1 MiB, nothing kept', async () => {
    snapshotAtT1();
    const sent = flood(binfilesPath);
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_TOO_LARGE')).toMatch(
      /sent more than 1048576 bytes/,
    );
    // The reader stopped early: at most the cap plus what was in flight, never the gigabytes offered.
    expect(sent.sentBytes).toBeLessThan(64 * 1024 ** 2);
    await nothingKept();
  });

  it('an API declaring gigabytes in Content-Length → ARCHIVE_TOO_LARGE before reading, nothing kept', async () => {
    snapshotAtT1();
    server.intercept.push((path, _req, res) => {
      if (path !== binfilesPath) return false;
      res.writeHead(200, { 'content-length': String(5 * 1024 ** 3) });
      res.write('{');
      server.hold(res);
      return true;
    });
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_TOO_LARGE')).toMatch(
      /declares 5368709120 bytes/,
    );
    await nothingKept();
  });

  it('an InRelease of gigabytes → ARCHIVE_TOO_LARGE at 1 MiB, nothing kept', async () => {
    snapshotAtT1();
    const sent = flood(inReleasePath);
    const { sources } = await open();
    expect(await refusal(sources.resolve(WANTED, []), 'ARCHIVE_TOO_LARGE')).toMatch(
      /InRelease.*sent more than 1048576 bytes/,
    );
    expect(sent.sentBytes).toBeLessThan(64 * 1024 ** 2);
    await nothingKept();
  });

  it('a .deb that goes on past the size its signed index lists → ARCHIVE_TOO_LARGE, nothing kept', async () => {
    snapshotAtT1();
    const sent = flood(debUrlPath);
    const { sources } = await open();
    const resolution = await sources.resolve(WANTED, []);
    if (resolution.kind !== 'resolved') throw new Error('expected resolved');
    expect(await refusal(sources.fetchDebs(resolution), 'ARCHIVE_TOO_LARGE')).toMatch(
      new RegExp(`sent more than the ${gone.bytes.length} bytes the signed index lists`),
    );
    expect(sent.sentBytes).toBeLessThan(64 * 1024 ** 2);
    await nothingKept();
  });
});
