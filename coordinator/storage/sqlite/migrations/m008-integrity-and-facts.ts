// Migration 8: the database enforces what a row must be (the stores no longer re-validate in
// TypeScript), keeps its derived rows itself, and records the facts intake proved about each result.
// Never edit it once released; add the next number.
import { VERDICTS } from '../../../../services/consensus/verdict.ts';
import {
  architectureRule,
  backendNameRule,
  type IdentifierRule,
  jobIdRule,
  jobNonceRule,
  keyidRule,
  queueNameRule,
  redisUserRule,
  tokenScopeRule,
  uuidRule,
} from '../../../../services/identifiers.ts';
import { appendOnly } from './frozen-sql.ts';
import {
  isArchitecture,
  isBackendName,
  isFreeText,
  isIntegerIn,
  isJobId,
  isJobNonce,
  isJsonArray,
  isName,
  isOneOf,
  isPrintable,
  isQueueName,
  isRedisUser,
  isRelativePath,
  isSha256,
  isTokenScope,
  isUuid,
  refuseEachUnless,
  refuseIf,
  refuseRepeated,
  refuseUnless,
  word,
} from './m008-sql-guards.ts';
import type { Migration } from './migration.ts';

const MAX_ITEMS = 10_000;
const DIGEST = 'expected a sha256 digest as 64 lowercase hex characters';
const NAME = 'expected a name matching /^[a-z0-9][a-z0-9._-]{0,62}$/';
const DATE = 'expected a valid Date';
const TEXT = 'expected 1..4096 characters without control characters';
const optional = (x: string, valid: string) => `${x} IS NULL OR (${valid})`;

/** A JSON array of distinct platform words (architectures, backends). */
function wordList(json: string, field: string, rule: IdentifierRule, valid: (x: string) => string): string {
  return [
    refuseUnless('INVALID', field, 'expected 1..32 entries', isJsonArray(json, 1, 32)),
    refuseEachUnless(json, field, '', `expected ${rule.expected}`, valid('e.value')),
    refuseIf(
      'INVALID',
      field,
      'duplicates',
      `(SELECT COUNT(DISTINCT value) FROM json_each(${json})) != json_array_length(${json})`,
    ),
  ].join('\n');
}

/** A JSON array of `{ path, sha256 }` (claims, outputs): relative unique paths, valid digests. */
function fileList(json: string, field: string): string {
  return [
    refuseUnless(
      'INVALID',
      field,
      `expected an array of at most ${MAX_ITEMS}`,
      isJsonArray(json, 0, MAX_ITEMS),
    ),
    refuseEachUnless(
      json,
      field,
      '.path',
      'expected a normalised relative path',
      isRelativePath("e.value->>'path'"),
    ),
    refuseRepeated(json, field, '.path', 'path'),
    refuseEachUnless(json, field, '.sha256', DIGEST, isSha256("e.value->>'sha256'")),
  ].join('\n');
}

const registryChecks = `
  CREATE TRIGGER operators_checked BEFORE INSERT ON operators BEGIN
    ${refuseUnless('INVALID', 'name', NAME, isName('NEW.name'))}
    ${refuseUnless('INVALID', 'now', DATE, 'NEW.created_at IS NOT NULL')}
    ${refuseIf('CONFLICT', 'name', { sql: "'operator ' || NEW.name || ' already exists'" }, 'EXISTS (SELECT 1 FROM operators WHERE name = NEW.name)')}
  END;
  CREATE TRIGGER maintainers_checked BEFORE INSERT ON maintainers BEGIN
    ${refuseUnless('INVALID', 'name', NAME, isName('NEW.name'))}
    ${refuseUnless('INVALID', 'now', DATE, 'NEW.created_at IS NOT NULL')}
    ${refuseIf('CONFLICT', 'name', { sql: "'maintainer ' || NEW.name || ' already exists'" }, 'EXISTS (SELECT 1 FROM maintainers WHERE name = NEW.name)')}
  END;

  CREATE TRIGGER tokens_checked BEFORE INSERT ON tokens BEGIN
    ${refuseUnless('INVALID', 'kind', 'expected one of admin, maintainer, enrolment', isOneOf('NEW.kind', ['admin', 'maintainer', 'enrolment']))}
    ${refuseUnless('INVALID', 'subject', NAME, isName('NEW.subject'))}
    ${refuseUnless('INVALID', 'scopes', 'expected 1..32 scopes', isJsonArray('NEW.scopes_json', 1, 32))}
    ${refuseEachUnless('NEW.scopes_json', 'scopes', '', `expected ${tokenScopeRule.expected}`, isTokenScope('e.value'))}
    ${refuseIf('INVALID', 'scopes', 'duplicates', '(SELECT COUNT(DISTINCT value) FROM json_each(NEW.scopes_json)) != json_array_length(NEW.scopes_json)')}
    -- An enrolment token travels to another organisation: it must not carry any other power.
    ${refuseIf('INVALID', 'scopes', 'an enrolment token carries exactly ["enrol"]', `NEW.kind = 'enrolment' AND NEW.scopes_json != '["enrol"]'`)}
    ${refuseUnless('INVALID', 'createdAt', DATE, 'NEW.created_at IS NOT NULL')}
    ${refuseIf('INVALID', 'expiresAt', 'must be after createdAt', 'NEW.expires_at <= NEW.created_at')}
    ${refuseUnless('INVALID', 'tokenHash', DIGEST, isSha256('NEW.token_hash'))}
    ${refuseIf('NOT_FOUND', 'subject', { sql: "'no operator named ' || NEW.subject" }, `NEW.kind = 'enrolment' AND NOT EXISTS (SELECT 1 FROM operators WHERE name = NEW.subject)`)}
    ${refuseIf('NOT_FOUND', 'subject', { sql: "'no maintainer named ' || NEW.subject" }, `NEW.kind = 'maintainer' AND NOT EXISTS (SELECT 1 FROM maintainers WHERE name = NEW.subject)`)}
  END;

  CREATE TRIGGER workers_checked BEFORE INSERT ON workers BEGIN
    ${refuseUnless('INVALID', 'workerId', NAME, isName('NEW.worker_id'))}
    ${refuseUnless('INVALID', 'operator', NAME, isName('NEW.operator'))}
    ${refuseUnless('INVALID', 'signingKeyPem', 'expected an SPKI PEM public key (-----BEGIN PUBLIC KEY-----)', `length(NEW.signing_key_pem) <= 8192 AND NEW.signing_key_pem GLOB '-----BEGIN PUBLIC KEY-----*'`)}
    ${refuseUnless('INVALID', 'signingKeyid', `expected ${keyidRule.expected}`, isSha256('NEW.signing_keyid'))}
    ${refuseIf('INVALID', 'authKeyPem', 'authKeyPem and authKeyid come together or not at all', '(NEW.auth_key_pem IS NULL) != (NEW.auth_keyid IS NULL)')}
    ${refuseUnless('INVALID', 'authKeyPem', 'expected an SPKI PEM public key (-----BEGIN PUBLIC KEY-----)', optional('NEW.auth_key_pem', `length(NEW.auth_key_pem) <= 8192 AND NEW.auth_key_pem GLOB '-----BEGIN PUBLIC KEY-----*'`))}
    ${refuseUnless('INVALID', 'authKeyid', `expected ${keyidRule.expected}`, optional('NEW.auth_keyid', isSha256('NEW.auth_keyid')))}
    ${refuseIf('INVALID', 'authKeyid', 'must differ from signingKeyid', 'NEW.auth_keyid = NEW.signing_keyid')}
    ${wordList('NEW.architectures_json', 'architectures', architectureRule, isArchitecture)}
    ${wordList('NEW.backends_json', 'backends', backendNameRule, isBackendName)}
    ${refuseUnless('INVALID', 'capacity.cores', 'expected an integer from 1 to 65536', isIntegerIn('NEW.cores', 1, 65_536))}
    ${refuseUnless('INVALID', 'capacity.memoryBytes', 'expected a positive integer', isIntegerIn('NEW.memory_bytes', 1))}
    ${refuseUnless('INVALID', 'capacity.diskBytes', 'expected a positive integer', isIntegerIn('NEW.disk_bytes', 1))}
    ${refuseUnless('INVALID', 'queueName', `expected ${queueNameRule.expected}`, isQueueName('NEW.queue_name'))}
    ${refuseUnless('INVALID', 'redisUser', `expected ${redisUserRule.expected}`, isRedisUser('NEW.redis_user'))}
    ${refuseUnless('INVALID', 'redisPasswordSha256', DIGEST, optional('NEW.redis_password_sha256', isSha256('NEW.redis_password_sha256')))}
    ${refuseUnless('INVALID', 'enrolledAt', DATE, 'NEW.enrolled_at IS NOT NULL')}
    ${refuseIf('NOT_FOUND', 'operator', { sql: "'no operator named ' || NEW.operator" }, 'NOT EXISTS (SELECT 1 FROM operators WHERE name = NEW.operator)')}
    ${refuseIf('CONFLICT', 'workerId', { sql: "'worker ' || NEW.worker_id || ' was already enrolled'" }, 'EXISTS (SELECT 1 FROM workers WHERE worker_id = NEW.worker_id)')}
    ${['signing_keyid:signingKeyid', 'auth_keyid:authKeyid', 'queue_name:queueName', 'redis_user:redisUser']
      .map((pair) => {
        const [column, field] = pair.split(':') as [string, string];
        return refuseIf(
          'CONFLICT',
          field,
          {
            sql: `'already used by worker ' || (SELECT worker_id FROM workers WHERE ${column} = NEW.${column})`,
          },
          `EXISTS (SELECT 1 FROM workers WHERE ${column} = NEW.${column})`,
        );
      })
      .join('\n')}
  END;
  -- Marking a worker compromised withdraws, in the same transaction, its apt links of every build it
  -- reported to from the cut-off on: the decisions taken again publish what still stands.
  CREATE TRIGGER workers_compromised_links AFTER UPDATE OF revocation_kind, compromised_since ON workers
  WHEN NEW.revocation_kind = 'compromised' AND NEW.compromised_since IS NOT NULL
  BEGIN
    DELETE FROM apt_links WHERE worker_id = NEW.worker_id AND build_id IN
      (SELECT build_id FROM results WHERE worker_id = NEW.worker_id
         AND received_at >= MIN(NEW.compromised_since, NEW.revoked_at));
  END;
`;

const buildChecks = `
  CREATE TRIGGER builds_checked BEFORE INSERT ON builds BEGIN
    ${refuseUnless('INVALID', 'buildId', `expected ${uuidRule.expected}`, isUuid('NEW.build_id'))}
    ${refuseUnless('INVALID', 'manifestSha256', DIGEST, isSha256('NEW.manifest_sha256'))}
    ${refuseUnless('INVALID', 'manifestJson', 'expected JSON text of at most 4194304 characters', 'length(NEW.manifest_json) <= 4194304 AND json_valid(NEW.manifest_json)')}
    ${refuseUnless('INVALID', 'name', 'expected 1..256 characters without control characters', isPrintable('NEW.name', 256))}
    ${refuseUnless('INVALID', 'architecture', `expected ${architectureRule.expected}`, isArchitecture('NEW.architecture'))}
    ${refuseUnless('INVALID', 'backend', `expected ${backendNameRule.expected}`, isBackendName('NEW.backend'))}
    ${fileList('NEW.claimed_outputs_json', 'claimedOutputs')}
    ${refuseUnless('INVALID', 'policy.threshold', 'expected an integer from 1 to 100', isIntegerIn('NEW.threshold', 1, 100))}
    ${refuseUnless('INVALID', 'policy.maxAttempts', 'expected an integer from 1 to 100', isIntegerIn('NEW.max_attempts', 1, 100))}
    ${refuseUnless('INVALID', 'policy.decisionDeadlineMs', 'expected a positive integer', isIntegerIn('NEW.decision_deadline_ms', 1))}
    ${refuseUnless('INVALID', 'submittedBy', NAME, isName('NEW.submitted_by'))}
    ${refuseUnless('INVALID', 'createdAt', DATE, 'NEW.created_at IS NOT NULL')}
    ${refuseUnless('INVALID', 'verdict', "a build starts 'pending'", `NEW.verdict = 'pending'`)}
    ${refuseIf('CONFLICT', 'buildId', { sql: "'build ' || NEW.build_id || ' already exists'" }, 'EXISTS (SELECT 1 FROM builds WHERE build_id = NEW.build_id)')}
  END;
  -- The claimed digests are indexed with the build, by the database.
  CREATE TRIGGER builds_claimed_artifacts AFTER INSERT ON builds BEGIN
    INSERT OR IGNORE INTO artifacts (sha256, build_id, path, source)
      SELECT value->>'sha256', NEW.build_id, value->>'path', 'claimed' FROM json_each(NEW.claimed_outputs_json);
  END;

  CREATE TRIGGER attempts_checked BEFORE INSERT ON attempts BEGIN
    ${refuseUnless('INVALID', 'buildId', `expected ${uuidRule.expected}`, isUuid('NEW.build_id'))}
    ${refuseUnless('INVALID', 'workerId', NAME, isName('NEW.worker_id'))}
    ${refuseUnless('INVALID', 'operator', NAME, isName('NEW.operator'))}
    ${refuseUnless('INVALID', 'attempt', 'expected an integer from 1 to 1000', isIntegerIn('NEW.attempt', 1, 1000))}
    ${refuseUnless('INVALID', 'jobId', `expected ${jobIdRule.expected}`, isJobId('NEW.job_id'))}
    ${refuseUnless('INVALID', 'nonce', `expected ${jobNonceRule.expected}`, isJobNonce('NEW.nonce'))}
    ${refuseUnless('INVALID', 'state', "an attempt starts 'open'", `NEW.state = 'open'`)}
    ${refuseUnless('INVALID', 'assignedAt', DATE, 'NEW.assigned_at IS NOT NULL')}
    ${refuseIf('INVALID', 'leaseExpiresAt', 'must be after assignedAt', 'NEW.lease_expires_at <= NEW.assigned_at')}
    ${refuseUnless('INVALID', 'runLimitMs', 'expected a positive integer', optional('NEW.run_limit_ms', isIntegerIn('NEW.run_limit_ms', 1)))}
    ${refuseIf('NOT_FOUND', 'buildId', { sql: "'no build ' || NEW.build_id" }, 'NOT EXISTS (SELECT 1 FROM builds WHERE build_id = NEW.build_id)')}
    ${refuseIf('NOT_FOUND', 'workerId', { sql: "'no worker ' || NEW.worker_id" }, 'NOT EXISTS (SELECT 1 FROM workers WHERE worker_id = NEW.worker_id)')}
    ${refuseIf('CONFLICT', 'workerId', { sql: "'worker ' || NEW.worker_id || ' is revoked'" }, 'EXISTS (SELECT 1 FROM workers WHERE worker_id = NEW.worker_id AND revoked_at IS NOT NULL)')}
    ${refuseIf('CONFLICT', 'operator', { sql: "'worker ' || NEW.worker_id || ' belongs to ' || (SELECT operator FROM workers WHERE worker_id = NEW.worker_id) || ', not ' || NEW.operator" }, 'NEW.operator != (SELECT operator FROM workers WHERE worker_id = NEW.worker_id)')}
    ${refuseIf('CONFLICT', 'jobId', { sql: "'job ' || NEW.job_id || ' already has an attempt'" }, 'EXISTS (SELECT 1 FROM attempts WHERE job_id = NEW.job_id)')}
    ${refuseIf('CONFLICT', 'attempt', { sql: "'worker ' || NEW.worker_id || ' already has attempt ' || NEW.attempt || ' of build ' || NEW.build_id" }, 'EXISTS (SELECT 1 FROM attempts WHERE build_id = NEW.build_id AND worker_id = NEW.worker_id AND attempt = NEW.attempt)')}
  END;
  -- An attempt closes once, into a finished state; it never reopens.
  CREATE TRIGGER attempts_state_checked BEFORE UPDATE OF state ON attempts BEGIN
    ${refuseUnless('INVALID', 'state', 'expected one of reported, failed, expired, cancelled', isOneOf('NEW.state', ['reported', 'failed', 'expired', 'cancelled']))}
    ${refuseIf('CONFLICT', 'state', { sql: "'attempt ' || OLD.job_id || ' already finished as ' || OLD.state" }, `OLD.state != 'open'`)}
    ${refuseUnless('INVALID', 'finishedAt', DATE, 'NEW.finished_at IS NOT NULL')}
  END;

  CREATE TRIGGER verdict_history_checked BEFORE INSERT ON verdict_history BEGIN
    ${refuseUnless('INVALID', 'verdict', `expected one of ${VERDICTS.join(', ')}`, isOneOf('NEW.verdict', VERDICTS))}
    ${refuseUnless('INVALID', 'decisionJson', 'expected JSON text of 1..1048576 characters', 'length(NEW.decision_json) BETWEEN 1 AND 1048576 AND json_valid(NEW.decision_json)')}
    ${refuseUnless('INVALID', 'consensusEnvelopeSha256', DIGEST, optional('NEW.consensus_envelope_sha256', isSha256('NEW.consensus_envelope_sha256')))}
    ${refuseUnless('INVALID', 'divergenceReportSha256', DIGEST, optional('NEW.divergence_report_sha256', isSha256('NEW.divergence_report_sha256')))}
    ${refuseUnless('INVALID', 'decidedAt', DATE, 'NEW.decided_at IS NOT NULL')}
    ${refuseIf('NOT_FOUND', 'buildId', { sql: "'no build ' || NEW.build_id" }, 'NOT EXISTS (SELECT 1 FROM builds WHERE build_id = NEW.build_id)')}
    -- The history only grows at its end, and each row names the verdict it replaced.
    ${refuseUnless('CONFLICT', 'sequence', 'the verdict history only grows at its end', 'NEW.sequence = (SELECT COALESCE(MAX(sequence), 0) + 1 FROM verdict_history WHERE build_id = NEW.build_id)')}
    ${refuseUnless('CONFLICT', 'previousVerdict', "must be the build's current verdict", 'NEW.previous_verdict = (SELECT verdict FROM builds WHERE build_id = NEW.build_id)')}
  END;
  -- A build's current verdict is its latest history row: kept by the database, never by callers.
  CREATE TRIGGER verdict_history_current AFTER INSERT ON verdict_history BEGIN
    UPDATE builds SET verdict = NEW.verdict, verdict_at = NEW.decided_at WHERE build_id = NEW.build_id;
  END;
`;

const resultChecks = `
  CREATE TRIGGER results_checked BEFORE INSERT ON results BEGIN
    ${refuseUnless('INVALID', 'buildId', `expected ${uuidRule.expected}`, isUuid('NEW.build_id'))}
    ${refuseUnless('INVALID', 'workerId', NAME, isName('NEW.worker_id'))}
    ${refuseUnless('INVALID', 'operator', NAME, isName('NEW.operator'))}
    ${refuseUnless('INVALID', 'attempt', 'expected an integer from 1 to 1000', isIntegerIn('NEW.attempt', 1, 1000))}
    ${refuseUnless('INVALID', 'jobId', `expected ${jobIdRule.expected}`, isJobId('NEW.job_id'))}
    ${refuseUnless('INVALID', 'envelopeSha256', DIGEST, isSha256('NEW.envelope_sha256'))}
    ${refuseUnless('INVALID', 'kind', 'expected one of built, failed', isOneOf('NEW.kind', ['built', 'failed']))}
    ${refuseUnless('INVALID', 'failureReason', TEXT, `NEW.kind = 'built' OR (${isFreeText('NEW.failure_reason', 4096)})`)}
    ${refuseIf('INVALID', 'failureReason', 'only a failed result has one', `NEW.kind = 'built' AND NEW.failure_reason IS NOT NULL`)}
    ${refuseIf('INVALID', 'outputs', 'a failed result has no outputs', `NEW.kind = 'failed' AND json_array_length(NEW.outputs_json) > 0`)}
    ${fileList('NEW.outputs_json', 'outputs')}
    ${refuseEachUnless('NEW.outputs_json', 'outputs', '.sizeBytes', 'expected an integer from 0 to 9007199254740991', `json_type(e.value, '$.sizeBytes') = 'integer' AND e.value->>'sizeBytes' BETWEEN 0 AND ${Number.MAX_SAFE_INTEGER}`)}
    ${refuseUnless('INVALID', 'environmentSha256', DIGEST, isSha256('NEW.environment_sha256'))}
    ${refuseUnless('INVALID', 'environmentOrigin', 'expected a string matching /^[a-z][a-z0-9-]{0,63}$/', word('NEW.environment_origin', 'a-z', 'a-z0-9-', 1, 64))}
    ${refuseUnless('INVALID', 'inputsKey', 'expected a string matching /^[A-Za-z0-9:._-]{1,256}$/', word('NEW.inputs_key', 'A-Za-z0-9:._-', 'A-Za-z0-9:._-', 1, 256))}
    ${refuseUnless('INVALID', 'logSha256', DIGEST, isSha256('NEW.log_sha256'))}
    ${refuseIf('INVALID', 'refusedReason', 'only a result that does not count has one', 'NEW.counted = 1 AND NEW.refused_reason IS NOT NULL')}
    ${refuseUnless('INVALID', 'refusedReason', TEXT, optional('NEW.refused_reason', isFreeText('NEW.refused_reason', 4096)))}
    ${refuseUnless('INVALID', 'receivedAt', DATE, 'NEW.received_at IS NOT NULL')}
    ${refuseIf('CONFLICT', 'envelopeSha256', { sql: "'already recorded for job ' || (SELECT job_id FROM results WHERE envelope_sha256 = NEW.envelope_sha256) || '; an envelope answers one attempt'" }, 'EXISTS (SELECT 1 FROM results WHERE envelope_sha256 = NEW.envelope_sha256)')}
    ${refuseIf('NOT_FOUND', 'jobId', { sql: "'no attempt for job ' || NEW.job_id" }, 'NOT EXISTS (SELECT 1 FROM attempts WHERE job_id = NEW.job_id)')}
    ${refuseIf('CONFLICT', 'jobId', { sql: "'job ' || NEW.job_id || ' is attempt ' || a.attempt || ' of worker ' || a.worker_id || ' on build ' || a.build_id" }, 'a.build_id != NEW.build_id OR a.worker_id != NEW.worker_id OR a.attempt != NEW.attempt', 'attempts AS a WHERE a.job_id = NEW.job_id AND')}
    ${refuseIf('CONFLICT', 'operator', { sql: "'job ' || NEW.job_id || ' was assigned to ' || (SELECT operator FROM attempts WHERE job_id = NEW.job_id)" }, 'NEW.operator != (SELECT operator FROM attempts WHERE job_id = NEW.job_id)')}
    ${refuseIf('CONFLICT', 'counted', { sql: "'worker ' || NEW.worker_id || ' is revoked; its results never count'" }, 'NEW.counted = 1 AND EXISTS (SELECT 1 FROM workers WHERE worker_id = NEW.worker_id AND revoked_at IS NOT NULL)')}
  END;
  -- With the result, in the same transaction: its rebuilt outputs indexed, its attempt reported.
  CREATE TRIGGER results_recorded AFTER INSERT ON results BEGIN
    INSERT OR IGNORE INTO artifacts (sha256, build_id, path, source)
      SELECT value->>'sha256', NEW.build_id, value->>'path', 'rebuilt' FROM json_each(NEW.outputs_json);
    UPDATE attempts SET state = 'reported', finished_at = NEW.received_at, failure_reason = NULL
      WHERE job_id = NEW.job_id AND state = 'open';
  END;

  CREATE TRIGGER result_byproducts_checked BEFORE INSERT ON result_byproducts BEGIN
    ${refuseUnless('INVALID', 'name', 'expected 1..4096 characters without control characters', isPrintable('NEW.name', 4096))}
    ${refuseUnless('INVALID', 'sha256', DIGEST, isSha256('NEW.sha256'))}
    ${refuseIf('INVALID', 'byproducts', 'a failed result has none', `(SELECT kind FROM results WHERE envelope_sha256 = NEW.envelope_sha256) = 'failed'`)}
  END;

  -- A build's results in arrival order, and those after a known one: what a decision reads.
  CREATE INDEX results_build_seq ON results (build_id, seq);

  -- What verifying a built result's envelope proved, recorded once (docs/storage.md).
  CREATE TABLE result_facts (
    envelope_sha256 TEXT PRIMARY KEY REFERENCES results (envelope_sha256),
    keyid TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    log_size_bytes INTEGER NOT NULL,
    debian_source_json TEXT,
    recorded_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  ${appendOnly('result_facts', 'a result’s verified facts')}
  CREATE TRIGGER result_facts_checked BEFORE INSERT ON result_facts BEGIN
    ${refuseIf('NOT_FOUND', 'envelopeSha256', { sql: "'no result with envelope ' || NEW.envelope_sha256" }, 'NOT EXISTS (SELECT 1 FROM results WHERE envelope_sha256 = NEW.envelope_sha256)')}
    ${refuseIf('INVALID', 'facts', 'only a built result has verified facts', `(SELECT kind FROM results WHERE envelope_sha256 = NEW.envelope_sha256) != 'built'`)}
    ${refuseUnless('INVALID', 'facts.keyid', 'expected a string matching /^[A-Za-z0-9._:+/=-]{1,256}$/', word('NEW.keyid', 'A-Za-z0-9._:+/=-', 'A-Za-z0-9._:+/=-', 1, 256))}
    ${fileList('NEW.inputs_json', 'facts.inputs')}
    ${refuseUnless('INVALID', 'facts.logSizeBytes', 'expected a non-negative integer', isIntegerIn('NEW.log_size_bytes', 0))}
    ${refuseUnless('INVALID', 'facts.debianSource', 'expected a JSON object', optional('NEW.debian_source_json', `json_valid(NEW.debian_source_json) AND json_type(NEW.debian_source_json) = 'object'`))}
  END;
`;

const aptLinkChecks = `
  CREATE TRIGGER apt_links_checked BEFORE INSERT ON apt_links BEGIN
    ${refuseUnless('INVALID', 'architecture', `expected ${architectureRule.expected}`, isArchitecture('NEW.architecture'))}
    ${refuseUnless('INVALID', 'operator', NAME, isName('NEW.operator'))}
    ${refuseUnless('INVALID', 'package', TEXT, isPrintable('NEW.package', 4096))}
    ${refuseUnless('INVALID', 'version', TEXT, isPrintable('NEW.version', 4096))}
    ${refuseUnless('INVALID', 'linkSha256', DIGEST, isSha256('NEW.link_sha256'))}
    ${refuseUnless('INVALID', 'productsSha256', DIGEST, isSha256('NEW.products_sha256'))}
    ${refuseUnless('INVALID', 'workerId', NAME, isName('NEW.worker_id'))}
    ${refuseUnless('INVALID', 'now', DATE, 'NEW.created_at IS NOT NULL')}
  END;
  CREATE TRIGGER apt_link_conflicts_checked BEFORE INSERT ON apt_link_conflicts BEGIN
    ${refuseUnless('INVALID', 'productsSha256', DIGEST, isSha256('NEW.products_sha256'))}
    ${refuseUnless('INVALID', 'now', DATE, 'NEW.detected_at IS NOT NULL')}
  END;

  -- A reference names a digest: anything else could never match a blob.
  CREATE TRIGGER blob_refs_checked BEFORE INSERT ON blob_refs BEGIN
    ${refuseUnless('INVALID', 'sha256', DIGEST, isSha256('NEW.sha256'))}
  END;

  CREATE TRIGGER log_entries_checked BEFORE INSERT ON log_entries BEGIN
    ${refuseUnless('INVALID', 'kind', 'expected one of verdict', isOneOf('NEW.kind', ['verdict']))}
    ${refuseUnless('INVALID', 'body', 'over 1048576 characters', 'length(NEW.body_json) <= 1048576 AND json_valid(NEW.body_json)')}
    ${refuseIf('NOT_FOUND', 'buildId', { sql: "'no build ' || NEW.build_id" }, 'NOT EXISTS (SELECT 1 FROM builds WHERE build_id = NEW.build_id)')}
  END;
`;

export const migration8: Migration = {
  version: 8,
  name: 'integrity in SQL; derived rows kept by triggers; verified result facts',
  sql: `${registryChecks}${buildChecks}${resultChecks}${aptLinkChecks}`,
};

/** What migration 8 creates, so a test can roll a file back to version 7. */
export const migration8Objects: readonly {
  readonly type: 'trigger' | 'index' | 'table';
  readonly name: string;
}[] = [
  ...[...migration8.sql.matchAll(/CREATE TRIGGER (\w+)/g)].map((m) => ({
    type: 'trigger' as const,
    name: m[1]!,
  })),
  { type: 'index', name: 'results_build_seq' },
  { type: 'table', name: 'result_facts' },
];
