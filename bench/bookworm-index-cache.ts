// Debian's real bookworm main amd64 indexes for the archive-sync benches: InRelease, Packages.xz and
// Sources.xz fetched once from deb.debian.org into a cache directory, re-used while their size and
// sha256 match what the cached InRelease (verified with Debian's keyring) lists, and served verbatim
// from 127.0.0.1 (by path and by hash, as apt asks for them).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyClearsignedWithGpgv } from '../services/debian/gpgv-verify.ts';
import { parseRelease, type ReleaseIndex } from '../services/debian/release-index.ts';
import { sha256Hex } from '../services/digest.ts';
import type { SignedArchiveServer } from '../test/support/signed-archive-server.ts';

const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const BOOKWORM_INDEXES = ['main/binary-amd64/Packages.xz', 'main/source/Sources.xz'] as const;
const CACHE_DIR = process.env.RBNET_BENCH_CACHE ?? '/var/cache/rbnet-bench/bookworm';

export interface BookwormIndexes {
  readonly inRelease: Buffer;
  readonly release: ReleaseIndex;
  /** Path under dists/bookworm/ → the bytes, as Debian serves them. */
  readonly files: ReadonlyMap<string, Buffer>;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

async function verifiedRelease(inRelease: Buffer): Promise<ReleaseIndex> {
  const verified = await verifyClearsignedWithGpgv({
    signedBytes: inRelease,
    keyringPath: DEBIAN_KEYRING,
    timeoutMs: 30_000,
  });
  return parseRelease(verified.plaintext.toString('utf8'));
}

function matches(release: ReleaseIndex, path: string, bytes: Buffer | undefined): bytes is Buffer {
  const listed = release.sha256.get(path);
  return bytes !== undefined && listed?.size === bytes.byteLength && listed.sha256 === sha256Hex(bytes);
}

/** The cached indexes, fetched again (InRelease first) when missing or not what InRelease lists. */
export async function bookwormIndexes(): Promise<BookwormIndexes> {
  await mkdir(CACHE_DIR, { recursive: true });
  const cached = async (name: string): Promise<Buffer | undefined> =>
    readFile(join(CACHE_DIR, name.replaceAll('/', '_'))).catch(() => undefined);
  let inRelease = await cached('InRelease');
  let release = inRelease && (await verifiedRelease(inRelease).catch(() => undefined));
  const files = new Map<string, Buffer>();
  for (const path of BOOKWORM_INDEXES) {
    const bytes = await cached(path);
    if (release && matches(release, path, bytes)) files.set(path, bytes);
  }
  if (!inRelease || !release || files.size !== BOOKWORM_INDEXES.length) {
    const fresh = await download(`${DEBIAN_MIRROR}/dists/bookworm/InRelease`);
    release = await verifiedRelease(fresh);
    await writeFile(join(CACHE_DIR, 'InRelease'), fresh);
    inRelease = fresh;
    files.clear();
    for (const path of BOOKWORM_INDEXES) {
      const bytes = await download(`${DEBIAN_MIRROR}/dists/bookworm/${path}`);
      if (!matches(release, path, bytes)) throw new Error(`${path}: not what the InRelease lists`);
      await writeFile(join(CACHE_DIR, path.replaceAll('/', '_')), bytes);
      files.set(path, bytes);
    }
  }
  return { inRelease, release, files };
}

/** Serves `indexes` from `server` under /debian/dists/bookworm/, by path and by SHA256 hash. */
export function serveBookworm(server: SignedArchiveServer, indexes: BookwormIndexes): void {
  server.files.set('/debian/dists/bookworm/InRelease', indexes.inRelease);
  for (const [path, bytes] of indexes.files) {
    server.files.set(`/debian/dists/bookworm/${path}`, bytes);
    const dir = path.slice(0, path.lastIndexOf('/'));
    server.files.set(`/debian/dists/bookworm/${dir}/by-hash/SHA256/${sha256Hex(bytes)}`, bytes);
  }
}
