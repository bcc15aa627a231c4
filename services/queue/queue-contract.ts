// The queue wire contract: queue names, the rebuild job payload and its strict parser, the completion value.
import { isSha256Hex, type Sha256Hex, sha256Hex } from '../digest.ts';
import { ManifestError, RbnetError } from '../errors.ts';
import {
  isBuildId,
  isJobId,
  isJobNonce,
  isQueuePrefix,
  isWorkerId,
  jobIdRule,
  queuePrefixRule,
  workerIdRule,
} from '../identifiers.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { defaultManifestLimits } from '../manifest/parse-manifest.ts';
import { parseStrictJson } from '../strict-json.ts';

/** BullMQ key prefix: every queue key is `<prefix>:<queueName>:<suffix>`. */
export const rbnetQueuePrefix = 'rbnet';

/** The only payload schema a worker accepts. */
export const JOB_PAYLOAD_SCHEMA_V1 = 'rbnet.job/v1';

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
  maxJobIdChars: jobIdRule.maxLength,
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

/**
 * The one queue a worker consumes: `rbnet-w-<workerId>`.
 * @throws QueueNameError `QUEUE_NAME_INVALID` for an id outside the worker id rule (services/identifiers.ts).
 */
export function queueNameForWorker(workerId: string): string {
  if (!isWorkerId(workerId))
    throw new QueueNameError('QUEUE_NAME_INVALID', `workerId: expected ${workerIdRule.expected}`);
  return `rbnet-w-${workerId}`;
}

/**
 * Checks a BullMQ prefix before it is put into an ACL key pattern.
 * @throws QueueNameError `QUEUE_NAME_INVALID`.
 */
export function checkQueuePrefix(prefix: string): string {
  if (!isQueuePrefix(prefix))
    throw new QueueNameError('QUEUE_NAME_INVALID', `prefix: expected ${queuePrefixRule.expected}`);
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
  if (!isBuildId(buildId))
    throw invalid('buildId', 'expected a lowercase RFC 9562 UUID (8-4-4-4-12 hex digits)');

  const jobId = object.jobId;
  if (!isJobId(jobId)) throw invalid('jobId', `expected ${jobIdRule.expected}`);

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
  if (!isJobNonce(nonce))
    throw invalid('nonce', 'expected 32 bytes as unpadded base64url (exactly 43 characters)');

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
