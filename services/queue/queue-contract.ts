// The queue wire contract: queue names, the rebuild job payload and its strict parser, the completion value.
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { ManifestError, RbnetError } from '../errors.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { defaultManifestLimits } from '../manifest/parse-manifest.ts';
import { parseStrictJson } from '../strict-json.ts';

/** BullMQ key prefix: every queue key is `<prefix>:<queueName>:<suffix>`. */
export const rbnetQueuePrefix = 'rbnet';

/** The only payload schema a worker accepts. */
export const JOB_PAYLOAD_SCHEMA_V1 = 'rbnet.job/v1';

/**
 * Worker ids may use only characters that are not Redis glob metacharacters (`* ? [ ] \`) and not `:`,
 * because the worker's ACL key pattern is built from them: a `:` or `*` in an id would let one
 * worker's pattern cover another worker's queue. A superset of the id rule in services/auth.
 */
const WORKER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A BullMQ prefix that is safe inside an ACL key pattern (no glob metacharacters, no `:`). */
const QUEUE_PREFIX = /^[A-Za-z0-9{}_.-]{1,64}$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JOB_ID_SEGMENT = /^[A-Za-z0-9_-]+$/;
/** Queue-level key names BullMQ keeps beside job hashes: a job with one of these ids would overwrite them. */
const BULLMQ_RESERVED_JOB_IDS: ReadonlySet<string> = new Set([
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
const NONCE = /^[A-Za-z0-9_-]{43}$/;
const PAYLOAD_FIELDS = [
  'schema',
  'buildId',
  'jobId',
  'attempt',
  'nonce',
  'manifestSha256',
  'manifest',
  'coordinatorUrl',
] as const;

/** Bounds of the payload format. Changing one is a new schema version. */
export const jobPayloadLimits = Object.freeze({
  /** Largest `manifest` text, in UTF-8 bytes: the manifest parser's own default limit (256 KiB). */
  maxManifestBytes: defaultManifestLimits.maxManifestBytes,
  /**
   * Largest payload JSON text, in UTF-8 bytes, checked before parsing. Escaping the manifest inside a
   * JSON string at most doubles it (every `"` and `\` gains a backslash), plus room for the other fields.
   */
  maxPayloadBytes: 2 * defaultManifestLimits.maxManifestBytes + 8 * 1024,
  maxJobIdChars: 128,
  maxAttempt: 100,
  maxCoordinatorUrlChars: 2048,
  /** Largest completion value JSON text a worker may return, in UTF-8 bytes. */
  maxCompletionBytes: 4096,
  /** Longest `failed` reason in a completion value, in characters. */
  maxFailedReasonChars: 1024,
});

/**
 * What the coordinator puts on a worker's queue for one rebuild attempt. Parsed once at the worker's
 * boundary by `parseJobPayload`; frozen afterwards.
 */
export interface RebuildJobPayload {
  readonly schema: typeof JOB_PAYLOAD_SCHEMA_V1;
  /** The build record, a lowercase RFC 9562 UUID. */
  readonly buildId: string;
  /** Also the BullMQ job id, so enqueueing the same attempt twice is one job. */
  readonly jobId: string;
  /** 1..100; each retry the coordinator decides on is a new attempt and a new job. */
  readonly attempt: number;
  /** 32 random bytes, base64url without padding (43 characters); bound into the worker's attestation. */
  readonly nonce: string;
  /** sha256 of `manifest` (its UTF-8 bytes), lowercase hex. */
  readonly manifestSha256: Sha256Hex;
  /** The canonical (JCS) manifest JSON text, at most 256 KiB. */
  readonly manifest: string;
  /** Where the worker sends its envelope, logs and outputs (http or https, no credentials). */
  readonly coordinatorUrl: string;
}

/**
 * The BullMQ return value of a finished job: only the digest of the signed envelope (the envelope
 * itself goes to the coordinator over HTTP), or the reason no envelope was produced.
 */
export type JobCompletionValue = { readonly envelopeSha256: Sha256Hex } | { readonly failed: string };

/**
 * Prefixes of BullMQ `failedReason`s a JobConsumer writes, so the coordinator can classify failures
 * without parsing free text. The rest of the reason is detail for humans.
 */
export const jobFailureReasons = Object.freeze({
  /** The payload in Redis was refused by `parseJobPayload`; followed by `: <field>: <what>`. */
  payloadInvalid: 'payload-invalid',
  /** The handler threw (an infrastructure error, not a build result). */
  handlerError: 'handler-error',
  /** The handler returned something that is not a `JobCompletionValue`. */
  resultInvalid: 'result-invalid',
  /** The worker shut down before the job finished; the coordinator may dispatch it again. */
  workerShutdown: 'worker-shutdown',
  /**
   * The build container was killed or removed by someone other than this worker (engine events say
   * so): an infrastructure failure, retried on another attempt, never a failed build.
   */
  interrupted: 'interrupted',
});

/** A job payload or completion value was refused. `field` names the offending field (`$` for the whole). */
export class JobPayloadError extends RbnetError<'JOB_PAYLOAD_INVALID' | 'JOB_PAYLOAD_TOO_LARGE'> {
  constructor(
    code: 'JOB_PAYLOAD_INVALID' | 'JOB_PAYLOAD_TOO_LARGE',
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${field}: ${detail}`, options);
  }
}

/** A worker id or queue prefix cannot be used to build a queue name or an ACL key pattern. */
export class QueueNameError extends RbnetError<'QUEUE_NAME_INVALID'> {}

/** True when `workerId` may name a queue (and so an ACL key pattern). */
export function isValidWorkerId(workerId: unknown): workerId is string {
  return typeof workerId === 'string' && WORKER_ID.test(workerId);
}

/**
 * The one queue a worker consumes: `rbnet-w-<workerId>`.
 * @throws QueueNameError `QUEUE_NAME_INVALID` for ids outside `[A-Za-z0-9][A-Za-z0-9._-]{0,62}`.
 */
export function queueNameForWorker(workerId: string): string {
  if (!isValidWorkerId(workerId)) {
    throw new QueueNameError(
      'QUEUE_NAME_INVALID',
      'workerId: expected 1-63 characters from [A-Za-z0-9._-], starting with a letter or digit',
    );
  }
  return `rbnet-w-${workerId}`;
}

/** True when `jobId` is a job id the payload parser would accept (e.g. one read back from Redis). */
export function isValidJobId(jobId: unknown): jobId is string {
  try {
    checkJobId(jobId);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a BullMQ prefix before it is put into an ACL key pattern.
 * @throws QueueNameError `QUEUE_NAME_INVALID`.
 */
export function checkQueuePrefix(prefix: string): string {
  if (!QUEUE_PREFIX.test(prefix)) {
    throw new QueueNameError('QUEUE_NAME_INVALID', 'prefix: expected 1-64 characters from [A-Za-z0-9{}_.-]');
  }
  return prefix;
}

/**
 * Parses a job payload taken from Redis (untrusted). Order: size (`maxPayloadBytes`, before decoding),
 * UTF-8, strict JSON (no duplicate keys, integers only, depth 1), exact field set, each field, then the
 * manifest digest.
 *
 * @returns a frozen payload whose `manifestSha256` is the sha256 of `manifest`.
 * @throws JobPayloadError `JOB_PAYLOAD_TOO_LARGE` or `JOB_PAYLOAD_INVALID`; `field` names the field.
 */
export function parseJobPayload(text: string | Uint8Array): RebuildJobPayload {
  const decoded = decodeWithinLimit(text, jobPayloadLimits.maxPayloadBytes, 'payload');
  return readPayload(parseJson(decoded, 1));
}

/**
 * Checks a payload the coordinator built and returns its canonical (JCS) JSON text, the form the
 * dispatcher stores as the job's data.
 * @throws JobPayloadError as `parseJobPayload` would for the same content.
 */
export function serializeJobPayload(payload: RebuildJobPayload): string {
  const checked = readPayload(payload);
  const text = canonicalizeJcs({ ...checked });
  if (Buffer.byteLength(text, 'utf8') > jobPayloadLimits.maxPayloadBytes) {
    throw new JobPayloadError(
      'JOB_PAYLOAD_TOO_LARGE',
      '$',
      `payload exceeds ${jobPayloadLimits.maxPayloadBytes} bytes`,
    );
  }
  return text;
}

/**
 * Parses a completion value as JSON text (BullMQ's `returnvalue`, written by the worker, so untrusted).
 * @throws JobPayloadError naming `envelopeSha256`, `failed` or `$`.
 */
export function parseJobCompletionValue(text: string): JobCompletionValue {
  const decoded = decodeWithinLimit(text, jobPayloadLimits.maxCompletionBytes, 'completion value');
  return validateJobCompletionValue(parseJson(decoded, 1));
}

/**
 * Checks an in-memory completion value (e.g. what a handler returned) and returns a frozen copy.
 * @throws JobPayloadError naming `envelopeSha256`, `failed` or `$`.
 */
export function validateJobCompletionValue(value: unknown): JobCompletionValue {
  const object = expectObject(value, '$', 'a completion value object');
  const keys = Object.keys(object);
  if (keys.length !== 1 || (keys[0] !== 'envelopeSha256' && keys[0] !== 'failed')) {
    throw invalid('$', 'expected exactly one of the fields "envelopeSha256" or "failed"');
  }
  if (keys[0] === 'envelopeSha256') {
    const digest = object.envelopeSha256;
    if (!isSha256Hex(digest))
      throw invalid('envelopeSha256', 'expected a sha256 digest as 64 lowercase hex characters');
    return Object.freeze({ envelopeSha256: digest });
  }
  const reason = object.failed;
  if (
    typeof reason !== 'string' ||
    reason.length === 0 ||
    reason.length > jobPayloadLimits.maxFailedReasonChars ||
    /[\u0000-\u001f\u007f]/.test(reason)
  ) {
    throw invalid(
      'failed',
      `expected a reason of 1-${jobPayloadLimits.maxFailedReasonChars} characters without control characters`,
    );
  }
  return Object.freeze({ failed: reason });
}

function readPayload(value: unknown): RebuildJobPayload {
  const object = expectObject(value, '$', 'a JSON object');
  for (const key of Object.keys(object)) {
    if (!(PAYLOAD_FIELDS as readonly string[]).includes(key)) {
      throw invalid(fieldName(key), `unknown field (allowed: ${PAYLOAD_FIELDS.join(', ')})`);
    }
  }
  for (const key of PAYLOAD_FIELDS) {
    if (!Object.hasOwn(object, key)) throw invalid(key, 'missing');
  }

  if (object.schema !== JOB_PAYLOAD_SCHEMA_V1) throw invalid('schema', `expected "${JOB_PAYLOAD_SCHEMA_V1}"`);

  const buildId = object.buildId;
  if (typeof buildId !== 'string' || !UUID.test(buildId)) {
    throw invalid('buildId', 'expected a lowercase RFC 9562 UUID (8-4-4-4-12 hex digits)');
  }

  const jobId = object.jobId;
  checkJobId(jobId);

  const attempt = object.attempt;
  if (
    typeof attempt !== 'number' ||
    !Number.isInteger(attempt) ||
    attempt < 1 ||
    attempt > jobPayloadLimits.maxAttempt
  ) {
    throw invalid('attempt', `expected an integer from 1 to ${jobPayloadLimits.maxAttempt}`);
  }

  const nonce = object.nonce;
  // Decoding and re-encoding refuses the base64url spellings whose unused low bits are not zero.
  if (
    typeof nonce !== 'string' ||
    !NONCE.test(nonce) ||
    Buffer.from(nonce, 'base64url').toString('base64url') !== nonce
  ) {
    throw invalid('nonce', 'expected 32 bytes as unpadded base64url (exactly 43 characters)');
  }

  const manifestSha256 = object.manifestSha256;
  if (!isSha256Hex(manifestSha256)) {
    throw invalid('manifestSha256', 'expected a sha256 digest as 64 lowercase hex characters');
  }

  const manifest = object.manifest;
  if (typeof manifest !== 'string' || manifest.length === 0)
    throw invalid('manifest', 'expected the manifest JSON text');
  const manifestBytes =
    manifest.length > jobPayloadLimits.maxManifestBytes ? manifest.length : Buffer.byteLength(manifest);
  if (manifestBytes > jobPayloadLimits.maxManifestBytes) {
    throw new JobPayloadError(
      'JOB_PAYLOAD_TOO_LARGE',
      'manifest',
      `${manifestBytes} bytes, more than the limit of ${jobPayloadLimits.maxManifestBytes}`,
    );
  }
  const actual = sha256Hex(manifest);
  if (actual !== manifestSha256) {
    throw invalid('manifest', `its sha256 is ${actual}, but manifestSha256 says ${manifestSha256}`);
  }

  const coordinatorUrl = object.coordinatorUrl;
  checkCoordinatorUrl(coordinatorUrl);

  return Object.freeze({
    schema: JOB_PAYLOAD_SCHEMA_V1,
    buildId,
    jobId,
    attempt,
    nonce,
    manifestSha256,
    manifest,
    coordinatorUrl,
  });
}

/**
 * BullMQ refuses integer-looking ids and ids with `:` unless they have exactly three segments; a
 * one-segment id equal to a queue key name (`meta`, `wait`, ...) would make the job hash overwrite it.
 */
function checkJobId(jobId: unknown): asserts jobId is string {
  const rule =
    `expected 1-${jobPayloadLimits.maxJobIdChars} characters from [A-Za-z0-9_-], ` +
    'or three such segments joined by ":"';
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > jobPayloadLimits.maxJobIdChars) {
    throw invalid('jobId', rule);
  }
  const segments = jobId.split(':');
  if ((segments.length !== 1 && segments.length !== 3) || !segments.every((s) => JOB_ID_SEGMENT.test(s))) {
    throw invalid('jobId', rule);
  }
  if (/^[0-9]+$/.test(jobId)) throw invalid('jobId', 'must not be all digits (BullMQ reserves integer ids)');
  if (segments.length === 1 && BULLMQ_RESERVED_JOB_IDS.has(jobId)) {
    throw invalid('jobId', `"${jobId}" is the name of a BullMQ queue key`);
  }
}

function checkCoordinatorUrl(value: unknown): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > jobPayloadLimits.maxCoordinatorUrlChars
  ) {
    throw invalid(
      'coordinatorUrl',
      `expected a URL of at most ${jobPayloadLimits.maxCoordinatorUrlChars} characters`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('coordinatorUrl', 'not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('coordinatorUrl', 'expected http: or https:');
  // Credentials in a URL end up in logs; the worker authenticates by proof of possession instead.
  if (url.username !== '' || url.password !== '')
    throw invalid('coordinatorUrl', 'must not carry credentials');
  if (url.hash !== '' || value.includes('#')) throw invalid('coordinatorUrl', 'must not have a fragment');
}

function decodeWithinLimit(input: string | Uint8Array, maxBytes: number, what: string): string {
  if (typeof input === 'string') {
    // Every UTF-16 code unit is at least one UTF-8 byte, so an overlong string is refused unencoded.
    const size = input.length > maxBytes ? input.length : Buffer.byteLength(input, 'utf8');
    if (size > maxBytes)
      throw new JobPayloadError(
        'JOB_PAYLOAD_TOO_LARGE',
        '$',
        `${what} is ${size} bytes, more than ${maxBytes}`,
      );
    return input;
  }
  if (input.byteLength > maxBytes) {
    throw new JobPayloadError(
      'JOB_PAYLOAD_TOO_LARGE',
      '$',
      `${what} is ${input.byteLength} bytes, more than ${maxBytes}`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch (cause) {
    throw new JobPayloadError('JOB_PAYLOAD_INVALID', '$', `${what} is not valid UTF-8`, { cause });
  }
}

/** Strict JSON, with the parser's `$.a.b` path turned into our field name. */
function parseJson(text: string, maxDepth: number): unknown {
  try {
    return parseStrictJson(text, { maxDepth });
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    const match = /^\$(?:\.([A-Za-z_$][A-Za-z0-9_$]*)|\[("(?:[^"\\]|\\.)*")\])?/.exec(error.message);
    const field = match?.[1] ?? (match?.[2] ? String(JSON.parse(match[2])) : '$');
    const detail = error.message.replace(/^\$\S*: /, '');
    throw new JobPayloadError('JOB_PAYLOAD_INVALID', field, `not strict JSON: ${detail}`, { cause: error });
  }
}

function expectObject(value: unknown, field: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, `expected ${what}`);
  return value as Record<string, unknown>;
}

/** A key as a field name that can be read back: plain when identifier-like, JSON-quoted (and cut) otherwise. */
function fieldName(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
}

function invalid(field: string, detail: string): JobPayloadError {
  return new JobPayloadError('JOB_PAYLOAD_INVALID', field, detail);
}
