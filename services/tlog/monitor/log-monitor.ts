// A monitor of a tiled log: verifies each new checkpoint (log key, witness quorum), proves it
// extends the last one it verified, reads every new entry and rebuilds the root from them, checks
// the served hash tiles against the entries, applies the verdict-accounting rule, and compares
// what each witness cosigned with its own view. Any misbehaviour is an alarm with its evidence;
// the state moves on only when a round finds none.
import { sha256Hex } from '../../digest.ts';
import { RbnetError } from '../../errors.ts';
import { parseCheckpointText } from '../checkpoint.ts';
import { CompactRange } from '../compact-range.ts';
import { decodeEntryBundle } from '../entry-bundle.ts';
import { parseLogEntry } from '../log-entry.ts';
import { encodeHash, hashesEqual, leafHash } from '../merkle-hash.ts';
import { proveConsistency, verifyConsistency } from '../merkle-proofs.ts';
import { parseSignedNote, verifyNote } from '../signed-note.ts';
import { splitHashTile, type TileReader, tileSubtreeReader } from '../tile-hash-reader.ts';
import { TILE_WIDTH, type TileRef, tileAtSize } from '../tile-path.ts';
import { TlogError } from '../tlog-errors.ts';
import type { PolicyWitness, TlogPolicy } from '../tlog-policy.ts';
import {
  type AccountingAlarmKind,
  type AccountingState,
  accountEntry,
  emptyAccountingState,
  endOfRound,
} from '../verdict-accounting.ts';
import { verifyCheckpoint } from '../verify-checkpoint.ts';

export const MONITOR_STATE_SCHEMA = 'rbnet.log-monitor/v1';

/** A log as served: its checkpoint and tiles (tlog-tiles over HTTP, a folder, memory). */
export interface TlogSource extends TileReader {
  readCheckpoint(): Promise<string>;
}

/** Reads the latest checkpoint a witness cosigned for an origin (its monitoring endpoint); undefined when it has none. */
export type WitnessCheckpointReader = (
  witness: PolicyWitness,
  originSha256: string,
) => Promise<string | undefined>;

export interface MonitorState {
  readonly schema: typeof MONITOR_STATE_SCHEMA;
  readonly origin: string;
  /** The last checkpoint verified, as served (signatures included): evidence if the log forks later. */
  readonly checkpoint: string;
  readonly range: { readonly size: number; readonly hashes: readonly string[] };
  readonly accounting: AccountingState;
}

export type MonitorAlarmKind =
  | 'rollback'
  | 'fork'
  | 'inconsistent'
  | 'rewritten'
  | 'tile-mismatch'
  | 'malformed-entry'
  | 'witness-fork'
  /** The log signed the checkpoint it serves, and serves it with a cosignature the witness never made. */
  | 'forged-cosignature'
  | AccountingAlarmKind;

export type MonitorEvent =
  | {
      readonly event: 'checkpoint';
      readonly origin: string;
      readonly size: number;
      readonly rootHash: string;
      readonly previousSize: number;
      readonly cosignedBy: readonly string[];
    }
  | { readonly event: 'unchanged'; readonly origin: string; readonly size: number }
  | {
      readonly event: 'entries';
      readonly from: number;
      readonly to: number;
      readonly types: Readonly<Record<string, number>>;
    }
  | {
      readonly event: 'witness';
      readonly witness: string;
      readonly size?: number;
      readonly status: 'consistent' | 'ahead' | 'none' | 'not-cosigned';
    }
  | {
      readonly event: 'alarm';
      readonly kind: MonitorAlarmKind;
      readonly message: string;
      readonly evidence?: readonly string[];
    };

export interface WatchResult {
  readonly events: readonly MonitorEvent[];
  /** The state to keep: the new one when nothing was wrong, else the one given. */
  readonly state: MonitorState | undefined;
  readonly alarmed: boolean;
}

/** Entry bundles read per request batch. */
const BUNDLES_PER_BATCH = 16;

/**
 * One round of monitoring. @throws RbnetError when the round cannot be completed (unreachable,
 * a checkpoint not signed by the log, quorum not met): nothing is concluded, the state stays.
 */
export async function watchOnce(input: {
  readonly source: TlogSource;
  readonly policy: TlogPolicy;
  readonly state: MonitorState | undefined;
  readonly now: Date;
  readonly readWitnessCheckpoint?: WitnessCheckpointReader;
}): Promise<WatchResult> {
  const { source, policy, state } = input;
  const events: MonitorEvent[] = [];
  const alarm = (kind: MonitorAlarmKind, message: string, evidence?: string[]) =>
    events.push({ event: 'alarm', kind, message, ...(evidence && { evidence }) });
  const done = (next: MonitorState | undefined): WatchResult => {
    const alarmed = events.some((e) => e.event === 'alarm');
    return { events, state: alarmed ? state : next, alarmed };
  };

  const served = await source.readCheckpoint();
  const forgery = forgedCosignature(served, policy);
  if (forgery) {
    alarm('forged-cosignature', forgery, [served]);
    return done(undefined);
  }
  const verified = verifyCheckpoint(served, policy, input.now);
  const { checkpoint } = verified;
  const previous = state ? parseCheckpointText(parseSignedNote(state.checkpoint).text) : undefined;
  if (state && state.origin !== checkpoint.origin)
    throw new TlogError(
      'CHECKPOINT_INVALID',
      `the state file follows ${state.origin}, the log serves ${checkpoint.origin}`,
    );
  const previousSize = previous?.size ?? 0;
  if (previous && checkpoint.size < previous.size) {
    alarm('rollback', `the log's checkpoint went back from size ${previous.size} to ${checkpoint.size}`, [
      state!.checkpoint,
      served,
    ]);
    return done(undefined);
  }
  if (previous && checkpoint.size === previous.size) {
    if (!hashesEqual(previous.rootHash, checkpoint.rootHash))
      alarm(
        'fork',
        `two checkpoints of size ${checkpoint.size} with different roots, both signed by the log`,
        [state!.checkpoint, served],
      );
    else events.push({ event: 'unchanged', origin: checkpoint.origin, size: checkpoint.size });
    if (events.some((e) => e.event === 'alarm')) return done(undefined);
    await checkWitnesses(input, checkpoint, served, alarm, events);
    return done(state);
  }
  events.push({
    event: 'checkpoint',
    origin: checkpoint.origin,
    size: checkpoint.size,
    rootHash: encodeHash(checkpoint.rootHash),
    previousSize,
    cosignedBy: verified.cosignatures.filter((c) => c.counted).map((c) => c.witness),
  });
  const reader = tileSubtreeReader(checkpoint.size, source);
  if (previous) {
    try {
      verifyConsistency(
        previous.size,
        checkpoint.size,
        previous.rootHash,
        checkpoint.rootHash,
        await proveConsistency(previous.size, checkpoint.size, reader),
      );
    } catch (error) {
      if (!(error instanceof TlogError)) throw error;
      alarm(
        'inconsistent',
        `the log's tiles do not prove size ${checkpoint.size} extends size ${previous.size}: ${error.message}`,
        [state!.checkpoint, served],
      );
      return done(undefined);
    }
  }
  const range = state ? CompactRange.fromJSON(state.range) : CompactRange.empty();
  const accounting: AccountingState = state ? structuredClone(state.accounting) : emptyAccountingState();
  const types: Record<string, number> = {};
  await readEntries(source, previousSize, checkpoint.size, (index, entry, tileHash) => {
    const hash = leafHash(entry);
    if (!hashesEqual(hash, tileHash))
      alarm('tile-mismatch', `the level-0 tile hash of entry ${index} is not the hash of the entry served`);
    range.appendLeafHash(hash);
    let parsed: ReturnType<typeof parseLogEntry>;
    try {
      parsed = parseLogEntry(entry);
    } catch (error) {
      if (!(error instanceof TlogError)) throw error;
      alarm('malformed-entry', `entry ${index}: ${error.message}`);
      return;
    }
    types[parsed.type] = (types[parsed.type] ?? 0) + 1;
    for (const found of accountEntry(accounting, index, parsed)) alarm(found.kind, found.message);
  });
  for (const found of endOfRound(accounting)) alarm(found.kind, found.message);
  events.push({ event: 'entries', from: previousSize, to: checkpoint.size, types });
  if (!hashesEqual(range.root(), checkpoint.rootHash))
    alarm(
      'rewritten',
      `the entries served for sizes ${previousSize} to ${checkpoint.size} do not give the checkpoint's root: history was rewritten`,
      [...(state ? [state.checkpoint] : []), served],
    );
  await checkWitnesses(input, checkpoint, served, alarm, events);
  return done({
    schema: MONITOR_STATE_SCHEMA,
    origin: checkpoint.origin,
    checkpoint: served,
    range: range.toJSON(),
    accounting,
  });
}

/**
 * Why the served checkpoint is a forgery, if it is one: signed by the log (so the log stands behind
 * it), yet carrying a line under a policy witness's name and key hash whose cosignature does not
 * verify. Anything else wrong with it is for {@link verifyCheckpoint} to refuse.
 */
function forgedCosignature(served: string, policy: TlogPolicy): string | undefined {
  let note: ReturnType<typeof parseSignedNote>;
  let origin: string;
  try {
    note = parseSignedNote(served);
    origin = parseCheckpointText(note.text).origin;
    verifyNote(
      note,
      policy.logs.filter((log) => log.origin === origin).map((log) => log.verifier),
    );
  } catch (error) {
    if (error instanceof RbnetError) return undefined;
    throw error;
  }
  const text = Buffer.from(note.text, 'utf8');
  for (const signature of note.signatures) {
    const witness = policy.witnesses.find(
      (w) => w.verifier.name === signature.name && w.verifier.keyHash === signature.keyHash,
    );
    if (witness && !witness.verifier.verify(text, signature.signature))
      return `the checkpoint the log signed and serves (${origin}, size ${parseCheckpointText(note.text).size}) carries a cosignature by witness ${witness.name} (${signature.name}) that does not verify under its key`;
  }
  return undefined;
}

/** Reads entries [from, to) with the level-0 tile hashes of the tree of size `to`, in order. */
async function readEntries(
  source: TileReader,
  from: number,
  to: number,
  visit: (index: number, entry: Uint8Array, tileHash: Uint8Array) => void,
): Promise<void> {
  const first = Math.floor(from / TILE_WIDTH);
  const last = Math.ceil(to / TILE_WIDTH);
  for (let batch = first; batch < last; batch += BUNDLES_PER_BATCH) {
    const indexes = Array.from({ length: Math.min(BUNDLES_PER_BATCH, last - batch) }, (_, i) => batch + i);
    const bundles = indexes.map((i) => tileAtSize('entries', i, to)!);
    const hashTiles = indexes.map((i) => tileAtSize(0, i, to)!);
    const answers = await source.readTiles([...bundles, ...hashTiles]);
    indexes.forEach((tileIndex, k) => {
      const entries = decodeEntryBundle(answers[k]!, bundles[k]!.width);
      const hashes = splitHashTile(hashTiles[k] as TileRef, answers[indexes.length + k]!);
      entries.forEach((entry, j) => {
        const index = tileIndex * TILE_WIDTH + j;
        if (index >= from) visit(index, entry, hashes[j]!);
      });
    });
  }
}

async function checkWitnesses(
  input: Parameters<typeof watchOnce>[0],
  checkpoint: ReturnType<typeof parseCheckpointText>,
  served: string,
  alarm: (kind: MonitorAlarmKind, message: string, evidence?: string[]) => void,
  events: MonitorEvent[],
): Promise<void> {
  if (!input.readWitnessCheckpoint) return;
  const logVerifiers = input.policy.logs
    .filter((log) => log.origin === checkpoint.origin)
    .map((log) => log.verifier);
  for (const witness of input.policy.witnesses.filter((w) => w.url !== undefined)) {
    const note = await input.readWitnessCheckpoint(witness, sha256Hex(checkpoint.origin));
    if (note === undefined) {
      events.push({ event: 'witness', witness: witness.name, status: 'none' });
      continue;
    }
    let theirs: ReturnType<typeof parseCheckpointText>;
    try {
      const verification = verifyNote(parseSignedNote(note), [...logVerifiers, witness.verifier]);
      theirs = parseCheckpointText(verification.note.text);
      if (
        theirs.origin !== checkpoint.origin ||
        !verification.verified.some((v) => v.verifier === witness.verifier)
      ) {
        events.push({ event: 'witness', witness: witness.name, status: 'not-cosigned' });
        continue;
      }
      if (!verification.verified.some((v) => logVerifiers.includes(v.verifier)))
        throw new TlogError('NOTE_UNVERIFIED', 'not signed by the log');
    } catch (error) {
      if (!(error instanceof RbnetError)) throw error;
      events.push({ event: 'witness', witness: witness.name, status: 'not-cosigned' });
      continue;
    }
    if (theirs.size > checkpoint.size) {
      events.push({ event: 'witness', witness: witness.name, size: theirs.size, status: 'ahead' });
      continue;
    }
    try {
      const proof = await proveConsistency(
        theirs.size,
        checkpoint.size,
        tileSubtreeReader(checkpoint.size, input.source),
      );
      verifyConsistency(theirs.size, checkpoint.size, theirs.rootHash, checkpoint.rootHash, proof);
      events.push({ event: 'witness', witness: witness.name, size: theirs.size, status: 'consistent' });
    } catch (error) {
      if (!(error instanceof TlogError)) throw error;
      alarm(
        'witness-fork',
        `witness ${witness.name} cosigned a tree of size ${theirs.size} that the log's tree of size ${checkpoint.size} does not extend: a split view`,
        [note, served],
      );
    }
  }
}
