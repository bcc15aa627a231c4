// Which stored results still count once workers are revoked: a retired worker's earlier results do,
// a compromised worker's results received at or after its compromise time never do again.
import type { Sha256Hex } from '../../services/digest.ts';
import {
  type RegistryStore,
  resultStillCounts,
  type WorkerRecord,
} from '../../services/storage/registry-store.ts';
import type { ResultRecord } from '../../services/storage/result-store.ts';
import type { IsoTimestamp } from '../../services/storage/store-error.ts';

/** A result that counted when it arrived and no longer does: its worker was marked compromised. */
export interface RevokedResult {
  readonly workerId: string;
  readonly operator: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly kind: 'built' | 'failed';
  readonly envelopeSha256: Sha256Hex;
  readonly receivedAt: IsoTimestamp;
  /** The worker's compromise time: every result received at or after it stopped counting. */
  readonly compromisedSince: IsoTimestamp;
}

export interface ResultStanding<R extends ResultRecord = ResultRecord> {
  /** The counted results that still count, in the order received. */
  readonly counting: readonly R[];
  /** Counted results whose worker's revocation took them out, in the order received. */
  readonly revoked: readonly RevokedResult[];
  /** Each worker read (undefined when unknown), by id. */
  readonly workers: ReadonlyMap<string, WorkerRecord | undefined>;
}

/**
 * Splits a build's counted results by their workers' revocations (see `resultStillCounts`). Results
 * recorded as not counted are left out of both lists: they never counted. Reads each worker once.
 */
export async function standingOfResults<R extends ResultRecord>(
  registry: Pick<RegistryStore, 'getWorker'>,
  results: readonly R[],
): Promise<ResultStanding<R>> {
  const workers = new Map<string, WorkerRecord | undefined>();
  const counting: R[] = [];
  const revoked: RevokedResult[] = [];
  for (const row of results) {
    if (!row.counted) continue;
    if (!workers.has(row.workerId)) workers.set(row.workerId, await registry.getWorker(row.workerId));
    const worker = workers.get(row.workerId);
    if (!worker || resultStillCounts(worker, row.receivedAt)) {
      counting.push(row);
      continue;
    }
    revoked.push({
      workerId: row.workerId,
      operator: row.operator,
      jobId: row.jobId,
      attempt: row.attempt,
      kind: row.kind,
      envelopeSha256: row.envelopeSha256,
      receivedAt: row.receivedAt,
      compromisedSince:
        worker.revocation?.kind === 'compromised' ? worker.revocation.since : (worker.revokedAt ?? ''),
    });
  }
  return { counting, revoked, workers };
}
