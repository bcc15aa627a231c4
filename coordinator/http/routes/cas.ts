// The content store over HTTP: anyone reads a blob by its sha256; a maintainer (inputs) or a worker
// (outputs, logs, byproducts) writes one. The writer is authenticated and its quota checked on the
// headers; the body is then streamed into the content store with the declared length (or the
// quota's room) as the cap, and checked against the digest.
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { type BlobUploadAnswer, blobUploadAnswerType } from '../../../services/api/content-store-answers.ts';
import { assertSignedBody, WorkerAuthError } from '../../../services/auth/worker-request-auth.ts';
import { isSha256Hex, type Sha256Hex } from '../../../services/digest.ts';
import { ContentStoreError } from '../../../services/storage/content-store.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import { ApiError } from '../api-error.ts';
import { INERT_BLOB_HEADERS } from '../inert-content-headers.ts';
import {
  type AppEnv,
  JSON_CONTENT,
  type RouteDefinition,
  type RouteParameter,
  WORKER_AUTH_ERRORS,
} from '../route.ts';

/** The `:digest` of a content-store path. */
export const digestParam: RouteParameter = {
  description: 'sha256, 64 lowercase hex characters',
  schema: { type: 'string', pattern: '^[0-9a-f]{64}$' },
};

/** Reads `:digest`. @throws ApiError DIGEST_INVALID. */
export function digestOf(value: string | undefined): Sha256Hex {
  if (!isSha256Hex(value))
    throw new ApiError('DIGEST_INVALID', 'digest: expected 64 lowercase hex characters');
  return value;
}

const OCTETS = 'application/octet-stream';

async function uploadBlob(deps: CoordinatorDeps, c: Context<AppEnv>): Promise<Response> {
  const digest = digestOf(c.req.param('digest'));
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
  if (declared !== undefined && declared > deps.config.maxBlobBytes)
    throw new ApiError('TOO_LARGE', `blob: ${declared} bytes, over the limit of ${deps.config.maxBlobBytes}`);
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
    const answer: BlobUploadAnswer = {
      sha256: result.sha256,
      sizeBytes: result.sizeBytes,
      created: result.created,
    };
    return c.json(answer, result.created ? 201 : 200);
  } finally {
    reservation?.release();
  }
}

const getBlob: RouteDefinition = {
  method: 'GET',
  path: '/v1/cas/sha256/:digest',
  operationId: 'getBlob',
  tag: 'content',
  summary: 'Read a blob by its sha256',
  description:
    "Served inert: `Content-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'none'; sandbox`, " +
    '`X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.',
  auth: ['none'],
  pathParams: { digest: digestParam },
  answers: [
    {
      status: 200,
      description: 'the bytes',
      contentType: OCTETS,
      schema: { type: 'string', contentMediaType: OCTETS },
    },
  ],
  errors: ['DIGEST_INVALID', 'NOT_FOUND'],
  handler:
    ({ deps }) =>
    async (c) => {
      const digest = digestOf(c.req.param('digest'));
      const stat = await deps.content.stat(digest);
      const stream = stat ? await deps.content.open(digest) : undefined;
      if (!stat || !stream) throw new ApiError('NOT_FOUND', `sha256:${digest} is not in the store`);
      return new Response(Readable.toWeb(stream) as ReadableStream, {
        headers: {
          'content-type': OCTETS,
          'content-length': String(stat.sizeBytes),
          ...INERT_BLOB_HEADERS,
          'cache-control': 'public, max-age=31536000, immutable',
        },
      });
    },
};

const putBlob: RouteDefinition = {
  method: 'PUT',
  path: '/v1/cas/sha256/:digest',
  operationId: 'putBlob',
  tag: 'content',
  summary: 'Upload a blob; stored only if its sha256 is the digest in the URL',
  description:
    "A maintainer token (inputs) or a worker proof (outputs, logs; the proof declares the URL digest and the length, and no more is read). At most 4 GiB. A blob the upload creates is charged to the writer's quota (a worker's operator too); a quota refusal comes before the body is read.",
  auth: ['submit', 'worker'],
  pathParams: { digest: digestParam },
  request: {
    contentType: OCTETS,
    description: 'the bytes, streamed',
    schema: { type: 'string', contentMediaType: OCTETS },
  },
  answers: [
    { status: 201, description: 'stored', contentType: JSON_CONTENT, schema: blobUploadAnswerType.schema },
    {
      status: 200,
      description: 'already present (nothing charged)',
      contentType: JSON_CONTENT,
      schema: blobUploadAnswerType.schema,
    },
  ],
  errors: [
    'DIGEST_INVALID',
    ...WORKER_AUTH_ERRORS,
    'TOO_LARGE',
    'QUOTA_BYTES_EXCEEDED',
    'DIGEST_MISMATCH',
    'QUOTA_BLOBS_EXCEEDED',
  ],
  handler:
    ({ deps }) =>
    (c) =>
      uploadBlob(deps, c),
};

export const contentStoreRoutes: readonly RouteDefinition[] = [getBlob, putBlob];
