// Proof of possession for worker→coordinator requests: the worker signs a domain-separated message
// it composed itself from typed fields, with an auth key that is not its attestation key. Never a
// shared secret, never a public key used as a password, never bytes the coordinator chose.
import { type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { RbnetError } from '../errors.ts';

export class WorkerAuthError extends RbnetError<
  'AUTH_MISSING' | 'AUTH_INVALID' | 'AUTH_REPLAYED' | 'AUTH_FIELD'
> {}

export const AUTH_DOMAIN = 'rbnet-auth-v1';
export const AUTH_SCHEME = 'RbnetWorker';
/** How far a request's timestamp may be from the coordinator's clock. */
export const maxAuthClockSkewMs = 120_000;

const WORKER_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;
const PATH = /^\/v1\/[A-Za-z0-9/._:-]{1,256}$/;
const METHOD = /^(GET|POST|PUT|DELETE)$/;
const SHA256 = /^[0-9a-f]{64}$/;

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
  field(WORKER_ID.test(fields.workerId), 'workerId', fields.workerId);
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
  field(NONCE.test(fields.nonce), 'nonce', fields.nonce);
  field(
    Number.isSafeInteger(fields.timestampMs) && fields.timestampMs > 0,
    'timestampMs',
    fields.timestampMs,
  );
  field(METHOD.test(fields.method), 'method', fields.method);
  field(PATH.test(fields.path) && !fields.path.includes('..'), 'path', fields.path);
  field(SHA256.test(fields.bodySha256), 'bodySha256', fields.bodySha256);
  return Buffer.from(
    [
      AUTH_DOMAIN,
      fields.workerId,
      fields.origin,
      fields.nonce,
      String(fields.timestampMs),
      `${fields.method} ${fields.path}`,
      fields.bodySha256,
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
    ...request,
    nonce: randomBytes(24).toString('base64url'),
    timestampMs: request.now ?? Date.now(),
  };
  const signature = sign(null, composeAuthMessage(fields), authPrivateKey).toString('base64');
  return `${AUTH_SCHEME} id=${fields.workerId},ts=${fields.timestampMs},nonce=${fields.nonce},sig=${signature}`;
}

export interface ParsedAuthHeader {
  readonly workerId: string;
  readonly timestampMs: number;
  readonly nonce: string;
  readonly signature: Buffer;
}

export function parseAuthHeader(header: string | undefined): ParsedAuthHeader {
  if (!header)
    throw new WorkerAuthError(
      'AUTH_MISSING',
      `Authorization: expected "${AUTH_SCHEME} id=...,ts=...,nonce=...,sig=..."`,
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
  const id = parts.get('id') ?? '';
  const ts = parts.get('ts') ?? '';
  const nonce = parts.get('nonce') ?? '';
  const sig = parts.get('sig') ?? '';
  if (
    parts.size !== 4 ||
    !WORKER_ID.test(id) ||
    !/^\d{1,16}$/.test(ts) ||
    !NONCE.test(nonce) ||
    !/^[A-Za-z0-9+/]{86}==$/.test(sig)
  ) {
    throw new WorkerAuthError(
      'AUTH_INVALID',
      'Authorization: expected id, ts, nonce and sig, each well-formed',
    );
  }
  return { workerId: id, timestampMs: Number(ts), nonce, signature: Buffer.from(sig, 'base64') };
}

/** Remembers nonces for the skew window so a captured request cannot be replayed. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxEntries = 100_000) {}

  /** Returns false when the nonce was already used within the window. */
  remember(key: string, nowMs: number): boolean {
    for (const [nonce, expiresAt] of this.seen) {
      if (expiresAt > nowMs && this.seen.size <= this.maxEntries) break;
      this.seen.delete(nonce);
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, nowMs + 2 * maxAuthClockSkewMs);
    return true;
  }
}

/**
 * Verifies a worker request. `authKeyFor` returns the enrolled, unrevoked auth key of a worker (or
 * undefined). @returns the authenticated worker id. @throws WorkerAuthError.
 */
export function verifyWorkerRequest(args: {
  readonly header: string | undefined;
  readonly origin: string;
  readonly method: string;
  readonly path: string;
  readonly bodySha256: string;
  readonly authKeyFor: (workerId: string) => KeyObject | undefined;
  readonly nonces: NonceCache;
  readonly nowMs: number;
}): string {
  const parsed = parseAuthHeader(args.header);
  if (Math.abs(args.nowMs - parsed.timestampMs) > maxAuthClockSkewMs) {
    throw new WorkerAuthError(
      'AUTH_INVALID',
      'Authorization: timestamp too far from the coordinator clock (check NTP)',
    );
  }
  const key = args.authKeyFor(parsed.workerId);
  if (!key) throw new WorkerAuthError('AUTH_INVALID', 'Authorization: unknown or revoked worker');
  const message = composeAuthMessage({
    workerId: parsed.workerId,
    origin: args.origin,
    nonce: parsed.nonce,
    timestampMs: parsed.timestampMs,
    method: args.method,
    path: args.path,
    bodySha256: args.bodySha256,
  });
  if (!verify(null, message, key, parsed.signature)) {
    throw new WorkerAuthError('AUTH_INVALID', 'Authorization: signature does not verify for this request');
  }
  if (!args.nonces.remember(`${parsed.workerId}:${parsed.nonce}`, args.nowMs)) {
    throw new WorkerAuthError('AUTH_REPLAYED', 'Authorization: this request was already used');
  }
  return parsed.workerId;
}
