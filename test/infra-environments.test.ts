// The worker-built environments (infra/build-env-busybox.sh): two builds give bit-identical tarballs
// equal to the digest pinned in infra/environments/busybox.lock, the rootfs is what builds expect, and
// importing the tarball into our engine gives one layer whose diff ID is the tarball's sha256.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..');
const SOCKET = '/run/rbnet/docker.sock';
const ARCH = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
// A repository of its own: the test never retags the rbnet-env:<sha256> images workers use.
const TEST_REPO = 'rbnet-env-infra-test';

async function bash(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('bash', args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 110_000,
  });
  return stdout;
}

function lastLine(stdout: string): string {
  const lines = stdout.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function readLock(): Promise<Record<string, string>> {
  const text = await readFile(join(REPO, 'infra', 'environments', 'busybox.lock'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_a-z]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

interface Entry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  uname: string;
  gname: string;
}

async function listTar(path: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    entries.push({
      name: h.name,
      type: h.type ?? 'file',
      mode: h.mode ?? 0,
      uid: h.uid ?? -1,
      gid: h.gid ?? -1,
      mtime: h.mtime ? h.mtime.getTime() / 1000 : -1,
      linkname: h.linkname ?? null,
      uname: h.uname ?? '',
      gname: h.gname ?? '',
    });
    stream.on('end', next);
    stream.resume();
  });
  await pipeline(createReadStream(path), extract);
  return entries;
}

describe('busybox environment (infra/build-env-busybox.sh)', () => {
  const dirs: string[] = [];
  let lock: Record<string, string>;
  let first: { sha: string; dir: string };

  beforeAll(async () => {
    lock = await readLock();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function build(extra: string[]): Promise<{ sha: string; dir: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'rbnet-env-test-'));
    dirs.push(dir);
    const stdout = await bash(['infra/build-env-busybox.sh', '--no-import', '--state-dir', dir, ...extra]);
    return { sha: lastLine(stdout), dir };
  }

  it('builds bit-identical tarballs twice, equal to the lock and named by their sha256', async () => {
    // One build downloads the pinned .deb afresh, the other may reuse apt's verified cached copy.
    first = await build(['--no-cache']);
    const second = await build([]);
    expect(first.sha).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha).toBe(first.sha);
    const tarA = join(first.dir, 'environments', `${first.sha}.tar`);
    const tarB = join(second.dir, 'environments', `${second.sha}.tar`);
    expect(await sha256File(tarA)).toBe(first.sha);
    expect((await readFile(tarA)).equals(await readFile(tarB))).toBe(true);
    expect(first.sha).toBe(lock[`ENV_TAR_SHA256_${ARCH}`]);
  });

  it('registers the environment with its origin, recipe, keyring and pinned package', async () => {
    const entry = JSON.parse(
      await readFile(join(first.dir, 'environments', `${first.sha}.json`), 'utf8'),
    ) as Record<string, unknown>;
    expect(entry).toMatchObject({
      sha256: first.sha,
      origin: 'built-locally',
      recipe: 'busybox-static',
      recipeVersion: 1,
      imageTag: null,
      tarball: join(first.dir, 'environments', `${first.sha}.tar`),
      keyring: { path: '/usr/share/keyrings/debian-archive-keyring.gpg' },
      packages: [
        {
          name: 'busybox-static',
          version: lock[`BUSYBOX_STATIC_VERSION_${ARCH}`],
          debSha256: lock[`BUSYBOX_STATIC_DEB_SHA256_${ARCH}`],
        },
      ],
    });
    expect((entry.keyring as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isNaN(Date.parse(entry.builtAt as string))).toBe(false);
  });

  it('holds a rootfs builds can use: applets, builder user, /build 1000:1000, /tmp 1777, no names or times', async () => {
    const entries = await listTar(join(first.dir, 'environments', `${first.sha}.tar`));
    const byName = new Map(entries.map((e) => [e.name.replace(/^\.\//, '').replace(/\/$/, ''), e]));
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const e of entries) {
      expect(e.mtime).toBe(Number(lock.SOURCE_DATE_EPOCH ?? 0));
      expect(e.uname).toBe('');
      expect(e.gname).toBe('');
    }
    expect(byName.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    for (const applet of [
      'sh',
      'ls',
      'cat',
      'cp',
      'mkdir',
      'dd',
      'sha256sum',
      'head',
      'tr',
      'date',
      'sleep',
    ]) {
      expect(byName.get(`bin/${applet}`), applet).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    }
    expect(byName.get('build')).toMatchObject({ type: 'directory', mode: 0o755, uid: 1000, gid: 1000 });
    expect(byName.get('tmp')).toMatchObject({ type: 'directory', mode: 0o1777, uid: 0, gid: 0 });
    for (const d of ['dev', 'proc', 'sys']) {
      expect(byName.get(d)).toMatchObject({ type: 'directory', uid: 0, gid: 0 });
    }
    const passwd = await run('tar', [
      '-xOf',
      join(first.dir, 'environments', `${first.sha}.tar`),
      './etc/passwd',
    ]);
    expect(passwd.stdout).toContain('root:x:0:0:');
    expect(passwd.stdout).toContain('builder:x:1000:1000:builder:/build:/bin/sh');
  });

  describe('imported into our engine', () => {
    const docker = new Docker({ socketPath: SOCKET });
    let importDir: string;

    beforeAll(async () => {
      await bash(['infra/start-dockerd.sh']);
      importDir = await mkdtemp(join(tmpdir(), 'rbnet-env-test-'));
      dirs.push(importDir);
      // Drop a leftover tag from an earlier run so the import really happens.
      await removeTestImage(docker, lock[`ENV_TAR_SHA256_${ARCH}`] ?? '');
    });
    afterAll(async () => {
      await removeTestImage(docker, lock[`ENV_TAR_SHA256_${ARCH}`] ?? '');
    });

    it('has exactly one layer whose diff ID is the tarball sha256, and runs as builder', async () => {
      const stdout = await bash([
        'infra/build-env-busybox.sh',
        '--state-dir',
        importDir,
        '--image-repo',
        TEST_REPO,
      ]);
      const sha = lastLine(stdout);
      expect(sha).toBe(lock[`ENV_TAR_SHA256_${ARCH}`]);
      const image = await docker.getImage(`${TEST_REPO}:${sha}`).inspect();
      expect(image.RootFS.Layers).toEqual([`sha256:${sha}`]);
      const entry = JSON.parse(await readFile(join(importDir, 'environments', `${sha}.json`), 'utf8'));
      expect(entry.imageTag).toBe(`${TEST_REPO}:${sha}`);

      // The rootfs works in the hardened engine: no network, builder user, size-limited layer.
      const container = await docker.createContainer({
        Image: image.Id,
        Cmd: [
          '/bin/sh',
          '-c',
          'test "$(id -u):$(id -g)" = 1000:1000 && cd /build && echo ok > f && test -w /tmp',
        ],
        User: '1000:1000',
        NetworkDisabled: true,
        HostConfig: {
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          StorageOpt: { size: '64M' },
          PidsLimit: 32,
          Memory: 64 * 1024 * 1024,
        },
      });
      try {
        await container.start();
        const result = (await container.wait()) as { StatusCode: number };
        expect(result.StatusCode).toBe(0);
      } finally {
        await container.remove({ force: true });
      }
    });
  });

  it('every infra script answers --help', async () => {
    for (const script of [
      'install-deps.sh',
      'start-dockerd.sh',
      'stop-dockerd.sh',
      'start-redis.sh',
      'stop-redis.sh',
      'build-env-busybox.sh',
      'build-env-debian.sh',
      'build-env-inspect.sh',
    ]) {
      const out = await bash([`infra/${script}`, '--help']);
      expect(out, script).toMatch(/^Usage: infra\//);
    }
  });
});

async function removeTestImage(docker: Docker, sha: string): Promise<void> {
  try {
    await docker.getImage(`${TEST_REPO}:${sha}`).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}
