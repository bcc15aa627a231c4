// The worker thread of tile-appender-thread.ts: a TileAppender without entry bundles, driven by
// messages, so a batch's hashing runs while the thread that writes stores the batch's entries.
import { parentPort } from 'node:worker_threads';
import type { MerkleHash } from './merkle-hash.ts';
import { TileAppender, type TileWrite } from './tile-appender.ts';
import type { TileRef } from './tile-path.ts';
import { TlogError, type TlogErrorCode } from './tlog-errors.ts';

export type AppenderRequest =
  | {
      readonly kind: 'open';
      readonly size: number;
      readonly wanted: readonly TileRef[];
      readonly answers: readonly Uint8Array[];
    }
  | {
      readonly kind: 'append';
      /** The batch's entries one after another; `ends[i]` is where entry i ends. */
      readonly bytes: Uint8Array;
      readonly ends: Uint32Array;
    };

export type AppenderReply =
  | {
      readonly ok: true;
      readonly size: number;
      readonly root: MerkleHash;
      readonly writes: readonly TileWrite[];
    }
  | { readonly ok: false; readonly message: string; readonly code?: TlogErrorCode };

let appender: TileAppender | undefined;

function answer(request: AppenderRequest): AppenderReply {
  if (request.kind === 'open') {
    appender = TileAppender.fromRightEdge(request.size, request.wanted, request.answers, {
      entryBundles: false,
    });
    return { ok: true, size: appender.size, root: appender.root(), writes: [] };
  }
  if (!appender) throw new Error('append before open');
  const entries: Uint8Array[] = [];
  let start = 0;
  for (const end of request.ends) {
    entries.push(request.bytes.subarray(start, end));
    start = end;
  }
  const result = appender.append(entries);
  return { ok: true, size: result.size, root: result.root, writes: result.writes };
}

parentPort!.on('message', (request: AppenderRequest) => {
  let reply: AppenderReply;
  try {
    reply = answer(request);
  } catch (error) {
    // The appender's state is unknown after a failure: the main thread opens a new one.
    appender = undefined;
    reply = {
      ok: false,
      message: (error as Error).message,
      ...(error instanceof TlogError && { code: error.code }),
    };
  }
  parentPort!.postMessage(reply);
});
