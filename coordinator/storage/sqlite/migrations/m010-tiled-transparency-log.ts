// Migration 10: the witnessed, tiled transparency log (docs/transparency-log.md). Every signed result
// and every key event is sequenced by a trigger in the transaction that records it, so none can be
// recorded without its place in the log; verdicts are sequenced by the store that chains them. The
// hash-chained entries already recorded come first, in their order. Never edit it once released.
import { appendOnly } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

/** The next gap-free log index: the sequencing transaction holds the write lock. */
const NEXT_INDEX = '(SELECT COALESCE(MAX(idx), -1) + 1 FROM tlog_sequence)';
/** Epoch milliseconds as ISO 8601 UTC with milliseconds (how entries spell times). */
const iso = (ms: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${ms} / 1000.0, 'unixepoch')`;

const keyEvent = (event: string, at: string, extra = '') => `
    INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
    VALUES (${NEXT_INDEX}, 'key-event', NULL, json_object(
      'event', ${event}, 'workerId', NEW.worker_id, 'operator', NEW.operator,
      'keyid', NEW.signing_keyid, 'at', ${iso(at)}${extra}));`;

export const migration10: Migration = {
  version: 10,
  name: 'tiled transparency log: sequence, tiles, head',
  sql: `
    -- What the log holds, in order: idx is the entry's index in the Merkle tree. facts_json is what
    -- the entry is made from (the integrator writes it as the entry's canonical JSON).
    CREATE TABLE tlog_sequence (
      idx INTEGER PRIMARY KEY CHECK (idx >= 0),
      source TEXT NOT NULL CHECK (source IN ('chain', 'result', 'verdict', 'key-event')),
      build_id TEXT,
      facts_json TEXT NOT NULL CHECK (json_valid(facts_json)),
      sequenced_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
    ) STRICT;
    CREATE INDEX tlog_sequence_build ON tlog_sequence (build_id) WHERE build_id IS NOT NULL;
    ${appendOnly('tlog_sequence', 'the transparency log sequence')}
    CREATE TRIGGER tlog_sequence_in_order BEFORE INSERT ON tlog_sequence
    WHEN NEW.idx != ${NEXT_INDEX}
    BEGIN SELECT RAISE(ABORT, 'CONFLICT idx: the transparency log grows only at its end'); END;

    -- Tiles and entry bundles by C2SP coordinates (level -1: entry bundles). A partial tile is
    -- removed once its full tile is stored; readers cut it from the full one.
    CREATE TABLE tlog_tiles (
      level INTEGER NOT NULL CHECK (level BETWEEN -1 AND 63),
      tile_index INTEGER NOT NULL CHECK (tile_index >= 0),
      width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 256),
      bytes BLOB NOT NULL,
      PRIMARY KEY (level, tile_index, width)
    ) STRICT; -- a rowid table: an entry bundle (up to 16 MiB) reads 4x faster than WITHOUT ROWID

    -- The one head the log has committed to, moved only by compare-and-swap; the checkpoint served
    -- (signed by the log key, with the cosignatures witnesses returned for it).
    CREATE TABLE tlog_head (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      size INTEGER NOT NULL CHECK (size >= 0),
      root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
      checkpoint TEXT
    ) STRICT;
    CREATE TRIGGER tlog_head_forward BEFORE UPDATE OF size ON tlog_head WHEN NEW.size < OLD.size
    BEGIN SELECT RAISE(ABORT, 'CONFLICT size: the transparency log head never moves back'); END;

    -- 1. The hash-chained entries recorded so far, in their order.
    INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
      SELECT idx, 'chain', build_id, json_object('index', idx, 'kind', kind, 'buildId', build_id,
        'bodySha256', body_sha256, 'prevEntryHash', prev_entry_hash, 'entryHash', entry_hash)
      FROM log_entries ORDER BY idx;
    -- 2. The keys already enrolled, then those already revoked, so the log knows every key in use.
    INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
      SELECT (SELECT COUNT(*) FROM log_entries) + ROW_NUMBER() OVER (ORDER BY enrolled_at, worker_id) - 1,
        'key-event', NULL, json_object('event', 'enrolled', 'workerId', worker_id, 'operator', operator,
          'keyid', signing_keyid, 'at', ${iso('enrolled_at')})
      FROM workers;
    INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
      SELECT (SELECT COUNT(*) FROM tlog_sequence) + ROW_NUMBER() OVER (ORDER BY revoked_at, worker_id) - 1,
        'key-event', NULL, json_object('event', revocation_kind, 'workerId', worker_id,
          'operator', operator, 'keyid', signing_keyid, 'at', ${iso('revoked_at')},
          'compromisedSince', CASE WHEN revocation_kind = 'compromised'
            THEN ${iso('COALESCE(compromised_since, revoked_at)')} END)
      FROM workers WHERE revoked_at IS NOT NULL;

    -- From now on: every signed result (built or failed) with the transaction that records it.
    CREATE TRIGGER results_logged AFTER INSERT ON results BEGIN
      INSERT INTO tlog_sequence (idx, source, build_id, facts_json)
      VALUES (${NEXT_INDEX}, 'result', NEW.build_id, json_object(
        'buildId', NEW.build_id,
        'manifestSha256', (SELECT manifest_sha256 FROM builds WHERE build_id = NEW.build_id),
        'workerId', NEW.worker_id, 'operator', NEW.operator,
        'keyid', (SELECT signing_keyid FROM workers WHERE worker_id = NEW.worker_id),
        'jobId', NEW.job_id, 'attempt', NEW.attempt, 'outcome', NEW.kind,
        'envelopeSha256', NEW.envelope_sha256, 'outputs', json(NEW.outputs_json),
        'failureReason', NEW.failure_reason, 'receivedAt', ${iso('NEW.received_at')}));
    END;
    -- Every key event: enrolment, retirement, compromise (also a retired key later compromised).
    CREATE TRIGGER workers_enrolled_logged AFTER INSERT ON workers BEGIN
      ${keyEvent("'enrolled'", 'NEW.enrolled_at')}
    END;
    CREATE TRIGGER workers_revoked_logged AFTER UPDATE OF revoked_at, revocation_kind, compromised_since ON workers
    WHEN NEW.revoked_at IS NOT NULL AND (OLD.revoked_at IS NULL
      OR OLD.revocation_kind IS NOT NEW.revocation_kind OR OLD.compromised_since IS NOT NEW.compromised_since)
    BEGIN
      ${keyEvent(
        'NEW.revocation_kind',
        "CASE WHEN OLD.revoked_at IS NULL THEN NEW.revoked_at ELSE CAST(unixepoch('subsec') * 1000 AS INTEGER) END",
        `, 'compromisedSince', CASE WHEN NEW.revocation_kind = 'compromised'
            THEN ${iso('COALESCE(NEW.compromised_since, NEW.revoked_at)')} END`,
      )}
    END;
  `,
};

/** What migration 10 creates, for tests that turn a file back into an older version. */
export const migration10Objects: readonly { readonly type: 'table' | 'trigger'; readonly name: string }[] = [
  { type: 'trigger', name: 'results_logged' },
  { type: 'trigger', name: 'workers_enrolled_logged' },
  { type: 'trigger', name: 'workers_revoked_logged' },
  { type: 'table', name: 'tlog_sequence' },
  { type: 'table', name: 'tlog_tiles' },
  { type: 'table', name: 'tlog_head' },
];
