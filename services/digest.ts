// sha256 digests: the one identity rbnet trusts for every input, environment and output.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DigestError } from './errors.ts';

/** A lowercase hex sha256 digest (64 characters). */
export type Sha256Hex = string & { readonly __brand: 'Sha256Hex' };

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/** Narrows `value` to a digest or throws DIGEST_INVALID naming `field`. */
export function toSha256Hex(value: unknown, field: string): Sha256Hex {
  if (!isSha256Hex(value))
    throw new DigestError('DIGEST_INVALID', `${field}: expected 64 lowercase hex characters`);
  return value;
}

export function sha256Hex(data: string | Uint8Array): Sha256Hex {
  return createHash('sha256').update(data).digest('hex') as Sha256Hex;
}

/** Streams a file through sha256 without holding it in memory. Returns digest and size in bytes. */
export async function sha256File(path: string): Promise<{ sha256: Sha256Hex; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex') as Sha256Hex, sizeBytes };
}
