// Tests the Debian archive client against a fake signed archive on 127.0.0.1 and against deb.debian.org bookworm.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { environmentIdentitySha256 } from '../../services/debian/environment-identity.ts';
import { createThrowawayKey, type ThrowawayKey } from '../../services/debian/gpg-key-fixture.ts';
import { sha256File } from '../../services/digest.ts';
import { ArchiveError } from '../../services/errors.ts';
import { openDebianArchive } from './debian-archive.ts';
import type { DebianArchiveConfig } from './debian-archive-config.ts';
import { writeLocalRepository } from './local-repository.ts';
import { resolveEnvironmentPackages } from './resolve-environment-packages.ts';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function xz(data: Buffer): Buffer {
  const run = spawnSync('xz', ['-c'], { input: data, maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`xz failed: ${run.stderr.toString()}`);
  return run.stdout;
}

function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', 'UTC');
}

async function refusal(promise: Promise<unknown>, code: ArchiveError['code']): Promise<ArchiveError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveError);
  expect((err as ArchiveError).code).toBe(code);
  return err as ArchiveError;
}

/** What the fake archive holds; tests change `files` to make the mirror misbehave. */
interface FakeArchive {
  readonly files: Map<string, Buffer>;
  readonly debs: Record<'hello' | 'tool' | 'base', Buffer>;
}

interface FakeArchiveOptions {
  readonly validUntil?: Date;
  readonly codename?: string;
  readonly signer?: ThrowawayKey;
}

/** Builds a signed archive with one suite (`fakesuite`, main, amd64) in memory. */
function buildFakeArchive(key: ThrowawayKey, options: FakeArchiveOptions = {}): FakeArchive {
  const debs = {
    hello: Buffer.from('fake hello 1.0-1 deb\n'.repeat(40)),
    tool: Buffer.from('fake tool 2.0-1 deb\n'.repeat(30)),
    base: Buffer.from('fake base-thing 1:1.0-1 deb\n'.repeat(20)),
  };
  const stanza = (name: string, version: string, arch: string, path: string, deb: Buffer): string =>
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Test <test@rbnet.invalid>\n` +
    `Description: fake ${name}\n a fake package\nFilename: ${path}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}`;
  const packages = [
    stanza('hello', '0.9-1', 'amd64', 'pool/main/h/hello/hello_0.9-1_amd64.deb', Buffer.from('old hello')),
    stanza('hello', '1.0-1', 'amd64', 'pool/main/h/hello/hello_1.0-1_amd64.deb', debs.hello),
    stanza('tool', '2.0-1', 'all', 'pool/main/t/tool/tool_2.0-1_all.deb', debs.tool),
    stanza(
      'base-thing',
      '3.0-1',
      'amd64',
      'pool/main/b/base-thing/base-thing_3.0-1_amd64.deb',
      Buffer.from('x'),
    ),
    stanza('base-thing', '1:1.0-1', 'amd64', 'pool/main/b/base-thing/base-thing_1.0-1_amd64.deb', debs.base),
  ].join('\n\n');
  const dsc = Buffer.from('Format: 3.0 (native)\nSource: hello\nVersion: 1.0-1\n');
  const tarball = Buffer.from('fake tarball bytes\n'.repeat(100));
  const sourceStanza = (name: string, files: [string, Buffer][]): string =>
    `Package: ${name}\nBinary: ${name}\nVersion: 1.0-1\nDirectory: pool/main/${name[0]}/${name}\nChecksums-Sha256:\n` +
    files.map(([fileName, bytes]) => ` ${sha256(bytes)} ${bytes.length} ${fileName}`).join('\n');
  const sources = [
    sourceStanza('hello', [
      ['hello_1.0-1.dsc', dsc],
      ['hello_1.0.orig.tar.gz', tarball],
    ]),
    sourceStanza('gone', [['gone_1.0-1.dsc', Buffer.from('never served')]]),
  ].join('\n\n');
  const packagesBytes = Buffer.from(`${packages}\n`);
  const packagesXz = xz(packagesBytes);
  const sourcesXz = xz(Buffer.from(`${sources}\n`));
  const now = Date.now();
  const release =
    `Origin: rbnet-test\nSuite: testing\nCodename: ${options.codename ?? 'fakesuite'}\n` +
    `Date: ${rfc2822(new Date(now - 3600_000))}\n` +
    `Valid-Until: ${rfc2822(options.validUntil ?? new Date(now + 86_400_000))}\n` +
    'Architectures: amd64\nComponents: main\nSHA256:\n' +
    ` ${sha256(packagesXz)} ${packagesXz.length} main/binary-amd64/Packages.xz\n` +
    ` ${sha256(packagesBytes)} ${packagesBytes.length} main/binary-amd64/Packages\n` +
    ` ${sha256(sourcesXz)} ${sourcesXz.length} main/source/Sources.xz\n`;
  const files = new Map<string, Buffer>([
    ['dists/fakesuite/InRelease', (options.signer ?? key).clearsign(release)],
    ['dists/fakesuite/main/binary-amd64/Packages.xz', packagesXz],
    ['dists/fakesuite/main/source/Sources.xz', sourcesXz],
    ['pool/main/h/hello/hello_1.0-1_amd64.deb', debs.hello],
    ['pool/main/t/tool/tool_2.0-1_all.deb', debs.tool],
    ['pool/main/b/base-thing/base-thing_1.0-1_amd64.deb', debs.base],
    ['pool/main/h/hello/hello_1.0-1.dsc', dsc],
    ['pool/main/h/hello/hello_1.0.orig.tar.gz', tarball],
  ]);
  return { files, debs };
}

describe('Debian archive client against a fake signed archive', () => {
  let key: ThrowawayKey;
  let otherKey: ThrowawayKey;
  let server: Server;
  let mirrorUrl: string;
  let pristine: FakeArchive;
  let served: Map<string, Buffer>;
  /** Paths requested, in order. */
  let requests: string[];
  /** Paths whose next request has its connection cut. */
  let cutOnce: Set<string>;
  /** Paths answered with chunked encoding (no Content-Length). */
  let chunked: Set<string>;
  let cacheDir: string;
  let config: DebianArchiveConfig;

  beforeAll(async () => {
    [key, otherKey] = await Promise.all([createThrowawayKey(), createThrowawayKey()]);
    pristine = buildFakeArchive(key);
    server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '').replace(/^\/debian\//, ''));
      requests.push(path);
      if (cutOnce.delete(path)) {
        req.socket.destroy();
        return;
      }
      const body = served.get(path);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      if (chunked.has(path)) {
        res.writeHead(200);
        for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.subarray(at, at + 64 * 1024));
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    mirrorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await Promise.all([key?.dispose(), otherKey?.dispose()]);
  });

  beforeEach(async () => {
    served = new Map(pristine.files);
    requests = [];
    cutOnce = new Set();
    chunked = new Set();
    cacheDir = await mkdtemp(join(tmpdir(), 'rbnet-archive-test-'));
    config = {
      mirrorUrl,
      suites: ['fakesuite'],
      keyringPath: key.keyringPath,
      cacheDir,
      architecture: 'amd64',
      requestTimeoutMs: 10_000,
    };
  });

  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('opens a verified archive and finds binaries by exact version with the architecture rules', async () => {
    const archive = await openDebianArchive(config);
    expect(archive.suites.map((s) => [s.suite, s.release.codename, s.signedBy])).toEqual([
      ['fakesuite', 'fakesuite', [key.fingerprint]],
    ]);
    expect(archive.findBinary('hello', undefined, '1.0-1')?.sha256).toBe(sha256(pristine.debs.hello));
    expect(archive.findBinary('hello', 'amd64', '1.0-1')?.version).toBe('1.0-1');
    expect(archive.findBinary('hello', 'i386', '1.0-1')).toBeUndefined();
    expect(archive.findBinary('hello', 'all', '1.0-1')).toBeUndefined();
    expect(archive.findBinary('hello', undefined, '1.0-2')).toBeUndefined();
    expect(archive.findBinary('tool', undefined, '2.0-1')?.architecture).toBe('all');
    expect(archive.findBinary('tool', 'all', '2.0-1')?.architecture).toBe('all');
    expect(archive.findBinary('tool', 'amd64', '2.0-1')).toBeUndefined();
    expect(archive.newestBinary('hello')?.version).toBe('1.0-1');
    expect(archive.newestBinary('base-thing')?.version).toBe('1:1.0-1');
    expect(archive.newestBinary('missing')).toBeUndefined();
  });

  it('resolves an environment exactly, adding base packages at their newest version', async () => {
    const archive = await openDebianArchive(config);
    const resolution = resolveEnvironmentPackages(
      archive,
      [
        { name: 'hello', version: '1.0-1' },
        { name: 'hello', architecture: 'amd64', version: '1.0-1' },
        { name: 'tool', architecture: 'all', version: '2.0-1' },
      ],
      ['base-thing', 'tool'],
    );
    expect(resolution.kind).toBe('resolved');
    if (resolution.kind !== 'resolved') return;
    expect(resolution.packages.map((p) => `${p.name} ${p.version}`)).toEqual(['hello 1.0-1', 'tool 2.0-1']);
    expect(resolution.extras.map((p) => `${p.name} ${p.version}`)).toEqual(['base-thing 1:1.0-1']);
    expect(resolution.identitySha256).toBe(
      environmentIdentitySha256([...resolution.packages, ...resolution.extras]),
    );
  });

  it('reports every missing package, not only the first', async () => {
    const archive = await openDebianArchive(config);
    const resolution = resolveEnvironmentPackages(
      archive,
      [
        { name: 'hello', version: '1.0-2' },
        { name: 'hello', version: '1.0-1' },
        { name: 'tool', architecture: 'amd64', version: '2.0-1' },
      ],
      ['no-such-package'],
    );
    expect(resolution).toEqual({
      kind: 'unavailable',
      missing: [
        { name: 'hello', version: '1.0-2' },
        { name: 'tool', architecture: 'amd64', version: '2.0-1' },
        { name: 'no-such-package' },
      ],
    });
  });

  it('refuses a Packages.xz whose digest differs from the signed Release, and keeps nothing of it', async () => {
    const good = served.get('dists/fakesuite/main/binary-amd64/Packages.xz')!;
    const bad = Buffer.from(good);
    bad[bad.length - 20] = (bad[bad.length - 20]! + 1) % 256;
    served.set('dists/fakesuite/main/binary-amd64/Packages.xz', bad);
    const err = await refusal(openDebianArchive(config), 'ARCHIVE_DIGEST');
    expect(err.message).toMatch(/Packages\.xz/);
    expect(err.message).toContain(sha256(good));
    expect(await readdir(join(cacheDir, 'indexes'))).toEqual([]);
  });

  it('refuses an InRelease over 1 MiB, whether or not the size is declared', async () => {
    const huge = Buffer.concat([served.get('dists/fakesuite/InRelease')!, Buffer.alloc(1024 * 1024, 0x20)]);
    served.set('dists/fakesuite/InRelease', huge);
    expect((await refusal(openDebianArchive(config), 'ARCHIVE_TOO_LARGE')).message).toMatch(/declares/);
    chunked.add('dists/fakesuite/InRelease');
    expect((await refusal(openDebianArchive(config), 'ARCHIVE_TOO_LARGE')).message).toMatch(/sent more than/);
  });

  it('refuses an expired Release, one signed by another key, and one for another suite', async () => {
    const expired = buildFakeArchive(key, { validUntil: new Date(Date.now() - 3600_000) });
    served.set('dists/fakesuite/InRelease', expired.files.get('dists/fakesuite/InRelease')!);
    expect((await refusal(openDebianArchive(config), 'ARCHIVE_SIGNATURE')).message).toMatch(/expired/);

    const foreign = buildFakeArchive(key, { signer: otherKey });
    served.set('dists/fakesuite/InRelease', foreign.files.get('dists/fakesuite/InRelease')!);
    await refusal(openDebianArchive(config), 'ARCHIVE_SIGNATURE');

    const elsewhere = buildFakeArchive(key, { codename: 'othersuite' });
    served.set('dists/fakesuite/InRelease', elsewhere.files.get('dists/fakesuite/InRelease')!);
    expect((await refusal(openDebianArchive(config), 'ARCHIVE_INDEX')).message).toMatch(/othersuite/);

    // The clock matters too: a valid archive opened a week later is expired.
    served.set('dists/fakesuite/InRelease', pristine.files.get('dists/fakesuite/InRelease')!);
    await refusal(openDebianArchive(config, { now: () => Date.now() + 7 * 86_400_000 }), 'ARCHIVE_SIGNATURE');
  });

  it('downloads .debs into the content-addressed cache, refusing wrong bytes and retrying cut connections', async () => {
    const archive = await openDebianArchive(config);
    const hello = archive.findBinary('hello', undefined, '1.0-1')!;
    const tool = archive.findBinary('tool', undefined, '2.0-1')!;

    const wrong = Buffer.from(pristine.debs.hello);
    wrong[0] = 0x21;
    served.set(hello.filename, wrong);
    const err = await refusal(archive.downloadDebs([hello]), 'ARCHIVE_DIGEST');
    expect(err.message).toContain(`${mirrorUrl}/${hello.filename}`);
    expect(err.message).toContain('hello_1.0-1_amd64.deb');
    expect(await readdir(join(cacheDir, 'debs'))).toEqual([]);

    served.set(hello.filename, pristine.debs.hello);
    cutOnce.add(hello.filename);
    const progress: { completed: number; total: number; name: string; cached: boolean }[] = [];
    const paths = await archive.downloadDebs([hello, tool, hello], {
      onProgress: (p) =>
        progress.push({ completed: p.completed, total: p.total, name: p.package.name, cached: p.cached }),
    });
    expect(progress.map((p) => p.completed)).toEqual([1, 2]);
    expect(progress.map((p) => p.name).sort()).toEqual(['hello', 'tool']);
    expect(progress.every((p) => p.total === 2 && !p.cached)).toBe(true);
    expect([...paths.keys()].sort()).toEqual([hello.sha256, tool.sha256].sort());
    const helloPath = paths.get(hello.sha256)!;
    expect(helloPath).toBe(join(cacheDir, 'debs', `${hello.sha256}.deb`));
    expect((await sha256File(helloPath)).sha256).toBe(hello.sha256);
    expect(requests.filter((r) => r === hello.filename)).toHaveLength(3);

    // Reused from the cache without asking the mirror, but only while the bytes still match.
    requests = [];
    await archive.downloadDebs([hello]);
    expect(requests).toEqual([]);
    await writeFile(helloPath, wrong);
    await archive.downloadDebs([hello]);
    expect(requests).toEqual([hello.filename]);
    expect((await sha256File(helloPath)).sha256).toBe(hello.sha256);

    served.delete(tool.filename);
    await rm(paths.get(tool.sha256)!);
    const gone = await refusal(archive.downloadDebs([tool]), 'ARCHIVE_UNREACHABLE');
    expect(gone.message).toContain(`404 from ${mirrorUrl}/${tool.filename}`);

    await refusal(
      archive.downloadDebs([{ ...hello, sha256: 'f'.repeat(64) as typeof hello.sha256 }]),
      'ARCHIVE_INDEX',
    );
  });

  it('fetches a verified source package, and reports a missing version or file as unavailable', async () => {
    const archive = await openDebianArchive(config);
    expect(requests.some((r) => r.includes('Sources'))).toBe(false);
    const dest = join(cacheDir, 'src');
    const fetched = await archive.fetchSource('hello', '1.0-1', dest);
    expect(fetched.kind).toBe('fetched');
    if (fetched.kind !== 'fetched') return;
    expect(fetched.dscPath).toBe(join(dest, 'hello_1.0-1.dsc'));
    expect(fetched.files.map((f) => f.name)).toEqual(['hello_1.0-1.dsc', 'hello_1.0.orig.tar.gz']);
    for (const file of fetched.files) expect((await sha256File(file.path)).sha256).toBe(file.sha256);

    expect(await archive.fetchSource('hello', '0.9-1', dest)).toEqual({
      kind: 'unavailable',
      missing: 'hello 0.9-1 is not in the signed Sources index of fakesuite',
    });
    expect(await archive.fetchSource('gone', '1.0-1', dest)).toEqual({
      kind: 'unavailable',
      missing: `gone_1.0-1.dsc (404 from ${mirrorUrl}/pool/main/g/gone/gone_1.0-1.dsc)`,
    });

    served.set('pool/main/h/hello/hello_1.0.orig.tar.gz', Buffer.from('tampered'));
    await rm(join(dest, 'hello_1.0.orig.tar.gz'));
    await refusal(archive.fetchSource('hello', '1.0-1', dest), 'ARCHIVE_DIGEST');
    await expect(stat(join(dest, 'hello_1.0.orig.tar.gz'))).rejects.toThrow();
  });

  it('reuses the verified InRelease and indexes from the cache within indexMaxAgeSeconds', async () => {
    await openDebianArchive(config);
    expect(requests).toEqual(['dists/fakesuite/InRelease', 'dists/fakesuite/main/binary-amd64/Packages.xz']);
    requests = [];
    const again = await openDebianArchive(config);
    expect(requests).toEqual([]);
    expect(again.findBinary('hello', undefined, '1.0-1')).toBeDefined();
    // Past the age the InRelease is asked for again; an unchanged Packages.xz digest is not downloaded again.
    requests = [];
    await openDebianArchive({ ...config, indexMaxAgeSeconds: 0 });
    expect(requests).toEqual(['dists/fakesuite/InRelease']);
  });

  it('writes a local repository offering exactly the verified .debs', async () => {
    const archive = await openDebianArchive(config);
    const hello = archive.findBinary('hello', undefined, '1.0-1')!;
    const tool = archive.findBinary('tool', undefined, '2.0-1')!;
    const paths = await archive.downloadDebs([tool, hello]);
    const repo = await writeLocalRepository([tool, hello], paths, join(cacheDir, 'repo'));
    expect(repo.sourcesListLine).toBe(`deb [trusted=yes] copy://${join(cacheDir, 'repo')} ./`);
    const text = await readFile(repo.packagesPath, 'utf8');
    expect(text).toBe(
      `${hello.stanza.replace(`Filename: ${hello.filename}`, `Filename: ./${hello.sha256}.deb`)}\n\n` +
        `${tool.stanza.replace(`Filename: ${tool.filename}`, `Filename: ./${tool.sha256}.deb`)}\n`,
    );
    expect((await readdir(repo.directory)).sort()).toEqual(
      ['Packages', `${hello.sha256}.deb`, `${tool.sha256}.deb`].sort(),
    );
    expect((await sha256File(join(repo.directory, `${hello.sha256}.deb`))).sha256).toBe(hello.sha256);
    await refusal(writeLocalRepository([hello], new Map(), join(cacheDir, 'repo2')), 'ARCHIVE_INDEX');
  });
});

describe('Debian archive client against deb.debian.org bookworm', () => {
  let cacheDir: string;

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'rbnet-bookworm-test-'));
  });

  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('opens bookworm, resolves hello, downloads its .deb, fetches its source and serves it to apt', async () => {
    let requestCount = 0;
    const countingFetch: typeof fetch = (input, init) => {
      requestCount += 1;
      return fetch(input, init);
    };
    const config: DebianArchiveConfig = {
      mirrorUrl: 'http://deb.debian.org/debian',
      suites: ['bookworm'],
      keyringPath: '/usr/share/keyrings/debian-archive-keyring.gpg',
      cacheDir,
      architecture: 'amd64',
    };
    const archive = await openDebianArchive(config, { fetch: countingFetch });
    expect(archive.packageCount).toBeGreaterThan(50_000);
    expect(archive.suites[0]?.release.codename).toBe('bookworm');
    const newest = archive.newestBinary('hello')!;
    const hello = archive.findBinary('hello', 'amd64', newest.version)!;
    expect(hello).toEqual(newest);
    expect(hello.filename).toMatch(/^pool\/main\/h\/hello\/hello_.*_amd64\.deb$/);

    const resolution = resolveEnvironmentPackages(
      archive,
      [{ name: 'hello', version: hello.version }],
      ['fakeroot'],
    );
    expect(resolution.kind).toBe('resolved');
    if (resolution.kind !== 'resolved') return;
    expect(resolution.packages).toEqual([hello]);
    expect(resolution.extras.map((p) => p.name)).toEqual(['fakeroot']);

    const paths = await archive.downloadDebs([hello]);
    const debPath = paths.get(hello.sha256)!;
    expect(await sha256File(debPath)).toEqual({ sha256: hello.sha256, sizeBytes: hello.size });

    // The source version the archive holds today (derived, never assumed).
    const sourceVersion = /\((.+)\)/.exec(hello.source ?? '')?.[1] ?? hello.version;
    const dscName = `hello_${sourceVersion.replace(/^\d+:/, '')}.dsc`;
    const fetched = await archive.fetchSource('hello', sourceVersion, join(cacheDir, 'source'));
    expect(fetched.kind).toBe('fetched');
    if (fetched.kind !== 'fetched') return;
    expect(fetched.dscPath).toBe(join(cacheDir, 'source', dscName));
    const names = fetched.files.map((f) => f.name);
    expect(names).toContain(dscName);
    expect(names.filter((name) => name.endsWith('.dsc'))).toHaveLength(1);
    expect(names.some((name) => /^hello_[^_]+\.orig\.tar\.[a-z0-9]+$/.test(name))).toBe(true);
    for (const file of fetched.files) {
      expect(await sha256File(file.path)).toEqual({ sha256: file.sha256, sizeBytes: file.size });
    }
    expect(await readFile(fetched.dscPath, 'utf8')).toContain('Source: hello');

    // apt itself accepts the local repository and verifies the .deb against the stanza we wrote.
    const repo = await writeLocalRepository([hello], paths, join(cacheDir, 'repo'));
    const root = join(cacheDir, 'apt-root');
    for (const dir of [
      'etc/apt/apt.conf.d',
      'etc/apt/preferences.d',
      'var/lib/apt/lists/partial',
      'var/lib/dpkg',
      'download',
    ]) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await writeFile(join(root, 'var/lib/dpkg/status'), '');
    await writeFile(join(root, 'etc/apt/sources.list'), `${repo.sourcesListLine}\n`);
    const aptOptions = [
      '-o',
      `Dir=${root}`,
      '-o',
      `Dir::State::status=${root}/var/lib/dpkg/status`,
      '-o',
      'Debug::NoLocking=1',
      '-o',
      'APT::Architecture=amd64',
    ];
    const update = spawnSync('apt-get', ['-q', ...aptOptions, 'update'], { encoding: 'utf8' });
    expect(update.status, update.stderr).toBe(0);
    const download = spawnSync('apt-get', ['-q', ...aptOptions, 'download', `hello=${hello.version}`], {
      encoding: 'utf8',
      cwd: join(root, 'download'),
    });
    expect(download.status, download.stderr).toBe(0);
    const [downloaded] = await readdir(join(root, 'download'));
    expect((await sha256File(join(root, 'download', downloaded!))).sha256).toBe(hello.sha256);

    // A second open within indexMaxAgeSeconds asks the network nothing.
    requestCount = 0;
    const again = await openDebianArchive(config, { fetch: countingFetch });
    expect(requestCount).toBe(0);
    expect(again.findBinary('hello', undefined, hello.version)?.sha256).toBe(hello.sha256);
  });
});
