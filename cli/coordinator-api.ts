// The CLI's client for the coordinator's HTTP API: bearer tokens for people, errors surfaced with the
// coordinator's own code and message.
import { RbnetError } from '../services/errors.ts';

export class ApiRequestError extends RbnetError<string> {}

export interface ApiOptions {
  readonly coordinator: string;
  readonly token?: string;
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

export async function apiRequest<T = Record<string, unknown>>(
  options: ApiOptions,
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${options.coordinator}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body, duplex: 'half' } : {}),
    } as RequestInit);
  } catch (cause) {
    throw new ApiRequestError(
      'COORDINATOR_UNREACHABLE',
      `${options.coordinator}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiRequestError(
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `${method} ${path}: HTTP ${response.status}`,
    );
  }
  return (json ?? text) as T;
}
