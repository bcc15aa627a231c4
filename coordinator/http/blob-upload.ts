// `PUT /v1/cas/sha256/:digest`: who may write, how much, and whom it is charged to. The writer is
// authenticated and its quota checked on the headers; the body is then streamed into the content
// store with the declared length (or the quota's room) as the cap, and checked against the digest.
import { Readable } from 'node:stream';
import type { Context, MiddlewareHandler } from 'hono';
import { assertSignedBody, WorkerAuthError } from '../../services/auth/worker-request-auth.ts';
import { isSha256Hex, type Sha256Hex } from '../../services/digest.ts';
import { ContentStoreError } from '../../services/storage/content-store.ts';
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { ApiError } from './api-error.ts';
import { type AuthVariables, bearerSecret, requireToken, requireWorker } from './auth-middleware.ts';

type Env = { Variables: AuthVariables };

function digestOf(c: Context<Env>): Sha256Hex {
  const value = c.req.param('digest');
  if (!isSha256Hex(value))
    throw new ApiError(400, 'DIGEST_INVALID', 'digest: expected 64 lowercase hex characters');
  return value;
}

/** Two kinds of writer: a maintainer token (inputs) or a worker proof (outputs, logs, byproducts). */
export function requireBlobWriter(deps: CoordinatorDeps): MiddlewareHandler<Env> {
  const maintainer = requireToken(deps, 'submit');
  const worker = requireWorker(deps, 'blob');
  return async function blobWriterAuth(c, next) {
    if (bearerSecret(c.req.header('authorization'))) return maintainer(c, next);
    return worker(c, next);
  };
}

/** The upload handler, after {@link requireBlobWriter}. */
export function uploadBlob(deps: CoordinatorDeps) {
  return async function blobUpload(c: Context<Env>): Promise<Response> {
    const digest = digestOf(c);
    const proof = c.get('proof');
    // A worker signed the length and digest; a maintainer's Content-Length is only a claim, but it
    // lets a quota refuse before anything is read.
    const header = c.req.header('content-length');
    const declared = proof
      ? proof.bodyLength
      : header !== undefined && /^\d{1,16}$/.test(header)
        ? Number(header)
        : undefined;
    if (proof && proof.bodySha256 !== digest) {
      throw new WorkerAuthError(
        'AUTH_BODY_MISMATCH',
        `blob: the proof declares sha256 ${proof.bodySha256}, the URL names ${digest}`,
      );
    }
    if (declared !== undefined && declared > deps.config.maxBlobBytes) {
      throw new ApiError(
        413,
        'TOO_LARGE',
        `blob: ${declared} bytes, over the limit of ${deps.config.maxBlobBytes}`,
      );
    }
    const chargeTo = c.get('principals') ?? [];
    // Bytes already stored cost nothing more, so they need no room (they are not charged again).
    const reservation = (await deps.content.has(digest))
      ? undefined
      : await deps.blobs.reserve(chargeTo, declared, deps.config.maxBlobBytes);
    try {
      const body = c.req.raw.body;
      const source = body ? Readable.fromWeb(body as never) : Readable.from([]);
      const result = await deps.content
        .put(source, {
          sha256: digest,
          maxBytes: declared ?? reservation?.maxBytes ?? deps.config.maxBlobBytes,
        })
        .catch((err: unknown) => {
          const overrun =
            err instanceof ContentStoreError && err.code === 'TOO_LARGE' && reservation?.overrun();
          throw overrun || err;
        });
      if (proof) assertSignedBody({ sizeBytes: result.sizeBytes, sha256: result.sha256 }, proof);
      await deps.blobs.recordUpload(chargeTo, result, deps.now());
      return c.json(result, result.created ? 201 : 200);
    } finally {
      reservation?.release();
    }
  };
}
