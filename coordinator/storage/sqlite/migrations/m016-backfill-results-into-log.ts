// Migration 16: the signed worker results recorded before migration 10 made the database log every
// result. Each is sequenced now, in the order it was recorded, as the result entry the live trigger
// writes, marked `backfilled` (docs/transparency-log.md, "Results recorded before the log"). A
// result already in the log is never sequenced twice. Never edit it once released.
import type { Migration } from './migration.ts';

/** Epoch milliseconds as ISO 8601 UTC with milliseconds (how entries spell times; as migration 10). */
const iso = (ms: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${ms} / 1000.0, 'unixepoch')`;

/**
 * A result is logged when a `result` entry of its build names its job (job ids are unique among
 * results). Uses the sequence's build index, so the backfill reads each build's entries once.
 */
const LOGGED = `EXISTS (SELECT 1 FROM tlog_sequence s
  WHERE s.source = 'result' AND s.build_id = r.build_id AND json_extract(s.facts_json, '$.jobId') = r.job_id)`;

export const migration16: Migration = {
  version: 16,
  name: 'transparency log: backfill the results recorded before it',
  sql: `
    INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
      SELECT (SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_sequence)
          + ROW_NUMBER() OVER (ORDER BY r.seq) - 1,
        'result', r.build_id, json_object(
        'buildId', r.build_id,
        'manifestSha256', b.manifest_sha256,
        'workerId', r.worker_id, 'operator', r.operator,
        -- The key that signed it when intake recorded that (result_facts), else the worker's key,
        -- which is what the live trigger reads.
        'keyid', COALESCE(f.keyid, w.signing_keyid),
        'jobId', r.job_id, 'attempt', r.attempt, 'outcome', r.kind,
        'envelopeSha256', r.envelope_sha256, 'outputs', json(r.outputs_json),
        'failureReason', r.failure_reason, 'receivedAt', ${iso('r.received_at')},
        'backfilled', json('true'))
      FROM results AS r
      JOIN builds AS b ON b.build_id = r.build_id
      JOIN workers AS w ON w.worker_id = r.worker_id
      LEFT JOIN result_facts AS f ON f.envelope_sha256 = r.envelope_sha256
      WHERE NOT ${LOGGED}
      ORDER BY r.seq;
  `,
};

/** Undoes migration 16 for tests that turn a file back into version 15 (before its entries are integrated). */
export const migration16Rollback = `
  DROP TRIGGER tlog_sequence_no_delete;
  DELETE FROM tlog_sequence WHERE json_extract(facts_json, '$.backfilled') IS NOT NULL;
  CREATE TRIGGER tlog_sequence_no_delete BEFORE DELETE ON tlog_sequence
  BEGIN SELECT RAISE(ABORT, 'rbnet: the transparency log sequence is append-only'); END;
`;
