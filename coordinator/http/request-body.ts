// Reads request bodies with a size limit checked before and while reading: a client cannot make the
// coordinator buffer more than the route allows.
import type { Context } from 'hono';
import {
  assertSignedBody,
  type ParsedAuthHeader,
  WorkerAuthError,
} from '../../services/auth/worker-request-auth.ts';
import { sha256Hex } from '../../services/digest.ts';
import { ApiError } from './api-error.ts';

export async function readBodyBytes(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new ApiError('TOO_LARGE', `request body: ${declared} bytes, over the limit of ${maxBytes}`);
  }
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes)
      throw new ApiError('TOO_LARGE', `request body: over the limit of ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a body whose length and sha256 an authenticated proof declared: never more than the declared
 * length, and refused (`AUTH_BODY_MISMATCH`) unless it is exactly those bytes.
 */
export async function readSignedBody(
  c: Context,
  declared: Pick<ParsedAuthHeader, 'bodyLength' | 'bodySha256'>,
): Promise<Buffer> {
  const header = c.req.header('content-length');
  if (header !== undefined && header !== String(declared.bodyLength)) {
    throw new WorkerAuthError(
      'AUTH_BODY_MISMATCH',
      `request body: Content-Length ${header.slice(0, 20)}, but the proof declared ${declared.bodyLength} bytes`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readBodyBytes(c, declared.bodyLength);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'TOO_LARGE')
      throw new WorkerAuthError(
        'AUTH_BODY_MISMATCH',
        `request body: more than the ${declared.bodyLength} bytes the proof declared`,
      );
    throw err;
  }
  assertSignedBody({ sizeBytes: bytes.byteLength, sha256: sha256Hex(bytes) }, declared);
  return bytes;
}
