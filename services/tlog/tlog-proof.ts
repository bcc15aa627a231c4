// C2SP tlog-proof: an offline proof that an entry is in a log, as text:
// "c2sp.org/tlog-proof@v1", optional "extra <base64>", "index <n>", inclusion hashes, a blank line,
// then the (cosigned) checkpoint verbatim. rbnet puts the logged entry's bytes in `extra`.
import { base64Length, writeBase64 } from './base64-writer.ts';
import { decodeHash, encodeHash, type MerkleHash, parseDecimalSize } from './merkle-hash.ts';
import { parseSignedNote, type SignedNote } from './signed-note.ts';
import { decodeStandardBase64 } from './strict-base64.ts';
import { TlogError } from './tlog-errors.ts';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Largest proof accepted: 1 MiB (an entry of 64 KiB in `extra`, 64 hashes, a note with many cosignatures). */
export const maxTlogProofBytes = 1024 * 1024;

export interface TlogProof {
  /** Opaque, unauthenticated data; rbnet: the entry's bytes, which the verifier hashes itself. */
  readonly extra?: Uint8Array;
  readonly index: number;
  readonly inclusionProof: readonly MerkleHash[];
  /** The checkpoint note as included (text and every signature line). */
  readonly checkpoint: string;
}

export function formatTlogProof(proof: TlogProof): string {
  return (
    formatTlogProofHead(proof.extra, proof.index, []) +
    formatTlogProofTail(proof.inclusionProof, proof.checkpoint)
  );
}

/**
 * The proof's text up to its first `hashes.length` inclusion hashes: the header, `extra`, `index`
 * and those hashes, each line after the first led by its newline.
 */
export function formatTlogProofHead(
  extra: Uint8Array | undefined,
  index: number,
  hashes: readonly MerkleHash[],
): string {
  let text =
    extra === undefined
      ? `${TLOG_PROOF_HEADER}\nindex ${index}`
      : `${TLOG_PROOF_HEADER}\nextra ${Buffer.from(extra.buffer, extra.byteOffset, extra.byteLength).toString('base64')}\nindex ${index}`;
  for (const hash of hashes) text += `\n${encodeHash(hash)}`;
  return text;
}

const EXTRA_LINE_START = Buffer.from(`${TLOG_PROOF_HEADER}\nextra `, 'latin1');
const INDEX_LINE_START = Buffer.from('\nindex ', 'latin1');

/** The bytes of {@link writeTlogProofHead}'s text for an entry of `extraBytes` bytes at `index`. */
export function tlogProofHeadBytes(extraBytes: number, index: number): number {
  return EXTRA_LINE_START.length + base64Length(extraBytes) + INDEX_LINE_START.length + String(index).length;
}

/**
 * Writes `formatTlogProofHead(extra, index, [])` (it is ASCII) into `out` at `at`, with no string
 * made on the way; @returns where it ends ({@link tlogProofHeadBytes} later).
 */
export function writeTlogProofHead(extra: Uint8Array, index: number, out: Buffer, at: number): number {
  at += EXTRA_LINE_START.copy(out, at);
  at = writeBase64(extra, 0, extra.length, out, at);
  at += INDEX_LINE_START.copy(out, at);
  return at + out.write(String(index), at, 'latin1');
}

/**
 * The rest of the proof after {@link formatTlogProofHead}: the remaining inclusion hashes, the blank
 * line and the checkpoint. The same for every entry whose proof ends with these hashes under this
 * checkpoint, so it can be kept and joined to each entry's head.
 */
export function formatTlogProofTail(hashes: readonly MerkleHash[], checkpoint: string): string {
  let text = '';
  for (const hash of hashes) text += `\n${encodeHash(hash)}`;
  return `${text}\n\n${checkpoint}`;
}

/**
 * Parses an untrusted tlog-proof (size, header, lines, then the checkpoint as a signed note; its
 * signatures are not checked here). @throws TlogError PROOF_INVALID, NOTE_INVALID.
 */
export function parseTlogProof(text: string): TlogProof & { readonly note: SignedNote } {
  if (Buffer.byteLength(text, 'utf8') > maxTlogProofBytes)
    throw invalid(`the proof is over the ${maxTlogProofBytes}-byte limit`);
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw invalid('no blank line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (lines[0] !== TLOG_PROOF_HEADER) throw invalid(`the first line must be ${TLOG_PROOF_HEADER}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    extra = decodeStandardBase64(lines[at]!.slice(6));
    if (extra === undefined) throw invalid('the extra line is not base64');
    at++;
  }
  const indexLine = lines[at] ?? '';
  if (!indexLine.startsWith('index ')) throw invalid(`line ${at + 1} must be "index <n>"`);
  const index = parseDecimalSize(indexLine.slice(6), 'proof index');
  const hashLines = lines.slice(at + 1);
  if (hashLines.length > 63)
    throw invalid(`${hashLines.length} inclusion proof hashes, more than a tree can need`);
  const inclusionProof = hashLines.map((line, i) => decodeHash(line, `inclusion proof hash ${i + 1}`));
  const note = parseSignedNote(checkpoint);
  return Object.freeze({
    ...(extra !== undefined && { extra }),
    index,
    inclusionProof: Object.freeze(inclusionProof),
    checkpoint,
    note,
  });
}

function invalid(message: string): TlogError {
  return new TlogError('PROOF_INVALID', `tlog-proof: ${message}`);
}
