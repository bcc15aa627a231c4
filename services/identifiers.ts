// One rule per identifier that crosses a process boundary or is stored: the queue payload, the HTTP
// routes and clients, the request proofs, the trust policy and the store all check it here, so a
// string is never valid on one side and refused on the other.
//
// Every rule is one anchored regular expression (so the store, a JSON Schema `pattern` in the
// OpenAPI document and a guard all say exactly the same thing) plus the words a refusal uses.

/** One identifier's rule. */
export interface IdentifierRule {
  /** The whole rule, anchored; also the JSON Schema `pattern` of the identifier. */
  readonly pattern: RegExp;
  /** Longest accepted value, in characters (implied by `pattern`; stated for schemas and limits). */
  readonly maxLength: number;
  /** What the rule accepts, as a refusal says it: `expected <expected>`. */
  readonly expected: string;
}

function rule(pattern: RegExp, maxLength: number, expected: string): IdentifierRule {
  return Object.freeze({ pattern, maxLength, expected });
}

function guard(identifier: IdentifierRule): (value: unknown) => value is string {
  return (value: unknown): value is string =>
    typeof value === 'string' && value.length <= identifier.maxLength && identifier.pattern.test(value);
}

/**
 * A lowercase RFC 9562 UUID (version 1..8, variant 10xx), what `crypto.randomUUID()` makes: build
 * ids and token ids. Upper case is refused so one id has one spelling (URLs, cursors, SQL keys).
 */
export const uuidRule = rule(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  36,
  'a lowercase RFC 9562 UUID (8-4-4-4-12 hex digits)',
);
/** A build id: the UUID the coordinator chose when the build was submitted. */
export const buildIdRule = uuidRule;
/** A token id: the UUID of a stored token (never its secret). */
export const tokenIdRule = uuidRule;

/**
 * Queue-level key names BullMQ keeps beside job hashes: a job with one of these ids would overwrite
 * them (its hash is `<prefix>:<queue>:<jobId>`).
 */
export const bullmqReservedJobIds: readonly string[] = Object.freeze([
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
]);

/**
 * A job id (also the BullMQ job id): 1..128 characters from `[A-Za-z0-9_-]`, or three such segments
 * joined by `:` (BullMQ refuses ids with `:` unless they have exactly three segments); never all
 * digits (BullMQ reserves integer ids) and never one of {@link bullmqReservedJobIds}. The coordinator
 * makes `<buildId>:attempt:<n>`.
 */
export const jobIdRule = rule(
  new RegExp(
    `^(?=.{1,128}$)(?![0-9]+$)(?!(?:${bullmqReservedJobIds.join('|')})$)` +
      '(?:[A-Za-z0-9_-]+|[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+)$',
  ),
  128,
  '1-128 characters from [A-Za-z0-9_-], or three such segments joined by ":", not all digits and not a BullMQ key name',
);

/**
 * A job nonce: the 32 random bytes the coordinator gives each attempt, unpadded base64url (43
 * characters, the last one's two unused bits zero, so each nonce has exactly one spelling). The
 * worker signs it into its attestation and intake compares it with the stored one as text.
 *
 * It differs from {@link requestNonceRule} on purpose: this one is made by the coordinator, stored
 * and compared, so it has one exact form; a request nonce is made by the worker for each request and
 * only needs to be unguessable and bounded for the replay table.
 */
export const jobNonceRule = rule(
  /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  43,
  '32 bytes as unpadded base64url (exactly 43 characters)',
);

/**
 * A request nonce in a worker's proof of possession: 16..48 bytes as unpadded base64url (22..64
 * characters; workers send 24 bytes). Remembered until the proof expires, so each is used once.
 */
export const requestNonceRule = rule(/^[A-Za-z0-9_-]{22,64}$/, 64, '22-64 base64url characters');

/**
 * A worker id: lowercase, 1..63 characters from `[a-z0-9._-]`, starting with a letter or digit. No
 * Redis glob metacharacter (`* ? [ ] \`) and no `:`, because the worker's Redis ACL key pattern and
 * queue name are built from it: a `:` or `*` would let one worker's pattern cover another's queue.
 */
export const workerIdRule = rule(
  /^[a-z0-9][a-z0-9._-]{0,62}$/,
  63,
  '1-63 characters from [a-z0-9._-], starting with a letter or digit',
);

/**
 * An operator or maintainer name: the same shape as a worker id, lowercase so "Alpha" and "alpha"
 * can never count as two operators.
 */
export const accountNameRule = rule(
  /^[a-z0-9][a-z0-9._-]{0,62}$/,
  63,
  'a name of 1-63 characters from [a-z0-9._-], starting with a letter or digit',
);

/** A securesystemslib keyid: the sha256 of the key's canonical public form, 64 lowercase hex digits. */
export const keyidRule = rule(/^[0-9a-f]{64}$/, 64, 'a keyid of 64 lowercase hex digits');

/** A BullMQ queue name (`rbnet-w-<workerId>`): no `:` (BullMQ refuses it), no spaces. */
export const queueNameRule = rule(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  128,
  '1-128 characters from [A-Za-z0-9._-], starting with a letter or digit',
);

/** A BullMQ key prefix that is safe inside an ACL key pattern (no glob metacharacters, no `:`). */
export const queuePrefixRule = rule(/^[A-Za-z0-9{}_.-]{1,64}$/, 64, '1-64 characters from [A-Za-z0-9{}_.-]');

/** A Redis ACL user name (`worker:<prefix>:<workerId>`): colons, but no spaces to quote. */
export const redisUserRule = rule(
  /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
  128,
  '1-128 characters from [A-Za-z0-9._:-], starting with a letter or digit',
);

/** A Debian-style architecture name as builds, workers and apt clients use it (`amd64`, `arm64`). */
export const architectureRule = rule(
  /^[a-z0-9][a-z0-9-]{0,31}$/,
  32,
  'an architecture name of 1-32 characters from [a-z0-9-], starting with a letter or digit',
);

/**
 * A package's source name as builds carry it: a Debian source package name (Policy §5.6.1) or a
 * generic manifest's name; the union of the two manifests' rules, so every stored build has one.
 */
export const packageSourceRule = rule(
  /^[a-z0-9][a-z0-9._+-]{0,127}$/,
  128,
  'a source name of 1-128 characters from [a-z0-9._+-], starting with a letter or digit',
);

/** A Debian version as a Debian manifest carries it (epoch included): `1:2.10-3`. */
export const packageVersionRule = rule(
  /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~:-]{0,254}$/,
  256,
  'a Debian version like "1:2.10-3"',
);

/** A Debian suite or codename (`bookworm`, `stable-security`, `trixie-proposed-updates`). */
export const suiteRule = rule(
  /^[a-z0-9][a-z0-9._-]{0,63}$/,
  64,
  'a suite name of 1-64 characters from [a-z0-9._-], starting with a letter or digit',
);

/** The consensus feed's cursor as the coordinator makes it: opaque to clients, decimal digits today. */
export const feedCursorRule = rule(/^(?:0|[1-9][0-9]{0,14})$/, 15, 'the nextCursor of a previous page');

/**
 * A sync-upload page's cursor as the coordinator makes it (base64url of the last upload's key):
 * opaque to clients, URL-safe, bounded.
 */
export const syncUploadCursorRule = rule(
  /^[A-Za-z0-9_-]{1,1024}$/,
  1024,
  'the nextCursor of a previous page',
);

/** A rebuild backend name (`generic`, `debian`). */
export const backendNameRule = rule(
  /^[a-z][a-z0-9-]{0,31}$/,
  32,
  'a backend name of 1-32 characters from [a-z0-9-], starting with a letter',
);

/** A token's secret as the coordinator makes it: its kind, then 32 random bytes in base64url. */
export const tokenSecretRule = rule(
  /^rbnet_(?:admin|maintainer|enrolment)_[A-Za-z0-9_-]{43}$/,
  64,
  'an rbnet token (rbnet_<admin|maintainer|enrolment>_ and 43 base64url characters)',
);

/** A token scope (`admin`, `submit`, `enrol`). */
export const tokenScopeRule = rule(
  /^[a-z][a-z0-9:_-]{0,31}$/,
  32,
  'a scope of 1-32 characters from [a-z0-9:_-], starting with a letter',
);

/** A sync profile's name (`rbnet admin sync add NAME`): the shape of an account name. */
export const syncProfileNameRule = rule(
  /^[a-z0-9][a-z0-9._-]{0,62}$/,
  63,
  'a profile name of 1-63 characters from [a-z0-9._-], starting with a letter or digit',
);

/**
 * An archive suite or codename (`bookworm`, `bookworm-updates`): one path segment of
 * `dists/<suite>/`, so no `/`, and it starts with a letter or digit (never `.` or `..`).
 */
export const archiveSuiteRule = rule(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  64,
  'a suite of 1-64 characters from [A-Za-z0-9._-], starting with a letter or digit',
);

/** An archive component (`main`, `non-free-firmware`): one path segment under the suite. */
export const archiveComponentRule = rule(
  /^[a-z0-9][a-z0-9.+-]{0,63}$/,
  64,
  'a component of 1-64 characters from [a-z0-9.+-], starting with a letter or digit',
);

/** A package-name pattern of a sync rule: Debian package-name characters, `*` and `?` as globs. */
export const packageNamePatternRule = rule(
  /^[a-z0-9*?][a-z0-9+.*?-]{0,99}$/,
  100,
  'a package name or glob of 1-100 characters from [a-z0-9+.-*?]',
);

/** A section pattern of a sync rule (`libs`, `contrib/*`): section characters, `*` and `?` as globs. */
export const sectionPatternRule = rule(
  /^[a-z0-9*?][a-z0-9+./*?-]{0,63}$/,
  64,
  'a section or glob of 1-64 characters from [a-z0-9+./-*?]',
);

export const isUuid = guard(uuidRule);
export const isBuildId = guard(buildIdRule);
export const isJobId = guard(jobIdRule);
export const isJobNonce = guard(jobNonceRule);
export const isRequestNonce = guard(requestNonceRule);
export const isWorkerId = guard(workerIdRule);
export const isAccountName = guard(accountNameRule);
export const isKeyid = guard(keyidRule);
export const isQueueName = guard(queueNameRule);
export const isQueuePrefix = guard(queuePrefixRule);
export const isRedisUser = guard(redisUserRule);
export const isArchitecture = guard(architectureRule);
export const isBackendName = guard(backendNameRule);
export const isTokenSecret = guard(tokenSecretRule);
export const isTokenScope = guard(tokenScopeRule);
export const isPackageSource = guard(packageSourceRule);
export const isFeedCursor = guard(feedCursorRule);
export const isSyncProfileName = guard(syncProfileNameRule);
