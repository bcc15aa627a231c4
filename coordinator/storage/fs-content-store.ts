// Filesystem content store: blobs at <root>/sha256/<aa>/<hex>, written through <root>/tmp/ and checked before they appear.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isSha256Hex, type Sha256Hex } from '../../services/digest.ts';
import {
  type ContentStore,
  ContentStoreError,
  type ExpectedBlob,
  type PutResult,
  type QuarantinedBlob,
} from '../../services/storage/content-store.ts';

/** Blobs are immutable once checked: no writer should ever modify one in place. */
const BLOB_MODE = 0o444;

/**
 * A {@link ContentStore} on a local directory.
 *
 * Layout: `<root>/sha256/<first two hex>/<64 hex>` for blobs, `<root>/tmp/` for writes in progress.
 * `tmp/` must be on the same filesystem as `sha256/` so publishing a blob is an atomic link.
 * A blob is published only after its digest and size were checked and its bytes fsynced, so a crash
 * leaves at most a stray temp file (see {@link FsContentStore.sweepTemp}), never a wrong blob.
 */
export class FsContentStore implements ContentStore {
  readonly #root: string;
  readonly #tmpDir: string;
  readonly #blobDir: string;
  #ready: Promise<void> | undefined;

  /** @param rootDir directory the store owns; created on first use. */
  constructor(rootDir: string) {
    this.#root = rootDir;
    this.#tmpDir = join(rootDir, 'tmp');
    this.#blobDir = join(rootDir, 'sha256');
  }

  /** The directory the store owns. */
  get rootDir(): string {
    return this.#root;
  }

  /** @inheritdoc */
  async put(source: AsyncIterable<Uint8Array> | Readable, expected: ExpectedBlob): Promise<PutResult> {
    const sha256 = checkDigest(expected?.sha256, 'expected.sha256');
    const maxBytes = expected.maxBytes;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new ContentStoreError('INVALID', 'expected.maxBytes: expected a non-negative safe integer');
    }
    await this.#ensureDirs();
    const finalPath = this.#blobPath(sha256);
    // Already stored: still read and check the stream, so a caller relying on put() to vet an upload
    // (a worker's claimed log digest, say) learns of a mismatch, but spend no disk on a copy.
    if (await this.#exists(finalPath, sha256)) {
      const sizeBytes = await consumeChecked(source, sha256, maxBytes, undefined);
      return Object.freeze({ sha256, sizeBytes, created: false });
    }
    const tmpPath = join(this.#tmpDir, `${randomBytes(16).toString('hex')}.part`);
    let sizeBytes: number;
    try {
      const handle = await open(tmpPath, 'wx', BLOB_MODE);
      try {
        sizeBytes = await consumeChecked(source, sha256, maxBytes, (chunk) => writeAll(handle, chunk));
        // Durable before visible: a published digest must never point at a torn file after a crash.
        await handle.sync();
      } finally {
        await handle.close();
      }
      const created = await this.#publish(tmpPath, finalPath, sha256);
      return Object.freeze({ sha256, sizeBytes, created });
    } catch (err) {
      await unlink(tmpPath).catch(() => undefined);
      if (err instanceof ContentStoreError) throw err;
      throw new ContentStoreError('IO', `storing blob ${sha256}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** @inheritdoc */
  async has(sha256: Sha256Hex): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  /** @inheritdoc */
  async stat(sha256: Sha256Hex): Promise<{ readonly sizeBytes: number } | undefined> {
    const path = this.#blobPath(checkDigest(sha256, 'sha256'));
    try {
      const info = await stat(path);
      return Object.freeze({ sizeBytes: info.size });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new ContentStoreError('IO', `stat of blob ${sha256}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** @inheritdoc */
  async open(sha256: Sha256Hex): Promise<Readable | undefined> {
    const path = this.#blobPath(checkDigest(sha256, 'sha256'));
    // Open first, then stream from the handle: no window between an existence check and the read.
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new ContentStoreError('IO', `opening blob ${sha256}: ${(err as Error).message}`, { cause: err });
    }
    return handle.createReadStream({ autoClose: true });
  }

  /**
   * Renames the blob into `tmp/` (atomic on one filesystem), where no reader finds it; `restore`
   * links it back (refusing to replace a blob uploaded again meanwhile), `discard` unlinks it.
   * A crash in between leaves a temp file that {@link FsContentStore.sweepTemp} removes.
   */
  async quarantine(sha256: Sha256Hex): Promise<QuarantinedBlob | undefined> {
    const finalPath = this.#blobPath(checkDigest(sha256, 'sha256'));
    await this.#ensureDirs();
    const heldPath = join(this.#tmpDir, `gc-${sha256}-${randomBytes(8).toString('hex')}`);
    let sizeBytes: number;
    try {
      sizeBytes = (await stat(finalPath)).size;
      await rename(finalPath, heldPath);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new ContentStoreError('IO', `quarantining blob ${sha256}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // sweepTemp judges age by mtime: the held file's clock starts now, not when it was uploaded.
    const now = new Date();
    await utimes(heldPath, now, now).catch(() => undefined);
    return Object.freeze({
      sizeBytes,
      discard: async () => {
        await unlink(heldPath).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      },
      restore: async () => {
        await this.#publish(heldPath, finalPath, sha256).catch(async (err: unknown) => {
          await unlink(heldPath).catch(() => undefined);
          throw new ContentStoreError('IO', `restoring blob ${sha256}: ${(err as Error).message}`, {
            cause: err,
          });
        });
      },
    });
  }

  /**
   * Removes temp files older than `olderThanMs` (default one hour) that a crashed writer left behind.
   * Safe to run beside live writers as long as no write takes longer than `olderThanMs`.
   * @returns how many files were removed.
   */
  async sweepTemp(now: Date = new Date(), olderThanMs = 3_600_000): Promise<number> {
    await this.#ensureDirs();
    let removed = 0;
    for (const name of await readdir(this.#tmpDir)) {
      const path = join(this.#tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || now.getTime() - info.mtimeMs < olderThanMs) continue;
      await unlink(path).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }

  async #exists(path: string, sha256: Sha256Hex): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new ContentStoreError('IO', `stat of blob ${sha256}: ${(err as Error).message}`, { cause: err });
    }
  }

  #blobPath(sha256: Sha256Hex): string {
    return join(this.#blobDir, sha256.slice(0, 2), sha256);
  }

  #ensureDirs(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(this.#tmpDir, { recursive: true }),
      mkdir(this.#blobDir, { recursive: true }),
    ]).then(
      () => undefined,
      (err: unknown) => {
        this.#ready = undefined;
        throw new ContentStoreError(
          'IO',
          `creating store directories under ${this.#root}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      },
    );
    return this.#ready;
  }

  /**
   * Makes the checked temp file visible under its digest. link() refuses to replace an existing
   * file, so two writers of the same blob race safely and exactly one of them reports `created`.
   */
  async #publish(tmpPath: string, finalPath: string, sha256: Sha256Hex): Promise<boolean> {
    const shardDir = join(this.#blobDir, sha256.slice(0, 2));
    await mkdir(shardDir, { recursive: true });
    let created = true;
    try {
      await link(tmpPath, finalPath);
      await unlink(tmpPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        created = false;
        await unlink(tmpPath);
      } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
        // Filesystems without hard links: rename is still atomic; replacing identical bytes is harmless.
        await rename(tmpPath, finalPath);
      } else {
        throw err;
      }
    }
    if (created) await syncDir(shardDir);
    return created;
  }
}

/**
 * Reads `source` to its end, hashing and counting, handing each chunk to `write` (if given) before
 * pulling the next, so at most one chunk is held at a time. Throws before writing a chunk that would
 * pass `maxBytes`; breaking out of the loop destroys a Readable source, so the rest is never read.
 */
async function consumeChecked(
  source: AsyncIterable<Uint8Array>,
  sha256: Sha256Hex,
  maxBytes: number,
  write: ((chunk: Uint8Array) => Promise<void>) | undefined,
): Promise<number> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) {
        throw new ContentStoreError('INVALID', 'source: every chunk must be a Uint8Array (a binary stream)');
      }
      sizeBytes += chunk.byteLength;
      if (sizeBytes > maxBytes) {
        throw new ContentStoreError('TOO_LARGE', `blob ${sha256}: more than the limit of ${maxBytes} bytes`);
      }
      hash.update(chunk);
      if (write !== undefined) await write(chunk);
    }
  } catch (err) {
    if (err instanceof ContentStoreError) throw err;
    throw new ContentStoreError(
      'IO',
      `blob ${sha256}: reading the source failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) {
    throw new ContentStoreError(
      'DIGEST_MISMATCH',
      `blob: expected sha256 ${sha256}, the ${sizeBytes} bytes received hash to ${actual}`,
    );
  }
  return sizeBytes;
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkDigest(value: unknown, field: string): Sha256Hex {
  if (!isSha256Hex(value))
    throw new ContentStoreError('INVALID', `${field}: expected 64 lowercase hex characters`);
  return value;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
