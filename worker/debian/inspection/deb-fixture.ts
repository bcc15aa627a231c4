// Test helper: builds .deb files from scratch (ar writer, tar-stream pack, gzip/xz/zstd) and rewrites
// real ones, so inspection tests can craft exactly the difference or the hostility they need.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Compression } from '../../../services/debian/deb-inspection/deb-listing.ts';
import { bufferByteSource, readArIndex } from './ar-archive.ts';

export interface FixtureEntry {
  /** Name as written into the tar, e.g. "./usr/bin/hello". */
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  readonly content?: Buffer | string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly uname?: string;
  readonly gname?: string;
  /** Seconds since the epoch. */
  readonly mtime?: number;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** The mtime fixtures use unless told otherwise (also the SOURCE_DATE_EPOCH of the tests). */
export const FIXTURE_EPOCH = 1_700_000_000;

/** A regular file entry with dpkg-deb's usual metadata (root:root, 0644, FIXTURE_EPOCH). */
export function fileEntry(
  name: string,
  content: Buffer | string,
  extra: Partial<FixtureEntry> = {},
): FixtureEntry {
  return { name, type: 'file', content, ...extra };
}

/** A directory entry (root:root, 0755). */
export function dirEntry(name: string, extra: Partial<FixtureEntry> = {}): FixtureEntry {
  return { name, type: 'directory', mode: 0o755, ...extra };
}

/** Packs entries into an uncompressed tar (ustar, pax where needed), in the order given. */
export async function packTar(entries: readonly FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        uname: e.uname ?? 'root',
        gname: e.gname ?? 'root',
        mtime: new Date((e.mtime ?? FIXTURE_EPOCH) * 1000),
        ...(content ? { size: content.length } : {}),
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      };
      if (content) pack.entry(header, content, done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  return collected;
}

export interface GzipHeaderOptions {
  /** MTIME field (default 0, as `gzip -n`). */
  readonly mtimeSeconds?: number;
  /** Sets FNAME and stores this name. */
  readonly name?: string;
}

/** gzip with a chosen header: node's gzip, then MTIME patched and FNAME inserted (the header has no CRC). */
export function gzipWithHeader(data: Buffer, options: GzipHeaderOptions = {}): Buffer {
  const gz = Buffer.from(gzipSync(data, { level: 9 }));
  gz.writeUInt32LE(options.mtimeSeconds ?? 0, 4);
  gz[9] = 3;
  if (options.name === undefined) return gz;
  gz[3] = gz[3]! | 0x08;
  return Buffer.concat([gz.subarray(0, 10), Buffer.from(`${options.name}\0`, 'latin1'), gz.subarray(10)]);
}

/** Compresses with the codec dpkg would use for that suffix (xz and zstd through their CLIs). */
export function compress(data: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return data;
    case 'gzip':
      return gzipWithHeader(data);
    case 'xz':
      return execFileSync('xz', ['--compress', '--stdout', '-6', '--threads=1'], {
        input: data,
        maxBuffer: 1 << 30,
      });
    case 'zstd':
      return execFileSync('zstd', ['--compress', '--stdout', '-q', '-3'], {
        input: data,
        maxBuffer: 1 << 30,
      });
    case 'bzip2':
      return execFileSync('bzip2', ['--compress', '--stdout', '-9'], { input: data, maxBuffer: 1 << 30 });
  }
}

/** Decompresses any codec dpkg uses (for rewriting real .debs). */
export function decompress(data: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return data;
    case 'gzip':
      return gunzipSync(data);
    case 'xz':
      return execFileSync('xz', ['--decompress', '--stdout'], { input: data, maxBuffer: 1 << 30 });
    case 'zstd':
      return execFileSync('zstd', ['--decompress', '--stdout', '-q'], { input: data, maxBuffer: 1 << 30 });
    case 'bzip2':
      return execFileSync('bzip2', ['--decompress', '--stdout'], { input: data, maxBuffer: 1 << 30 });
  }
}

const SUFFIX: Record<Compression, string> = { none: '', gzip: '.gz', xz: '.xz', zstd: '.zst', bzip2: '.bz2' };

/** Writes a Unix ar archive: magic, 60-byte headers (mtime 0, root, mode 100644), even padding. */
export function writeAr(members: readonly { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const m of members) {
    const header =
      m.name.padEnd(16) +
      '0'.padEnd(12) +
      '0'.padEnd(6) +
      '0'.padEnd(6) +
      '100644'.padEnd(8) +
      String(m.data.length).padEnd(10) +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

export interface DebSpec {
  /** Control entries besides md5sums (default: ./, ./control). */
  readonly control?: readonly FixtureEntry[];
  readonly data: readonly FixtureEntry[];
  readonly controlCompression?: Compression;
  readonly dataCompression?: Compression;
  readonly debianBinary?: string;
  /** Add ./md5sums computed from the data files (default true). */
  readonly md5sums?: boolean;
}

function md5sums(data: readonly FixtureEntry[]): string {
  return data
    .filter((e) => (e.type ?? 'file') === 'file')
    .map((e) => [
      e.name.replace(/^\.\//, ''),
      createHash('md5')
        .update(Buffer.from(e.content ?? ''))
        .digest('hex'),
    ])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([path, md5]) => `${md5}  ${path}\n`)
    .join('');
}

const DEFAULT_CONTROL =
  'Package: fixture\nVersion: 1.0\nArchitecture: amd64\nMaintainer: rbnet <t@example.org>\nDescription: test\n';

/** Builds a .deb: debian-binary, control.tar.<c> (with md5sums), data.tar.<c>. */
export async function buildDeb(spec: DebSpec): Promise<Buffer> {
  const controlCompression = spec.controlCompression ?? 'xz';
  const dataCompression = spec.dataCompression ?? 'xz';
  const control = [
    ...(spec.control ?? [dirEntry('./'), fileEntry('./control', DEFAULT_CONTROL)]),
    ...(spec.md5sums === false ? [] : [fileEntry('./md5sums', md5sums(spec.data))]),
  ];
  return writeAr([
    { name: 'debian-binary', data: Buffer.from(spec.debianBinary ?? '2.0\n', 'latin1') },
    {
      name: `control.tar${SUFFIX[controlCompression]}`,
      data: compress(await packTar(control), controlCompression),
    },
    { name: `data.tar${SUFFIX[dataCompression]}`, data: compress(await packTar(spec.data), dataCompression) },
  ]);
}

/** A small, harmless data tree with a binary, a doc and a gzipped changelog. */
export function sampleData(): FixtureEntry[] {
  return [
    dirEntry('./'),
    dirEntry('./usr/'),
    dirEntry('./usr/bin/'),
    fileEntry('./usr/bin/hello', '\x7fELF hello binary\n', { mode: 0o755 }),
    dirEntry('./usr/share/'),
    dirEntry('./usr/share/doc/'),
    dirEntry('./usr/share/doc/hello/'),
    fileEntry('./usr/share/doc/hello/README', 'Hello, world.\n'),
    fileEntry(
      './usr/share/doc/hello/changelog.Debian.gz',
      gzipWithHeader(Buffer.from('hello (1.0) unstable\n')),
    ),
    { name: './usr/bin/hi', type: 'symlink', linkname: 'hello', mode: 0o777 },
  ];
}

/** Reads every entry of an uncompressed tar into memory (content included). */
export async function unpackTar(bytes: Buffer): Promise<FixtureEntry[]> {
  const extract = tar.extract();
  const entries: FixtureEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const h = entry.header;
      entries.push({
        name: h.name,
        type: (h.type ?? 'file') as FixtureEntry['type'],
        content: Buffer.concat(chunks),
        mode: h.mode ?? 0o644,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
        ...(h.linkname ? { linkname: h.linkname } : {}),
      });
    }
  })();
  extract.end(bytes);
  await done;
  return entries;
}

/**
 * Rewrites a real .deb: debian-binary and control.tar* are kept byte for byte; data.tar* is unpacked,
 * passed through `transform`, repacked and recompressed with the same codec.
 */
export async function rewriteDebData(
  deb: Buffer,
  transform: (entries: FixtureEntry[]) => FixtureEntry[],
): Promise<Buffer> {
  const index = await readArIndex(bufferByteSource(deb));
  const members = index.map((m) => ({
    name: m.name,
    data: deb.subarray(m.dataOffset, m.dataOffset + m.sizeBytes),
  }));
  const data = members.find((m) => m.name.startsWith('data.tar'));
  if (!data) throw new Error('no data.tar member');
  const compression = (Object.entries(SUFFIX).find(([, s]) => s !== '' && data.name.endsWith(s))?.[0] ??
    'none') as Compression;
  const entries = transform(await unpackTar(decompress(Buffer.from(data.data), compression)));
  data.data = compress(await packTar(entries), compression);
  return writeAr(members);
}
