// The HTTP layer's one mapping from error codes to statuses, and the `{ error: { code, message } }` body.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RbnetError } from '../../services/errors.ts';

/** An error raised by a route with a status of its own. */
export class ApiError extends RbnetError<string> {
  constructor(
    readonly status: ContentfulStatusCode,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

const STATUS_BY_CODE: Readonly<Record<string, ContentfulStatusCode>> = {
  MANIFEST_INVALID: 422,
  MANIFEST_JSON: 400,
  MANIFEST_TOO_LARGE: 413,
  DIGEST_MISMATCH: 422,
  DIGEST_INVALID: 400,
  TOO_LARGE: 413,
  INVALID: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_REPLAYED: 401,
  AUTH_FIELD: 401,
  AUTH_BODY_MISMATCH: 401,
  AUTH_RATE_LIMITED: 429,
  SIGNING_PROOF_INVALID: 401,
  QUOTA_BYTES_EXCEEDED: 413,
  QUOTA_BLOBS_EXCEEDED: 429,
  ENVELOPE_INVALID: 422,
  SIGNATURE_INVALID: 422,
  PAYLOAD_TYPE: 422,
  STATEMENT_INVALID: 422,
  KEY_INVALID: 422,
  POLICY_INVALID: 422,
};

export function statusForError(err: unknown): ContentfulStatusCode {
  if (err instanceof ApiError) return err.status;
  if (err instanceof RbnetError) return STATUS_BY_CODE[err.code] ?? 500;
  return 500;
}

export function errorResponse(c: Context, err: unknown) {
  const status = statusForError(err);
  // A refused request's body may be unread (refusals happen on the headers): close the connection
  // rather than let the server drain whatever the client still sends.
  if (c.req.raw.body !== null) c.header('connection', 'close');
  if (status === 500 || !(err instanceof RbnetError)) {
    return c.json({ error: { code: 'INTERNAL', message: 'internal error; see the coordinator log' } }, 500);
  }
  const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof retryAfterMs === 'number')
    c.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return c.json({ error: { code: err.code, message: err.message } }, status);
}
