// Migration 1 as released: the initial schema (registry, builds, attempts, results, verdicts, the log).
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly, GENESIS_HASH } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

export const migration1: Migration = {
  version: 1,
  name: 'initial schema',
  sql: `
      CREATE TABLE operators (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE maintainers (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE tokens (
        token_id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('admin', 'maintainer', 'enrolment')),
        subject TEXT NOT NULL,
        scopes_json TEXT NOT NULL,
        single_use INTEGER NOT NULL CHECK (single_use IN (0, 1)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        used_at INTEGER,
        revoked_at INTEGER
      ) STRICT;

      CREATE TABLE workers (
        worker_id TEXT PRIMARY KEY,
        operator TEXT NOT NULL REFERENCES operators (name),
        signing_key_pem TEXT NOT NULL,
        signing_keyid TEXT NOT NULL UNIQUE,
        auth_key_pem TEXT,
        auth_keyid TEXT UNIQUE,
        architectures_json TEXT NOT NULL,
        backends_json TEXT NOT NULL,
        cores INTEGER NOT NULL,
        memory_bytes INTEGER NOT NULL,
        disk_bytes INTEGER NOT NULL,
        queue_name TEXT NOT NULL UNIQUE,
        redis_user TEXT NOT NULL UNIQUE,
        enrolled_at INTEGER NOT NULL,
        last_seen_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX workers_operator ON workers (operator);

      CREATE TABLE builds (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        build_id TEXT NOT NULL UNIQUE,
        manifest_sha256 TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        name TEXT NOT NULL,
        architecture TEXT NOT NULL,
        backend TEXT NOT NULL,
        claimed_outputs_json TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        decision_deadline_ms INTEGER NOT NULL,
        submitted_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        verdict TEXT NOT NULL DEFAULT 'pending',
        verdict_at INTEGER
      ) STRICT;
      CREATE INDEX builds_manifest ON builds (manifest_sha256);
      CREATE INDEX builds_name ON builds (name);

      CREATE TABLE artifacts (
        sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        path TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('claimed', 'rebuilt')),
        PRIMARY KEY (sha256, build_id, path, source)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX artifacts_build ON artifacts (build_id);

      CREATE TABLE attempts (
        job_id TEXT PRIMARY KEY,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL REFERENCES workers (worker_id),
        operator TEXT NOT NULL REFERENCES operators (name),
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        nonce TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'reported', 'failed', 'expired', 'cancelled')),
        assigned_at INTEGER NOT NULL,
        lease_expires_at INTEGER,
        finished_at INTEGER,
        UNIQUE (build_id, worker_id, attempt)
      ) STRICT;
      CREATE INDEX attempts_open ON attempts (assigned_at) WHERE state = 'open';

      CREATE TABLE results (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL REFERENCES workers (worker_id),
        operator TEXT NOT NULL REFERENCES operators (name),
        attempt INTEGER NOT NULL,
        job_id TEXT NOT NULL UNIQUE REFERENCES attempts (job_id),
        envelope_sha256 TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('built', 'failed')),
        failure_reason TEXT,
        outputs_json TEXT NOT NULL,
        environment_sha256 TEXT NOT NULL,
        environment_origin TEXT NOT NULL,
        inputs_key TEXT NOT NULL,
        log_sha256 TEXT NOT NULL,
        counted INTEGER NOT NULL CHECK (counted IN (0, 1)),
        refused_reason TEXT,
        received_at INTEGER NOT NULL,
        UNIQUE (build_id, worker_id, attempt),
        FOREIGN KEY (build_id, worker_id, attempt) REFERENCES attempts (build_id, worker_id, attempt)
      ) STRICT;
      ${appendOnly('results', 'a recorded result')}

      CREATE TABLE verdict_history (
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        sequence INTEGER NOT NULL CHECK (sequence >= 1),
        verdict TEXT NOT NULL,
        previous_verdict TEXT NOT NULL,
        decision_json TEXT NOT NULL,
        consensus_envelope_sha256 TEXT,
        divergence_report_sha256 TEXT,
        decided_at INTEGER NOT NULL,
        PRIMARY KEY (build_id, sequence)
      ) STRICT;
      ${appendOnly('verdict_history', 'the verdict history')}

      CREATE TABLE log_entries (
        idx INTEGER PRIMARY KEY CHECK (idx >= 0),
        kind TEXT NOT NULL CHECK (kind IN ('verdict')),
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        body_sha256 TEXT NOT NULL,
        body_json TEXT NOT NULL,
        prev_entry_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL UNIQUE
      ) STRICT;
      CREATE INDEX log_entries_build ON log_entries (build_id);
      ${appendOnly('log_entries', 'the transparency log')}
      -- Even a writer that bypasses this code can only extend the chain at its end.
      CREATE TRIGGER log_entries_in_order BEFORE INSERT ON log_entries
      WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries)
        OR NEW.prev_entry_hash IS NOT COALESCE(
          (SELECT entry_hash FROM log_entries WHERE idx = NEW.idx - 1), '${GENESIS_HASH}')
      BEGIN SELECT RAISE(ABORT, 'rbnet: transparency log entries must extend the chain'); END;
    `,
};
