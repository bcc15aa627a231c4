// Rows of the builds aggregate as SQLite stores them (snake_case), and their records.
import type { Sha256Hex } from '../../../services/digest.ts';
import type { ClaimedOutput } from '../../../services/manifest/manifest.ts';
import type {
  AttemptRecord,
  AttemptState,
  BuildRecord,
  BuildVerdict,
  VerdictRecord,
} from '../../../services/storage/build-store.ts';
import { frozenArray, iso, optional, optionalIso } from './row-mapping.ts';

export interface BuildRow {
  seq: number;
  build_id: string;
  manifest_sha256: string;
  manifest_json: string;
  name: string;
  architecture: string;
  backend: string;
  claimed_outputs_json: string;
  threshold: number;
  max_attempts: number;
  decision_deadline_ms: number;
  submitted_by: string;
  created_at: number;
  verdict: string;
  verdict_at: number | null;
}

export interface AttemptRow {
  job_id: string;
  build_id: string;
  worker_id: string;
  operator: string;
  attempt: number;
  nonce: string;
  state: AttemptState;
  assigned_at: number;
  lease_expires_at: number | null;
  finished_at: number | null;
  started_at: number | null;
  run_limit_ms: number | null;
  failure_reason: string | null;
}

export interface VerdictRow {
  build_id: string;
  sequence: number;
  verdict: string;
  previous_verdict: string;
  decision_json: string;
  consensus_envelope_sha256: string | null;
  divergence_report_sha256: string | null;
  decided_at: number;
}

export function mapBuild(row: BuildRow): BuildRecord {
  return Object.freeze({
    buildId: row.build_id,
    manifestSha256: row.manifest_sha256 as Sha256Hex,
    manifestJson: row.manifest_json,
    name: row.name,
    architecture: row.architecture,
    backend: row.backend,
    claimedOutputs: frozenArray(JSON.parse(row.claimed_outputs_json) as ClaimedOutput[]),
    policy: Object.freeze({
      threshold: row.threshold,
      maxAttempts: row.max_attempts,
      decisionDeadlineMs: row.decision_deadline_ms,
    }),
    submittedBy: row.submitted_by,
    createdAt: iso(row.created_at),
    verdict: row.verdict as BuildVerdict,
    ...optionalIso('verdictAt', row.verdict_at),
  });
}

export function mapAttempt(row: AttemptRow): AttemptRecord {
  return Object.freeze({
    buildId: row.build_id,
    workerId: row.worker_id,
    operator: row.operator,
    attempt: row.attempt,
    jobId: row.job_id,
    nonce: row.nonce,
    state: row.state,
    assignedAt: iso(row.assigned_at),
    ...optionalIso('leaseExpiresAt', row.lease_expires_at),
    ...optionalIso('startedAt', row.started_at),
    ...(row.run_limit_ms === null ? {} : { runLimitMs: row.run_limit_ms }),
    ...optionalIso('finishedAt', row.finished_at),
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
  });
}

export function mapVerdict(row: VerdictRow): VerdictRecord {
  return Object.freeze({
    sequence: row.sequence,
    buildId: row.build_id,
    verdict: row.verdict as BuildVerdict,
    previousVerdict: row.previous_verdict as BuildVerdict,
    decisionJson: row.decision_json,
    ...optional('consensusEnvelopeSha256', row.consensus_envelope_sha256 as Sha256Hex | null),
    ...optional('divergenceReportSha256', row.divergence_report_sha256 as Sha256Hex | null),
    decidedAt: iso(row.decided_at),
  });
}
