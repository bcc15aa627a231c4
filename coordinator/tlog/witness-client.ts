// Asks one witness to cosign a new checkpoint (C2SP tlog-witness add-checkpoint): sends the size it
// last cosigned and a consistency proof from there, follows one 409 (the witness knows another
// size), and keeps the cosignature only if it verifies under the witness's configured vkey.
import type { Logger } from 'pino';
import { cosignatureVerifier } from '../../services/tlog/cosignature.ts';
import type { MerkleHash } from '../../services/tlog/merkle-hash.ts';
import type { NoteVerifier } from '../../services/tlog/note-keys.ts';
import { type NoteSignature, parseSignatureLine, type SignedNote } from '../../services/tlog/signed-note.ts';
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

  constructor(endpoint: WitnessEndpoint, options: { readonly timeoutMs: number; readonly logger: Logger }) {
    this.url = endpoint.url.replace(/\/+$/, '');
    this.#verifier = cosignatureVerifier(endpoint.vkey, `witness ${endpoint.url}`);
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger.child({ witness: this.url });
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
        const signature = this.#verified(note, answer.text);
        if (signature) this.#knownSize = size;
        return signature;
      }
      return undefined;
    } catch (err) {
      this.#logger.warn({ err }, 'witness unreachable');
      return undefined;
    }
  }

  #verified(note: SignedNote, body: string): NoteSignature | undefined {
    for (const line of body.split('\n').filter((l) => l !== '')) {
      const signature = parseSignatureLine(line, 'witness answer');
      if (signature.name !== this.#verifier.name || signature.keyHash !== this.#verifier.keyHash) continue;
      if (this.#verifier.verify(Buffer.from(note.text, 'utf8'), signature.signature)) return signature;
    }
    this.#logger.error('witness answered without a cosignature that verifies under its vkey');
    return undefined;
  }

  async #post(body: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.url}/add-checkpoint`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    // Read at most maxAnswerBytes: a witness answers a few lines, and nothing more is kept.
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    while (reader && size < maxAnswerBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    await reader?.cancel().catch(() => undefined);
    return {
      status: response.status,
      text: Buffer.concat(chunks).subarray(0, maxAnswerBytes).toString('utf8'),
    };
  }
}
