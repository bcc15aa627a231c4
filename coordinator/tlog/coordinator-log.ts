// The coordinator's tiled transparency log: integrates what the database sequenced (results, verdicts,
// key events) into the Merkle tree in order, signs each new checkpoint with the log key, gathers the
// configured witnesses' cosignatures and serves the checkpoint with them, and proves inclusion.
import type { Logger } from 'pino';
import { parseCheckpointText } from '../../services/tlog/checkpoint.ts';
import type { MerkleHash } from '../../services/tlog/merkle-hash.ts';
import type { Ed25519NoteSigner } from '../../services/tlog/note-keys.ts';
import { formatSignedNote, type NoteSignature, parseSignedNote } from '../../services/tlog/signed-note.ts';
import { TlogError } from '../../services/tlog/tlog-errors.ts';
import { TransparencyLog } from '../../services/tlog/transparency-log.ts';
import type { SequencedEntry, SqliteTiledLogStore } from '../storage/sqlite/sqlite-tiled-log-store.ts';
import { sequencedEntryBytes } from './sequenced-entry-bytes.ts';
import type { WitnessClient } from './witness-client.ts';

/** Entries appended (and checkpoints signed) per batch at most. */
export const maxEntriesPerCheckpoint = 1000;

export interface CoordinatorLogOptions {
  readonly store: SqliteTiledLogStore;
  /** The checkpoint origin: the log's URL prefix without scheme (`rbnet.example/log`). */
  readonly origin: string;
  /** The log key (never the consensus-attestation key), named `origin`. */
  readonly signer: Ed25519NoteSigner;
  readonly witnesses: readonly WitnessClient[];
  /**
   * How many of `witnesses` must return a cosignature that verifies before a checkpoint is served
   * (default 0: served with whatever was gathered). Until then the last one that met it stays
   * served, and no proof is served for an entry not under it.
   */
  readonly witnessQuorum?: number;
  readonly logger: Logger;
}

export class CoordinatorLog {
  readonly origin: string;
  /** The log's verifier key, as a note vkey. */
  readonly vkey: string;
  readonly store: SqliteTiledLogStore;
  readonly #log: TransparencyLog;
  readonly #options: CoordinatorLogOptions;
  #integrating: Promise<number> | undefined;
  #again = false;
  /** Whether the head found at start was sent to the witnesses again. */
  #rewitnessed = false;
  /** The last checkpoint served and its tree size (parsed once per checkpoint, not per proof). */
  #served: { readonly note: string; readonly size: number } | undefined;
  /**
   * The checkpoint served as last read from the store; forgotten whenever this log writes one. Only
   * this process integrates into its store (the head is kept in memory the same way).
   */
  #servedNote: string | undefined;
  /** Counts the checkpoints written, so a read that raced a write is not kept. */
  #writes = 0;

  private constructor(options: CoordinatorLogOptions, log: TransparencyLog) {
    this.origin = options.origin;
    this.vkey = options.signer.vkey;
    this.store = options.store;
    this.#options = options;
    this.#log = log;
  }

  static async open(options: CoordinatorLogOptions): Promise<CoordinatorLog> {
    const { store } = options;
    const log = await TransparencyLog.open({
      origin: options.origin,
      signer: options.signer,
      // The checkpoint served is written here only once witnesses answered for it: until then the
      // last cosigned one stays served, so no proof goes out under a checkpoint without them.
      tiles: {
        readTile: (tile) => store.readTile(tile),
        readTiles: (tiles) => store.readTiles(tiles),
        readEntry: (index) => store.readEntry(index),
        writeTiles: (writes) => store.writeTiles(writes),
        writeCheckpoint: async () => undefined,
        readCheckpoint: () => store.readCheckpoint(),
      },
      heads: store,
    });
    return new CoordinatorLog(options, log);
  }

  /** Ends the log's appender thread once the integration under way is done. */
  async close(): Promise<void> {
    await this.#integrating?.catch(() => undefined);
    await this.#log.close();
  }

  /** The tree size integrated and signed (the checkpoint served may still be the one before). */
  get size(): number {
    return this.#log.head.size;
  }

  /**
   * Integrates everything sequenced so far (one run at a time; a call during a run makes it run
   * once more). Also re-asks the witnesses for a served checkpoint a crash left uncosigned.
   * @returns the tree size after it.
   */
  integrate(): Promise<number> {
    if (this.#integrating) {
      this.#again = true;
      return this.#integrating;
    }
    const run = (async () => {
      try {
        do {
          this.#again = false;
          await this.#integrateAll();
        } while (this.#again);
        return this.size;
      } finally {
        this.#integrating = undefined;
      }
    })();
    this.#integrating = run;
    return run;
  }

  async #integrateAll(): Promise<void> {
    for (;;) {
      const pending = this.store.sequencedFrom(this.size, maxEntriesPerCheckpoint);
      if (pending.length === 0) break;
      if (pending[0]!.index !== this.size)
        throw new TlogError(
          'TILE_INVALID',
          `sequence starts at ${pending[0]!.index}, the tree at ${this.size}`,
        );
      const appended = await this.#log.append(pending.map(sequencedEntryBytes));
      this.#options.logger.debug(
        { size: appended.head.size, added: pending.length },
        'log checkpoint signed',
      );
      await this.#witness(appended.checkpoint);
    }
    // A crash between signing and gathering cosignatures left a checkpoint served without them, or
    // the witness quorum was not met for the head: ask again.
    if (this.size > 0 && (!this.#rewitnessed || (await this.#servedSize()) < this.size))
      await this.#witness(await this.#log.signedCheckpoint());
  }

  /** Sends the checkpoint to every witness at once and serves it with the cosignatures returned. */
  async #witness(checkpoint: string): Promise<void> {
    this.#rewitnessed = true;
    const note = parseSignedNote(checkpoint);
    const { size } = parseCheckpointText(note.text);
    const prove = (oldSize: number, newSize: number) => this.#log.consistencyProof(oldSize, newSize);
    const cosignatures = await Promise.all(
      this.#options.witnesses.map((witness) => witness.cosign(note, checkpoint, size, prove)),
    );
    const got = cosignatures.filter((c): c is NoteSignature => c !== undefined);
    const quorum = this.#options.witnessQuorum ?? 0;
    if (got.length < quorum) {
      this.#options.logger.warn(
        { size, witnessed: got.length, quorum, witnesses: this.#options.witnesses.length },
        'checkpoint not served: witness quorum not met',
      );
      return;
    }
    if (got.length < this.#options.witnesses.length)
      this.#options.logger.warn(
        { size, witnessed: got.length, witnesses: this.#options.witnesses.length },
        'checkpoint served without every witness',
      );
    this.#writes++;
    this.#servedNote = undefined;
    await this.store.writeCheckpoint(
      formatSignedNote({ text: note.text, signatures: [...note.signatures, ...got] }),
    );
  }

  /** The checkpoint served: signed by the log key, with the cosignatures gathered for it. */
  async checkpoint(): Promise<string> {
    return (await this.#storedCheckpoint()) ?? this.#log.signedCheckpoint();
  }

  /** The checkpoint stored as served, if any: kept in memory until this log writes the next one. */
  async #storedCheckpoint(): Promise<string | undefined> {
    if (this.#servedNote !== undefined) return this.#servedNote;
    const writes = this.#writes;
    const stored = await this.store.readCheckpoint();
    if (writes === this.#writes) this.#servedNote = stored;
    return stored;
  }

  /**
   * The C2SP tlog-proof of entry `index` (its entry bytes in `extra`) under the checkpoint served,
   * integrating (and witnessing) first if the entry is sequenced but not yet under it.
   * @throws TlogError PROOF_INVALID when nothing is sequenced at `index`.
   */
  async tlogProof(index: number): Promise<string> {
    let checkpoint = await this.checkpoint();
    if (index >= this.#sizeOf(checkpoint) && index < this.store.sequencedSize()) {
      await this.integrate();
      checkpoint = await this.checkpoint();
    }
    const quorum = this.#options.witnessQuorum ?? 0;
    if (quorum > 0 && index < this.store.sequencedSize() && index >= (await this.#servedSize()))
      throw new TlogError(
        'QUORUM_NOT_MET',
        `entry ${index} is not yet under a checkpoint cosigned by ${quorum} of this log's witnesses`,
      );
    return this.#log.tlogProof(index, checkpoint);
  }

  /**
   * The UTF-8 bytes of the proof {@link tlogProof} gives, made without waiting when it can be: the checkpoint served is
   * in memory, the entry is under it (so nothing to integrate and no quorum to wait for) and the
   * log has the rest cached. Undefined otherwise: then ask {@link tlogProof}.
   */
  tlogProofNow(index: number): Buffer<ArrayBuffer> | undefined {
    const note = this.#servedNote;
    if (note === undefined || !(index < this.#sizeOf(note))) return undefined;
    return this.#log.tlogProofNow(index, note);
  }

  /** The size of the checkpoint stored as served (-1: none yet). */
  async #servedSize(): Promise<number> {
    const stored = await this.#storedCheckpoint();
    return stored === undefined ? -1 : this.#sizeOf(stored);
  }

  /** The tree size a checkpoint note names, parsed once per note (not per proof). */
  #sizeOf(note: string): number {
    if (this.#served?.note !== note)
      this.#served = { note, size: parseCheckpointText(parseSignedNote(note).text).size };
    return this.#served.size;
  }

  /** Proves the tree served extends the one of `oldSize`. */
  consistencyProof(oldSize: number): Promise<MerkleHash[]> {
    return this.#log.consistencyProof(oldSize);
  }

  /** The bytes of entry `index` (integrated). */
  entry(index: number): Promise<Uint8Array> {
    return this.#log.entry(index);
  }

  /** Every entry sequenced about a build, in order. */
  entriesOfBuild(buildId: string): readonly SequencedEntry[] {
    return this.store.sequencedOfBuild(buildId);
  }
}
