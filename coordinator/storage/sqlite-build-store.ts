// SQLite implementation of BuildStore: schema and migrations, prepared statements, row <-> record mapping.
import { createHash, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../../services/digest.ts';
import {
  accountNameRule,
  architectureRule,
  backendNameRule,
  jobIdRule,
  jobNonceRule,
  keyidRule,
  queueNameRule,
  redisUserRule,
  tokenScopeRule,
  tokenSecretRule,
  uuidRule,
} from '../../services/identifiers.ts';
import { canonicalizeJcs } from '../../services/jcs.ts';
import type { ClaimedOutput } from '../../services/manifest/manifest.ts';
import {
  type AptLinkConflictRecord,
  type AptLinkPublication,
  type AptLinkRecord,
  type AttemptRecord,
  type AttemptState,
  type BuildPolicy,
  type BuildRecord,
  type BuildStore,
  BuildStoreError,
  type BuildVerdict,
  buildVerdicts,
  type FinishedAttemptState,
  type HeartbeatLeases,
  type IsoTimestamp,
  type ListBuildsOptions,
  type ListPendingBuildsOptions,
  type LogEntryKind,
  type LogEntryRecord,
  type MaintainerRecord,
  type NewAptLink,
  type NewAttempt,
  type NewBuild,
  type NewLogEntry,
  type NewResult,
  type NewToken,
  type NewVerdict,
  type OperatorRecord,
  type ResultByproduct,
  type ResultByproductRecord,
  type ResultRecord,
  type StoredOutput,
  type TokenKind,
  type TokenRecord,
  type VerdictRecord,
  type WorkerEnrolment,
  type WorkerRecord,
  type WorkerRevocation,
  type WorkerRevocationRequest,
} from '../../services/storage/build-store.ts';
import { WEB_AGGREGATES_MIGRATION_SQL } from './web-aggregates-migration.ts';

export interface SqliteBuildStoreOptions {
  /** How long a statement waits for another connection's write lock before failing, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

export const sqliteBuildStoreDefaults = Object.freeze({ busyTimeoutMs: 5000 });

/** The entry before entry 0 of the transparency log. */
const GENESIS_HASH = '0'.repeat(64) as Sha256Hex;

// Limits at the boundary: each is far above honest use and keeps one row from bloating the database.
const MAX_MANIFEST_CHARS = 4 * 1024 * 1024;
const MAX_DECISION_CHARS = 1024 * 1024;
const MAX_LOG_BODY_CHARS = 1024 * 1024;
const MAX_OUTPUTS = 10_000;
const MAX_TEXT_CHARS = 4096;
const MAX_PAGE = 1000;

// Identifier rules are services/identifiers.ts's, one per identifier.
const storeNamePattern = accountNameRule.pattern;
const UUID = uuidRule.pattern;
const SCOPE = tokenScopeRule.pattern;
const TOKEN_SECRET = tokenSecretRule.pattern;
const KEYID = keyidRule.pattern;
const ARCHITECTURE = architectureRule.pattern;
const BACKEND = backendNameRule.pattern;
const QUEUE_NAME = queueNameRule.pattern;
const REDIS_USER = redisUserRule.pattern;
const JOB_ID = jobIdRule.pattern;
const NONCE = jobNonceRule.pattern;
const ORIGIN = /^[a-z][a-z0-9-]{0,63}$/;
const INPUTS_KEY = /^[A-Za-z0-9:._-]{1,256}$/;
// Names and paths: no control characters at all (they hide in logs and terminals).
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/u;
// Free text (failure and refusal reasons): tabs and line breaks allowed, other control characters not.
const TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]+$/u;

const TOKEN_KINDS: readonly TokenKind[] = ['admin', 'maintainer', 'enrolment'];
const FINISHED_STATES: readonly FinishedAttemptState[] = ['reported', 'failed', 'expired', 'cancelled'];
const LOG_KINDS: readonly LogEntryKind[] = ['verdict'];

/** Builds `RAISE(ABORT)` triggers that make a table's rows immutable: append-only history. */
function appendOnly(table: string, what: string): string {
  return `
    CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'rbnet: ${what} is append-only'); END;
    CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
    BEGIN SELECT RAISE(ABORT, 'rbnet: ${what} is append-only'); END;`;
}

/**
 * Part of migration 5 (never change it; a later migration writes its own): an INSERT that records,
 * for `holder`, every sha256 anywhere in the JSON text `json` (a 64-lowercase-hex string, bare or
 * `sha256:`-prefixed). Over-approximate on purpose: a digest named anywhere in a record is kept.
 * Inside a trigger `json` reads `NEW.…`; with `table` it reads every row `r` of that table.
 */
function insertDigestRefs(holder: string, json: string, table?: string): string {
  const digest = `CASE WHEN t.value LIKE 'sha256:%' THEN substr(t.value, 8) ELSE t.value END`;
  return `INSERT OR IGNORE INTO blob_refs (sha256, holder)
          SELECT DISTINCT ${digest}, ${holder}
          FROM ${table ? `${table} AS r, ` : ''}json_tree(CASE WHEN json_valid(${json}) THEN ${json} ELSE '[]' END) AS t
          WHERE t.type = 'text' AND length(${digest}) = 64 AND ${digest} NOT GLOB '*[^0-9a-f]*';`;
}

/**
 * Numbered migrations, applied in order inside one transaction per open. Never edit a released
 * migration: add the next number. Times are INTEGER epoch milliseconds (UTC); booleans are 0/1.
 */
const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
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
  },
  {
    version: 2,
    name: 'worker redis password hash; lease lookups',
    // Redis keeps ACL users in memory only: after Redis loses its data the coordinator re-creates
    // each worker's user from this hash (never the password itself).
    sql: `
      ALTER TABLE workers ADD COLUMN redis_password_sha256 TEXT;
      CREATE INDEX attempts_open_lease ON attempts (state, lease_expires_at);
    `,
  },
  {
    version: 3,
    name: 'apt links served to apt-transport-in-toto',
    // One row per (architecture, operator, binary package, version): the operator's signed link for
    // a build whose verdict is reproducible. The primary key is the lookup the apt endpoint makes.
    sql: `
      CREATE TABLE apt_links (
        architecture TEXT NOT NULL,
        operator TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        link_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (architecture, operator, package, version)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX apt_links_build ON apt_links (build_id);
    `,
  },
  {
    version: 4,
    name: 'revocation kinds; apt link products and conflicts; pending index; verdict counters; byproduct index',
    sql: `
      -- A revoked worker is either retired (results received before revoked_at count) or compromised
      -- since a time (results received from then on do not). Revocations before this were retirements:
      -- decisions kept counting their earlier results.
      ALTER TABLE workers ADD COLUMN revocation_kind TEXT
        CHECK (revocation_kind IN ('retired', 'compromised'));
      ALTER TABLE workers ADD COLUMN compromised_since INTEGER;
      UPDATE workers SET revocation_kind = 'retired' WHERE revoked_at IS NOT NULL;
      CREATE INDEX results_worker_received ON results (worker_id, received_at);

      -- The sweep reads pending builds through this index only: its cost follows the pending work.
      CREATE INDEX builds_pending ON builds (seq) WHERE verdict = 'pending';
      -- Each worker's load, counted from the index rather than by reading every open attempt.
      CREATE INDEX attempts_open_worker ON attempts (worker_id) WHERE state = 'open';

      -- Builds per current verdict, kept on write, so a metrics scrape reads a handful of rows.
      CREATE TABLE verdict_counts (
        verdict TEXT PRIMARY KEY,
        builds INTEGER NOT NULL CHECK (builds >= 0)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO verdict_counts (verdict, builds) SELECT verdict, COUNT(*) FROM builds GROUP BY verdict;
      CREATE TRIGGER builds_count_insert AFTER INSERT ON builds
      BEGIN
        INSERT OR IGNORE INTO verdict_counts (verdict, builds) VALUES (NEW.verdict, 0);
        UPDATE verdict_counts SET builds = builds + 1 WHERE verdict = NEW.verdict;
      END;
      CREATE TRIGGER builds_count_verdict AFTER UPDATE OF verdict ON builds
      WHEN OLD.verdict IS NOT NEW.verdict
      BEGIN
        UPDATE verdict_counts SET builds = builds - 1 WHERE verdict = OLD.verdict;
        INSERT OR IGNORE INTO verdict_counts (verdict, builds) VALUES (NEW.verdict, 0);
        UPDATE verdict_counts SET builds = builds + 1 WHERE verdict = NEW.verdict;
      END;
      CREATE TRIGGER builds_count_delete AFTER DELETE ON builds
      BEGIN
        UPDATE verdict_counts SET builds = builds - 1 WHERE verdict = OLD.verdict;
      END;

      -- Links published before workers signed where the source came from cannot show that it came
      -- from their signed archive index, so none of them is served any more (docs/apt-in-toto.md).
      DROP TABLE apt_links;
      CREATE TABLE apt_links (
        architecture TEXT NOT NULL,
        operator TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        link_sha256 TEXT NOT NULL,
        products_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        worker_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (architecture, operator, package, version)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX apt_links_build ON apt_links (build_id);
      CREATE INDEX apt_links_version ON apt_links (architecture, package, version);
      CREATE INDEX apt_links_worker ON apt_links (worker_id);

      -- The alarm: a later build of a published package version whose products differ.
      CREATE TABLE apt_link_conflicts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        architecture TEXT NOT NULL,
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        published_build_id TEXT NOT NULL REFERENCES builds (build_id),
        published_products_sha256 TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        products_sha256 TEXT NOT NULL,
        detected_at INTEGER NOT NULL,
        UNIQUE (build_id, architecture, package, version, published_build_id, products_sha256)
      ) STRICT;
      CREATE INDEX apt_link_conflicts_published ON apt_link_conflicts (published_build_id);
      ${appendOnly('apt_link_conflicts', 'the apt link conflict record')}

      -- What each result's envelope signs as byproducts, written at intake (after verification).
      CREATE TABLE result_byproducts (
        build_id TEXT NOT NULL REFERENCES builds (build_id),
        sha256 TEXT NOT NULL,
        envelope_sha256 TEXT NOT NULL REFERENCES results (envelope_sha256),
        name TEXT NOT NULL,
        PRIMARY KEY (build_id, sha256, envelope_sha256, name)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX result_byproducts_envelope ON result_byproducts (envelope_sha256);
      ${appendOnly('result_byproducts', 'the result byproduct index')}
    `,
  },
  {
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
  },
  {
    version: 6,
    name: 'attempts: started by a heartbeat, run limit',
    // A heartbeat renews only the attempts it names; started_at tells a running attempt (lease) from
    // one still waiting in the queue (pickup deadline). run_limit_ms caps how long naming renews it.
    sql: `
      ALTER TABLE attempts ADD COLUMN started_at INTEGER;
      ALTER TABLE attempts ADD COLUMN run_limit_ms INTEGER CHECK (run_limit_ms IS NULL OR run_limit_ms > 0);
      -- (each worker's open attempts are indexed by attempts_open_worker, migration 4)
    `,
  },
  {
    version: 7,
    name: 'why an attempt closed without a report',
    // Infrastructure failures (a build container killed by someone else, an engine error) close the
    // attempt with the worker queue's reason, so the API shows why the build was retried.
    sql: `
      ALTER TABLE attempts ADD COLUMN failure_reason TEXT;
    `,
  },
  {
    version: 8,
    name: 'web page aggregates: packages, counts per family, daily changes, hourly outcomes',
    // What the public pages read instead of the history (coordinator/web/sqlite-web-aggregates.ts,
    // docs/web.md): kept on write by triggers in the writing transaction, read in rows bounded by
    // packages shown, days and hours of a window, never by the builds stored.
    sql: WEB_AGGREGATES_MIGRATION_SQL,
  },
];

/** The lease an attempt gets from `renewLeases` (parameters `@until` and `@queued`). */
const RENEWED_LEASE_SQL = `CASE
  WHEN started_at IS NULL THEN @queued
  WHEN run_limit_ms IS NULL THEN @until
  ELSE MIN(@until, started_at + run_limit_ms) END`;

/** The newest schema version this code knows. */
export const sqliteSchemaVersion = MIGRATIONS[MIGRATIONS.length - 1]!.version;

// ---------------------------------------------------------------- row shapes (snake_case, as stored)

interface NameRow {
  name: string;
  created_at: number;
}

interface TokenRow {
  token_id: string;
  token_hash: string;
  kind: TokenKind;
  subject: string;
  scopes_json: string;
  single_use: number;
  created_at: number;
  expires_at: number | null;
  used_at: number | null;
  revoked_at: number | null;
}

interface WorkerRow {
  worker_id: string;
  operator: string;
  signing_key_pem: string;
  signing_keyid: string;
  auth_key_pem: string | null;
  auth_keyid: string | null;
  architectures_json: string;
  backends_json: string;
  cores: number;
  memory_bytes: number;
  disk_bytes: number;
  queue_name: string;
  redis_user: string;
  redis_password_sha256: string | null;
  enrolled_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  revocation_kind: 'retired' | 'compromised' | null;
  compromised_since: number | null;
}

interface BuildRow {
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

interface AttemptRow {
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
  /** Absent on rows built in memory before insertion (it is only set when an attempt closes). */
  failure_reason?: string | null;
}

interface ResultRow {
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

interface VerdictRow {
  build_id: string;
  sequence: number;
  verdict: string;
  previous_verdict: string;
  decision_json: string;
  consensus_envelope_sha256: string | null;
  divergence_report_sha256: string | null;
  decided_at: number;
}

interface LogRow {
  idx: number;
  kind: LogEntryKind;
  build_id: string;
  body_sha256: string;
  body_json: string;
  prev_entry_hash: string;
  entry_hash: string;
}

type Statements = ReturnType<typeof prepareStatements>;

/** Every statement the store runs, prepared once when the store opens. */
interface AptLinkRow {
  architecture: string;
  operator: string;
  package: string;
  version: string;
  link_sha256: string;
  products_sha256: string;
  build_id: string;
  worker_id: string;
  created_at: number;
}

interface AptLinkConflictRow {
  seq: number;
  architecture: string;
  package: string;
  version: string;
  published_build_id: string;
  published_products_sha256: string;
  build_id: string;
  products_sha256: string;
  detected_at: number;
}

interface ResultByproductRow {
  build_id: string;
  sha256: string;
  envelope_sha256: string;
  name: string;
}

function prepareStatements(db: Database.Database) {
  return {
    schemaVersion: db.prepare<[], { v: number }>('SELECT MAX(version) AS v FROM schema_migrations'),
    insertOperator: db.prepare<[string, number]>('INSERT INTO operators (name, created_at) VALUES (?, ?)'),
    operatorByName: db.prepare<[string], NameRow>('SELECT * FROM operators WHERE name = ?'),
    listOperators: db.prepare<[], NameRow>('SELECT * FROM operators ORDER BY name'),
    insertMaintainer: db.prepare<[string, number]>(
      'INSERT INTO maintainers (name, created_at) VALUES (?, ?)',
    ),
    maintainerByName: db.prepare<[string], NameRow>('SELECT * FROM maintainers WHERE name = ?'),
    listMaintainers: db.prepare<[], NameRow>('SELECT * FROM maintainers ORDER BY name'),

    insertToken: db.prepare<[Omit<TokenRow, 'used_at' | 'revoked_at'>]>(
      `INSERT INTO tokens (token_id, token_hash, kind, subject, scopes_json, single_use, created_at, expires_at)
       VALUES (@token_id, @token_hash, @kind, @subject, @scopes_json, @single_use, @created_at, @expires_at)`,
    ),
    tokenByHash: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE token_hash = ?'),
    tokenById: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE token_id = ?'),
    // The WHERE clause is the atomic part: of two racing spenders exactly one changes the row.
    spendToken: db.prepare<[number, string]>(
      'UPDATE tokens SET used_at = ? WHERE token_id = ? AND single_use = 1 AND used_at IS NULL AND revoked_at IS NULL',
    ),
    revokeToken: db.prepare<[number, string]>(
      'UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL',
    ),

    insertWorker: db.prepare<
      [Omit<WorkerRow, 'last_seen_at' | 'revoked_at' | 'revocation_kind' | 'compromised_since'>]
    >(
      `INSERT INTO workers (worker_id, operator, signing_key_pem, signing_keyid, auth_key_pem, auth_keyid,
         architectures_json, backends_json, cores, memory_bytes, disk_bytes, queue_name, redis_user,
         redis_password_sha256, enrolled_at)
       VALUES (@worker_id, @operator, @signing_key_pem, @signing_keyid, @auth_key_pem, @auth_keyid,
         @architectures_json, @backends_json, @cores, @memory_bytes, @disk_bytes, @queue_name, @redis_user,
         @redis_password_sha256, @enrolled_at)`,
    ),
    workerById: db.prepare<[string], WorkerRow>('SELECT * FROM workers WHERE worker_id = ?'),
    workerBySigningKeyid: db.prepare<[string], WorkerRow>('SELECT * FROM workers WHERE signing_keyid = ?'),
    workerClash: db.prepare<
      [{ signing_keyid: string; auth_keyid: string | null; queue_name: string; redis_user: string }],
      WorkerRow
    >(
      `SELECT * FROM workers WHERE signing_keyid = @signing_keyid OR auth_keyid = @auth_keyid
         OR queue_name = @queue_name OR redis_user = @redis_user LIMIT 1`,
    ),
    listWorkers: db.prepare<[], WorkerRow>('SELECT * FROM workers ORDER BY worker_id'),
    listActiveWorkers: db.prepare<[], WorkerRow>(
      'SELECT * FROM workers WHERE revoked_at IS NULL ORDER BY worker_id',
    ),
    setRevocation: db.prepare<[number, string, number | null, string]>(
      'UPDATE workers SET revoked_at = ?, revocation_kind = ?, compromised_since = ? WHERE worker_id = ?',
    ),
    // Its links of every build it reported to from the cut-off on: the re-decision publishes what stands.
    withdrawLinksOfWorkerFrom: db.prepare<[string, string, number]>(
      `DELETE FROM apt_links WHERE worker_id = ? AND build_id IN
         (SELECT build_id FROM results WHERE worker_id = ? AND received_at >= ?)`,
    ),
    buildIdsWithResultsFrom: db.prepare<[string, number], { build_id: string }>(
      `SELECT build_id FROM results WHERE worker_id = ? AND received_at >= ?
       GROUP BY build_id ORDER BY MIN(received_at), build_id`,
    ),
    touchWorker: db.prepare<[number, string]>(
      'UPDATE workers SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE worker_id = ?',
    ),

    insertBuild: db.prepare<[Omit<BuildRow, 'seq' | 'verdict' | 'verdict_at'>]>(
      `INSERT INTO builds (build_id, manifest_sha256, manifest_json, name, architecture, backend,
         claimed_outputs_json, threshold, max_attempts, decision_deadline_ms, submitted_by, created_at)
       VALUES (@build_id, @manifest_sha256, @manifest_json, @name, @architecture, @backend,
         @claimed_outputs_json, @threshold, @max_attempts, @decision_deadline_ms, @submitted_by, @created_at)`,
    ),
    buildById: db.prepare<[string], BuildRow>('SELECT * FROM builds WHERE build_id = ?'),
    listBuilds: db.prepare<[number, number], BuildRow>(
      'SELECT * FROM builds WHERE seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    pendingBuildIds: db.prepare<[number, number], { build_id: string }>(
      "SELECT build_id FROM builds WHERE verdict = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
    ),
    verdictCounts: db.prepare<[], { verdict: string; builds: number }>(
      'SELECT verdict, builds FROM verdict_counts',
    ),
    buildsByArtifact: db.prepare<[string, number, number], BuildRow>(
      `SELECT * FROM builds WHERE build_id IN (SELECT build_id FROM artifacts WHERE sha256 = ?)
         AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    setVerdict: db.prepare<[string, number, string]>(
      'UPDATE builds SET verdict = ?, verdict_at = ? WHERE build_id = ?',
    ),
    insertArtifact: db.prepare<[string, string, string, 'claimed' | 'rebuilt']>(
      'INSERT OR IGNORE INTO artifacts (sha256, build_id, path, source) VALUES (?, ?, ?, ?)',
    ),

    insertAttempt: db.prepare<[AttemptRow]>(
      `INSERT INTO attempts (job_id, build_id, worker_id, operator, attempt, nonce, state, assigned_at,
         lease_expires_at, finished_at, started_at, run_limit_ms)
       VALUES (@job_id, @build_id, @worker_id, @operator, @attempt, @nonce, @state, @assigned_at,
         @lease_expires_at, @finished_at, @started_at, @run_limit_ms)`,
    ),
    attemptByJobId: db.prepare<[string], AttemptRow>('SELECT * FROM attempts WHERE job_id = ?'),
    attemptByKey: db.prepare<[string, string, number], AttemptRow>(
      'SELECT * FROM attempts WHERE build_id = ? AND worker_id = ? AND attempt = ?',
    ),
    listAttempts: db.prepare<[string], AttemptRow>(
      'SELECT * FROM attempts WHERE build_id = ? ORDER BY assigned_at, rowid',
    ),
    openAttemptsByWorker: db.prepare<[], { worker_id: string; n: number }>(
      "SELECT worker_id, COUNT(*) AS n FROM attempts WHERE state = 'open' GROUP BY worker_id",
    ),
    listOpenAttempts: db.prepare<[], AttemptRow>(
      "SELECT * FROM attempts WHERE state = 'open' ORDER BY assigned_at, rowid",
    ),
    // Started attempts: never past their run limit; attempts still queued: their own deadline.
    renewWorkerLeases: db.prepare<{ until: number; queued: number; worker_id: string }>(
      `UPDATE attempts SET lease_expires_at = ${RENEWED_LEASE_SQL}
       WHERE worker_id = @worker_id AND state = 'open'`,
    ),
    renewAllLeases: db.prepare<{ until: number; queued: number }>(
      `UPDATE attempts SET lease_expires_at = ${RENEWED_LEASE_SQL} WHERE state = 'open'`,
    ),
    // A named running attempt: started at its first naming, renewed up to its run limit, never past it.
    renewRunningLease: db.prepare<{ job_id: string; worker_id: string; now: number; until: number }>(
      `UPDATE attempts SET
         started_at = COALESCE(started_at, @now),
         lease_expires_at = CASE WHEN run_limit_ms IS NULL THEN @until
           ELSE MIN(@until, COALESCE(started_at, @now) + run_limit_ms) END
       WHERE job_id = @job_id AND worker_id = @worker_id AND state = 'open'
         AND (run_limit_ms IS NULL OR started_at IS NULL OR started_at + run_limit_ms > @now)`,
    ),
    extendQueuedLeases: db.prepare<{ worker_id: string; until: number }>(
      `UPDATE attempts SET lease_expires_at = MAX(COALESCE(lease_expires_at, 0), @until)
       WHERE worker_id = @worker_id AND state = 'open' AND started_at IS NULL`,
    ),
    expiredAttempts: db.prepare<[number], AttemptRow>(
      "SELECT * FROM attempts WHERE state = 'open' AND lease_expires_at IS NOT NULL AND lease_expires_at < ? ORDER BY lease_expires_at, rowid",
    ),
    finishAttempt: db.prepare<[string, number, string | null, string]>(
      "UPDATE attempts SET state = ?, finished_at = ?, failure_reason = ? WHERE job_id = ? AND state = 'open'",
    ),

    insertResult: db.prepare<[Omit<ResultRow, 'seq'>]>(
      `INSERT INTO results (build_id, worker_id, operator, attempt, job_id, envelope_sha256, kind,
         failure_reason, outputs_json, environment_sha256, environment_origin, inputs_key, log_sha256,
         counted, refused_reason, received_at)
       VALUES (@build_id, @worker_id, @operator, @attempt, @job_id, @envelope_sha256, @kind,
         @failure_reason, @outputs_json, @environment_sha256, @environment_origin, @inputs_key, @log_sha256,
         @counted, @refused_reason, @received_at)`,
    ),
    resultByKey: db.prepare<[string, string, number], ResultRow>(
      'SELECT * FROM results WHERE build_id = ? AND worker_id = ? AND attempt = ?',
    ),
    resultByEnvelope: db.prepare<[string], ResultRow>('SELECT * FROM results WHERE envelope_sha256 = ?'),
    listResults: db.prepare<[string], ResultRow>('SELECT * FROM results WHERE build_id = ? ORDER BY seq'),
    insertByproduct: db.prepare<[ResultByproductRow]>(
      `INSERT OR IGNORE INTO result_byproducts (build_id, sha256, envelope_sha256, name)
       VALUES (@build_id, @sha256, @envelope_sha256, @name)`,
    ),
    byproductsByDigest: db.prepare<[string, string], ResultByproductRow>(
      'SELECT * FROM result_byproducts WHERE build_id = ? AND sha256 = ? ORDER BY envelope_sha256, name',
    ),
    unindexedBuiltResults: db.prepare<[string], ResultRow>(
      `SELECT * FROM results r WHERE r.build_id = ? AND r.kind = 'built' AND NOT EXISTS
         (SELECT 1 FROM result_byproducts b WHERE b.envelope_sha256 = r.envelope_sha256)
       ORDER BY r.seq`,
    ),

    insertVerdict: db.prepare<[VerdictRow]>(
      `INSERT INTO verdict_history (build_id, sequence, verdict, previous_verdict, decision_json,
         consensus_envelope_sha256, divergence_report_sha256, decided_at)
       VALUES (@build_id, @sequence, @verdict, @previous_verdict, @decision_json,
         @consensus_envelope_sha256, @divergence_report_sha256, @decided_at)`,
    ),
    latestVerdict: db.prepare<[string], VerdictRow>(
      'SELECT * FROM verdict_history WHERE build_id = ? ORDER BY sequence DESC LIMIT 1',
    ),
    verdictHistory: db.prepare<[string], VerdictRow>(
      'SELECT * FROM verdict_history WHERE build_id = ? ORDER BY sequence',
    ),
    insertBlobRef: db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO blob_refs (sha256, holder) VALUES (?, ?)',
    ),
    deleteAptLinks: db.prepare<[string]>('DELETE FROM apt_links WHERE build_id = ?'),
    // Never an upsert: a row of another build under the same key is kept (see replaceAptLinks).
    insertAptLink: db.prepare<[AptLinkRow]>(
      `INSERT OR IGNORE INTO apt_links (architecture, operator, package, version, link_sha256,
         products_sha256, build_id, worker_id, created_at)
       VALUES (@architecture, @operator, @package, @version, @link_sha256, @products_sha256,
         @build_id, @worker_id, @created_at)`,
    ),
    publishedProducts: db.prepare<
      [string, string, string, string],
      { build_id: string; products_sha256: string }
    >(
      `SELECT build_id, products_sha256 FROM apt_links
       WHERE architecture = ? AND package = ? AND version = ? AND build_id != ?
       GROUP BY build_id, products_sha256 ORDER BY MIN(created_at), build_id`,
    ),
    insertAptLinkConflict: db.prepare<[Omit<AptLinkConflictRow, 'seq'>]>(
      `INSERT OR IGNORE INTO apt_link_conflicts (architecture, package, version, published_build_id,
         published_products_sha256, build_id, products_sha256, detected_at)
       VALUES (@architecture, @package, @version, @published_build_id, @published_products_sha256,
         @build_id, @products_sha256, @detected_at)`,
    ),
    aptLinkConflict: db.prepare<[string, string, string, string, string, string], AptLinkConflictRow>(
      `SELECT * FROM apt_link_conflicts WHERE build_id = ? AND architecture = ? AND package = ?
         AND version = ? AND published_build_id = ? AND products_sha256 = ?`,
    ),
    aptLinkConflictsOf: db.prepare<[string, string], AptLinkConflictRow>(
      'SELECT * FROM apt_link_conflicts WHERE build_id = ? OR published_build_id = ? ORDER BY seq',
    ),
    countAptLinkConflicts: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM apt_link_conflicts'),
    aptLink: db.prepare<[string, string, string, string], AptLinkRow>(
      'SELECT * FROM apt_links WHERE architecture = ? AND operator = ? AND package = ? AND version = ?',
    ),

    insertLogEntry: db.prepare<[LogRow]>(
      `INSERT INTO log_entries (idx, kind, build_id, body_sha256, body_json, prev_entry_hash, entry_hash)
       VALUES (@idx, @kind, @build_id, @body_sha256, @body_json, @prev_entry_hash, @entry_hash)`,
    ),
    lastLogEntry: db.prepare<[], Pick<LogRow, 'idx' | 'entry_hash'>>(
      'SELECT idx, entry_hash FROM log_entries ORDER BY idx DESC LIMIT 1',
    ),
    logEntriesFrom: db.prepare<[number, number], LogRow>(
      'SELECT * FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?',
    ),
    allLogEntries: db.prepare<[], LogRow>('SELECT * FROM log_entries ORDER BY idx'),
  };
}

/**
 * Opens (creating if needed) the coordinator's database at `path` with the store's settings (WAL,
 * `synchronous = FULL`, foreign keys, busy timeout) and applies pending migrations. Other SQLite
 * adapters of the same file (the replay record, the content-store ledger) open their connection
 * through this too, so every connection sees one schema and the same durability.
 * @throws BuildStoreError `INVALID` for a bad option, `SCHEMA` as {@link SqliteBuildStore}.
 */
export function openMigratedDatabase(path: string, options: SqliteBuildStoreOptions = {}): Database.Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? sqliteBuildStoreDefaults.busyTimeoutMs;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new BuildStoreError('INVALID', 'busyTimeoutMs: expected a non-negative integer');
  }
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * The coordinator's embedded source of truth: one SQLite file in WAL mode (readers never block the
 * writer), foreign keys enforced, `synchronous = FULL` so an acknowledged result survives power loss.
 * Opening applies any pending migrations; opening an already-migrated file changes nothing.
 *
 * better-sqlite3 is synchronous, so each method runs to completion before its promise settles and
 * every multi-row change runs in one `BEGIN IMMEDIATE` transaction (taking the write lock up front,
 * so a read-then-write never races another connection).
 */
export class SqliteBuildStore implements BuildStore {
  readonly #db: Database.Database;
  readonly #s: Statements;
  /** Told after every committed change to apt_links (see watchAptLinks). */
  readonly #aptLinkListeners = new Set<(buildId?: string) => void>();

  /**
   * Opens (creating if needed) the database at `path` and migrates it.
   * @throws BuildStoreError `SCHEMA` when the file was written by a newer rbnet or a migration fails.
   */
  constructor(path: string, options: SqliteBuildStoreOptions = {}) {
    const db = openMigratedDatabase(path, options);
    try {
      this.#s = prepareStatements(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.#db = db;
  }

  /** The schema version of the open database (the highest migration applied). */
  schemaVersion(): number {
    return this.#s.schemaVersion.get()!.v;
  }

  // ------------------------------------------------------------ operators and maintainers

  /** @inheritdoc */
  async addOperator(name: string, now: Date = new Date()): Promise<OperatorRecord> {
    checkName(name, 'name');
    const createdAt = toMs(now, 'now');
    this.#insertUnique(
      () => this.#s.insertOperator.run(name, createdAt),
      `name: operator ${name} already exists`,
    );
    return mapName(this.#s.operatorByName.get(name)!);
  }

  /** @inheritdoc */
  async listOperators(): Promise<readonly OperatorRecord[]> {
    return Object.freeze(this.#s.listOperators.all().map(mapName));
  }

  /** @inheritdoc */
  async addMaintainer(name: string, now: Date = new Date()): Promise<MaintainerRecord> {
    checkName(name, 'name');
    const createdAt = toMs(now, 'now');
    this.#insertUnique(
      () => this.#s.insertMaintainer.run(name, createdAt),
      `name: maintainer ${name} already exists`,
    );
    return mapName(this.#s.maintainerByName.get(name)!);
  }

  /** @inheritdoc */
  async listMaintainers(): Promise<readonly MaintainerRecord[]> {
    return Object.freeze(this.#s.listMaintainers.all().map(mapName));
  }

  // ------------------------------------------------------------ tokens

  /** @inheritdoc */
  async createToken(input: NewToken): Promise<{ readonly tokenId: string; readonly secret: string }> {
    const kind = checkOneOf(input.kind, TOKEN_KINDS, 'kind');
    checkName(input.subject, 'subject');
    const scopes = checkScopes(input.scopes);
    // An enrolment token travels to another organisation: it must not carry any other power.
    if (kind === 'enrolment' && (scopes.length !== 1 || scopes[0] !== 'enrol')) {
      throw new BuildStoreError('INVALID', 'scopes: an enrolment token carries exactly ["enrol"]');
    }
    if (typeof input.singleUse !== 'boolean') throw invalid('singleUse', 'expected a boolean');
    const createdAt = toMs(input.createdAt ?? new Date(), 'createdAt');
    const expiresAt = input.expiresAt === undefined ? null : toMs(input.expiresAt, 'expiresAt');
    if (expiresAt !== null && expiresAt <= createdAt) throw invalid('expiresAt', 'must be after createdAt');
    if (kind === 'enrolment' && this.#s.operatorByName.get(input.subject) === undefined) {
      throw new BuildStoreError('NOT_FOUND', `subject: no operator named ${input.subject}`);
    }
    if (kind === 'maintainer' && this.#s.maintainerByName.get(input.subject) === undefined) {
      throw new BuildStoreError('NOT_FOUND', `subject: no maintainer named ${input.subject}`);
    }
    const secret = `rbnet_${kind}_${randomBytes(32).toString('base64url')}`;
    const tokenId = randomUUID();
    this.#s.insertToken.run({
      token_id: tokenId,
      token_hash: hashSecret(secret),
      kind,
      subject: input.subject,
      scopes_json: JSON.stringify(scopes),
      single_use: input.singleUse ? 1 : 0,
      created_at: createdAt,
      expires_at: expiresAt,
    });
    return Object.freeze({ tokenId, secret });
  }

  /** @inheritdoc */
  async authenticateToken(
    secret: string,
    requiredScope: string,
    now: Date,
  ): Promise<TokenRecord | undefined> {
    if (!SCOPE.test(requiredScope)) throw invalid('requiredScope', `expected ${SCOPE}`);
    return this.#authenticate(secret, requiredScope, toMs(now, 'now'), undefined);
  }

  /** @inheritdoc */
  async consumeEnrolmentToken(secret: string, now: Date): Promise<string | undefined> {
    return this.#authenticate(secret, 'enrol', toMs(now, 'now'), 'enrolment')?.subject;
  }

  /** @inheritdoc */
  async peekEnrolmentToken(secret: string, now: Date): Promise<string | undefined> {
    return this.#authenticate(secret, 'enrol', toMs(now, 'now'), 'enrolment', false)?.subject;
  }

  /** @inheritdoc */
  async revokeToken(tokenId: string, now: Date): Promise<TokenRecord> {
    if (typeof tokenId !== 'string' || !UUID.test(tokenId)) throw invalid('tokenId', 'expected a UUID');
    this.#s.revokeToken.run(toMs(now, 'now'), tokenId);
    const row = this.#s.tokenById.get(tokenId);
    if (row === undefined) throw new BuildStoreError('NOT_FOUND', `tokenId: no token ${tokenId}`);
    return mapToken(row);
  }

  #authenticate(
    secret: unknown,
    scope: string,
    nowMs: number,
    kind: TokenKind | undefined,
    spend = true,
  ): TokenRecord | undefined {
    // Shape first: a malformed secret is not worth a hash or a query, and says nothing back.
    if (typeof secret !== 'string' || !TOKEN_SECRET.test(secret)) return undefined;
    // Looking up by the hash of the secret means no comparison ever runs on the secret itself.
    const row = this.#s.tokenByHash.get(hashSecret(secret));
    if (row === undefined) return undefined;
    if (kind !== undefined && row.kind !== kind) return undefined;
    if (row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && nowMs >= row.expires_at) return undefined;
    if (row.single_use === 1 && row.used_at !== null) return undefined;
    if (!(JSON.parse(row.scopes_json) as string[]).includes(scope)) return undefined;
    if (row.single_use === 1 && spend) {
      if (this.#s.spendToken.run(nowMs, row.token_id).changes !== 1) return undefined;
      return mapToken({ ...row, used_at: nowMs });
    }
    return mapToken(row);
  }

  // ------------------------------------------------------------ workers

  /** @inheritdoc */
  async enrolWorker(input: WorkerEnrolment): Promise<WorkerRecord> {
    checkName(input.workerId, 'workerId');
    checkName(input.operator, 'operator');
    checkPublicKeyPem(input.signingKeyPem, 'signingKeyPem');
    checkPattern(input.signingKeyid, KEYID, 'signingKeyid');
    if ((input.authKeyPem === undefined) !== (input.authKeyid === undefined)) {
      throw invalid('authKeyPem', 'authKeyPem and authKeyid come together or not at all');
    }
    if (input.authKeyPem !== undefined) {
      checkPublicKeyPem(input.authKeyPem, 'authKeyPem');
      checkPattern(input.authKeyid, KEYID, 'authKeyid');
      if (input.authKeyid === input.signingKeyid) throw invalid('authKeyid', 'must differ from signingKeyid');
    }
    const architectures = checkWordList(input.architectures, 'architectures', ARCHITECTURE);
    const backends = checkWordList(input.backends, 'backends', BACKEND);
    const capacity = input.capacity;
    if (typeof capacity !== 'object' || capacity === null) throw invalid('capacity', 'expected an object');
    checkInteger(capacity.cores, 'capacity.cores', 1, 65_536);
    checkInteger(capacity.memoryBytes, 'capacity.memoryBytes', 1, Number.MAX_SAFE_INTEGER);
    checkInteger(capacity.diskBytes, 'capacity.diskBytes', 1, Number.MAX_SAFE_INTEGER);
    checkPattern(input.queueName, QUEUE_NAME, 'queueName');
    checkPattern(input.redisUser, REDIS_USER, 'redisUser');
    if (input.redisPasswordSha256 !== undefined)
      checkDigest(input.redisPasswordSha256, 'redisPasswordSha256');
    const row = {
      worker_id: input.workerId,
      operator: input.operator,
      signing_key_pem: input.signingKeyPem,
      signing_keyid: input.signingKeyid,
      auth_key_pem: input.authKeyPem ?? null,
      auth_keyid: input.authKeyid ?? null,
      architectures_json: JSON.stringify(architectures),
      backends_json: JSON.stringify(backends),
      cores: capacity.cores,
      memory_bytes: capacity.memoryBytes,
      disk_bytes: capacity.diskBytes,
      queue_name: input.queueName,
      redis_user: input.redisUser,
      redis_password_sha256: input.redisPasswordSha256 ?? null,
      enrolled_at: toMs(input.enrolledAt ?? new Date(), 'enrolledAt'),
    };
    this.#immediate(() => {
      if (this.#s.operatorByName.get(row.operator) === undefined) {
        throw new BuildStoreError('NOT_FOUND', `operator: no operator named ${row.operator}`);
      }
      if (this.#s.workerById.get(row.worker_id) !== undefined) {
        throw new BuildStoreError('CONFLICT', `workerId: worker ${row.worker_id} was already enrolled`);
      }
      const clash = this.#s.workerClash.get(row);
      if (clash !== undefined) {
        const field =
          clash.signing_keyid === row.signing_keyid
            ? 'signingKeyid'
            : row.auth_keyid !== null && clash.auth_keyid === row.auth_keyid
              ? 'authKeyid'
              : clash.queue_name === row.queue_name
                ? 'queueName'
                : 'redisUser';
        throw new BuildStoreError('CONFLICT', `${field}: already used by worker ${clash.worker_id}`);
      }
      this.#insertUnique(
        () => this.#s.insertWorker.run(row),
        `workerId: ${row.worker_id} clashes with a worker`,
      );
    });
    return mapWorker(this.#s.workerById.get(row.worker_id)!);
  }

  /** @inheritdoc */
  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    checkName(workerId, 'workerId');
    const row = this.#s.workerById.get(workerId);
    return row === undefined ? undefined : mapWorker(row);
  }

  /** @inheritdoc */
  async findWorkerBySigningKeyid(keyid: string): Promise<WorkerRecord | undefined> {
    checkPattern(keyid, KEYID, 'keyid');
    const row = this.#s.workerBySigningKeyid.get(keyid);
    return row === undefined ? undefined : mapWorker(row);
  }

  /** @inheritdoc */
  async listWorkers(options: { readonly activeOnly?: boolean } = {}): Promise<readonly WorkerRecord[]> {
    const rows = options.activeOnly === true ? this.#s.listActiveWorkers.all() : this.#s.listWorkers.all();
    return Object.freeze(rows.map(mapWorker));
  }

  /** @inheritdoc */
  async revokeWorker(
    workerId: string,
    now: Date,
    revocation: WorkerRevocationRequest = { kind: 'retired' },
  ): Promise<WorkerRecord> {
    checkName(workerId, 'workerId');
    const nowMs = toMs(now, 'now');
    const kind = checkOneOf(revocation?.kind, ['retired', 'compromised'] as const, 'revocation.kind');
    const sinceMs = revocation.kind === 'compromised' ? toMs(revocation.since, 'revocation.since') : null;
    if (sinceMs !== null && sinceMs > nowMs) {
      throw invalid('revocation.since', `${iso(sinceMs)} is after now (${iso(nowMs)})`);
    }
    const row = this.#immediate(() => {
      const current = this.#s.workerById.get(workerId);
      if (current === undefined) throw new BuildStoreError('NOT_FOUND', `workerId: no worker ${workerId}`);
      const revokedAt = current.revoked_at ?? nowMs;
      if (kind === 'retired') {
        // Retiring keeps whatever was decided before: a compromise is never downgraded.
        if (current.revoked_at === null) this.#s.setRevocation.run(revokedAt, 'retired', null, workerId);
      } else {
        // A compromise can only be dated earlier: a later date would let more of its results count.
        const since = Math.min(sinceMs!, current.compromised_since ?? Number.POSITIVE_INFINITY);
        this.#s.setRevocation.run(revokedAt, 'compromised', since, workerId);
        this.#s.withdrawLinksOfWorkerFrom.run(workerId, workerId, Math.min(since, revokedAt));
      }
      return this.#s.workerById.get(workerId)!;
    });
    if (kind === 'compromised') this.#aptLinksChanged(undefined);
    return mapWorker(row);
  }

  /** @inheritdoc */
  async listBuildIdsWithResultsFrom(workerId: string, since: Date): Promise<readonly string[]> {
    checkName(workerId, 'workerId');
    const sinceMs = toMs(since, 'since');
    return Object.freeze(this.#s.buildIdsWithResultsFrom.all(workerId, sinceMs).map((r) => r.build_id));
  }

  /** @inheritdoc */
  async touchWorker(workerId: string, now: Date): Promise<void> {
    checkName(workerId, 'workerId');
    if (this.#s.touchWorker.run(toMs(now, 'now'), workerId).changes === 0) {
      throw new BuildStoreError('NOT_FOUND', `workerId: no worker ${workerId}`);
    }
  }

  // ------------------------------------------------------------ builds

  /** @inheritdoc */
  async createBuild(input: NewBuild): Promise<BuildRecord> {
    const row = checkNewBuild(input, '');
    this.#immediate(() => this.#insertBuild(row, input.claimedOutputs, ''));
    return mapBuild(this.#s.buildById.get(row.build_id)!);
  }

  /** @inheritdoc */
  async createBuilds(inputs: readonly NewBuild[]): Promise<readonly BuildRecord[]> {
    if (!Array.isArray(inputs)) throw invalid('inputs', 'expected an array');
    const rows = inputs.map((input, i) => checkNewBuild(input, `inputs[${i}].`));
    this.#immediate(() => {
      rows.forEach((row, i) => {
        this.#insertBuild(row, inputs[i]!.claimedOutputs, `inputs[${i}].`);
      });
    });
    return Object.freeze(rows.map((row) => mapBuild(this.#s.buildById.get(row.build_id)!)));
  }

  #insertBuild(
    row: Omit<BuildRow, 'seq' | 'verdict' | 'verdict_at'>,
    claims: readonly ClaimedOutput[],
    at: string,
  ) {
    this.#insertUnique(
      () => this.#s.insertBuild.run(row),
      `${at}buildId: build ${row.build_id} already exists`,
    );
    for (const claim of claims) this.#s.insertArtifact.run(claim.sha256, row.build_id, claim.path, 'claimed');
  }

  /** @inheritdoc */
  async getBuild(buildId: string): Promise<BuildRecord | undefined> {
    checkUuid(buildId, 'buildId');
    const row = this.#s.buildById.get(buildId);
    return row === undefined ? undefined : mapBuild(row);
  }

  /** @inheritdoc */
  async listBuilds(options: ListBuildsOptions = {}): Promise<readonly BuildRecord[]> {
    const limit = options.limit ?? 100;
    checkInteger(limit, 'limit', 1, MAX_PAGE);
    return Object.freeze(this.#s.listBuilds.all(this.#seqBefore(options.after), limit).map(mapBuild));
  }

  /** @inheritdoc */
  async listPendingBuildIds(options: ListPendingBuildsOptions = {}): Promise<readonly string[]> {
    const limit = options.limit ?? MAX_PAGE;
    checkInteger(limit, 'limit', 1, MAX_PAGE);
    let afterSeq = 0;
    if (options.after !== undefined) {
      checkUuid(options.after, 'after');
      const cursor = this.#s.buildById.get(options.after);
      if (cursor === undefined) throw new BuildStoreError('NOT_FOUND', `after: no build ${options.after}`);
      afterSeq = cursor.seq;
    }
    return Object.freeze(this.#s.pendingBuildIds.all(afterSeq, limit).map((r) => r.build_id));
  }

  /** @inheritdoc */
  async countBuildsByVerdict(): Promise<Readonly<Record<BuildVerdict, number>>> {
    const counts = Object.fromEntries(buildVerdicts.map((v) => [v, 0])) as Record<BuildVerdict, number>;
    for (const row of this.#s.verdictCounts.all()) {
      if ((buildVerdicts as readonly string[]).includes(row.verdict))
        counts[row.verdict as BuildVerdict] = row.builds;
    }
    return Object.freeze(counts);
  }

  /** @inheritdoc */
  async findBuildsByArtifact(
    sha256: Sha256Hex,
    options: ListBuildsOptions = {},
  ): Promise<readonly BuildRecord[]> {
    checkDigest(sha256, 'sha256');
    const limit = options.limit ?? 100;
    checkInteger(limit, 'limit', 1, MAX_PAGE);
    return Object.freeze(
      this.#s.buildsByArtifact.all(sha256, this.#seqBefore(options.after), limit).map(mapBuild),
    );
  }

  /** The keyset bound for a page after build `after` (newest first); everything when undefined. */
  #seqBefore(after: string | undefined): number {
    if (after === undefined) return Number.MAX_SAFE_INTEGER;
    checkUuid(after, 'after');
    const cursor = this.#s.buildById.get(after);
    if (cursor === undefined) throw new BuildStoreError('NOT_FOUND', `after: no build ${after}`);
    return cursor.seq;
  }

  // ------------------------------------------------------------ attempts

  /** @inheritdoc */
  async createAttempt(input: NewAttempt): Promise<AttemptRecord> {
    checkUuid(input.buildId, 'buildId');
    checkName(input.workerId, 'workerId');
    checkName(input.operator, 'operator');
    checkInteger(input.attempt, 'attempt', 1, 1000);
    checkPattern(input.jobId, JOB_ID, 'jobId');
    checkPattern(input.nonce, NONCE, 'nonce');
    const assignedAt = toMs(input.assignedAt, 'assignedAt');
    const leaseExpiresAt =
      input.leaseExpiresAt === undefined ? null : toMs(input.leaseExpiresAt, 'leaseExpiresAt');
    if (leaseExpiresAt !== null && leaseExpiresAt <= assignedAt) {
      throw invalid('leaseExpiresAt', 'must be after assignedAt');
    }
    const runLimitMs = input.runLimitMs === undefined ? null : input.runLimitMs;
    if (runLimitMs !== null) checkInteger(runLimitMs, 'runLimitMs', 1, Number.MAX_SAFE_INTEGER);
    const row: AttemptRow = {
      job_id: input.jobId,
      build_id: input.buildId,
      worker_id: input.workerId,
      operator: input.operator,
      attempt: input.attempt,
      nonce: input.nonce,
      state: 'open',
      assigned_at: assignedAt,
      lease_expires_at: leaseExpiresAt,
      finished_at: null,
      started_at: null,
      run_limit_ms: runLimitMs,
    };
    this.#immediate(() => {
      if (this.#s.buildById.get(row.build_id) === undefined) {
        throw new BuildStoreError('NOT_FOUND', `buildId: no build ${row.build_id}`);
      }
      const worker = this.#s.workerById.get(row.worker_id);
      if (worker === undefined)
        throw new BuildStoreError('NOT_FOUND', `workerId: no worker ${row.worker_id}`);
      if (worker.revoked_at !== null) {
        throw new BuildStoreError('CONFLICT', `workerId: worker ${row.worker_id} is revoked`);
      }
      if (worker.operator !== row.operator) {
        throw new BuildStoreError(
          'CONFLICT',
          `operator: worker ${row.worker_id} belongs to ${worker.operator}, not ${row.operator}`,
        );
      }
      if (this.#s.attemptByJobId.get(row.job_id) !== undefined) {
        throw new BuildStoreError('CONFLICT', `jobId: job ${row.job_id} already has an attempt`);
      }
      if (this.#s.attemptByKey.get(row.build_id, row.worker_id, row.attempt) !== undefined) {
        throw new BuildStoreError(
          'CONFLICT',
          `attempt: worker ${row.worker_id} already has attempt ${row.attempt} of build ${row.build_id}`,
        );
      }
      this.#insertUnique(
        () => this.#s.insertAttempt.run(row),
        `jobId: job ${row.job_id} clashes with an attempt`,
      );
    });
    return mapAttempt(this.#s.attemptByJobId.get(row.job_id)!);
  }

  /** @inheritdoc */
  async getAttemptByJobId(jobId: string): Promise<AttemptRecord | undefined> {
    checkPattern(jobId, JOB_ID, 'jobId');
    const row = this.#s.attemptByJobId.get(jobId);
    return row === undefined ? undefined : mapAttempt(row);
  }

  /** @inheritdoc */
  async listAttempts(buildId: string): Promise<readonly AttemptRecord[]> {
    checkUuid(buildId, 'buildId');
    return Object.freeze(this.#s.listAttempts.all(buildId).map(mapAttempt));
  }

  /** @inheritdoc */
  async finishAttempt(
    jobId: string,
    outcome: { readonly state: FinishedAttemptState; readonly finishedAt: Date; readonly reason?: string },
  ): Promise<AttemptRecord> {
    checkPattern(jobId, JOB_ID, 'jobId');
    const state = checkOneOf(outcome?.state, FINISHED_STATES, 'state');
    const finishedAt = toMs(outcome.finishedAt, 'finishedAt');
    if (outcome.reason !== undefined && typeof outcome.reason !== 'string') {
      throw new BuildStoreError('INVALID', 'reason: expected a string');
    }
    const reason = outcome.reason === undefined ? null : outcome.reason.slice(0, 500);
    const row = this.#immediate(() => {
      const current = this.#s.attemptByJobId.get(jobId);
      if (current === undefined) throw new BuildStoreError('NOT_FOUND', `jobId: no attempt for job ${jobId}`);
      if (current.state === 'open') {
        this.#s.finishAttempt.run(state, finishedAt, reason, jobId);
        return this.#s.attemptByJobId.get(jobId)!;
      }
      if (current.state !== state) {
        throw new BuildStoreError('CONFLICT', `state: attempt ${jobId} already finished as ${current.state}`);
      }
      return current;
    });
    return mapAttempt(row);
  }

  /** @inheritdoc */
  async renewLeases(workerId: string | undefined, until: Date, queuedUntil: Date = until): Promise<number> {
    const times = { until: toMs(until, 'until'), queued: toMs(queuedUntil, 'queuedUntil') };
    if (workerId === undefined) return this.#s.renewAllLeases.run(times).changes;
    checkName(workerId, 'workerId');
    return this.#s.renewWorkerLeases.run({ ...times, worker_id: workerId }).changes;
  }

  /** @inheritdoc */
  async renewRunningLeases(
    workerId: string,
    running: readonly string[],
    leases: HeartbeatLeases,
  ): Promise<readonly string[]> {
    checkName(workerId, 'workerId');
    for (const jobId of running) checkPattern(jobId, JOB_ID, 'running');
    const now = toMs(leases.now, 'now');
    const until = toMs(leases.runningUntil, 'runningUntil');
    const queuedUntil = toMs(leases.queuedUntil, 'queuedUntil');
    return this.#immediate(() => {
      const renewed: string[] = [];
      for (const jobId of new Set(running)) {
        const changed = this.#s.renewRunningLease.run({ job_id: jobId, worker_id: workerId, now, until });
        if (changed.changes > 0) renewed.push(jobId);
      }
      if (renewed.length > 0) this.#s.extendQueuedLeases.run({ worker_id: workerId, until: queuedUntil });
      return Object.freeze(renewed);
    });
  }

  /** @inheritdoc */
  async listExpiredAttempts(now: Date): Promise<readonly AttemptRecord[]> {
    return Object.freeze(this.#s.expiredAttempts.all(toMs(now, 'now')).map(mapAttempt));
  }

  /** @inheritdoc */
  async listOpenAttempts(): Promise<readonly AttemptRecord[]> {
    return Object.freeze(this.#s.listOpenAttempts.all().map(mapAttempt));
  }

  /** @inheritdoc */
  async countOpenAttemptsByWorker(): Promise<ReadonlyMap<string, number>> {
    return new Map(this.#s.openAttemptsByWorker.all().map((row) => [row.worker_id, row.n]));
  }

  // ------------------------------------------------------------ results

  /** @inheritdoc */
  async recordResult(input: NewResult): Promise<ResultRecord & { readonly duplicate: boolean }> {
    const row = checkNewResult(input);
    const outputs = input.outputs;
    const byproducts = checkByproducts(input.byproducts, row.kind);
    const referencedBlobs = input.referencedBlobs ?? [];
    if (!Array.isArray(referencedBlobs) || referencedBlobs.length > MAX_OUTPUTS)
      throw invalid('referencedBlobs', `expected an array of at most ${MAX_OUTPUTS}`);
    referencedBlobs.forEach((sha256, i) => {
      checkDigest(sha256, `referencedBlobs[${i}]`);
    });
    return this.#immediate(() => {
      // The idempotency key decides first: a retried post must succeed even after its attempt expired.
      const existing = this.#s.resultByKey.get(row.build_id, row.worker_id, row.attempt);
      if (existing !== undefined) {
        if (existing.envelope_sha256 !== row.envelope_sha256) {
          throw new BuildStoreError(
            'CONFLICT',
            `envelopeSha256: attempt ${row.attempt} of worker ${row.worker_id} on build ${row.build_id} ` +
              `already has result ${existing.envelope_sha256}`,
          );
        }
        return Object.freeze({ ...mapResult(existing), duplicate: true });
      }
      const replayed = this.#s.resultByEnvelope.get(row.envelope_sha256);
      if (replayed !== undefined) {
        throw new BuildStoreError(
          'CONFLICT',
          `envelopeSha256: already recorded for job ${replayed.job_id}; an envelope answers one attempt`,
        );
      }
      const attempt = this.#s.attemptByJobId.get(row.job_id);
      if (attempt === undefined)
        throw new BuildStoreError('NOT_FOUND', `jobId: no attempt for job ${row.job_id}`);
      if (
        attempt.build_id !== row.build_id ||
        attempt.worker_id !== row.worker_id ||
        attempt.attempt !== row.attempt
      ) {
        throw new BuildStoreError(
          'CONFLICT',
          `jobId: job ${row.job_id} is attempt ${attempt.attempt} of worker ${attempt.worker_id} on build ` +
            `${attempt.build_id}`,
        );
      }
      if (attempt.operator !== row.operator) {
        throw new BuildStoreError(
          'CONFLICT',
          `operator: job ${row.job_id} was assigned to ${attempt.operator}`,
        );
      }
      const worker = this.#s.workerById.get(row.worker_id)!;
      if (row.counted === 1 && worker.revoked_at !== null) {
        throw new BuildStoreError(
          'CONFLICT',
          `counted: worker ${row.worker_id} is revoked; its results never count`,
        );
      }
      this.#s.insertResult.run(row);
      for (const sha256 of referencedBlobs) this.#s.insertBlobRef.run(sha256, `result:${row.job_id}`);
      for (const output of outputs)
        this.#s.insertArtifact.run(output.sha256, row.build_id, output.path, 'rebuilt');
      for (const byproduct of byproducts) {
        this.#s.insertByproduct.run({
          build_id: row.build_id,
          sha256: byproduct.sha256,
          envelope_sha256: row.envelope_sha256,
          name: byproduct.name,
        });
      }
      if (attempt.state === 'open') this.#s.finishAttempt.run('reported', row.received_at, null, row.job_id);
      return Object.freeze({
        ...mapResult(this.#s.resultByKey.get(row.build_id, row.worker_id, row.attempt)!),
        duplicate: false,
      });
    });
  }

  /** @inheritdoc */
  async listResults(buildId: string): Promise<readonly ResultRecord[]> {
    checkUuid(buildId, 'buildId');
    return Object.freeze(this.#s.listResults.all(buildId).map(mapResult));
  }

  /** @inheritdoc */
  async findResultByproducts(buildId: string, sha256: Sha256Hex): Promise<readonly ResultByproductRecord[]> {
    checkUuid(buildId, 'buildId');
    checkDigest(sha256, 'sha256');
    return frozenArray(
      this.#s.byproductsByDigest.all(buildId, sha256).map((row) => ({
        buildId: row.build_id,
        sha256: row.sha256 as Sha256Hex,
        envelopeSha256: row.envelope_sha256 as Sha256Hex,
        name: row.name,
      })),
    );
  }

  /** @inheritdoc */
  async listUnindexedBuiltResults(buildId: string): Promise<readonly ResultRecord[]> {
    checkUuid(buildId, 'buildId');
    return Object.freeze(this.#s.unindexedBuiltResults.all(buildId).map(mapResult));
  }

  // ------------------------------------------------------------ verdicts

  /** @inheritdoc */
  async recordVerdict(input: NewVerdict): Promise<VerdictRecord & { readonly duplicate: boolean }> {
    checkUuid(input.buildId, 'buildId');
    const verdict = checkOneOf(input.verdict, buildVerdicts, 'verdict');
    checkJsonText(input.decisionJson, 'decisionJson', MAX_DECISION_CHARS);
    const consensus = optionalDigest(input.consensusEnvelopeSha256, 'consensusEnvelopeSha256');
    const divergence = optionalDigest(input.divergenceReportSha256, 'divergenceReportSha256');
    const decidedAt = toMs(input.decidedAt, 'decidedAt');
    return this.#immediate(() => {
      const build = this.#s.buildById.get(input.buildId);
      if (build === undefined) throw new BuildStoreError('NOT_FOUND', `buildId: no build ${input.buildId}`);
      const latest = this.#s.latestVerdict.get(input.buildId);
      if (
        latest !== undefined &&
        latest.verdict === verdict &&
        latest.decision_json === input.decisionJson &&
        latest.consensus_envelope_sha256 === consensus &&
        latest.divergence_report_sha256 === divergence
      ) {
        return Object.freeze({ ...mapVerdict(latest), duplicate: true });
      }
      const row: VerdictRow = {
        build_id: input.buildId,
        sequence: (latest?.sequence ?? 0) + 1,
        verdict,
        previous_verdict: build.verdict,
        decision_json: input.decisionJson,
        consensus_envelope_sha256: consensus,
        divergence_report_sha256: divergence,
        decided_at: decidedAt,
      };
      this.#s.insertVerdict.run(row);
      this.#s.setVerdict.run(verdict, decidedAt, input.buildId);
      return Object.freeze({ ...mapVerdict(row), duplicate: false });
    });
  }

  /** @inheritdoc */
  async getVerdictHistory(buildId: string): Promise<readonly VerdictRecord[]> {
    checkUuid(buildId, 'buildId');
    return Object.freeze(this.#s.verdictHistory.all(buildId).map(mapVerdict));
  }

  // ------------------------------------------------------------ transparency log

  /** @inheritdoc */
  async appendLogEntry(
    input: NewLogEntry,
  ): Promise<{ readonly index: number; readonly entryHash: Sha256Hex }> {
    const kind = checkOneOf(input.kind, LOG_KINDS, 'kind');
    checkUuid(input.buildId, 'buildId');
    checkDigest(input.bodySha256, 'bodySha256');
    let bodyJson: string;
    try {
      bodyJson = canonicalizeJcs(input.body);
    } catch (cause) {
      throw new BuildStoreError('INVALID', `body: ${(cause as Error).message}`, { cause });
    }
    if (bodyJson.length > MAX_LOG_BODY_CHARS) throw invalid('body', `over ${MAX_LOG_BODY_CHARS} characters`);
    const bodySha256 = sha256Hex(bodyJson);
    if (bodySha256 !== input.bodySha256) {
      throw new BuildStoreError(
        'DIGEST_MISMATCH',
        `bodySha256: ${input.bodySha256} is not the sha256 of the body's canonical JSON (${bodySha256})`,
      );
    }
    return this.#immediate(() => {
      if (this.#s.buildById.get(input.buildId) === undefined) {
        throw new BuildStoreError('NOT_FOUND', `buildId: no build ${input.buildId}`);
      }
      const last = this.#s.lastLogEntry.get();
      const index = last === undefined ? 0 : last.idx + 1;
      const prevEntryHash = (last?.entry_hash ?? GENESIS_HASH) as Sha256Hex;
      const entryHash = logEntryHash(prevEntryHash, kind, input.buildId, bodyJson);
      this.#s.insertLogEntry.run({
        idx: index,
        kind,
        build_id: input.buildId,
        body_sha256: bodySha256,
        body_json: bodyJson,
        prev_entry_hash: prevEntryHash,
        entry_hash: entryHash,
      });
      return Object.freeze({ index, entryHash });
    });
  }

  /** @inheritdoc */
  async getLogEntries(fromIndex: number, limit: number): Promise<readonly LogEntryRecord[]> {
    checkInteger(fromIndex, 'fromIndex', 0, Number.MAX_SAFE_INTEGER);
    checkInteger(limit, 'limit', 1, MAX_PAGE);
    return Object.freeze(this.#s.logEntriesFrom.all(fromIndex, limit).map(mapLogEntry));
  }

  /** @inheritdoc */
  async verifyLogChain(): Promise<number | undefined> {
    // One read transaction: a consistent snapshot even while another connection appends.
    return this.#db
      .transaction(() => {
        let expected = 0;
        let prev: string = GENESIS_HASH;
        for (const row of this.#s.allLogEntries.iterate()) {
          if (
            row.idx !== expected ||
            !LOG_KINDS.includes(row.kind) ||
            row.prev_entry_hash !== prev ||
            row.body_sha256 !== sha256Hex(row.body_json) ||
            row.entry_hash !== logEntryHash(prev as Sha256Hex, row.kind, row.build_id, row.body_json)
          ) {
            return expected;
          }
          prev = row.entry_hash;
          expected++;
        }
        return undefined;
      })
      .deferred();
  }

  // ------------------------------------------------------------ apt links

  /** @inheritdoc */
  async replaceAptLinks(
    buildId: string,
    links: readonly NewAptLink[],
    now: Date = new Date(),
  ): Promise<AptLinkPublication> {
    checkUuid(buildId, 'buildId');
    const nowMs = toMs(now, 'now');
    if (!Array.isArray(links) || links.length > MAX_OUTPUTS)
      throw invalid('links', `expected an array of at most ${MAX_OUTPUTS}`);
    const rows: AptLinkRow[] = links.map((link, i) => checkNewAptLink(link, `links[${i}].`, buildId, nowMs));
    const publication = this.#immediate(() => {
      this.#s.deleteAptLinks.run(buildId);
      const conflicts: AptLinkConflictRecord[] = [];
      const checked = new Set<string>();
      for (const row of rows) {
        const key = JSON.stringify([row.architecture, row.package, row.version, row.products_sha256]);
        if (checked.has(key)) continue;
        checked.add(key);
        for (const published of this.#s.publishedProducts.all(
          row.architecture,
          row.package,
          row.version,
          buildId,
        )) {
          if (published.products_sha256 === row.products_sha256) continue;
          const conflict = {
            architecture: row.architecture,
            package: row.package,
            version: row.version,
            published_build_id: published.build_id,
            published_products_sha256: published.products_sha256,
            build_id: buildId,
            products_sha256: row.products_sha256,
            detected_at: nowMs,
          };
          this.#s.insertAptLinkConflict.run(conflict);
          const stored = this.#s.aptLinkConflict.get(
            buildId,
            row.architecture,
            row.package,
            row.version,
            published.build_id,
            row.products_sha256,
          )!;
          conflicts.push(mapAptLinkConflict(stored));
        }
      }
      // A build that contradicts a published version publishes nothing: one of the two is a lie.
      if (conflicts.length > 0) return Object.freeze({ published: 0, conflicts: frozenArray(conflicts) });
      let published = 0;
      for (const row of rows) published += this.#s.insertAptLink.run(row).changes;
      return Object.freeze({ published, conflicts: frozenArray(conflicts) });
    });
    this.#aptLinksChanged(buildId);
    return publication;
  }

  /** @inheritdoc */
  watchAptLinks(listener: (buildId?: string) => void): () => void {
    this.#aptLinkListeners.add(listener);
    return () => this.#aptLinkListeners.delete(listener);
  }

  #aptLinksChanged(buildId: string | undefined): void {
    for (const listener of this.#aptLinkListeners) listener(buildId);
  }

  /** @inheritdoc */
  async listAptLinkConflicts(buildId: string): Promise<readonly AptLinkConflictRecord[]> {
    checkUuid(buildId, 'buildId');
    return frozenArray(this.#s.aptLinkConflictsOf.all(buildId, buildId).map(mapAptLinkConflict));
  }

  /** @inheritdoc */
  async countAptLinkConflicts(): Promise<number> {
    return this.#s.countAptLinkConflicts.get()!.n;
  }

  /** @inheritdoc */
  async getAptLink(
    architecture: string,
    operator: string,
    pkg: string,
    version: string,
  ): Promise<AptLinkRecord | undefined> {
    const row = this.#s.aptLink.get(architecture, operator, pkg, version);
    return row
      ? { linkSha256: row.link_sha256 as Sha256Hex, buildId: row.build_id, workerId: row.worker_id }
      : undefined;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  // ------------------------------------------------------------ helpers

  /** Runs `fn` in a BEGIN IMMEDIATE transaction: the write lock is taken before the first read. */
  #immediate<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  /** Runs an insert, turning a uniqueness violation (a race the pre-checks lost) into CONFLICT. */
  #insertUnique(insert: () => unknown, message: string): void {
    try {
      insert();
    } catch (err) {
      if (
        err instanceof Database.SqliteError &&
        (err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      ) {
        throw new BuildStoreError('CONFLICT', message, { cause: err });
      }
      throw err;
    }
  }
}

/**
 * The hash that chains entry n to entry n-1:
 * `sha256(prev (32 raw bytes) ‖ UTF-8 of JCS({"body": body, "buildId": buildId, "kind": kind}))`.
 * The leaf covers kind and buildId as well as the body, so no column of an entry can be changed
 * without breaking the chain. JCS sorts keys as written here and escapes strings as JSON.stringify
 * does, and `bodyJson` is already canonical, so concatenation yields the canonical text exactly.
 */
export function logEntryHash(
  prevEntryHash: Sha256Hex,
  kind: string,
  buildId: string,
  bodyJson: string,
): Sha256Hex {
  const leaf = `{"body":${bodyJson},"buildId":${JSON.stringify(buildId)},"kind":${JSON.stringify(kind)}}`;
  return createHash('sha256')
    .update(Buffer.from(prevEntryHash, 'hex'))
    .update(leaf, 'utf8')
    .digest('hex') as Sha256Hex;
}

// ---------------------------------------------------------------- migrations

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  // IMMEDIATE: two processes opening a fresh file at once apply each migration exactly once.
  db.transaction(() => {
    const current = (
      db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }
    ).v;
    if (current > sqliteSchemaVersion) {
      throw new BuildStoreError(
        'SCHEMA',
        `database schema version ${current} is newer than this rbnet understands (${sqliteSchemaVersion})`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      try {
        db.exec(migration.sql);
      } catch (cause) {
        throw new BuildStoreError(
          'SCHEMA',
          `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`,
          { cause },
        );
      }
      record.run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}

// ---------------------------------------------------------------- validation

function invalid(field: string, problem: string): BuildStoreError {
  return new BuildStoreError('INVALID', `${field}: ${problem}`);
}

function checkName(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || !storeNamePattern.test(value)) {
    throw invalid(field, `expected a name matching ${storeNamePattern}`);
  }
}

function checkPattern(value: unknown, pattern: RegExp, field: string): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalid(field, `expected a string matching ${pattern}`);
}

function checkUuid(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(field, 'expected a lowercase UUID');
}

function checkDigest(value: unknown, field: string): asserts value is Sha256Hex {
  if (!isSha256Hex(value)) throw invalid(field, 'expected a sha256 digest as 64 lowercase hex characters');
}

function optionalDigest(value: unknown, field: string): Sha256Hex | null {
  if (value === undefined) return null;
  checkDigest(value, field);
  return value;
}

function checkInteger(value: unknown, field: string, min: number, max: number): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(field, `expected an integer from ${min} to ${max}`);
  }
}

function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T)) throw invalid(field, `expected one of ${allowed.join(', ')}`);
  return value as T;
}

function checkText(value: unknown, field: string, pattern = TEXT): asserts value is string {
  if (typeof value !== 'string' || value.length > MAX_TEXT_CHARS || !pattern.test(value)) {
    throw invalid(field, `expected 1..${MAX_TEXT_CHARS} characters without control characters`);
  }
}

function toMs(value: unknown, field: string): number {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime()))
    throw invalid(field, 'expected a valid Date');
  return value.getTime();
}

function checkScopes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 32) {
    throw invalid('scopes', 'expected 1..32 scopes');
  }
  value.forEach((scope, i) => {
    checkPattern(scope, SCOPE, `scopes[${i}]`);
  });
  if (new Set(value).size !== value.length) throw invalid('scopes', 'duplicates');
  return [...value] as string[];
}

function checkWordList(value: unknown, field: string, pattern: RegExp): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 32)
    throw invalid(field, 'expected 1..32 entries');
  value.forEach((word, i) => {
    checkPattern(word, pattern, `${field}[${i}]`);
  });
  if (new Set(value).size !== value.length) throw invalid(field, 'duplicates');
  return [...value] as string[];
}

function checkPublicKeyPem(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length > 8192 || !value.startsWith('-----BEGIN PUBLIC KEY-----')) {
    throw invalid(field, 'expected an SPKI PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  try {
    if (createPublicKey(value).type !== 'public') throw invalid(field, 'not a public key');
  } catch (cause) {
    throw new BuildStoreError('INVALID', `${field}: not a readable public key`, { cause });
  }
}

function checkJsonText(value: unknown, field: string, maxChars: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars) {
    throw invalid(field, `expected JSON text of 1..${maxChars} characters`);
  }
  try {
    JSON.parse(value);
  } catch (cause) {
    throw new BuildStoreError('INVALID', `${field}: not JSON (${(cause as Error).message})`, { cause });
  }
}

/** Paths of outputs and claims: relative, normalised, unique. The manifest parser is stricter still. */
function checkOutputPaths(paths: readonly unknown[], field: string): void {
  const seen = new Set<string>();
  paths.forEach((path, i) => {
    const at = `${field}[${i}].path`;
    checkText(path, at, PRINTABLE);
    if (
      path.startsWith('/') ||
      path.split('/').some((part) => part === '' || part === '.' || part === '..')
    ) {
      throw invalid(at, 'expected a normalised relative path');
    }
    if (seen.has(path)) throw invalid(at, `duplicate path ${path}`);
    seen.add(path);
  });
}

function checkNewBuild(input: NewBuild, at: string): Omit<BuildRow, 'seq' | 'verdict' | 'verdict_at'> {
  if (typeof input !== 'object' || input === null) throw invalid(at || 'input', 'expected an object');
  checkUuid(input.buildId, `${at}buildId`);
  checkDigest(input.manifestSha256, `${at}manifestSha256`);
  if (typeof input.manifestJson !== 'string' || input.manifestJson.length > MAX_MANIFEST_CHARS) {
    throw invalid(`${at}manifestJson`, `expected text of at most ${MAX_MANIFEST_CHARS} characters`);
  }
  const actual = sha256Hex(input.manifestJson);
  if (actual !== input.manifestSha256) {
    throw new BuildStoreError(
      'DIGEST_MISMATCH',
      `${at}manifestSha256: ${input.manifestSha256} is not the sha256 of manifestJson (${actual})`,
    );
  }
  checkText(input.name, `${at}name`, PRINTABLE);
  if (input.name.length > 256) throw invalid(`${at}name`, 'over 256 characters');
  checkPattern(input.architecture, ARCHITECTURE, `${at}architecture`);
  checkPattern(input.backend, BACKEND, `${at}backend`);
  const claims = input.claimedOutputs;
  if (!Array.isArray(claims) || claims.length > MAX_OUTPUTS) {
    throw invalid(`${at}claimedOutputs`, `expected an array of at most ${MAX_OUTPUTS}`);
  }
  checkOutputPaths(
    claims.map((claim) => claim?.path),
    `${at}claimedOutputs`,
  );
  claims.forEach((claim, i) => {
    checkDigest(claim.sha256, `${at}claimedOutputs[${i}].sha256`);
  });
  const policy: BuildPolicy = input.policy;
  if (typeof policy !== 'object' || policy === null) throw invalid(`${at}policy`, 'expected an object');
  checkInteger(policy.threshold, `${at}policy.threshold`, 1, 100);
  checkInteger(policy.maxAttempts, `${at}policy.maxAttempts`, 1, 100);
  checkInteger(policy.decisionDeadlineMs, `${at}policy.decisionDeadlineMs`, 1, Number.MAX_SAFE_INTEGER);
  checkName(input.submittedBy, `${at}submittedBy`);
  return {
    build_id: input.buildId,
    manifest_sha256: input.manifestSha256,
    manifest_json: input.manifestJson,
    name: input.name,
    architecture: input.architecture,
    backend: input.backend,
    claimed_outputs_json: JSON.stringify(claims.map((c) => ({ path: c.path, sha256: c.sha256 }))),
    threshold: policy.threshold,
    max_attempts: policy.maxAttempts,
    decision_deadline_ms: policy.decisionDeadlineMs,
    submitted_by: input.submittedBy,
    created_at: toMs(input.createdAt, `${at}createdAt`),
  };
}

function checkNewResult(input: NewResult): Omit<ResultRow, 'seq'> {
  if (typeof input !== 'object' || input === null) throw invalid('input', 'expected an object');
  checkUuid(input.buildId, 'buildId');
  checkName(input.workerId, 'workerId');
  checkName(input.operator, 'operator');
  checkInteger(input.attempt, 'attempt', 1, 1000);
  checkPattern(input.jobId, JOB_ID, 'jobId');
  checkDigest(input.envelopeSha256, 'envelopeSha256');
  const kind = checkOneOf(input.kind, ['built', 'failed'] as const, 'kind');
  if (kind === 'failed') {
    checkText(input.failureReason, 'failureReason');
  } else if (input.failureReason !== undefined) {
    throw invalid('failureReason', 'only a failed result has one');
  }
  const outputs = input.outputs;
  if (!Array.isArray(outputs) || outputs.length > MAX_OUTPUTS) {
    throw invalid('outputs', `expected an array of at most ${MAX_OUTPUTS}`);
  }
  if (kind === 'failed' && outputs.length > 0) throw invalid('outputs', 'a failed result has no outputs');
  checkOutputPaths(
    outputs.map((output) => output?.path),
    'outputs',
  );
  outputs.forEach((output, i) => {
    checkDigest(output.sha256, `outputs[${i}].sha256`);
    checkInteger(output.sizeBytes, `outputs[${i}].sizeBytes`, 0, Number.MAX_SAFE_INTEGER);
  });
  checkDigest(input.environmentSha256, 'environmentSha256');
  checkPattern(input.environmentOrigin, ORIGIN, 'environmentOrigin');
  checkPattern(input.inputsKey, INPUTS_KEY, 'inputsKey');
  checkDigest(input.logSha256, 'logSha256');
  if (typeof input.counted !== 'boolean') throw invalid('counted', 'expected a boolean');
  if (input.refusedReason !== undefined) {
    if (input.counted) throw invalid('refusedReason', 'only a result that does not count has one');
    checkText(input.refusedReason, 'refusedReason');
  }
  return {
    build_id: input.buildId,
    worker_id: input.workerId,
    operator: input.operator,
    attempt: input.attempt,
    job_id: input.jobId,
    envelope_sha256: input.envelopeSha256,
    kind,
    failure_reason: input.failureReason ?? null,
    outputs_json: JSON.stringify(
      outputs.map((o) => ({ path: o.path, sha256: o.sha256, sizeBytes: o.sizeBytes })),
    ),
    environment_sha256: input.environmentSha256,
    environment_origin: input.environmentOrigin,
    inputs_key: input.inputsKey,
    log_sha256: input.logSha256,
    counted: input.counted ? 1 : 0,
    refused_reason: input.refusedReason ?? null,
    received_at: toMs(input.receivedAt, 'receivedAt'),
  };
}

function checkByproducts(value: unknown, kind: 'built' | 'failed'): ResultByproduct[] {
  if (value === undefined) return [];
  if (kind === 'failed') throw invalid('byproducts', 'a failed result has none');
  if (!Array.isArray(value) || value.length > MAX_OUTPUTS) {
    throw invalid('byproducts', `expected an array of at most ${MAX_OUTPUTS}`);
  }
  return value.map((item: ResultByproduct, i) => {
    checkText(item?.name, `byproducts[${i}].name`, PRINTABLE);
    checkDigest(item.sha256, `byproducts[${i}].sha256`);
    return { name: item.name, sha256: item.sha256 };
  });
}

function checkNewAptLink(link: NewAptLink, at: string, buildId: string, nowMs: number): AptLinkRow {
  if (typeof link !== 'object' || link === null) throw invalid(at || 'link', 'expected an object');
  checkPattern(link.architecture, ARCHITECTURE, `${at}architecture`);
  checkName(link.operator, `${at}operator`);
  checkText(link.package, `${at}package`, PRINTABLE);
  checkText(link.version, `${at}version`, PRINTABLE);
  checkDigest(link.linkSha256, `${at}linkSha256`);
  checkDigest(link.productsSha256, `${at}productsSha256`);
  checkName(link.workerId, `${at}workerId`);
  return {
    architecture: link.architecture,
    operator: link.operator,
    package: link.package,
    version: link.version,
    link_sha256: link.linkSha256,
    products_sha256: link.productsSha256,
    build_id: buildId,
    worker_id: link.workerId,
    created_at: nowMs,
  };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

// ---------------------------------------------------------------- row -> record

function iso(ms: number): IsoTimestamp {
  return new Date(ms).toISOString();
}

/** Adds `key: iso(ms)` only when the column is set, so absent values are absent keys, not undefined. */
function optionalIso<K extends string>(key: K, ms: number | null): { [P in K]?: IsoTimestamp } {
  return (ms === null ? {} : { [key]: iso(ms) }) as { [P in K]?: IsoTimestamp };
}

function optional<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

function frozenArray<T>(items: T[]): readonly T[] {
  for (const item of items) if (typeof item === 'object' && item !== null) Object.freeze(item);
  return Object.freeze(items);
}

function mapName(row: NameRow): OperatorRecord {
  return Object.freeze({ name: row.name, createdAt: iso(row.created_at) });
}

function mapToken(row: TokenRow): TokenRecord {
  return Object.freeze({
    tokenId: row.token_id,
    kind: row.kind,
    subject: row.subject,
    scopes: frozenArray(JSON.parse(row.scopes_json) as string[]),
    singleUse: row.single_use === 1,
    createdAt: iso(row.created_at),
    ...optionalIso('expiresAt', row.expires_at),
    ...optionalIso('usedAt', row.used_at),
    ...optionalIso('revokedAt', row.revoked_at),
  });
}

function mapWorker(row: WorkerRow): WorkerRecord {
  return Object.freeze({
    workerId: row.worker_id,
    operator: row.operator,
    signingKeyPem: row.signing_key_pem,
    signingKeyid: row.signing_keyid,
    ...optional('authKeyPem', row.auth_key_pem),
    ...optional('authKeyid', row.auth_keyid),
    architectures: frozenArray(JSON.parse(row.architectures_json) as string[]),
    backends: frozenArray(JSON.parse(row.backends_json) as string[]),
    capacity: Object.freeze({ cores: row.cores, memoryBytes: row.memory_bytes, diskBytes: row.disk_bytes }),
    queueName: row.queue_name,
    redisUser: row.redis_user,
    ...optional('redisPasswordSha256', row.redis_password_sha256),
    enrolledAt: iso(row.enrolled_at),
    ...optionalIso('lastSeenAt', row.last_seen_at),
    ...optionalIso('revokedAt', row.revoked_at),
    ...(row.revoked_at !== null && { revocation: revocationOf(row) }),
  });
}

function revocationOf(row: WorkerRow): WorkerRevocation {
  return row.revocation_kind === 'compromised' && row.compromised_since !== null
    ? Object.freeze({ kind: 'compromised', since: iso(row.compromised_since) })
    : Object.freeze({ kind: 'retired' });
}

function mapAptLinkConflict(row: AptLinkConflictRow): AptLinkConflictRecord {
  return Object.freeze({
    architecture: row.architecture,
    package: row.package,
    version: row.version,
    publishedBuildId: row.published_build_id,
    publishedProductsSha256: row.published_products_sha256 as Sha256Hex,
    contestingBuildId: row.build_id,
    contestingProductsSha256: row.products_sha256 as Sha256Hex,
    detectedAt: iso(row.detected_at),
  });
}

function mapBuild(row: BuildRow): BuildRecord {
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

function mapAttempt(row: AttemptRow): AttemptRecord {
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

function mapResult(row: ResultRow): ResultRecord {
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

function mapVerdict(row: VerdictRow): VerdictRecord {
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

function mapLogEntry(row: LogRow): LogEntryRecord {
  return Object.freeze({
    index: row.idx,
    kind: row.kind,
    buildId: row.build_id,
    bodySha256: row.body_sha256 as Sha256Hex,
    bodyJson: row.body_json,
    prevEntryHash: row.prev_entry_hash as Sha256Hex,
    entryHash: row.entry_hash as Sha256Hex,
  });
}
