// A tiled transparency log: appends entries, writes their tiles, moves the stored head by
// compare-and-swap, and signs a checkpoint only of a head that was stored, so it never signs two
// inconsistent checkpoints, also across crashes and restarts (Ed25519 signatures are deterministic:
// signing a stored head again gives the same checkpoint).
import { type Checkpoint, formatCheckpoint, parseCheckpointText } from './checkpoint.ts';
import { decodeEntryBundle } from './entry-bundle.ts';
import { EMPTY_TREE_ROOT, hashesEqual, type MerkleHash } from './merkle-hash.ts';
import { proveConsistency, proveInclusion, RangeHashMemo } from './merkle-proofs.ts';
import { isValidKeyName, type NoteSigner } from './note-keys.ts';
import { formatSignedNote, parseSignedNote, signNoteText } from './signed-note.ts';
import { assertEntrySizes, TileAppender, type TileWrite } from './tile-appender.ts';
import { TileAppenderThread } from './tile-appender-thread.ts';
import { tileSubtreeReader } from './tile-hash-reader.ts';
import { TileLevelsCache } from './tile-levels-cache.ts';
import { TILE_HEIGHT, TILE_WIDTH, tileAtSize } from './tile-path.ts';
import {
  ProofTailCache,
  SIBLING_LINES_BYTES,
  siblingsInTile,
  TilePathCache,
  writeSiblingLinesInTile,
} from './tile-proof-cache.ts';
import { type TileStorage, tilesUpTo } from './tile-storage.ts';
import { TlogError } from './tlog-errors.ts';
import {
  formatTlogProof,
  formatTlogProofHead,
  formatTlogProofTail,
  tlogProofHeadBytes,
  writeTlogProofHead,
} from './tlog-proof.ts';

/** What the log has committed to: a tree size and its root. */
export interface LogHead {
  readonly size: number;
  readonly rootHash: MerkleHash;
}

/**
 * The one durable record that says how far the log is. `swapHead` is a compare-and-swap: it stores
 * `next` only if the stored head is still `expected` (undefined: none stored yet), durably before
 * resolving true; false means another writer moved it.
 */
export interface LogHeadStore {
  readHead(): Promise<LogHead | undefined>;
  swapHead(expected: LogHead | undefined, next: LogHead): Promise<boolean>;
  /**
   * For a store that keeps the tiles too, where the log's {@link TileStorage} reads them (the
   * coordinator's SQLite file): stores `writes` and moves the head as `swapHead` does, all or
   * nothing; false, with nothing stored, when the head is no longer `expected`. When a store offers
   * it, the log calls it instead of `writeTiles` and `swapHead`.
   */
  swapHeadWithTiles?(
    writes: readonly TileWrite[],
    expected: LogHead | undefined,
    next: LogHead,
    writtenEntries?: readonly Uint8Array[],
  ): Promise<boolean>;
  /**
   * For a store that keeps entries itself (as rows) and offers swapHeadWithTiles: stores a batch's
   * entries past the head `expected` (false, nothing written, when the head moved); the log then
   * hashes the batch in a worker thread meanwhile and passes the entries to swapHeadWithTiles as
   * `writtenEntries`, which checks they are still there.
   */
  writeEntries?(expected: LogHead | undefined, entries: readonly Uint8Array[]): Promise<boolean>;
}

export class MemoryLogHeadStore implements LogHeadStore {
  #head: LogHead | undefined;

  async readHead(): Promise<LogHead | undefined> {
    return this.#head;
  }

  async swapHead(expected: LogHead | undefined, next: LogHead): Promise<boolean> {
    if (!sameHead(this.#head, expected)) return false;
    this.#head = next;
    return true;
  }
}

export interface TransparencyLogOptions {
  /** The checkpoint origin: the log's public URL prefix without scheme or trailing slash. */
  readonly origin: string;
  /** The log key (never the consensus-attestation key); its name should be the origin. */
  readonly signer: NoteSigner;
  readonly tiles: TileStorage;
  readonly heads: LogHeadStore;
  /** Bytes of hash tiles (with their inner levels) kept for proofs; default {@link tileCacheMaxBytesDefault}. */
  readonly tileCacheMaxBytes?: number;
}

/**
 * 64 MiB: every tile a proof needs in a log of about 1,000,000 entries (a tile with its levels is
 * 16 KiB); past that, the least recently used tiles are read and hashed again.
 */
export const tileCacheMaxBytesDefault = 64 * 1024 * 1024;

export interface AppendedBatch {
  /** Index of the batch's first entry. */
  readonly firstIndex: number;
  readonly head: LogHead;
  /** The signed checkpoint of the new head. */
  readonly checkpoint: string;
}

export class TransparencyLog {
  readonly origin: string;
  readonly #options: TransparencyLogOptions;
  /** In a worker thread when the storage stores the entries itself (the coordinator's SQLite file). */
  #appender: TileAppender | TileAppenderThread;
  /** As stored: undefined before the first append ever. */
  #stored: LogHead | undefined;
  /** Appends run one at a time; each waits for the one before. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Hash tiles with their inner levels, hashed once: tiles at a width never change. */
  readonly #levels: TileLevelsCache;
  /** Hashes of the right edge's ranges (a few per tree size) proofs fold from several subtrees. */
  readonly #ranges = new RangeHashMemo();
  /** Proof paths above full level-0 tiles, per tree size. */
  readonly #paths = new TilePathCache();
  /** The formatted rest of the proofs of full level-0 tiles' entries, under the last note asked. */
  readonly #tails = new ProofTailCache();
  /** The last checkpoint note a proof was asked under, parsed (most proofs share one). */
  #lastNote: { readonly text: string; readonly size: number } | undefined;

  private constructor(
    options: TransparencyLogOptions,
    appender: TileAppender | TileAppenderThread,
    stored: LogHead | undefined,
  ) {
    this.origin = options.origin;
    this.#options = options;
    this.#appender = appender;
    this.#stored = stored;
    this.#levels = new TileLevelsCache(options.tileCacheMaxBytes ?? tileCacheMaxBytesDefault);
  }

  /**
   * Opens the log at its stored head and checks that the stored tiles give that head's root.
   * @throws TlogError TILE_INVALID when they do not (or a tile the head needs is missing).
   */
  static async open(options: TransparencyLogOptions): Promise<TransparencyLog> {
    if (!isValidKeyName(options.origin))
      throw new TlogError('CHECKPOINT_INVALID', `origin ${JSON.stringify(options.origin)} is not valid`);
    const stored = await options.heads.readHead();
    return new TransparencyLog(options, await resumeAt(options, stored), stored);
  }

  /** The stored head (size 0 and the empty root before the first append). */
  get head(): LogHead {
    return this.#stored ?? { size: 0, rootHash: EMPTY_TREE_ROOT };
  }

  /**
   * Appends a batch (each entry at most 65,535 bytes): writes its tiles, moves the head by
   * compare-and-swap, publishes and returns the signed checkpoint of the new head.
   * @throws TlogError ENTRY_INVALID (nothing appended), HEAD_CONFLICT when another writer moved the head.
   */
  append(entries: readonly Uint8Array[]): Promise<AppendedBatch> {
    const run = this.#queue.then(() => this.#append(entries));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #append(entries: readonly Uint8Array[]): Promise<AppendedBatch> {
    assertEntrySizes(entries);
    const expected = this.#stored;
    // A writer that fell behind (another process appended since) must not write tiles over ones
    // already published; the swap below is what decides, this only keeps a stale writer harmless.
    if (!sameHead(await this.#options.heads.readHead(), expected)) {
      await this.#reload();
      throw conflict(expected);
    }
    let next: LogHead;
    try {
      next = await this.#appendAndStore(entries, expected);
    } catch (error) {
      // The appender moved on in memory; start again from what is stored.
      await this.#reload();
      throw error;
    }
    this.#stored = next;
    const checkpoint = await this.signedCheckpoint();
    await this.#options.tiles.writeCheckpoint(checkpoint);
    return { firstIndex: expected?.size ?? 0, head: next, checkpoint };
  }

  /** Hashes a batch and stores it; @returns the new head, or throws HEAD_CONFLICT. */
  async #appendAndStore(entries: readonly Uint8Array[], expected: LogHead | undefined): Promise<LogHead> {
    const { tiles, heads } = this.#options;
    if (this.#appender instanceof TileAppenderThread) {
      // The batch is hashed in the appender's thread while its entries are stored here; the head's
      // move then checks they are still the rows past the head.
      const hashing = this.#appender.append(entries);
      hashing.catch(() => undefined);
      const written = await heads.writeEntries!(expected, entries);
      const result = await hashing;
      const next: LogHead = { size: result.size, rootHash: result.root };
      if (!written || !(await heads.swapHeadWithTiles!(result.writes, expected, next, entries)))
        throw conflict(expected);
      return next;
    }
    const result = this.#appender.append(entries);
    const next: LogHead = { size: result.size, rootHash: result.root };
    if (heads.swapHeadWithTiles) {
      if (!(await heads.swapHeadWithTiles(result.writes, expected, next))) throw conflict(expected);
    } else {
      await tiles.writeTiles(result.writes);
      if (!(await heads.swapHead(expected, next))) throw conflict(expected);
    }
    return next;
  }

  /** Ends the appender's thread, if it has one, once the appends under way are done. */
  async close(): Promise<void> {
    await this.#queue;
    if (this.#appender instanceof TileAppenderThread) await this.#appender.close();
  }

  /** The signed checkpoint of the current head (the same bytes every time for one head). */
  async signedCheckpoint(): Promise<string> {
    const { size, rootHash } = this.head;
    const checkpoint: Checkpoint = { origin: this.origin, size, rootHash, extensions: [] };
    const text = formatCheckpoint(checkpoint);
    return formatSignedNote({ text, signatures: await signNoteText(text, [this.#options.signer]) });
  }

  /** The inclusion proof of entry `index` in the tree of `size` (default: the head). */
  async inclusionProof(index: number, size = this.head.size): Promise<MerkleHash[]> {
    this.#assertPublished(size);
    const tile = Math.floor(index / TILE_WIDTH);
    const full = inFullTile(index, size);
    if (full) {
      const path = this.#paths.get(size, tile);
      const levels = path && this.#levels.get({ level: 0, index: tile, width: TILE_WIDTH });
      if (levels) return [...siblingsInTile(levels, index % TILE_WIDTH), ...path!];
    }
    const proof = await proveInclusion(
      index,
      size,
      tileSubtreeReader(size, tilesUpTo(this.#options.tiles, this.head.size), this.#levels),
      this.#ranges,
    );
    if (full) this.#paths.set(size, tile, proof.slice(TILE_HEIGHT));
    return proof;
  }

  consistencyProof(oldSize: number, newSize = this.head.size): Promise<MerkleHash[]> {
    this.#assertPublished(newSize);
    return proveConsistency(
      oldSize,
      newSize,
      tileSubtreeReader(newSize, tilesUpTo(this.#options.tiles, this.head.size), this.#levels),
    );
  }

  /**
   * A C2SP tlog-proof of entry `index` under `checkpointNote` (a checkpoint this log signed, with
   * whatever cosignatures it gathered), the entry's bytes in `extra`.
   */
  async tlogProof(index: number, checkpointNote: string): Promise<string> {
    const cached = this.tlogProofNow(index, checkpointNote);
    if (cached !== undefined) return cached.toString('utf8');
    const size = this.#sizeOfNote(checkpointNote);
    const inclusionProof = await this.inclusionProof(index, size);
    const extra = await this.entry(index);
    const tile = Math.floor(index / TILE_WIDTH);
    if (!inFullTile(index, size))
      return formatTlogProof({ extra, index, inclusionProof, checkpoint: checkpointNote });
    // The path of an entry in a full tile starts with its 8 siblings inside the tile (the tile is a
    // complete subtree); what follows is the same for the tile's 256 entries under this note.
    const tail = formatTlogProofTail(inclusionProof.slice(TILE_HEIGHT), checkpointNote);
    this.#tails.set(checkpointNote, tile, tail);
    return formatTlogProofHead(extra, index, inclusionProof.slice(0, TILE_HEIGHT)) + tail;
  }

  /**
   * The UTF-8 bytes of the tlog-proof {@link tlogProof} gives, made without waiting when everything
   * it needs is in memory: the entry is in a full level-0 tile whose levels are cached and whose
   * tail was formatted under this very note, and the storage reads one entry synchronously.
   * Undefined otherwise.
   */
  tlogProofNow(index: number, checkpointNote: string): Buffer<ArrayBuffer> | undefined {
    const readEntry = this.#options.tiles.readEntry;
    if (!readEntry) return undefined;
    const size = this.#sizeOfNote(checkpointNote);
    if (size > this.head.size || !inFullTile(index, size)) return undefined;
    const tile = Math.floor(index / TILE_WIDTH);
    const tail = this.#tails.get(checkpointNote, tile);
    const levels = tail !== undefined && this.#levels.get({ level: 0, index: tile, width: TILE_WIDTH });
    if (!levels) return undefined;
    const extra = readEntry.call(this.#options.tiles, index);
    if (!extra) return undefined;
    // Written as bytes into one buffer, exactly the text tlogProof formats (the head is ASCII).
    const headBytes = tlogProofHeadBytes(extra.length, index);
    const bytes = Buffer.allocUnsafe(headBytes + SIBLING_LINES_BYTES + tail!.length);
    const at = writeSiblingLinesInTile(
      levels,
      index % TILE_WIDTH,
      bytes,
      writeTlogProofHead(extra, index, bytes, 0),
    );
    tail!.copy(bytes, at);
    return bytes;
  }

  /** The tree size of a checkpoint note of this log (parsed once per note text). */
  #sizeOfNote(note: string): number {
    if (this.#lastNote?.text === note) return this.#lastNote.size;
    const checkpoint = parseCheckpointText(parseSignedNote(note).text);
    if (checkpoint.origin !== this.origin)
      throw new TlogError('CHECKPOINT_INVALID', `the checkpoint is of ${checkpoint.origin}, not of this log`);
    this.#lastNote = { text: note, size: checkpoint.size };
    return checkpoint.size;
  }

  /** The bytes of entry `index` (below the head). */
  async entry(index: number): Promise<Uint8Array> {
    const { size } = this.head;
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new TlogError('PROOF_INVALID', `entry ${index} is not below the log size ${size}`);
    const { readEntry } = this.#options.tiles;
    if (readEntry) {
      const bytes = readEntry.call(this.#options.tiles, index);
      if (!bytes) throw new TlogError('TILE_INVALID', `entry ${index} is not stored`);
      return bytes;
    }
    const bundle = tileAtSize('entries', Math.floor(index / TILE_WIDTH), size)!;
    const [bytes] = await tilesUpTo(this.#options.tiles, size).readTiles([bundle]);
    return decodeEntryBundle(bytes!, bundle.width)[index % TILE_WIDTH]!;
  }

  async #reload(): Promise<void> {
    if (this.#appender instanceof TileAppenderThread) await this.#appender.close();
    this.#stored = await this.#options.heads.readHead();
    this.#appender = await resumeAt(this.#options, this.#stored);
  }

  #assertPublished(size: number): void {
    if (size > this.head.size)
      throw new TlogError('PROOF_INVALID', `tree size ${size} is beyond the log head ${this.head.size}`);
  }
}

/** Whether entry `index` is in a level-0 tile that is full in the tree of `size`. */
function inFullTile(index: number, size: number): boolean {
  return (
    Number.isSafeInteger(index) && index >= 0 && (Math.floor(index / TILE_WIDTH) + 1) * TILE_WIDTH <= size
  );
}

function conflict(expected: LogHead | undefined): TlogError {
  return new TlogError(
    'HEAD_CONFLICT',
    `the stored log head is no longer at size ${expected?.size ?? 0}; another writer appended`,
  );
}

/** Whether two heads are the same (both absent, or equal size and root). */
export function sameHead(a: LogHead | undefined, b: LogHead | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && hashesEqual(a.rootHash, b.rootHash);
}

/**
 * The appender at the stored head, checked against its root: in a worker thread when the head store
 * stores entries itself (writeEntries and swapHeadWithTiles), inline otherwise.
 */
async function resumeAt(
  options: TransparencyLogOptions,
  stored: LogHead | undefined,
): Promise<TileAppender | TileAppenderThread> {
  const head = stored ?? { size: 0, rootHash: EMPTY_TREE_ROOT };
  const { tiles, heads } = options;
  const appender =
    heads.writeEntries && heads.swapHeadWithTiles
      ? await TileAppenderThread.open(head.size, tiles)
      : await TileAppender.resume(head.size, tiles);
  if (!hashesEqual(appender.root(), head.rootHash)) {
    if (appender instanceof TileAppenderThread) await appender.close();
    throw new TlogError(
      'TILE_INVALID',
      `the stored tiles do not give the stored head's root at size ${head.size}`,
    );
  }
  return appender;
}
