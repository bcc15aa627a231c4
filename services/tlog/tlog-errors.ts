// The errors of the transparency-log core: every refusal of a note, checkpoint, proof, tile, policy,
// entry or bundle carries one of these stable codes, and the message names the field.
import { RbnetError } from '../errors.ts';

export type TlogErrorCode =
  /** A signed note is malformed (encoding, blank line, signature line). */
  | 'NOTE_INVALID'
  /** A vkey or a key name is malformed. */
  | 'NOTE_KEY_INVALID'
  /** No signature by a trusted key verifies, or a trusted key's signature fails. */
  | 'NOTE_UNVERIFIED'
  /** A checkpoint's text is not origin, size and root hash lines. */
  | 'CHECKPOINT_INVALID'
  /** A hash, proof or tree size is malformed, or a proof does not verify. */
  | 'PROOF_INVALID'
  /** Two tree heads that cannot both be honest: a fork, a rollback or a rewrite. */
  | 'LOG_INCONSISTENT'
  /** A tile path, tile or entry bundle is malformed or does not match the tree. */
  | 'TILE_INVALID'
  /** A log entry is malformed or too large. */
  | 'ENTRY_INVALID'
  /** A tlog policy text is malformed. */
  | 'TLOG_POLICY_INVALID'
  /** A checkpoint is not witnessed by the quorum the policy asks for (or not recently enough). */
  | 'QUORUM_NOT_MET'
  /** A bundle is malformed, or its parts do not match each other. */
  | 'BUNDLE_INVALID'
  /** The log's stored head moved while an append was under way (compare-and-swap lost). */
  | 'HEAD_CONFLICT';

export class TlogError extends RbnetError<TlogErrorCode> {}
