// POST /v1/workers/enrol: a single-use enrolment token names the operator; the worker proves
// possession of its new auth key (a request proof over the body) and of its signing key (a proof
// bound to this enrolment); the coordinator creates the Redis user confined to the worker's own queue.
import type { Context } from 'hono';
import {
  type EnrolmentAnswer,
  enrolmentAnswerType,
  enrolmentRequestSchema,
} from '../../../services/api/enrolment.ts';
import {
  ENROL_PATH,
  EnrolmentError,
  maxEnrolmentBodyBytes,
  parseEnrolmentRequestBody,
  signingKeyProofVerifies,
} from '../../../services/auth/worker-enrolment.ts';
import { parseAuthHeader, verifyWorkerRequest } from '../../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../../services/digest.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { ApiError } from '../api-error.ts';
import { bearerSecret } from '../auth-middleware.ts';
import { readSignedBody } from '../request-body.ts';
import { type AppEnv, JSON_CONTENT, type RouteDefinition, WORKER_AUTH_ERRORS } from '../route.ts';

/** Only over TLS (publicUrl https, terminated in front of us) or from loopback: credentials travel back in the answer. */
function transportIsSafe(deps: CoordinatorDeps, c: Context): boolean {
  if (deps.config.publicUrl.startsWith('https://')) return true;
  const address: string | undefined = (
    c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  )?.incoming?.socket?.remoteAddress;
  return !!address && (/^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address));
}

const TOKEN_REFUSED = 'the enrolment token is unknown, expired or already used';

async function enrolWorker(deps: CoordinatorDeps, c: Context<AppEnv>): Promise<Response> {
  if (!transportIsSafe(deps, c)) {
    throw new ApiError(
      'INSECURE_TRANSPORT',
      'enrolment needs TLS (an https public URL) or a loopback connection',
    );
  }
  const secret = bearerSecret(c.req.header('authorization'));
  if (!secret) throw new ApiError('AUTH_MISSING', 'Authorization: Bearer <enrolment token> is required');
  // The token first, without spending it: without a usable one, no body is read and no key checked.
  if (!(await deps.registry.peekEnrolmentToken(secret, deps.now())))
    throw new ApiError('AUTH_INVALID', TOKEN_REFUSED);
  const proof = parseAuthHeader(c.req.header('x-rbnet-proof'));
  if (proof.bodyLength > maxEnrolmentBodyBytes) {
    throw new ApiError(
      'TOO_LARGE',
      `request body: the proof declares ${proof.bodyLength} bytes, over the limit of ${maxEnrolmentBodyBytes}`,
    );
  }
  const request = parseEnrolmentRequestBody(await readSignedBody(c, proof));
  if (proof.workerId !== request.workerId)
    throw new ApiError('AUTH_INVALID', 'X-Rbnet-Proof: signed for another worker id than the body names');
  // Possession of the auth key, over exactly this body (which carries the signing-key proof) ...
  await verifyWorkerRequest({
    request: proof,
    origin: deps.config.publicUrl,
    method: 'POST',
    path: ENROL_PATH,
    authKey: request.authKey,
    nonces: deps.nonces,
    nowMs: deps.now().getTime(),
  });
  // ... and of the signing key, for this coordinator, worker id, pair of keys and token only.
  if (
    !signingKeyProofVerifies(request, {
      origin: deps.config.publicUrl,
      enrolmentTokenSha256: sha256Hex(secret),
    })
  ) {
    throw new EnrolmentError(
      'SIGNING_PROOF_INVALID',
      'signingKeyProof: not a signature by signingKeyPem over this enrolment (coordinator, workerId, both keyids, token)',
    );
  }
  const { workerId } = request;
  if (await deps.registry.getWorker(workerId))
    throw new ApiError('CONFLICT', `workerId ${workerId} is taken; choose another`);
  if (await deps.registry.findWorkerBySigningKeyid(request.signingKeyid))
    throw new ApiError('CONFLICT', 'signingKeyPem: this key is already enrolled');
  const operator = await deps.registry.consumeEnrolmentToken(secret, deps.now());
  if (!operator) throw new ApiError('AUTH_INVALID', TOKEN_REFUSED);

  const queueName = deps.queueAccess.queueNameFor(workerId);
  const redis = await deps.queueAccess.grant(workerId, operator);
  try {
    await deps.registry.enrolWorker({
      workerId,
      operator,
      signingKeyPem: request.signingKeyPem,
      signingKeyid: request.signingKeyid,
      authKeyPem: request.authKeyPem,
      authKeyid: request.authKeyid,
      architectures: request.architectures,
      backends: request.backends,
      capacity: request.capacity,
      queueName,
      redisUser: redis.username,
      redisPasswordSha256: redis.passwordSha256,
      enrolledAt: deps.now(),
    });
  } catch (err) {
    await deps.queueAccess.revoke(workerId, redis.username).catch(() => undefined);
    throw err;
  }
  deps.logger.info({ workerId, operator, signingKeyid: request.signingKeyid, queueName }, 'worker enrolled');
  const answer: EnrolmentAnswer = {
    workerId,
    operator,
    signingKeyid: request.signingKeyid,
    queueName,
    queuePrefix: deps.config.queuePrefix,
    redis: { url: redis.url, username: redis.username, password: redis.password },
  };
  return c.json(answer, 201);
}

export const enrolmentRoutes: readonly RouteDefinition[] = [
  {
    method: 'POST',
    path: ENROL_PATH,
    operationId: 'enrolWorker',
    tag: 'workers',
    summary: 'Enrol a worker with a single-use enrolment token and proof of possession of its new auth key',
    description:
      'Only over TLS (an https public URL) or from loopback. The token is checked (not spent) before the body is read. X-Rbnet-Proof signs this body with the auth key being enrolled; signingKeyProof signs this enrolment (coordinator origin, workerId, both keyids, sha256 of the token) with the signing key. Unknown fields are refused.',
    auth: ['enrolment'],
    request: {
      contentType: JSON_CONTENT,
      description: `public keys, the signing-key proof and declared capabilities; at most ${maxEnrolmentBodyBytes / 1024} KiB`,
      schema: enrolmentRequestSchema,
    },
    answers: [
      {
        status: 201,
        description: 'enrolled; the Redis password is shown once',
        contentType: JSON_CONTENT,
        schema: enrolmentAnswerType.schema,
      },
    ],
    errors: [
      'INVALID',
      ...WORKER_AUTH_ERRORS,
      'SIGNING_PROOF_INVALID',
      'INSECURE_TRANSPORT',
      'CONFLICT',
      'TOO_LARGE',
    ],
    handler:
      ({ deps }) =>
      (c) =>
        enrolWorker(deps, c),
  },
];
