// Rows of the results aggregate as SQLite stores them (snake_case), and their records.
import type { DebianSourceFact } from '../../../services/attestation/rebuild-statement.ts';
import type { Sha256Hex } from '../../../services/digest.ts';
import type { ResultFacts, ResultRecord, StoredOutput } from '../../../services/storage/result-store.ts';
import { frozenArray, iso, optional } from './row-mapping.ts';

export interface ResultRow {
  seq: number;
  build_id: string;
  worker_id: string;
  operator: string;
  attempt: number;
  job_id: string;
  envelope_sha256: string;
  kind: 'built' | 'failed';
  failure_reason: string | null;
  outputs_json: string;
  environment_sha256: string;
  environment_origin: string;
  inputs_key: string;
  log_sha256: string;
  counted: number;
  refused_reason: string | null;
  received_at: number;
}

/** The columns of `result_facts` (all null when a result has none). */
export interface FactsColumns {
  keyid: string | null;
  inputs_json: string | null;
  log_size_bytes: number | null;
  debian_source_json: string | null;
}

export type ResultWithFactsRow = ResultRow & FactsColumns;

export function mapResult(row: ResultRow): ResultRecord {
  return Object.freeze({
    buildId: row.build_id,
    workerId: row.worker_id,
    operator: row.operator,
    attempt: row.attempt,
    jobId: row.job_id,
    envelopeSha256: row.envelope_sha256 as Sha256Hex,
    kind: row.kind,
    ...optional('failureReason', row.failure_reason),
    outputs: frozenArray(JSON.parse(row.outputs_json) as StoredOutput[]),
    environmentSha256: row.environment_sha256 as Sha256Hex,
    environmentOrigin: row.environment_origin,
    inputsKey: row.inputs_key,
    logSha256: row.log_sha256 as Sha256Hex,
    counted: row.counted === 1,
    ...optional('refusedReason', row.refused_reason),
    receivedAt: iso(row.received_at),
  });
}

/** The facts of a row whose facts columns are set. */
export function mapFacts(row: FactsColumns): ResultFacts {
  return Object.freeze({
    keyid: row.keyid!,
    inputs: frozenArray(JSON.parse(row.inputs_json!) as { path: string; sha256: Sha256Hex }[]),
    logSizeBytes: row.log_size_bytes!,
    ...(row.debian_source_json !== null && {
      debianSource: Object.freeze(JSON.parse(row.debian_source_json) as DebianSourceFact),
    }),
  });
}
