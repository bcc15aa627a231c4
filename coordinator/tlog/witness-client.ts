// Asks one witness to cosign a new checkpoint (C2SP tlog-witness add-checkpoint): sends the size it
// last cosigned and a consistency proof from there, follows one 409 (the witness knows another
// size), and keeps the cosignature only if it verifies under the witness's configured vkey over
// this checkpoint and is not dated in the future. Anything else it answers is refused, with a
// warning naming the witness and why; the caller goes on without it.
import type { Logger } from 'pino';
import { RbnetError } from '../../services/errors.ts';
import { cosignatureTimestamp, cosignatureVerifier } from '../../services/tlog/cosignature.ts';
import type { MerkleHash } from '../../services/tlog/merkle-hash.ts';
import type { NoteVerifier } from '../../services/tlog/note-keys.ts';
import { type NoteSignature, parseSignatureLine, type SignedNote } from '../../services/tlog/signed-note.ts';
import { cosignatureFutureSkewSeconds } from '../../services/tlog/verify-checkpoint.ts';
import { formatAddCheckpointRequest } from '../../services/tlog/witness/add-checkpoint.ts';

/** Largest witness answer read: a few signature lines. */
const maxAnswerBytes = 16 * 1024;

export interface WitnessEndpoint {
  /** The witness's base URL; `add-checkpoint` is posted under it. */
  readonly url: string;
  /** Its cosignature/v1 verifier key. */
  readonly vkey: string;
}

/** Proves the tree at `newSize` extends the one at `oldSize` (the log's own proof). */
export type ConsistencyProver = (oldSize: number, newSize: number) => Promise<MerkleHash[]>;

export class WitnessClient {
  readonly url: string;
  readonly #verifier: NoteVerifier;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  /** The size this witness last cosigned, as far as we know (0: never). */
  #knownSize = 0;

  readonly #now: () => Date;

  constructor(
    endpoint: WitnessEndpoint,
    options: { readonly timeoutMs: number; readonly logger: Logger; readonly now?: () => Date },
  ) {
    this.url = endpoint.url.replace(/\/+$/, '');
    this.#verifier = cosignatureVerifier(endpoint.vkey, `witness ${endpoint.url}`);
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger.child({ witness: this.url, witnessName: this.#verifier.name });
  }

  get name(): string {
    return this.#verifier.name;
  }

  /** The witness's verified cosignature of `note` (a checkpoint of `size`), or undefined (logged). */
  async cosign(
    note: SignedNote,
    noteText: string,
    size: number,
    prove: ConsistencyProver,
  ): Promise<NoteSignature | undefined> {
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const oldSize = Math.min(this.#knownSize, size);
        const proof = oldSize === 0 || oldSize === size ? [] : await prove(oldSize, size);
        const answer = await this.#post(formatAddCheckpointRequest(oldSize, proof, noteText));
        if (answer.status === 409) {
          const theirs = Number(answer.text.trim());
          if (!Number.isSafeInteger(theirs) || theirs < 0 || theirs > size) {
            this.#logger.error(
              { size, answer: answer.text.slice(0, 200) },
              'witness holds a checkpoint this log never reached',
            );
            return undefined;
          }
          this.#knownSize = theirs;
          continue;
        }
        if (answer.status !== 200) {
          this.#logger.warn(
            { status: answer.status, answer: answer.text.slice(0, 200) },
            'witness refused the checkpoint',
          );
          return undefined;
        }
        if (answer.oversized) return this.#refused(size, `answered more than ${maxAnswerBytes} bytes`);
        const signature = this.#verified(note, answer.text, size);
        if (signature) this.#knownSize = size;
        return signature;
      }
      return undefined;
    } catch (err) {
      this.#logger.warn({ err }, 'witness unreachable');
      return undefined;
    }
  }

  /** Its cosignature of `note` among the lines answered, or undefined (warned, with why). */
  #verified(note: SignedNote, body: string, size: number): NoteSignature | undefined {
    const lines = body.split('\n').filter((l) => l !== '');
    if (lines.length === 0) return this.#refused(size, 'answered no signature line');
    let mine: NoteSignature | undefined;
    for (const [i, line] of lines.entries()) {
      let signature: NoteSignature;
      try {
        signature = parseSignatureLine(line, `answer line ${i + 1}`);
      } catch (error) {
        if (!(error instanceof RbnetError)) throw error;
        return this.#refused(size, `answered something that is not signature lines: ${error.message}`);
      }
      if (signature.name === this.#verifier.name && signature.keyHash === this.#verifier.keyHash) {
        mine = signature;
        break;
      }
    }
    if (!mine)
      return this.#refused(size, 'answered no cosignature by its configured key (name and key hash)');
    if (!this.#verifier.verify(Buffer.from(note.text, 'utf8'), mine.signature))
      return this.#refused(
        size,
        'its cosignature does not verify over this checkpoint under its configured vkey',
      );
    const seconds = cosignatureTimestamp(mine.signature)!;
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    if (seconds > nowSeconds + cosignatureFutureSkewSeconds)
      return this.#refused(
        size,
        `its cosignature is dated ${new Date(seconds * 1000).toISOString()}, more than ${cosignatureFutureSkewSeconds} s in the future`,
      );
    return mine;
  }

  #refused(size: number, reason: string): undefined {
    this.#logger.warn({ size, reason }, 'witness cosignature refused');
    return undefined;
  }

  async #post(body: string): Promise<{ status: number; text: string; oversized: boolean }> {
    const response = await fetch(`${this.url}/add-checkpoint`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    // Read at most maxAnswerBytes (+1 to tell a larger answer): a witness answers a few lines.
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    while (reader && size <= maxAnswerBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    await reader?.cancel().catch(() => undefined);
    return {
      status: response.status,
      text: Buffer.concat(chunks).subarray(0, maxAnswerBytes).toString('utf8'),
      oversized: size > maxAnswerBytes,
    };
  }
}
