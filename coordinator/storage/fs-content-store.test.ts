// Tests for FsContentStore against a real temp directory: digest checks, limits, atomic publication, streaming.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import { ContentStoreError } from '../../services/storage/content-store.ts';
import { FsContentStore } from './fs-content-store.ts';

const MiB = 1024 * 1024;

let root: string;
let store: FsContentStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-cas-'));
  store = new FsContentStore(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir`, recursively, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function* chunksOf(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

/**
 * A deterministic stream of `totalBytes` in `chunkBytes` pieces: one random-looking block with the
 * chunk number stamped in front. It reuses one buffer, so the generator itself holds one chunk and
 * any growth in memory comes from the code under test.
 */
async function* pattern(totalBytes: number, chunkBytes: number): AsyncIterable<Uint8Array> {
  const buffer = Buffer.alloc(chunkBytes);
  for (let i = 0; i < chunkBytes; i += 32) createHash('sha256').update(`block ${i}`).digest().copy(buffer, i);
  for (let sent = 0, n = 0; sent < totalBytes; sent += chunkBytes, n++) {
    buffer.writeUInt32BE(n, 0);
    yield buffer.subarray(0, Math.min(chunkBytes, totalBytes - sent));
  }
}

/**
 * The engine's collector, so memory samples show what is live rather than garbage not yet
 * collected. Vitest does not start Node with --expose-gc; this is the documented V8 flag route.
 */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function digestOf(
  source: AsyncIterable<Uint8Array>,
): Promise<{ sha256: Sha256Hex; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    sizeBytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex') as Sha256Hex, sizeBytes };
}

describe('FsContentStore', () => {
  it('stores a blob under sha256/<aa>/<hex> and reads it back', async () => {
    const sha256 = sha256Hex('hello, world\n');
    const result = await store.put(chunksOf('hello, ', 'world\n'), { sha256, maxBytes: 100 });
    expect(result).toEqual({ sha256, sizeBytes: 13, created: true });
    expect(Object.isFrozen(result)).toBe(true);
    expect(await filesUnder(join(root, 'sha256'))).toEqual([join(sha256.slice(0, 2), sha256)]);
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
    expect(await store.has(sha256)).toBe(true);
    expect(await store.stat(sha256)).toEqual({ sizeBytes: 13 });
    const stream = await store.open(sha256);
    expect(stream).toBeDefined();
    expect((await digestOf(stream!)).sha256).toBe(sha256);
    // Published blobs are read-only: nothing should rewrite content in place.
    const mode = (await stat(join(root, 'sha256', sha256.slice(0, 2), sha256))).mode & 0o777;
    expect(mode).toBe(0o444);
  });

  it('accepts a Node Readable and an empty blob', async () => {
    const sha256 = sha256Hex('');
    const result = await store.put(Readable.from([]), { sha256, maxBytes: 0 });
    expect(result).toEqual({ sha256, sizeBytes: 0, created: true });
    const text = Buffer.from('readable stream');
    const r2 = await store.put(Readable.from([text]), { sha256: sha256Hex(text), maxBytes: 1024 });
    expect(r2.created).toBe(true);
    expect(await readFile(join(root, 'sha256', r2.sha256.slice(0, 2), r2.sha256), 'utf8')).toBe(
      'readable stream',
    );
  });

  it('round-trips a 50 MiB stream without holding it in memory', async () => {
    const totalBytes = 50 * MiB;
    const chunkBytes = 64 * 1024;
    const expected = await digestOf(pattern(totalBytes, chunkBytes));
    const gc = exposeGc();
    gc();
    const baseline = process.memoryUsage();
    let peakHeap = 0;
    let peakBuffers = 0;
    let chunks = 0;
    async function* sampled(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
      for await (const chunk of source) {
        // Collect and sample every 2 MiB: live memory, not how lazily the collector runs.
        if (++chunks % 32 === 0) {
          gc();
          const now = process.memoryUsage();
          peakHeap = Math.max(peakHeap, now.heapUsed - baseline.heapUsed);
          peakBuffers = Math.max(peakBuffers, now.arrayBuffers - baseline.arrayBuffers);
        }
        yield chunk;
      }
    }
    const result = await store.put(sampled(pattern(totalBytes, chunkBytes)), {
      sha256: expected.sha256,
      maxBytes: totalBytes,
    });
    expect(result).toEqual({ ...expected, created: true });
    const stream = await store.open(expected.sha256);
    const readBack = await digestOf(sampled(stream!));
    expect(readBack).toEqual(expected);
    // A store that buffered the blob would grow by at least its 50 MiB; streaming stays far below.
    expect(chunks).toBe(2 * (totalBytes / chunkBytes));
    expect(peakHeap).toBeLessThan(8 * MiB);
    expect(peakBuffers).toBeLessThan(8 * MiB);
  });

  it('refuses bytes whose digest differs and leaves nothing behind', async () => {
    const claimed = sha256Hex('what the worker said');
    const error = await store
      .put(chunksOf('what the worker ', 'sent'), { sha256: claimed, maxBytes: 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentStoreError);
    expect((error as ContentStoreError).code).toBe('DIGEST_MISMATCH');
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
    expect(await filesUnder(join(root, 'sha256'))).toEqual([]);
    expect(await store.has(claimed)).toBe(false);
  });

  it('refuses a stream past maxBytes, stops reading it, and stores nothing', async () => {
    const body = 'x'.repeat(1000);
    let pulled = 0;
    async function* counting(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield Buffer.from(body.slice(i * 100, i * 100 + 100));
      }
    }
    const error = await store
      .put(counting(), { sha256: sha256Hex(body), maxBytes: 250 })
      .catch((e: unknown) => e);
    expect((error as ContentStoreError).code).toBe('TOO_LARGE');
    expect(pulled).toBe(3);
    expect(await filesUnder(root)).toEqual([]);
    // Exactly maxBytes is allowed.
    const ok = await store.put(chunksOf(body), { sha256: sha256Hex(body), maxBytes: 1000 });
    expect(ok.sizeBytes).toBe(1000);
  });

  it('cleans up the temp file when the source stream fails', async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    const error = await store
      .put(broken(), { sha256: sha256Hex('partial'), maxBytes: 100 })
      .catch((e: unknown) => e);
    expect((error as ContentStoreError).code).toBe('IO');
    expect((error as ContentStoreError).cause).toBeInstanceOf(Error);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('refuses non-binary chunks, malformed digests and limits', async () => {
    const notBinary = (async function* () {
      yield 'text' as unknown as Uint8Array;
    })();
    await expect(store.put(notBinary, { sha256: sha256Hex('text'), maxBytes: 10 })).rejects.toMatchObject({
      code: 'INVALID',
    });
    await expect(
      store.put(chunksOf('a'), { sha256: 'ABC' as Sha256Hex, maxBytes: 10 }),
    ).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringContaining('expected.sha256'),
    });
    await expect(store.put(chunksOf('a'), { sha256: sha256Hex('a'), maxBytes: -1 })).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringContaining('expected.maxBytes'),
    });
    await expect(store.open('../../etc/passwd' as Sha256Hex)).rejects.toMatchObject({ code: 'INVALID' });
    await expect(store.has('0'.repeat(63) as Sha256Hex)).rejects.toMatchObject({ code: 'INVALID' });
    expect(await filesUnder(root)).toEqual([]);
  });

  it('is idempotent: a second put of the same bytes reports created: false', async () => {
    const sha256 = sha256Hex('same bytes');
    expect((await store.put(chunksOf('same bytes'), { sha256, maxBytes: 100 })).created).toBe(true);
    expect(await store.put(chunksOf('same ', 'bytes'), { sha256, maxBytes: 100 })).toEqual({
      sha256,
      sizeBytes: 10,
      created: false,
    });
    // The second upload is still checked even though nothing new is written.
    await expect(store.put(chunksOf('other bytes'), { sha256, maxBytes: 100 })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
    expect(await filesUnder(join(root, 'sha256'))).toHaveLength(1);
  });

  it('lets concurrent puts of the same blob both succeed, one of them creating it', async () => {
    const totalBytes = 2 * MiB;
    const { sha256 } = await digestOf(pattern(totalBytes, 4096));
    const results = await Promise.all(
      Array.from({ length: 4 }, () => store.put(pattern(totalBytes, 4096), { sha256, maxBytes: totalBytes })),
    );
    expect(results.every((r) => r.sha256 === sha256 && r.sizeBytes === totalBytes)).toBe(true);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await filesUnder(join(root, 'tmp'))).toEqual([]);
    expect((await digestOf((await store.open(sha256))!)).sha256).toBe(sha256);
  });

  it('answers undefined / false for an unknown digest', async () => {
    const unknown = sha256Hex('never stored');
    expect(await store.open(unknown)).toBeUndefined();
    expect(await store.stat(unknown)).toBeUndefined();
    expect(await store.has(unknown)).toBe(false);
  });

  it('sweeps stale temp files a crashed writer left', async () => {
    await store.put(chunksOf('a'), { sha256: sha256Hex('a'), maxBytes: 1 });
    const { writeFile, utimes } = await import('node:fs/promises');
    const stale = join(root, 'tmp', 'stale.part');
    const fresh = join(root, 'tmp', 'fresh.part');
    await writeFile(stale, 'left over');
    await writeFile(fresh, 'in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    expect(await store.sweepTemp()).toBe(1);
    expect(await filesUnder(join(root, 'tmp'))).toEqual(['fresh.part']);
  });
});

describe('FsContentStore.quarantine (garbage collection)', () => {
  const put = (text: string) => store.put(chunksOf(text), { sha256: sha256Hex(text), maxBytes: 100 });

  it('takes a blob out of sight at once; discard deletes it for good', async () => {
    await put('junk');
    const held = await store.quarantine(sha256Hex('junk'));
    expect(held?.sizeBytes).toBe(4);
    expect(await store.has(sha256Hex('junk'))).toBe(false);
    expect(await store.open(sha256Hex('junk'))).toBeUndefined();
    await held!.discard();
    expect(await filesUnder(root)).toEqual([]);
  });

  it('restores the same bytes, or keeps a copy uploaded meanwhile', async () => {
    await put('wanted');
    const held = await store.quarantine(sha256Hex('wanted'));
    await held!.restore();
    expect(await store.has(sha256Hex('wanted'))).toBe(true);
    const again = await store.quarantine(sha256Hex('wanted'));
    expect((await put('wanted')).created).toBe(true);
    await again!.restore();
    expect((await filesUnder(root)).filter((f) => f.startsWith('tmp/'))).toEqual([]);
    expect(
      await readFile(join(root, 'sha256', sha256Hex('wanted').slice(0, 2), sha256Hex('wanted')), 'utf8'),
    ).toBe('wanted');
  });

  it('answers undefined for a blob that is not stored, and is not swept while held', async () => {
    expect(await store.quarantine(sha256Hex('never'))).toBeUndefined();
    await put('held');
    const held = await store.quarantine(sha256Hex('held'));
    expect(await store.sweepTemp()).toBe(0);
    await held!.restore();
    expect(await store.has(sha256Hex('held'))).toBe(true);
  });
});
