// Reads request bodies with a size limit checked before and while reading: a client cannot make the
// coordinator buffer more than the route allows.
import type { Context } from 'hono';
import { ApiError } from './api-error.ts';

export async function readBodyBytes(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new ApiError(413, 'TOO_LARGE', `request body: ${declared} bytes, over the limit of ${maxBytes}`);
  }
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes)
      throw new ApiError(413, 'TOO_LARGE', `request body: over the limit of ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Parses request bytes as one JSON object; every field is then checked by the route. */
export function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ApiError(400, 'INVALID', 'request body: not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'INVALID', 'request body: expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Reads and parses a small JSON body object, within `maxBytes`. */
export async function readJsonObject(c: Context, maxBytes: number): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBodyBytes(c, maxBytes));
}

export function stringField(
  body: Record<string, unknown>,
  name: string,
  pattern: RegExp,
  maxLength = 256,
): string {
  const value = body[name];
  if (typeof value !== 'string' || value.length > maxLength || !pattern.test(value)) {
    throw new ApiError(400, 'INVALID', `${name}: expected a string matching ${pattern}`);
  }
  return value;
}
