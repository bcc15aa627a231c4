// C2SP tlog-checkpoint: the note text `<origin>\n<tree size>\n<base64 root hash>\n[extension lines]`.
import { decodeHash, encodeHash, type MerkleHash, parseDecimalSize } from './merkle-hash.ts';
import { isValidKeyName } from './note-keys.ts';
import { TlogError } from './tlog-errors.ts';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: MerkleHash;
  /** Opaque, non-empty lines after the root hash (rbnet writes none). */
  readonly extensions: readonly string[];
}

/** The note text of a checkpoint, final newline included. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (!isValidKeyName(checkpoint.origin))
    throw new TlogError('CHECKPOINT_INVALID', `origin ${JSON.stringify(checkpoint.origin)} is not valid`);
  const lines = [
    checkpoint.origin,
    String(checkpoint.size),
    encodeHash(checkpoint.rootHash),
    ...checkpoint.extensions,
  ];
  if (checkpoint.extensions.some((line) => line === '' || line.includes('\n')))
    throw new TlogError('CHECKPOINT_INVALID', 'extension lines must be non-empty single lines');
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a checkpoint's note text (after the note's signatures were split off).
 * @throws TlogError CHECKPOINT_INVALID naming the line.
 */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n'))
    throw new TlogError('CHECKPOINT_INVALID', 'the checkpoint text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3)
    throw new TlogError('CHECKPOINT_INVALID', 'a checkpoint needs origin, tree size and root hash lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!isValidKeyName(origin))
    throw new TlogError(
      'CHECKPOINT_INVALID',
      `origin line ${JSON.stringify(origin.slice(0, 80))} is not valid`,
    );
  const size = parseDecimalSize(sizeText, 'checkpoint tree size line', 'CHECKPOINT_INVALID');
  let rootHash: MerkleHash;
  try {
    rootHash = decodeHash(rootText, 'checkpoint root hash line');
  } catch (cause) {
    throw new TlogError('CHECKPOINT_INVALID', (cause as Error).message, { cause });
  }
  if (extensions.some((line) => line === ''))
    throw new TlogError('CHECKPOINT_INVALID', 'a checkpoint extension line is empty');
  return Object.freeze({ origin, size, rootHash, extensions: Object.freeze(extensions) });
}
