// Worker enrolment: a single-use enrolment token names the operator; the worker proves possession of
// its new auth key; the coordinator creates the Redis user confined to the worker's own queue.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Context } from 'hono';
import { securesystemslibKeyid } from '../../services/attestation/ed25519-key.ts';
import { verifyWorkerRequest } from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';
import { storeNamePattern } from '../../services/storage/build-store.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { ApiError } from './api-error.ts';
import { bearerSecret } from './auth-middleware.ts';
import { parseJsonObject, readBodyBytes } from './request-body.ts';

const MAX_ENROL_BODY_BYTES = 64 * 1024;
const ARCH = /^[a-z0-9][a-z0-9-]{0,31}$/;
const BACKEND = /^[a-z][a-z0-9-]{0,31}$/;

function ed25519Pem(value: unknown, field: string): { pem: string; key: KeyObject } {
  if (typeof value !== 'string' || value.length > 4096)
    throw new ApiError(400, 'INVALID', `${field}: expected an SPKI PEM public key`);
  let key: KeyObject;
  try {
    key = createPublicKey(value);
  } catch {
    throw new ApiError(400, 'INVALID', `${field}: not a PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ApiError(400, 'INVALID', `${field}: expected an ed25519 key`);
  return { pem: key.export({ format: 'pem', type: 'spki' }) as string, key };
}

function stringList(value: unknown, field: string, pattern: RegExp): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 16 ||
    !value.every((v) => typeof v === 'string' && pattern.test(v))
  ) {
    throw new ApiError(400, 'INVALID', `${field}: expected 1-16 names matching ${pattern}`);
  }
  return [...new Set(value as string[])];
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new ApiError(400, 'INVALID', `${field}: expected a positive integer`);
  return value;
}

/** Only over TLS (publicUrl https, terminated in front of us) or from loopback: credentials travel back in the answer. */
function transportIsSafe(deps: CoordinatorDeps, c: Context): boolean {
  if (deps.config.publicUrl.startsWith('https://')) return true;
  const address: string | undefined = (
    c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  )?.incoming?.socket?.remoteAddress;
  return !!address && (/^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address));
}

export async function enrolWorker(deps: CoordinatorDeps, c: Context): Promise<Response> {
  if (!transportIsSafe(deps, c)) {
    throw new ApiError(
      403,
      'INSECURE_TRANSPORT',
      'enrolment needs TLS (an https public URL) or a loopback connection',
    );
  }
  const secret = bearerSecret(c.req.header('authorization'));
  if (!secret) throw new ApiError(401, 'AUTH_MISSING', 'Authorization: Bearer <enrolment token> is required');
  const bytes = await readBodyBytes(c, MAX_ENROL_BODY_BYTES);
  const body = parseJsonObject(bytes);
  const workerId = body.workerId;
  if (typeof workerId !== 'string' || !storeNamePattern.test(workerId))
    throw new ApiError(400, 'INVALID', `workerId: expected ${storeNamePattern}`);
  const signing = ed25519Pem(body.signingKeyPem, 'signingKeyPem');
  const auth = ed25519Pem(body.authKeyPem, 'authKeyPem');
  const signingKeyid = securesystemslibKeyid(signing.key);
  const authKeyid = securesystemslibKeyid(auth.key);
  if (signingKeyid === authKeyid)
    throw new ApiError(400, 'INVALID', 'authKeyPem: must be a different key from signingKeyPem');
  const architectures = stringList(body.architectures, 'architectures', ARCH);
  const backends = stringList(body.backends, 'backends', BACKEND);
  const capacityBody = (body.capacity ?? {}) as Record<string, unknown>;
  const capacity = {
    cores: positive(capacityBody.cores, 'capacity.cores'),
    memoryBytes: positive(capacityBody.memoryBytes, 'capacity.memoryBytes'),
    diskBytes: positive(capacityBody.diskBytes, 'capacity.diskBytes'),
  };
  // Possession of the auth key, over exactly this body, before anything is spent or created.
  verifyWorkerRequest({
    header: c.req.header('x-rbnet-proof'),
    origin: deps.config.publicUrl,
    method: 'POST',
    path: '/v1/workers/enrol',
    bodySha256: sha256Hex(bytes),
    authKeyFor: (id) => (id === workerId ? auth.key : undefined),
    nonces: deps.nonces,
    nowMs: deps.now().getTime(),
  });
  if (await deps.store.getWorker(workerId))
    throw new ApiError(409, 'CONFLICT', `workerId ${workerId} is taken; choose another`);
  if (await deps.store.findWorkerBySigningKeyid(signingKeyid))
    throw new ApiError(409, 'CONFLICT', 'signingKeyPem: this key is already enrolled');
  const operator = await deps.store.consumeEnrolmentToken(secret, deps.now());
  if (!operator)
    throw new ApiError(401, 'AUTH_INVALID', 'the enrolment token is unknown, expired or already used');

  const queueName = deps.queueAccess.queueNameFor(workerId);
  const redis = await deps.queueAccess.grant(workerId, operator);
  try {
    await deps.store.enrolWorker({
      workerId,
      operator,
      signingKeyPem: signing.pem,
      signingKeyid,
      authKeyPem: auth.pem,
      authKeyid,
      architectures,
      backends,
      capacity,
      queueName,
      redisUser: redis.username,
      redisPasswordSha256: redis.passwordSha256,
      enrolledAt: deps.now(),
    });
  } catch (err) {
    await deps.queueAccess.revoke(workerId, redis.username).catch(() => undefined);
    throw err;
  }
  deps.logger.info({ workerId, operator, signingKeyid, queueName }, 'worker enrolled');
  return c.json(
    {
      workerId,
      operator,
      signingKeyid,
      queueName,
      queuePrefix: deps.config.queuePrefix,
      redis: { url: redis.url, username: redis.username, password: redis.password },
    },
    201,
  );
}
