// The error answer of every route, `{ "error": { "code", "message" } }`, and the closed set of codes
// the coordinator answers with. The HTTP layer maps each code to one status (a table typed over this
// union, so a code cannot be added without one); clients read the body with `readApiErrorBody`.
import { type JsonSchema, object, oneOf, parseWire, text, type WireType } from './wire-type.ts';

/**
 * Every code the API can answer with. A refusal whose code is not here answers
 * `500 INTERNAL` (and is logged): a new refusal needs a code here and a status in the table.
 */
export const API_ERROR_CODES = [
  // 400: the request's form
  'INVALID',
  'DIGEST_INVALID',
  'MANIFEST_JSON',
  // 401: who is asking
  'AUTH_MISSING',
  'AUTH_INVALID',
  'AUTH_REPLAYED',
  'AUTH_FIELD',
  'AUTH_BODY_MISMATCH',
  'SIGNING_PROOF_INVALID',
  // 403: not this caller's, or not over this connection
  'NOT_ASSIGNED',
  'INSECURE_TRANSPORT',
  // 404, 409
  'NOT_FOUND',
  'CONFLICT',
  // 413: too large
  'TOO_LARGE',
  'MANIFEST_TOO_LARGE',
  'QUOTA_BYTES_EXCEEDED',
  // 422: well formed, but its meaning is refused
  'MANIFEST_INVALID',
  'INPUTS_MISSING',
  'INSUFFICIENT_OPERATORS',
  'RESULT_REFUSED',
  'BLOBS_MISSING',
  'DIGEST_MISMATCH',
  // 429: too many
  'AUTH_RATE_LIMITED',
  'QUOTA_BLOBS_EXCEEDED',
  // 500: details only in the coordinator's log
  'INTERNAL',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

const apiErrorCodes: ReadonlySet<string> = new Set(API_ERROR_CODES);

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && apiErrorCodes.has(code);
}

/** The error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string };
}

/** What the coordinator answers; its JSON Schema is the OpenAPI document's `Error`. */
export const apiErrorBodyType: WireType<ApiErrorBody> = object({
  error: object({
    code: oneOf(API_ERROR_CODES, 'stable, e.g. INVALID or NOT_FOUND'),
    message: text({ maxLength: 1_000_000, description: 'names the field or the problem' }),
  }),
});

export const apiErrorBodySchema: JsonSchema = apiErrorBodyType.schema;

/** How much of a coordinator's message a client keeps: enough to name the field, never a flood. */
export const maxShownErrorMessageChars = 2000;

/** A refusal as a client reads it from an answer it cannot trust. */
export interface RemoteError {
  /** The coordinator's code when it is shaped like one (`[A-Z][A-Z0-9_]{0,63}`); codes of a newer coordinator are kept. */
  readonly code: string;
  /** At most {@link maxShownErrorMessageChars} characters; control characters but tabs and line breaks replaced. */
  readonly message: string;
}

const remoteErrorType = object(
  {
    error: object(
      {
        code: text({ maxLength: 64, minLength: 1 }),
        message: text({ maxLength: 16 * 1024 * 1024 }),
      },
      {},
      { unknown: 'ignore' },
    ),
  },
  {},
  { unknown: 'ignore' },
);

/**
 * Reads the error body of a refused request, or undefined when the answer is not one (a proxy's HTML
 * page, a truncated body, a code that is not shaped like one).
 */
export function readApiErrorBody(answer: string): RemoteError | undefined {
  try {
    const { error } = parseWire(remoteErrorType, answer, {
      maxBytes: 16 * 1024 * 1024,
      what: 'error answer',
      side: 'answer',
      maxDepth: 4,
    });
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(error.code)) return undefined;
    // Shown on a terminal: control characters (escape sequences) become U+FFFD, line breaks stay.
    const message = error.message
      .slice(0, maxShownErrorMessageChars)
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '\ufffd');
    return Object.freeze({ code: error.code, message });
  } catch {
    return undefined;
  }
}
