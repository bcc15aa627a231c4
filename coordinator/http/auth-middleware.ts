// Authentication middleware factories: scoped bearer tokens for people, proof of possession for workers.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { verifyWorkerRequest } from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';
import type { TokenRecord, WorkerRecord } from '../../services/storage/build-store.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { ApiError } from './api-error.ts';
import { readBodyBytes } from './request-body.ts';

export type AuthVariables = {
  token?: TokenRecord;
  worker?: WorkerRecord;
  /** The body a worker request was authenticated over (JSON routes only). */
  bodyBytes?: Buffer;
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
    const token = secret ? await deps.store.authenticateToken(secret, scope, deps.now()) : undefined;
    if (!token)
      throw new ApiError(401, 'AUTH_INVALID', `a bearer token with the "${scope}" scope is required`);
    c.set('token', token);
    await next();
  };
}

function authKeyOf(worker: WorkerRecord | undefined): KeyObject | undefined {
  if (!worker || worker.revokedAt || !worker.authKeyPem) return undefined;
  return createPublicKey(worker.authKeyPem);
}

/**
 * Requires a worker's proof of possession. `bodyDigest` says what the signature covers: the JSON
 * body (read here, up to `maxBodyBytes`), or the content digest in the URL for blob uploads.
 */
export function requireWorker(
  deps: CoordinatorDeps,
  bodyDigest: 'json-body' | 'url-digest',
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function workerAuth(c, next) {
    const header = c.req.header('authorization');
    const workerId = /id=([a-z0-9][a-z0-9._-]{0,62})/.exec(header ?? '')?.[1];
    const worker = workerId ? await deps.store.getWorker(workerId) : undefined;
    let digest: string;
    if (bodyDigest === 'url-digest') {
      digest = c.req.param('digest') ?? '';
    } else {
      const body = await readBodyBytes(c, deps.config.maxJsonBodyBytes);
      c.set('bodyBytes', body);
      digest = sha256Hex(body);
    }
    const authenticated = verifyWorkerRequest({
      header,
      origin: deps.config.publicUrl,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      bodySha256: digest,
      authKeyFor: (id) => (id === worker?.workerId ? authKeyOf(worker) : undefined),
      nonces: deps.nonces,
      nowMs: deps.now().getTime(),
    });
    c.set('worker', worker!);
    await deps.store.touchWorker(authenticated, deps.now());
    await next();
  };
}
