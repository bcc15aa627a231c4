// One index (Packages or Sources) of a verified Release, fetched and decompressed as a stream: the
// .xz, .gz or plain file the Release lists (in that order of preference), decompressed while it
// arrives (xz by the `xz` binary, gzip by zlib) with the byte cap applied to the decompressed size,
// and checked at the end against the size and sha256 the Release lists for what was fetched and for
// the plain index. The caller parses as the chunks come and stores nothing until the stream ended
// without a refusal.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ReleaseFileDigest, ReleaseIndex } from '../../services/debian/release-index.ts';
import { ArchiveError } from '../../services/errors.ts';
import { boundedStream } from './bounded-fetch.ts';

type Compression = 'xz' | 'gz' | 'plain';
const SUFFIX: Readonly<Record<Compression, string>> = { xz: '.xz', gz: '.gz', plain: '' };
const PREFERENCE: readonly Compression[] = ['xz', 'gz', 'plain'];
/** xz's own memory cap while decompressing: Debian's indexes use an 8 MiB dictionary. */
const XZ_MEMLIMIT = '128MiB';

/** The file of an index the Release lists, and the digest that names the index's content. */
export interface ListedIndex {
  /** e.g. `main/binary-amd64/Packages`. */
  readonly plain: string;
  /** What is fetched, e.g. `main/binary-amd64/Packages.xz`. */
  readonly path: string;
  readonly compression: Compression;
  readonly listed: ReleaseFileDigest;
  /** The plain index's entry, when the Release lists one (Debian's does, and does not serve it). */
  readonly listedPlain?: ReleaseFileDigest;
  /** The plain index's sha256 if listed, else the fetched file's: the same content, whichever is read. */
  readonly digest: string;
}

/** The variant of `plain` to read, or undefined when the Release lists none. */
export function listedIndex(release: ReleaseIndex, plain: string): ListedIndex | undefined {
  const listedPlain = release.sha256.get(plain);
  for (const compression of PREFERENCE) {
    const path = `${plain}${SUFFIX[compression]}`;
    const listed = release.sha256.get(path);
    if (listed)
      return Object.freeze({
        plain,
        path,
        compression,
        listed,
        ...(listedPlain && { listedPlain }),
        digest: (listedPlain ?? listed).sha256,
      });
  }
  return undefined;
}

/** Counts and hashes what passes through. */
async function* measured(
  source: AsyncIterable<Buffer>,
  tally: { bytes: number; hash: ReturnType<typeof createHash> },
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    tally.bytes += chunk.byteLength;
    tally.hash.update(chunk);
    yield chunk;
  }
}

/** Decompresses with the `xz` binary: a corrupt stream is refused with what xz said. */
async function* unxz(compressed: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  const child = spawn(
    'xz',
    ['--decompress', '--stdout', '--quiet', '--format=xz', `--memlimit=${XZ_MEMLIMIT}`],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 1000) stderr += text;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let feedError: unknown;
  const fed = pipeline(Readable.from(compressed), child.stdin).catch((err: unknown) => {
    feedError = err;
  });
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    await fed;
    if (feedError instanceof ArchiveError) throw feedError;
    const code = await exited;
    if (feedError !== undefined || code !== 0)
      throw new ArchiveError(
        'ARCHIVE_INDEX',
        `${what}: not a valid xz stream (${stderr.trim().replace(/^xz: \(stdin\): /, '') || `xz exited ${code}`})`,
      );
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await fed;
  }
}

async function* gunzip(compressed: AsyncIterable<Buffer>, what: string): AsyncGenerator<Buffer> {
  const gunzipper = createGunzip();
  let feedError: unknown;
  const fed = pipeline(Readable.from(compressed), gunzipper).catch((err: unknown) => {
    feedError = err;
  });
  try {
    for await (const chunk of gunzipper as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    await fed;
    if (feedError instanceof ArchiveError) throw feedError;
    throw new ArchiveError('ARCHIVE_INDEX', `${what}: not a valid gzip stream (${(err as Error).message})`);
  } finally {
    gunzipper.destroy();
  }
  await fed;
  if (feedError !== undefined) throw feedError;
}

/**
 * The plain bytes of `index`, as they arrive. @throws ArchiveError (from the iteration)
 * ARCHIVE_TOO_LARGE past `maxPlainBytes` decompressed or the listed size fetched, ARCHIVE_INDEX for a
 * corrupt stream or HTTP 404, ARCHIVE_DIGEST at the end when what was fetched or its plain content is
 * not what the Release lists, ARCHIVE_UNREACHABLE.
 */
export async function* indexChunks(
  url: string,
  index: ListedIndex,
  options: { readonly maxPlainBytes: number; readonly timeoutMs: number; readonly what: string },
): AsyncGenerator<Buffer> {
  const { what } = options;
  if (index.listed.size > options.maxPlainBytes)
    throw new ArchiveError(
      'ARCHIVE_TOO_LARGE',
      `${what}: ${index.listed.size} bytes, over the limit of ${options.maxPlainBytes}`,
    );
  const opened = await boundedStream(url, {
    maxBytes: index.listed.size,
    timeoutMs: options.timeoutMs,
    what,
  });
  if (opened.kind === 'not-found') throw new ArchiveError('ARCHIVE_INDEX', `${what}: HTTP ${opened.status}`);
  const fetched = { bytes: 0, hash: createHash('sha256') };
  const plain = { bytes: 0, hash: createHash('sha256') };
  const body = measured(opened.body, fetched);
  const decompressed =
    index.compression === 'xz' ? unxz(body, what) : index.compression === 'gz' ? gunzip(body, what) : body;
  for await (const chunk of decompressed) {
    if (plain.bytes + chunk.byteLength > options.maxPlainBytes)
      throw new ArchiveError(
        'ARCHIVE_TOO_LARGE',
        `${what}: decompressed, over the limit of ${options.maxPlainBytes} bytes`,
      );
    if (index.compression !== 'plain') {
      plain.bytes += chunk.byteLength;
      plain.hash.update(chunk);
    }
    yield chunk;
  }
  if (fetched.bytes !== index.listed.size || fetched.hash.digest('hex') !== index.listed.sha256)
    throw new ArchiveError('ARCHIVE_DIGEST', `${what}: not the size and sha256 the Release lists`);
  if (
    index.compression !== 'plain' &&
    index.listedPlain &&
    (plain.bytes !== index.listedPlain.size || plain.hash.digest('hex') !== index.listedPlain.sha256)
  )
    throw new ArchiveError(
      'ARCHIVE_DIGEST',
      `${what}: decompressed, not the size and sha256 the Release lists`,
    );
}
