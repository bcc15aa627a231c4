// A TileAppender in a worker thread (without entry bundles: for a storage that stores the entries
// itself). The hashing of a batch, two SHA-256 per entry, costs about as much as storing the batch;
// in a thread of its own it runs while the thread that writes stores the entries.
import { Worker } from 'node:worker_threads';
import { EMPTY_TREE_ROOT, type MerkleHash } from './merkle-hash.ts';
import { type AppendResult, TileAppender } from './tile-appender.ts';
import type { AppenderReply, AppenderRequest } from './tile-appender-worker.ts';
import type { TileReader } from './tile-hash-reader.ts';
import { TlogError } from './tlog-errors.ts';

const WORKER_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? './tile-appender-worker.ts' : './tile-appender-worker.js',
  import.meta.url,
);

/**
 * Starts the worker module. From the TypeScript sources (tests, tsx) a worker thread does not get
 * the loader its parent runs under, so it registers tsx's first; from dist/ it is plain JavaScript.
 */
function startWorker(): Worker {
  // No flags of the parent's (such as --input-type) apply to hashing in a module of our own.
  if (!WORKER_MODULE.pathname.endsWith('.ts')) return new Worker(WORKER_MODULE, { execArgv: [] });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_MODULE.href)}); });`,
    { eval: true },
  );
}

export class TileAppenderThread {
  readonly #worker: Worker;
  /** Requests answered in order: the worker takes one message at a time. */
  readonly #waiting: { resolve(reply: AppenderReply): void; reject(error: Error): void }[] = [];
  #stopped: Error | undefined;
  #size: number;
  #root: MerkleHash = EMPTY_TREE_ROOT;

  private constructor(worker: Worker, size: number) {
    this.#worker = worker;
    this.#size = size;
  }

  /**
   * Picks up a tree of `size` leaves from its stored right edge, as TileAppender.resume does.
   * @throws TlogError TILE_INVALID when a tile the size needs is missing or malformed.
   */
  static async open(size: number, tiles: TileReader): Promise<TileAppenderThread> {
    const wanted = TileAppender.rightEdge(size, { entryBundles: false });
    const answers = await tiles.readTiles(wanted);
    const worker = startWorker();
    const thread = new TileAppenderThread(worker, size);
    worker.on('message', (reply: AppenderReply) => {
      thread.#waiting.shift()?.resolve(reply);
      // An idle thread never keeps a process alive by itself (close() ends it); one answering does.
      if (thread.#waiting.length === 0) worker.unref();
    });
    worker.on('error', (error) => thread.#stop(error));
    worker.on('exit', (code) => thread.#stop(new Error(`the appender thread exited (code ${code})`)));
    try {
      thread.#root = asBuffer((await thread.#ask({ kind: 'open', size, wanted, answers })).root);
    } catch (error) {
      await thread.close();
      throw error;
    }
    return thread;
  }

  get size(): number {
    return this.#size;
  }

  root(): MerkleHash {
    return this.#root;
  }

  /**
   * Appends `entries` (their sizes checked by the caller, TileAppender's assertEntrySizes). Like
   * TileAppender, the state moves on even if the caller then fails to store the writes.
   * @throws Error when the thread failed or stopped (then open a new one from storage).
   */
  async append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    let total = 0;
    for (const entry of entries) total += entry.length;
    const bytes = new Uint8Array(total);
    const ends = new Uint32Array(entries.length);
    let at = 0;
    entries.forEach((entry, i) => {
      bytes.set(entry, at);
      at += entry.length;
      ends[i] = at;
    });
    const reply = await this.#ask({ kind: 'append', bytes, ends }, [bytes.buffer, ends.buffer]);
    // Bytes come back from the thread as plain Uint8Arrays; the log's callers expect Buffers.
    this.#size = reply.size;
    this.#root = asBuffer(reply.root);
    return {
      size: reply.size,
      root: this.#root,
      writes: reply.writes.map(({ tile, bytes }) => ({ tile, bytes: asBuffer(bytes) })),
    };
  }

  async close(): Promise<void> {
    this.#stop(new Error('the appender thread was closed'));
    await this.#worker.terminate();
  }

  #ask(request: AppenderRequest, transfer: ArrayBuffer[] = []): Promise<AppenderReply & { ok: true }> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      this.#worker.ref();
      this.#waiting.push({
        // A refusal keeps its code (a malformed tile is TILE_INVALID, as inline).
        resolve: (reply) =>
          reply.ok
            ? resolve(reply)
            : reject(
                reply.code
                  ? new TlogError(reply.code, reply.message)
                  : new Error(`appender thread: ${reply.message}`),
              ),
        reject,
      });
      this.#worker.postMessage(request, transfer);
    });
  }

  #stop(error: Error): void {
    this.#stopped ??= error;
    for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#stopped);
  }
}

/** A Buffer view of `bytes` (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
