// C2SP tlog-witness add-checkpoint: the request body (`old <size>`, consistency proof lines, a blank
// line, the checkpoint note), and the witness's decision on it as a pure function of the request,
// the logs it witnesses and the latest checkpoint it cosigned for that origin.
import { type Checkpoint, parseCheckpointText } from '../checkpoint.ts';
import {
  decodeHash,
  EMPTY_TREE_ROOT,
  encodeHash,
  hashesEqual,
  type MerkleHash,
  parseDecimalSize,
} from '../merkle-hash.ts';
import { verifyConsistency } from '../merkle-proofs.ts';
import { ed25519NoteVerifier, type NoteVerifier } from '../note-keys.ts';
import { type NoteSignature, parseSignedNote, type SignedNote, verifyNote } from '../signed-note.ts';
import { TlogError } from '../tlog-errors.ts';

/** Largest request body a witness reads: 64 KiB (63 proof lines and a note with many signatures fit). */
export const maxAddCheckpointBytesDefault = 64 * 1024;
/** The protocol's cap on consistency proof lines. */
export const maxConsistencyProofLines = 63;

export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly MerkleHash[];
  readonly note: SignedNote;
  readonly checkpoint: Checkpoint;
}

/** A log a witness cosigns for: its origin and the keys it trusts for it. */
export interface WitnessedLog {
  readonly origin: string;
  readonly verifiers: readonly NoteVerifier[];
}

/** What a witness remembers of a log: the latest checkpoint it cosigned. */
export interface LatestCheckpoint {
  readonly size: number;
  readonly rootHash: MerkleHash;
}

export type AddCheckpointDecision =
  | {
      readonly status: 200;
      readonly checkpoint: Checkpoint;
      readonly note: SignedNote;
      readonly logSignatures: readonly NoteSignature[];
    }
  | { readonly status: 409; readonly latestSize: number }
  | { readonly status: 400 | 403 | 404 | 422; readonly message: string };

export function formatAddCheckpointRequest(
  oldSize: number,
  proof: readonly MerkleHash[],
  checkpointNote: string,
): string {
  return `old ${oldSize}\n${proof.map((hash) => `${encodeHash(hash)}\n`).join('')}\n${checkpointNote}`;
}

/**
 * Parses an untrusted add-checkpoint body. @throws TlogError (any code): the request is malformed
 * and is answered 400.
 */
export function parseAddCheckpointRequest(
  body: Uint8Array | string,
  maxBytes = maxAddCheckpointBytesDefault,
): AddCheckpointRequest {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes)
    throw new TlogError('PROOF_INVALID', `the request is ${size} bytes, over the ${maxBytes}-byte limit`);
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const blank = text.indexOf('\n\n');
  if (blank < 0)
    throw new TlogError(
      'PROOF_INVALID',
      'no blank line between the old size and proof lines and the checkpoint',
    );
  const [oldLine, ...proofLines] = text.slice(0, blank).split('\n') as [string, ...string[]];
  if (!oldLine.startsWith('old '))
    throw new TlogError('PROOF_INVALID', 'the first line must be "old <size>"');
  const oldSize = parseDecimalSize(oldLine.slice(4), 'old size');
  if (proofLines.length > maxConsistencyProofLines)
    throw new TlogError(
      'PROOF_INVALID',
      `${proofLines.length} consistency proof lines, more than ${maxConsistencyProofLines}`,
    );
  const proof = proofLines.map((line, i) => decodeHash(line, `consistency proof line ${i + 1}`));
  const note = parseSignedNote(text.slice(blank + 2), { maxBytes });
  return Object.freeze({
    oldSize,
    proof: Object.freeze(proof),
    note,
    checkpoint: parseCheckpointText(note.text),
  });
}

/**
 * The witness's answer to a parsed request (C2SP tlog-witness §add-checkpoint, in its order): 404
 * unknown origin; 403 no valid signature by a trusted key, or a trusted key's signature fails; 400
 * old size above the checkpoint's; 409 old size is not the size it last cosigned (answered with that
 * size); 422 a non-empty tree of size 0 claimed, a proof from 0, a different root at the same size,
 * or a consistency proof that fails. 200 only for a checkpoint consistent with all it cosigned.
 */
export function decideAddCheckpoint(
  request: AddCheckpointRequest,
  logs: readonly WitnessedLog[],
  latest: LatestCheckpoint | undefined,
): AddCheckpointDecision {
  const { checkpoint, oldSize, proof } = request;
  const log = logs.find((l) => l.origin === checkpoint.origin);
  if (!log)
    return {
      status: 404,
      message: `this witness does not witness the log ${JSON.stringify(checkpoint.origin.slice(0, 200))}`,
    };
  let logSignatures: NoteSignature[];
  try {
    logSignatures = verifyNote(request.note, log.verifiers).verified.map((v) => v.signature);
  } catch (error) {
    if (!(error instanceof TlogError)) throw error;
    return { status: 403, message: error.message };
  }
  if (oldSize > checkpoint.size)
    return {
      status: 400,
      message: `old size ${oldSize} is larger than the checkpoint's size ${checkpoint.size}`,
    };
  const latestSize = latest?.size ?? 0;
  if (oldSize !== latestSize) return { status: 409, latestSize };
  if (checkpoint.size === 0 && !hashesEqual(checkpoint.rootHash, EMPTY_TREE_ROOT))
    return { status: 422, message: 'a checkpoint of size 0 must carry the root of the empty tree' };
  try {
    verifyConsistency(
      oldSize,
      checkpoint.size,
      latest?.rootHash ?? EMPTY_TREE_ROOT,
      checkpoint.rootHash,
      proof,
    );
  } catch (error) {
    if (!(error instanceof TlogError)) throw error;
    return { status: 422, message: error.message };
  }
  return { status: 200, checkpoint, note: request.note, logSignatures };
}

/**
 * The logs a witness cosigns for, from their vkeys (Ed25519 note keys): each log's origin is its
 * key name (C2SP tlog-policy), and several keys of one origin all count for it (key rotation).
 * @throws TlogError NOTE_KEY_INVALID.
 */
export function witnessedLogsFromVkeys(vkeys: readonly string[]): WitnessedLog[] {
  const byOrigin = new Map<string, NoteVerifier[]>();
  vkeys.forEach((vkey, i) => {
    const verifier = ed25519NoteVerifier(vkey, `log vkey ${i + 1}`);
    byOrigin.set(verifier.name, [...(byOrigin.get(verifier.name) ?? []), verifier]);
  });
  return [...byOrigin].map(([origin, verifiers]) =>
    Object.freeze({ origin, verifiers: Object.freeze(verifiers) }),
  );
}
