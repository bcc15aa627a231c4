// Checks a cosigned checkpoint against a consumer's tlog policy at a given time: signed by a log
// key for its origin, every known witness's cosignature valid, and the quorum met by cosignatures
// that are not older than the policy's maximum age (nor later than the time of the check).
import { type Checkpoint, parseCheckpointText } from './checkpoint.ts';
import { cosignatureTimestamp } from './cosignature.ts';
import { parseSignedNote, type SignedNote, verifyNote } from './signed-note.ts';
import { TlogError } from './tlog-errors.ts';
import { quorumMet, type TlogPolicy } from './tlog-policy.ts';

/** Cosignatures up to this far ahead of the time of the check still count (clock skew): 5 minutes. */
export const cosignatureFutureSkewSeconds = 300;

export interface WitnessCosignature {
  /** The policy's name for the witness. */
  readonly witness: string;
  /** When it cosigned (POSIX seconds). */
  readonly timestampSeconds: number;
  /** Whether it counted towards the quorum (false: too old, or after the time of the check). */
  readonly counted: boolean;
}

export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: SignedNote;
  /** The policy log (vkey) whose signature verified. */
  readonly logVkey: string;
  readonly cosignatures: readonly WitnessCosignature[];
}

/**
 * @param text the checkpoint note with its signature lines (untrusted).
 * @param at the time the check is made for (a consumer's `--at`, or now).
 * @throws TlogError NOTE_INVALID / CHECKPOINT_INVALID (malformed), NOTE_UNVERIFIED (no log key of
 *   the origin signed, or a known signature fails), QUORUM_NOT_MET (too few fresh cosignatures).
 */
export function verifyCheckpoint(
  text: string | SignedNote,
  policy: TlogPolicy,
  at: Date,
): VerifiedCheckpoint {
  const note = typeof text === 'string' ? parseSignedNote(text) : text;
  const checkpoint = parseCheckpointText(note.text);
  const logs = policy.logs.filter((log) => log.origin === checkpoint.origin);
  if (logs.length === 0)
    throw new TlogError(
      'NOTE_UNVERIFIED',
      `the checkpoint's origin ${JSON.stringify(checkpoint.origin)} is not a log your policy names (${policy.logs.map((l) => l.origin).join(', ')})`,
    );
  const verification = verifyNote(note, [
    ...logs.map((log) => log.verifier),
    ...policy.witnesses.map((w) => w.verifier),
  ]);
  const logSignature = verification.verified.find((v) => logs.some((log) => log.verifier === v.verifier));
  if (!logSignature)
    throw new TlogError(
      'NOTE_UNVERIFIED',
      `the checkpoint is not signed by the log key of ${checkpoint.origin}`,
    );
  const atSeconds = Math.floor(at.getTime() / 1000);
  const oldest =
    policy.maxCheckpointAgeSeconds === undefined ? -Infinity : atSeconds - policy.maxCheckpointAgeSeconds;
  const cosignatures: WitnessCosignature[] = [];
  for (const { verifier, signature } of verification.verified) {
    const witness = policy.witnesses.find((w) => w.verifier === verifier);
    if (!witness) continue;
    // The verifier accepted it, so the timestamp is well formed.
    const timestampSeconds = cosignatureTimestamp(signature.signature)!;
    const counted =
      timestampSeconds >= oldest && timestampSeconds <= atSeconds + cosignatureFutureSkewSeconds;
    cosignatures.push(Object.freeze({ witness: witness.name, timestampSeconds, counted }));
  }
  const witnessed = new Set(cosignatures.filter((c) => c.counted).map((c) => c.witness));
  if (!quorumMet(policy, witnessed)) {
    const described = cosignatures.map(
      (c) =>
        `${c.witness} at ${new Date(c.timestampSeconds * 1000).toISOString()}${c.counted ? '' : ' (not counted: too old or after the time of the check)'}`,
    );
    throw new TlogError(
      'QUORUM_NOT_MET',
      `the checkpoint of ${checkpoint.origin} at size ${checkpoint.size} does not meet the quorum "${policy.quorum}" ` +
        `as of ${at.toISOString()}${policy.maxCheckpointAgeSeconds !== undefined ? ` (cosignatures at most ${policy.maxCheckpointAgeSeconds} s old)` : ''}; ` +
        `cosigned by: ${described.join(', ') || 'no witness of your policy'}`,
    );
  }
  const logVkey = logs.find((log) => log.verifier === logSignature.verifier)!.vkey;
  return Object.freeze({ checkpoint, note, logVkey, cosignatures: Object.freeze(cosignatures) });
}
