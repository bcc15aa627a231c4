// The HTTP layer's one mapping from error codes to statuses, and the `{ error: { code, message } }`
// body. Domain code throws RbnetError subclasses with stable codes and knows nothing of statuses.
import type { Context } from 'hono';
import type { ApiErrorBody, ApiErrorCode } from '../../services/api/api-error-body.ts';
import { isApiErrorCode } from '../../services/api/api-error-body.ts';
import { RbnetError } from '../../services/errors.ts';

/** A request refused by the HTTP layer itself (a malformed path parameter, an unknown id). */
export class ApiError extends RbnetError<ApiErrorCode> {}

/** The statuses refusals answer with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500;

/**
 * One status per code. Typed over the closed union, so a code added to `API_ERROR_CODES` without a
 * status here fails the type check instead of silently answering 500.
 */
export const API_ERROR_STATUS: Readonly<Record<ApiErrorCode, ErrorStatus>> = Object.freeze({
  INVALID: 400,
  DIGEST_INVALID: 400,
  MANIFEST_JSON: 400,
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_REPLAYED: 401,
  AUTH_FIELD: 401,
  AUTH_BODY_MISMATCH: 401,
  SIGNING_PROOF_INVALID: 401,
  NOT_ASSIGNED: 403,
  INSECURE_TRANSPORT: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  MANIFEST_TOO_LARGE: 413,
  QUOTA_BYTES_EXCEEDED: 413,
  MANIFEST_INVALID: 422,
  INPUTS_MISSING: 422,
  INSUFFICIENT_OPERATORS: 422,
  RESULT_REFUSED: 422,
  BLOBS_MISSING: 422,
  DIGEST_MISMATCH: 422,
  AUTH_RATE_LIMITED: 429,
  QUOTA_BLOBS_EXCEEDED: 429,
  INTERNAL: 500,
});

/**
 * What a thrown value answers: an RbnetError whose code is one of the API's answers that code's
 * status; anything else (a foreign error, a code the API does not answer with) is an internal error.
 */
export function refusalOf(err: unknown): { readonly code: ApiErrorCode; readonly status: ErrorStatus } {
  if (err instanceof RbnetError && isApiErrorCode(err.code))
    return { code: err.code, status: API_ERROR_STATUS[err.code] };
  return { code: 'INTERNAL', status: 500 };
}

/** Answers `err` as `{ error: { code, message } }`; a 500 says nothing of its cause (the log does). */
export function errorResponse(c: Context, err: unknown): Response {
  const { code, status } = refusalOf(err);
  // A refused request's body may be unread (refusals happen on the headers): close the connection
  // rather than let the server drain whatever the client still sends.
  if (c.req.raw.body !== null) c.header('connection', 'close');
  if (status === 500 || !(err instanceof RbnetError)) {
    const body: ApiErrorBody = {
      error: { code: 'INTERNAL', message: 'internal error; see the coordinator log' },
    };
    return c.json(body, 500);
  }
  if ('retryAfterMs' in err && typeof err.retryAfterMs === 'number')
    c.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  const body: ApiErrorBody = { error: { code, message: err.message } };
  return c.json(body, status);
}
