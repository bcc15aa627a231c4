// Authentication middleware factories: scoped bearer tokens for people, proof of possession for
// workers. Both decide on the request's headers alone: nothing of a body is read before a request
// is authenticated, and an authenticated worker's body is read only up to the length it signed.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import {
  type ParsedAuthHeader,
  parseAuthHeader,
  verifyWorkerRequest,
} from '../../services/auth/worker-request-auth.ts';
import type { Principal } from '../../services/storage/blob-ledger.ts';
import type { TokenRecord, WorkerRecord } from '../../services/storage/registry-store.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { ApiError } from './api-error.ts';
import { readSignedBody } from './request-body.ts';

/** What a route's handler finds in its context once its authentication passed. */
export type AuthVariables = {
  token?: TokenRecord;
  worker?: WorkerRecord;
  /** A worker's verified proof: the body length and sha256 it signed. */
  proof?: ParsedAuthHeader;
  /** The body a worker request was authenticated over (JSON routes only). */
  bodyBytes?: Buffer;
  /** Whom an upload is charged to (content-store quotas). */
  principals?: readonly Principal[];
};

export function bearerSecret(header: string | undefined): string | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  const secret = header.slice('Bearer '.length).trim();
  return secret.length > 0 && secret.length <= 256 ? secret : undefined;
}

/** Requires `Authorization: Bearer <token>` carrying `scope`. */
export function requireToken(
  deps: CoordinatorDeps,
  scope: string,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function tokenAuth(c, next) {
    const secret = bearerSecret(c.req.header('authorization'));
    const token = secret ? await deps.registry.authenticateToken(secret, scope, deps.now()) : undefined;
    if (!token) throw new ApiError('AUTH_INVALID', `a bearer token with the "${scope}" scope is required`);
    c.set('token', token);
    c.set('principals', [{ kind: token.kind === 'admin' ? 'admin' : 'maintainer', name: token.subject }]);
    await next();
  };
}

/**
 * A worker's enrolled, unrevoked auth key. Parsing a PEM costs as much as verifying a signature, so
 * parsed keys are kept by their PEM (enrolled keys never change; revocation is read from the record
 * on every request). Bounded by the workers ever enrolled.
 */
function authKeyOf(worker: WorkerRecord | undefined, parsed: Map<string, KeyObject>): KeyObject | undefined {
  if (!worker || worker.revokedAt || !worker.authKeyPem) return undefined;
  let key = parsed.get(worker.authKeyPem);
  if (key === undefined) {
    key = createPublicKey(worker.authKeyPem);
    parsed.set(worker.authKeyPem, key);
  }
  return key;
}

/**
 * Requires a worker's proof of possession, checked on the headers alone: signature, key, timestamp
 * and nonce. The proof declares the body's length and sha256; a declaration over the route's limit
 * is refused before anything is read. `json` routes then read the body (at most the declared length)
 * and check it is exactly what was signed; `blob` routes leave the body to the content store, whose
 * digest check is the same proof (the URL digest must be the declared one).
 */
export function requireWorker(
  deps: CoordinatorDeps,
  body: 'json' | 'blob',
): MiddlewareHandler<{ Variables: AuthVariables }> {
  const parsedKeys = new Map<string, KeyObject>();
  return async function workerAuth(c, next) {
    const proof = parseAuthHeader(c.req.header('authorization'));
    const maxBytes = body === 'json' ? deps.config.maxJsonBodyBytes : deps.config.maxBlobBytes;
    if (proof.bodyLength > maxBytes) {
      throw new ApiError(
        'TOO_LARGE',
        `request body: the proof declares ${proof.bodyLength} bytes, over the limit of ${maxBytes}`,
      );
    }
    const worker = await deps.registry.getWorker(proof.workerId);
    await verifyWorkerRequest({
      request: proof,
      origin: deps.config.publicUrl,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      authKey: authKeyOf(worker, parsedKeys),
      nonces: deps.nonces,
      nowMs: deps.now().getTime(),
    });
    const authenticated = worker!;
    c.set('worker', authenticated);
    c.set('proof', proof);
    c.set('principals', [
      { kind: 'worker', name: authenticated.workerId },
      { kind: 'operator', name: authenticated.operator },
    ]);
    await deps.registry.touchWorker(authenticated.workerId, deps.now());
    if (body === 'json') c.set('bodyBytes', await readSignedBody(c, proof));
    await next();
  };
}

/** Two kinds of writer: a maintainer token (inputs) or a worker proof (outputs, logs, byproducts). */
export function requireBlobWriter(deps: CoordinatorDeps): MiddlewareHandler<{ Variables: AuthVariables }> {
  const maintainer = requireToken(deps, 'submit');
  const worker = requireWorker(deps, 'blob');
  return async function blobWriterAuth(c, next) {
    if (bearerSecret(c.req.header('authorization'))) return maintainer(c, next);
    return worker(c, next);
  };
}
