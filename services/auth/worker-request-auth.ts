// Proof of possession for worker→coordinator requests: the worker signs a domain-separated message
// it composed itself from typed fields, with an auth key that is not its attestation key. Never a
// shared secret, never a public key used as a password, never bytes the coordinator chose.
// The signed header declares the body's length and sha256, so the coordinator authenticates a
// request on its headers alone and reads at most the declared bytes afterwards.
import { type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { isSha256Hex, type Sha256Hex } from '../digest.ts';
import { RbnetError } from '../errors.ts';
import { isRequestNonce, isWorkerId } from '../identifiers.ts';

/**
 * A worker request was refused.
 * - `AUTH_MISSING`, `AUTH_INVALID`, `AUTH_FIELD`: no proof, or one that does not verify.
 * - `AUTH_REPLAYED`: the proof verified but its nonce was already used within its validity window.
 * - `AUTH_RATE_LIMITED`: the worker used more nonces within one validity window than allowed.
 * - `AUTH_BODY_MISMATCH`: the body received is not the length or sha256 the proof declared.
 */
export class WorkerAuthError extends RbnetError<
  | 'AUTH_MISSING'
  | 'AUTH_INVALID'
  | 'AUTH_REPLAYED'
  | 'AUTH_FIELD'
  | 'AUTH_RATE_LIMITED'
  | 'AUTH_BODY_MISMATCH'
> {
  constructor(
    code: WorkerAuthError['code'],
    message: string,
    /** For `AUTH_RATE_LIMITED`: when the oldest nonce of the window expires, ms from now. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
  }
}

export const AUTH_DOMAIN = 'rbnet-auth-v2';
export const AUTH_SCHEME = 'RbnetWorker';
/** How far a request's timestamp may be from the coordinator's clock. */
export const maxAuthClockSkewMs = 120_000;
/** The largest body length a proof may declare; routes cap far lower. */
const MAX_DECLARED_BODY_BYTES = 2 ** 50;

const PATH = /^\/v1\/[A-Za-z0-9/._:-]{1,256}$/;
const METHOD = /^(GET|POST|PUT|DELETE)$/;
const LENGTH = /^(0|[1-9]\d{0,15})$/;

export interface AuthFields {
  readonly workerId: string;
  /** The coordinator's origin as the worker knows it, e.g. `https://rbnet.example.org`. */
  readonly origin: string;
  readonly nonce: string;
  readonly timestampMs: number;
  readonly method: string;
  readonly path: string;
  /** sha256 of the request body (of the uploaded blob for content-store PUTs; of "" without a body). */
  readonly bodySha256: string;
  /** The body's exact length in bytes (0 without a body). */
  readonly bodyLength: number;
}

function field(ok: boolean, name: string, value: unknown): void {
  if (!ok)
    throw new WorkerAuthError(
      'AUTH_FIELD',
      `auth ${name}: refused ${JSON.stringify(String(value)).slice(0, 80)}`,
    );
}

/**
 * The exact bytes signed. Every field is checked against a narrow pattern first, so nothing shaped
 * like an in-toto link, a DSSE payload or any other document can ever be smuggled in to be signed.
 */
export function composeAuthMessage(fields: AuthFields): Buffer {
  field(isWorkerId(fields.workerId), 'workerId', fields.workerId);
  let origin: URL | undefined;
  try {
    origin = new URL(fields.origin);
  } catch {
    origin = undefined;
  }
  field(
    !!origin && origin.origin === fields.origin && /^https?:$/.test(origin.protocol),
    'origin',
    fields.origin,
  );
  field(isRequestNonce(fields.nonce), 'nonce', fields.nonce);
  field(
    Number.isSafeInteger(fields.timestampMs) && fields.timestampMs > 0,
    'timestampMs',
    fields.timestampMs,
  );
  field(METHOD.test(fields.method), 'method', fields.method);
  field(PATH.test(fields.path) && !fields.path.includes('..'), 'path', fields.path);
  field(isSha256Hex(fields.bodySha256), 'bodySha256', fields.bodySha256);
  field(
    Number.isSafeInteger(fields.bodyLength) &&
      fields.bodyLength >= 0 &&
      fields.bodyLength <= MAX_DECLARED_BODY_BYTES,
    'bodyLength',
    fields.bodyLength,
  );
  return Buffer.from(
    [
      AUTH_DOMAIN,
      fields.workerId,
      fields.origin,
      fields.nonce,
      String(fields.timestampMs),
      `${fields.method} ${fields.path}`,
      fields.bodySha256,
      String(fields.bodyLength),
    ].join('\n'),
    'utf8',
  );
}

/** Builds the Authorization header value for one request. */
export function signWorkerRequest(
  authPrivateKey: KeyObject,
  request: Omit<AuthFields, 'nonce' | 'timestampMs'> & { readonly now?: number },
): string {
  const fields: AuthFields = {
    workerId: request.workerId,
    origin: request.origin,
    method: request.method,
    path: request.path,
    bodySha256: request.bodySha256,
    bodyLength: request.bodyLength,
    nonce: randomBytes(24).toString('base64url'),
    timestampMs: request.now ?? Date.now(),
  };
  const signature = sign(null, composeAuthMessage(fields), authPrivateKey).toString('base64');
  return (
    `${AUTH_SCHEME} id=${fields.workerId},ts=${fields.timestampMs},nonce=${fields.nonce},` +
    `len=${fields.bodyLength},sha256=${fields.bodySha256},sig=${signature}`
  );
}

/** What a proof header says, before anything about it is verified. */
export interface ParsedAuthHeader {
  readonly workerId: string;
  readonly timestampMs: number;
  readonly nonce: string;
  /** The body length and digest the signature covers: the most the coordinator will read. */
  readonly bodyLength: number;
  readonly bodySha256: Sha256Hex;
  readonly signature: Buffer;
}

const HEADER_PARAMETERS = ['id', 'ts', 'nonce', 'len', 'sha256', 'sig'] as const;

/** Parses `RbnetWorker id=…,ts=…,nonce=…,len=…,sha256=…,sig=…`. @throws WorkerAuthError. */
export function parseAuthHeader(header: string | undefined): ParsedAuthHeader {
  if (!header)
    throw new WorkerAuthError(
      'AUTH_MISSING',
      `Authorization: expected "${AUTH_SCHEME} ${HEADER_PARAMETERS.map((p) => `${p}=...`).join(',')}"`,
    );
  if (header.length > 1024 || !header.startsWith(`${AUTH_SCHEME} `)) {
    throw new WorkerAuthError('AUTH_INVALID', `Authorization: expected the ${AUTH_SCHEME} scheme`);
  }
  const parts = new Map<string, string>();
  for (const part of header.slice(AUTH_SCHEME.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || parts.has(part.slice(0, eq)))
      throw new WorkerAuthError('AUTH_INVALID', 'Authorization: malformed parameters');
    parts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const [id, ts, nonce, len, sha256, sig] = HEADER_PARAMETERS.map((name) => parts.get(name) ?? '');
  if (
    parts.size !== HEADER_PARAMETERS.length ||
    !isWorkerId(id) ||
    !/^\d{1,16}$/.test(ts!) ||
    !isRequestNonce(nonce) ||
    !LENGTH.test(len!) ||
    Number(len) > MAX_DECLARED_BODY_BYTES ||
    !isSha256Hex(sha256) ||
    !/^[A-Za-z0-9+/]{86}==$/.test(sig!)
  ) {
    throw new WorkerAuthError(
      'AUTH_INVALID',
      `Authorization: expected ${HEADER_PARAMETERS.join(', ')}, each well-formed`,
    );
  }
  return Object.freeze({
    workerId: id!,
    timestampMs: Number(ts),
    nonce: nonce!,
    bodyLength: Number(len),
    bodySha256: sha256,
    signature: Buffer.from(sig!, 'base64'),
  });
}

/** What remembering a nonce found. */
export type NonceOutcome =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'replayed' }
  /** The worker already holds `limit` unexpired nonces; the oldest expires in `retryAfterMs`. */
  | { readonly kind: 'over-limit'; readonly limit: number; readonly retryAfterMs: number };

/**
 * The replay record: every nonce a worker used, kept until its proof can no longer verify. Must be
 * durable (a restart must not forget a nonce inside its window) and must never drop an unexpired
 * nonce to make room; it bounds its size by refusing a worker that uses too many instead.
 */
export interface NonceStore {
  /**
   * Records `nonce` for `workerId` until `expiresAtMs`, unless it was recorded before (`replayed`)
   * or the worker is over its limit (`over-limit`; nothing recorded).
   */
  remember(workerId: string, nonce: string, expiresAtMs: number, nowMs: number): Promise<NonceOutcome>;
}

/**
 * Verifies a parsed proof: timestamp within the skew, an enrolled key, a signature over this
 * request (origin, method, path and the declared body length and digest), and a nonce never used.
 * The body itself is checked against the declaration afterwards, by whoever reads it
 * ({@link assertSignedBody}).
 *
 * @param authKey the enrolled, unrevoked auth key of `request.workerId`, or undefined.
 * @throws WorkerAuthError.
 */
export async function verifyWorkerRequest(args: {
  readonly request: ParsedAuthHeader;
  readonly origin: string;
  readonly method: string;
  readonly path: string;
  readonly authKey: KeyObject | undefined;
  readonly nonces: NonceStore;
  readonly nowMs: number;
}): Promise<void> {
  const { request } = args;
  if (Math.abs(args.nowMs - request.timestampMs) > maxAuthClockSkewMs) {
    throw new WorkerAuthError(
      'AUTH_INVALID',
      'Authorization: timestamp too far from the coordinator clock (check NTP)',
    );
  }
  if (!args.authKey) throw new WorkerAuthError('AUTH_INVALID', 'Authorization: unknown or revoked worker');
  const message = composeAuthMessage({
    workerId: request.workerId,
    origin: args.origin,
    nonce: request.nonce,
    timestampMs: request.timestampMs,
    method: args.method,
    path: args.path,
    bodySha256: request.bodySha256,
    bodyLength: request.bodyLength,
  });
  if (!verify(null, message, args.authKey, request.signature)) {
    throw new WorkerAuthError('AUTH_INVALID', 'Authorization: signature does not verify for this request');
  }
  // Remembered until the last instant the timestamp check could still accept this proof.
  const outcome = await args.nonces.remember(
    request.workerId,
    request.nonce,
    request.timestampMs + maxAuthClockSkewMs + 1,
    args.nowMs,
  );
  if (outcome.kind === 'replayed')
    throw new WorkerAuthError('AUTH_REPLAYED', 'Authorization: this request was already used');
  if (outcome.kind === 'over-limit') {
    throw new WorkerAuthError(
      'AUTH_RATE_LIMITED',
      `Authorization: worker ${request.workerId} sent more than ${outcome.limit} requests within one ` +
        `replay window (${(2 * maxAuthClockSkewMs) / 1000} s); retry in ${Math.ceil(outcome.retryAfterMs / 1000)} s`,
      outcome.retryAfterMs,
    );
  }
}

/** Refuses a body that is not exactly the length and sha256 the verified proof declared. */
export function assertSignedBody(
  received: { readonly sizeBytes: number; readonly sha256: string },
  declared: Pick<ParsedAuthHeader, 'bodyLength' | 'bodySha256'>,
): void {
  if (received.sizeBytes !== declared.bodyLength || received.sha256 !== declared.bodySha256) {
    throw new WorkerAuthError(
      'AUTH_BODY_MISMATCH',
      `request body: ${received.sizeBytes} bytes with sha256 ${received.sha256}, but the proof declared ` +
        `${declared.bodyLength} bytes with sha256 ${declared.bodySha256}`,
    );
  }
}
