// Garbage collection of the content store: removes blobs an upload created that no record names and
// nobody asked for during the grace period. Run periodically by the coordinator and by `rbnet admin gc`.
import type { BlobLedger, CollectableBlob } from '../../services/storage/blob-ledger.ts';
import type { ContentStore } from '../../services/storage/content-store.ts';

export interface GarbageCollectionOptions {
  readonly now: Date;
  /** A blob must have been unwanted this long (since its last upload or mention), ms. */
  readonly graceMs: number;
  /** Report what would be removed, change nothing. */
  readonly dryRun: boolean;
  /** At most this many blobs per pass; `more` says when some were left for the next. */
  readonly maxBlobs: number;
}

export interface GarbageCollectionReport {
  readonly dryRun: boolean;
  readonly graceMs: number;
  /** Blobs last wanted before this instant were eligible. */
  readonly cutoff: string;
  /** Removed (or, in a dry run, to be removed); `missing` when the file was already gone. */
  readonly removed: readonly (CollectableBlob & { readonly missing?: true })[];
  readonly freedBytes: number;
  /** Candidates that turned out to be wanted or referenced while the pass ran, and were kept. */
  readonly kept: number;
  readonly more: boolean;
}

// One pass at a time per ledger: the periodic pass and an administrator's never interleave.
const running = new WeakMap<BlobLedger, Promise<unknown>>();

/**
 * Removes unreferenced, collectable blobs older than the grace period. Each blob is first taken out
 * of the store (quarantined), then forgotten by the ledger in a transaction that re-checks it, and
 * only then deleted; if a record or an upload wanted it meanwhile it is put back. A submission or
 * result marks the blobs it names as wanted before it checks they exist, so either the pass sees
 * that mark and keeps the blob, or the blob is already out of sight and the submission is refused
 * (`INPUTS_MISSING`, `BLOBS_MISSING`): a record never names a blob this pass deletes.
 */
export function collectGarbage(
  deps: { readonly blobs: BlobLedger; readonly content: ContentStore },
  options: GarbageCollectionOptions,
): Promise<GarbageCollectionReport> {
  const previous = running.get(deps.blobs) ?? Promise.resolve();
  const pass = previous.catch(() => undefined).then(() => collectOnce(deps, options));
  running.set(deps.blobs, pass);
  return pass;
}

async function collectOnce(
  deps: { readonly blobs: BlobLedger; readonly content: ContentStore },
  options: GarbageCollectionOptions,
): Promise<GarbageCollectionReport> {
  const cutoff = new Date(options.now.getTime() - options.graceMs);
  const candidates = await deps.blobs.listCollectable(cutoff, options.maxBlobs + 1);
  const more = candidates.length > options.maxBlobs;
  const batch = candidates.slice(0, options.maxBlobs);
  const removed: (CollectableBlob & { missing?: true })[] = [];
  let kept = 0;
  let freedBytes = 0;
  for (const blob of batch) {
    if (options.dryRun) {
      removed.push(blob);
      freedBytes += blob.sizeBytes;
      continue;
    }
    const held = await deps.content.quarantine(blob.sha256);
    if (!(await deps.blobs.forget(blob.sha256, cutoff))) {
      await held?.restore();
      kept += 1;
      continue;
    }
    if (!held) {
      removed.push({ ...blob, missing: true });
      continue;
    }
    await held.discard();
    removed.push(blob);
    freedBytes += held.sizeBytes;
  }
  return Object.freeze({
    dryRun: options.dryRun,
    graceMs: options.graceMs,
    cutoff: cutoff.toISOString(),
    removed: Object.freeze(removed),
    freedBytes,
    kept,
    more,
  });
}
