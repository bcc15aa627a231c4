// The CLI's client for the coordinator's HTTP API: bearer tokens for people, errors surfaced with the
// coordinator's own code and message. The coordinator is not trusted to behave: redirects are never
// followed, bodies are read up to a cap, and a request can carry a deadline.
import { readApiErrorBody } from '../services/api/api-error-body.ts';
import { parseWire, type WireType } from '../services/api/wire-type.ts';
import { RbnetError } from '../services/errors.ts';

export class ApiRequestError extends RbnetError<string> {}

/** Largest response body read unless the caller says otherwise: 64 MiB (a consensus attestation's cap). */
export const maxResponseBytesDefault = 64 * 1024 * 1024;

export interface ApiOptions {
  readonly coordinator: string;
  readonly token?: string;
  /** Deadline for each request, answer body included; none when absent. */
  readonly timeoutMs?: number;
  /** Largest response body read; default {@link maxResponseBytesDefault}. */
  readonly maxResponseBytes?: number;
}

export function coordinatorUrlFrom(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const url = flag ?? env.RBNET_COORDINATOR ?? 'http://127.0.0.1:8470';
  try {
    return new URL(url).origin;
  } catch {
    throw new ApiRequestError('USAGE', `--coordinator: not a URL: ${url}`);
  }
}

export interface ApiAnswer {
  readonly status: number;
  readonly text: string;
  /** The body as received (tiles are binary). */
  readonly bytes: Buffer;
}

/**
 * One request to the coordinator, answered by whatever status it sent (2xx or not).
 *
 * @throws ApiRequestError COORDINATOR_UNREACHABLE (no answer), COORDINATOR_TIMEOUT (no complete
 *   answer within `timeoutMs`), REDIRECT_REFUSED (any 3xx: a redirect could send the client to
 *   another host), RESPONSE_TOO_LARGE (a body over `maxResponseBytes`, stopped as soon as it is).
 */
export async function apiFetch(
  options: ApiOptions,
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const what = `${method} ${options.coordinator}${path}`;
  const maxBytes = options.maxResponseBytes ?? maxResponseBytesDefault;
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const failed = (cause: unknown): ApiRequestError =>
    signal?.aborted
      ? new ApiRequestError(
          'COORDINATOR_TIMEOUT',
          `${what}: no complete answer within ${options.timeoutMs} ms`,
          { cause },
        )
      : new ApiRequestError('COORDINATOR_UNREACHABLE', `${what}: ${(cause as Error).message}`, { cause });
  let response: Response;
  try {
    response = await fetch(`${options.coordinator}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(signal ? { signal } : {}),
      ...(body !== undefined ? { body, duplex: 'half' } : {}),
    } as RequestInit);
  } catch (cause) {
    throw failed(cause);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    const location = (response.headers.get('location') ?? '(no location)').slice(0, 200);
    throw new ApiRequestError(
      'REDIRECT_REFUSED',
      `${what}: the coordinator answered ${response.status} redirecting to ${location}; rbnet never follows redirects (give the final URL as --coordinator)`,
    );
  }
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(what, maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        if (received > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(what, maxBytes);
        }
        chunks.push(value);
      }
    }
  } catch (cause) {
    if (cause instanceof ApiRequestError) throw cause;
    throw failed(cause);
  }
  const bytes = Buffer.concat(chunks);
  return { status: response.status, text: bytes.toString('utf8'), bytes };
}

function tooLarge(what: string, maxBytes: number): ApiRequestError {
  return new ApiRequestError('RESPONSE_TOO_LARGE', `${what}: the answer is larger than ${maxBytes} bytes`);
}

/** One request: its method, path and (for JSON) its typed body. */
export interface ApiCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: BodyInit;
  readonly headers?: Record<string, string>;
}

/**
 * A request whose 2xx answer is read strictly with `answer` (the coordinator is not trusted to keep
 * the contract); any other status becomes an ApiRequestError carrying the coordinator's own error
 * code and message.
 *
 * @throws ApiRequestError (as apiFetch, or the coordinator's refusal), WireFormatError ANSWER_INVALID
 *   for a 2xx answer that breaks the contract.
 */
export async function apiRequest<T>(options: ApiOptions, call: ApiCall, answer: WireType<T>): Promise<T> {
  const { status, text } = await apiFetch(options, call.method, call.path, call.body, call.headers);
  if (status < 200 || status > 299) {
    const error = readApiErrorBody(text);
    // The coordinator's code, unless it could pass for one of the CLI's own (USAGE exits 2).
    throw new ApiRequestError(
      error && error.code !== 'USAGE' ? error.code : `HTTP_${status}`,
      error?.message ?? `${call.method} ${call.path}: HTTP ${status}`,
    );
  }
  return parseWire(answer, text, {
    maxBytes: options.maxResponseBytes ?? maxResponseBytesDefault,
    what: `the answer to ${call.method} ${call.path}`,
    side: 'answer',
    maxDepth: 64,
  });
}
