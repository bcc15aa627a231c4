// A tlog witness: checks each add-checkpoint request against the latest checkpoint it cosigned for
// that log, and only then stores the new one and cosigns it. The check and the store happen under
// one lock per origin, so two requests can never roll the stored size back.
import { parseCheckpointText } from '../checkpoint.ts';
import type { Cosigner } from '../cosignature.ts';
import { formatSignatureLine, formatSignedNote, parseSignedNote } from '../signed-note.ts';
import { TlogError } from '../tlog-errors.ts';
import {
  type AddCheckpointDecision,
  decideAddCheckpoint,
  type LatestCheckpoint,
  maxAddCheckpointBytesDefault,
  parseAddCheckpointRequest,
  type WitnessedLog,
} from './add-checkpoint.ts';
import type { WitnessStateStore } from './witness-state-store.ts';

/** An HTTP answer, independent of any server library. */
export interface WitnessAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** For the operator's log: the decision, the origin and sizes. */
  readonly detail: {
    readonly origin?: string;
    readonly oldSize?: number;
    readonly size?: number;
    readonly reason?: string;
  };
}

export interface WitnessServiceOptions {
  readonly cosigner: Cosigner;
  readonly logs: readonly WitnessedLog[];
  readonly store: WitnessStateStore;
  readonly now: () => Date;
  readonly maxBodyBytes?: number;
}

export class WitnessService {
  readonly #options: WitnessServiceOptions;
  /** One chain of pending work per origin: check-then-store is atomic per log. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: WitnessServiceOptions) {
    this.#options = options;
  }

  get maxBodyBytes(): number {
    return this.#options.maxBodyBytes ?? maxAddCheckpointBytesDefault;
  }

  /** Handles one POST add-checkpoint body. Never throws for anything the client sent. */
  async addCheckpoint(body: Uint8Array): Promise<WitnessAnswer> {
    let request: ReturnType<typeof parseAddCheckpointRequest>;
    try {
      request = parseAddCheckpointRequest(body, this.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof TlogError)) throw error;
      return text(400, `malformed request: ${error.message}`, { reason: error.code });
    }
    const origin = request.checkpoint.origin;
    return this.#withLock(origin, async () => {
      const latest = await this.#latest(origin);
      const decision = decideAddCheckpoint(request, this.#options.logs, latest);
      const detail = { origin, oldSize: request.oldSize, size: request.checkpoint.size };
      if (decision.status === 409)
        return {
          status: 409,
          contentType: 'text/x.tlog.size',
          body: `${decision.latestSize}\n`,
          detail: { ...detail, reason: 'old size out of date' },
        };
      if (decision.status !== 200)
        return text(decision.status, decision.message, { ...detail, reason: decision.message });
      return this.#cosignAndStore(decision, detail);
    });
  }

  /** GET <origin sha256>/checkpoint: the latest cosigned checkpoint, or 404. */
  async latestCheckpoint(originSha256: string): Promise<WitnessAnswer> {
    const note = await this.#options.store.readByOriginHash(originSha256);
    if (note === undefined) return text(404, 'this witness has cosigned no checkpoint for that log', {});
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: note, detail: {} };
  }

  async #cosignAndStore(
    decision: Extract<AddCheckpointDecision, { status: 200 }>,
    detail: WitnessAnswer['detail'],
  ): Promise<WitnessAnswer> {
    const { cosigner } = this.#options;
    const seconds = Math.floor(this.#options.now().getTime() / 1000);
    const signature = {
      name: cosigner.name,
      keyHash: cosigner.keyHash,
      signature: await cosigner.cosign(decision.note.text, seconds),
    };
    // Stored before answering: a cosignature handed out is one the witness remembers.
    await this.#options.store.write(
      decision.checkpoint.origin,
      formatSignedNote({ text: decision.note.text, signatures: [...decision.logSignatures, signature] }),
    );
    return {
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: formatSignatureLine(signature),
      detail,
    };
  }

  async #latest(origin: string): Promise<LatestCheckpoint | undefined> {
    const note = await this.#options.store.read(origin);
    if (note === undefined) return undefined;
    const checkpoint = parseCheckpointText(parseSignedNote(note).text);
    if (checkpoint.origin !== origin)
      throw new TlogError(
        'CHECKPOINT_INVALID',
        `the stored checkpoint for ${origin} names ${checkpoint.origin}`,
      );
    return { size: checkpoint.size, rootHash: checkpoint.rootHash };
  }

  #withLock<T>(origin: string, work: () => Promise<T>): Promise<T> {
    const run = (this.#locks.get(origin) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    this.#locks.set(origin, settled);
    void settled.then(() => {
      if (this.#locks.get(origin) === settled) this.#locks.delete(origin);
    });
    return run;
  }
}

function text(status: number, message: string, detail: WitnessAnswer['detail']): WitnessAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${message}\n`, detail };
}
