// Migration 5 as released: the durable replay record and the content-store ledger.
// Never edit a released migration (existing databases ran it); add the next number.
import { appendOnly, insertDigestRefs } from './frozen-sql.ts';
import type { Migration } from './migration.ts';

export const migration5: Migration = {
  version: 5,
  name: 'durable replay record; content-store ledger: owners, usage, references',
  // auth_nonces: every worker-request nonce until its proof can no longer verify (never evicted
  // early; services/auth/worker-request-auth.ts). blobs/blob_owners/blob_usage: who made the
  // store keep which blob, for quotas; blob_refs: which record names which digest, written by
  // triggers in the same transaction as the record, so garbage collection never removes a blob a
  // build, result, verdict, log entry or apt link names (docs/storage.md).
  sql: `
      CREATE TABLE auth_nonces (
        worker_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (worker_id, nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);
      CREATE INDEX auth_nonces_worker ON auth_nonces (worker_id, expires_at);

      CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
        collectable INTEGER NOT NULL CHECK (collectable IN (0, 1)),
        first_stored_at INTEGER NOT NULL,
        last_wanted_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX blobs_collectable ON blobs (last_wanted_at) WHERE collectable = 1;

      CREATE TABLE blob_owners (
        principal TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES blobs (sha256),
        size_bytes INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (principal, sha256)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX blob_owners_blob ON blob_owners (sha256);

      CREATE TABLE blob_usage (
        principal TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL,
        blobs INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER blob_owners_charge AFTER INSERT ON blob_owners BEGIN
        INSERT INTO blob_usage (principal, bytes, blobs) VALUES (NEW.principal, NEW.size_bytes, 1)
          ON CONFLICT (principal) DO UPDATE SET bytes = bytes + excluded.bytes, blobs = blobs + 1;
      END;
      CREATE TRIGGER blob_owners_release AFTER DELETE ON blob_owners BEGIN
        UPDATE blob_usage SET bytes = bytes - OLD.size_bytes, blobs = blobs - 1
          WHERE principal = OLD.principal;
      END;

      CREATE TABLE blob_refs (
        sha256 TEXT NOT NULL,
        holder TEXT NOT NULL,
        PRIMARY KEY (sha256, holder)
      ) STRICT, WITHOUT ROWID;
      ${appendOnly('blob_refs', 'a blob reference')}
      -- References are never removed, so a referenced blob is never collectable again.
      CREATE TRIGGER blob_refs_pin AFTER INSERT ON blob_refs BEGIN
        UPDATE blobs SET collectable = 0 WHERE sha256 = NEW.sha256 AND collectable = 1;
      END;

      CREATE TRIGGER builds_blob_refs AFTER INSERT ON builds BEGIN
        ${insertDigestRefs("'build:' || NEW.build_id", 'NEW.manifest_json')}
        ${insertDigestRefs("'build:' || NEW.build_id", 'NEW.claimed_outputs_json')}
      END;
      CREATE TRIGGER results_blob_refs AFTER INSERT ON results BEGIN
        INSERT OR IGNORE INTO blob_refs (sha256, holder)
          VALUES (NEW.envelope_sha256, 'result:' || NEW.job_id), (NEW.log_sha256, 'result:' || NEW.job_id);
        ${insertDigestRefs("'result:' || NEW.job_id", 'NEW.outputs_json')}
      END;
      CREATE TRIGGER verdict_history_blob_refs AFTER INSERT ON verdict_history BEGIN
        INSERT OR IGNORE INTO blob_refs (sha256, holder)
          SELECT d, 'verdict:' || NEW.build_id || ':' || NEW.sequence
          FROM (SELECT NEW.consensus_envelope_sha256 AS d UNION SELECT NEW.divergence_report_sha256)
          WHERE d IS NOT NULL;
        ${insertDigestRefs("'verdict:' || NEW.build_id || ':' || NEW.sequence", 'NEW.decision_json')}
      END;
      CREATE TRIGGER log_entries_blob_refs AFTER INSERT ON log_entries BEGIN
        ${insertDigestRefs("'log:' || NEW.idx", 'NEW.body_json')}
      END;
      CREATE TRIGGER apt_links_blob_refs AFTER INSERT ON apt_links BEGIN
        INSERT OR IGNORE INTO blob_refs (sha256, holder) VALUES (NEW.link_sha256, 'apt-link:' || NEW.build_id);
      END;
      CREATE TRIGGER apt_links_blob_refs_update AFTER UPDATE OF link_sha256 ON apt_links BEGIN
        INSERT OR IGNORE INTO blob_refs (sha256, holder) VALUES (NEW.link_sha256, 'apt-link:' || NEW.build_id);
      END;

      -- What was recorded before this migration is referenced the same way.
      ${insertDigestRefs("'build:' || r.build_id", 'r.manifest_json', 'builds')}
      ${insertDigestRefs("'build:' || r.build_id", 'r.claimed_outputs_json', 'builds')}
      INSERT OR IGNORE INTO blob_refs (sha256, holder)
        SELECT envelope_sha256, 'result:' || job_id FROM results
        UNION SELECT log_sha256, 'result:' || job_id FROM results;
      ${insertDigestRefs("'result:' || r.job_id", 'r.outputs_json', 'results')}
      INSERT OR IGNORE INTO blob_refs (sha256, holder)
        SELECT consensus_envelope_sha256, 'verdict:' || build_id || ':' || sequence FROM verdict_history
          WHERE consensus_envelope_sha256 IS NOT NULL
        UNION SELECT divergence_report_sha256, 'verdict:' || build_id || ':' || sequence FROM verdict_history
          WHERE divergence_report_sha256 IS NOT NULL;
      ${insertDigestRefs("'verdict:' || r.build_id || ':' || r.sequence", 'r.decision_json', 'verdict_history')}
      ${insertDigestRefs("'log:' || r.idx", 'r.body_json', 'log_entries')}
      INSERT OR IGNORE INTO blob_refs (sha256, holder) SELECT link_sha256, 'apt-link:' || build_id FROM apt_links;
    `,
};
