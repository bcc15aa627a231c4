// Stable, well-formed identifiers for test fixtures that write rows directly: each is the one form
// services/identifiers.ts accepts, derived from a readable label.
import { createHash } from 'node:crypto';

/** A job nonce (32 bytes, unpadded base64url) named by `label`. */
export function testJobNonce(label: string): string {
  return createHash('sha256').update(`job nonce ${label}`).digest('base64url');
}

/** A keyid (64 lowercase hex digits) named by `label`. */
export function testKeyid(label: string): string {
  return createHash('sha256').update(`keyid ${label}`).digest('hex');
}
