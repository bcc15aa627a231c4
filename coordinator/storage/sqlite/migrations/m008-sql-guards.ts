// SQL predicates and refusals migration 8 writes its checks with. Their output is part of that
// released migration, so it never changes: a later migration that needs other rules writes its own.
//
// A refusal raises `RAISE(ABORT, '<CODE> <field>: <problem>')`; the store turns that message into a
// BuildStoreError with that code (sqlite-errors.ts). Predicates are true for a valid value and are
// wrapped NULL-safe, so a missing value is refused rather than let through.

/** Every C0 control character and DEL, as a GLOB class body (NUL is checked with instr). */
const CONTROLS = `char(${[...Array.from({ length: 31 }, (_, i) => i + 1), 127].join(',')})`;
/** The same, less tab, line feed and carriage return (free text keeps its lines). */
const CONTROLS_BUT_LINES = `char(${[...Array.from({ length: 31 }, (_, i) => i + 1).filter((c) => ![9, 10, 13].includes(c)), 127].join(',')})`;

/** `x` with SQL quotes doubled, for a literal inside a RAISE message. */
function quoted(text: string): string {
  return text.replaceAll("'", "''");
}

/**
 * Refuses (code, field, problem) unless `valid` holds; `problem` may be a SQL expression via `sql`,
 * and both may read the rows of `from` (e.g. `attempts AS a WHERE a.job_id = NEW.job_id AND`).
 */
export function refuseUnless(
  code: string,
  field: string,
  problem: string | { sql: string },
  valid: string,
  from?: string,
): string {
  const message =
    typeof problem === 'string'
      ? `'${code} ${quoted(field)}: ${quoted(problem)}'`
      : `'${code} ${quoted(field)}: ' || ${problem.sql}`;
  return `SELECT RAISE(ABORT, ${message}) ${from === undefined ? 'WHERE' : `FROM ${from}`} NOT COALESCE((${valid}), 0);`;
}

/** Refuses when `condition` holds (NULL counts as not holding). */
export function refuseIf(
  code: string,
  field: string,
  problem: string | { sql: string },
  condition: string,
  from?: string,
): string {
  return refuseUnless(code, field, problem, `NOT COALESCE((${condition}), 0)`, from);
}

/**
 * Refuses the first element of the JSON array `json` for which `valid` (over `e.value`, `e.key`)
 * fails, naming it `${field}[i]${suffix}`.
 */
export function refuseEachUnless(
  json: string,
  field: string,
  suffix: string,
  problem: string,
  valid: string,
): string {
  return `SELECT RAISE(ABORT, 'INVALID ${quoted(field)}[' || e.key || ']${quoted(suffix)}: ${quoted(problem)}')
      FROM json_each(${json}) AS e WHERE NOT COALESCE((${valid}), 0) ORDER BY e.key LIMIT 1;`;
}

/** Refuses the second element of `json` whose `member` (a `->>` path, or `value`) repeats an earlier one. */
export function refuseRepeated(json: string, field: string, suffix: string, member: string): string {
  const of = member === 'value' ? 'value' : `value->>'${member}'`;
  return `SELECT RAISE(ABORT, 'INVALID ${quoted(field)}[' || d.key || ']${quoted(suffix)}: duplicate ' || d.item)
      FROM (SELECT key, ${of} AS item, ROW_NUMBER() OVER (PARTITION BY ${of} ORDER BY key) AS n
            FROM json_each(${json})) AS d
      WHERE d.n > 1 ORDER BY d.key LIMIT 1;`;
}

/** A string of `min..max` characters, the first from class `first`, every one from class `rest`. */
export function word(x: string, first: string, rest: string, min: number, max: number): string {
  return `typeof(${x}) = 'text' AND length(${x}) BETWEEN ${min} AND ${max} AND ${x} GLOB '[${first}]*' AND ${x} NOT GLOB '*[^${rest}]*'`;
}

// Identifier shapes: each predicate accepts exactly what its rule in services/identifiers.ts accepts
// (sql-guards-agreement.test.ts checks them against those rules on the same values).

/** Operator, maintainer and worker names (accountNameRule, workerIdRule). */
export const isName = (x: string) => word(x, 'a-z0-9', 'a-z0-9._-', 1, 63);
/** Debian architecture names (architectureRule). */
export const isArchitecture = (x: string) => word(x, 'a-z0-9', 'a-z0-9-', 1, 32);
/** Backend names (backendNameRule). */
export const isBackendName = (x: string) => word(x, 'a-z', 'a-z0-9-', 1, 32);
/** Token scopes (tokenScopeRule). */
export const isTokenScope = (x: string) => word(x, 'a-z', 'a-z0-9:_-', 1, 32);
/** Worker queue names (queueNameRule). */
export const isQueueName = (x: string) => word(x, 'A-Za-z0-9', 'A-Za-z0-9._-', 1, 128);
/** Redis ACL user names (redisUserRule). */
export const isRedisUser = (x: string) => word(x, 'A-Za-z0-9', 'A-Za-z0-9._:-', 1, 128);

/**
 * BullMQ's queue-level key names, which a job id must never be: a copy of services/identifiers.ts's
 * bullmqReservedJobIds on purpose, since a released migration's SQL must not change when that list
 * does (sql-guards-agreement.test.ts fails if the two differ).
 */
const BULLMQ_RESERVED_JOB_IDS = [
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
  'metrics',
];

/**
 * Job ids (jobIdRule): 1..128 characters from [A-Za-z0-9_-], or three such non-empty segments joined
 * by ':'; never all digits; never a BullMQ key name.
 */
export function isJobId(x: string): string {
  return `typeof(${x}) = 'text' AND length(${x}) BETWEEN 1 AND 128 AND ${x} NOT GLOB '*[^A-Za-z0-9_:-]*'
    AND (instr(${x}, ':') = 0 OR (${x} GLOB '?*:?*:?*' AND ${x} NOT GLOB '*:*:*:*'))
    AND ${x} GLOB '*[^0-9]*' AND ${x} NOT IN (${BULLMQ_RESERVED_JOB_IDS.map((w) => `'${w}'`).join(', ')})`;
}

/** Job nonces (jobNonceRule): 32 bytes as unpadded base64url, 43 characters, one spelling. */
export function isJobNonce(x: string): string {
  return `typeof(${x}) = 'text' AND length(${x}) = 43 AND ${x} NOT GLOB '*[^A-Za-z0-9_-]*' AND ${x} GLOB '*[AEIMQUYcgkosw048]'`;
}

/** Digests and keyids (keyidRule): 64 lowercase hex digits. */
export function isSha256(x: string): string {
  return `typeof(${x}) = 'text' AND length(${x}) = 64 AND ${x} NOT GLOB '*[^0-9a-f]*'`;
}

/** Build and token ids (uuidRule): a lowercase RFC 9562 UUID, version 1..8, variant 10xx. */
export function isUuid(x: string): string {
  const hex = (n: number) => '[0-9a-f]'.repeat(n);
  return `typeof(${x}) = 'text' AND length(${x}) = 36 AND ${x} GLOB '${hex(8)}-${hex(4)}-[1-8]${hex(3)}-[89ab]${hex(3)}-${hex(12)}'`;
}

/** 1..max characters, none of them a control character. */
export function isPrintable(x: string, max: number): string {
  return `typeof(${x}) = 'text' AND length(${x}) BETWEEN 1 AND ${max} AND instr(${x}, char(0)) = 0 AND ${x} NOT GLOB '*[' || ${CONTROLS} || ']*'`;
}

/** 1..max characters of free text: tabs and line breaks allowed, other control characters not. */
export function isFreeText(x: string, max: number): string {
  return `typeof(${x}) = 'text' AND length(${x}) BETWEEN 1 AND ${max} AND instr(${x}, char(0)) = 0 AND ${x} NOT GLOB '*[' || ${CONTROLS_BUT_LINES} || ']*'`;
}

/** A relative, normalised path: no leading `/`, no empty, `.` or `..` segment. */
export function isRelativePath(x: string): string {
  return `${isPrintable(x, 4096)} AND ${x} NOT GLOB '/*' AND ${x} NOT GLOB '*/' AND ${x} NOT GLOB '*//*'
    AND ${x} NOT IN ('.', '..') AND ${x} NOT GLOB './*' AND ${x} NOT GLOB '../*'
    AND ${x} NOT GLOB '*/./*' AND ${x} NOT GLOB '*/../*' AND ${x} NOT GLOB '*/.' AND ${x} NOT GLOB '*/..'`;
}

/** An integer from min to max (max defaults to 2^53 - 1). */
export function isIntegerIn(x: string, min: number, max = Number.MAX_SAFE_INTEGER): string {
  return `typeof(${x}) = 'integer' AND ${x} BETWEEN ${min} AND ${max}`;
}

/** A JSON array of 1..max (or 0..max) elements. */
export function isJsonArray(x: string, min: number, max: number): string {
  return `json_valid(${x}) AND json_type(${x}) = 'array' AND json_array_length(${x}) BETWEEN ${min} AND ${max}`;
}

/** `x IN (...)` for a fixed list of words. */
export function isOneOf(x: string, words: readonly string[]): string {
  return `${x} IN (${words.map((w) => `'${quoted(w)}'`).join(', ')})`;
}
