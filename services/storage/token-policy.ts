// How coordinator tokens work, whatever stores them: the secret's shape, the hash that is stored in
// its place, and when a stored token authenticates.
import { createHash, randomBytes } from 'node:crypto';
import { isTokenSecret } from '../identifiers.ts';
import type { TokenKind, TokenRecord } from './registry-store.ts';

// The shapes are services/identifiers.ts's, one rule per identifier.
export { isTokenScope } from '../identifiers.ts';

/** A new secret, `rbnet_<kind>_<base64url of 32 random bytes>`: shown once, never stored. */
export function mintTokenSecret(kind: TokenKind): string {
  return `rbnet_${kind}_${randomBytes(32).toString('base64url')}`;
}

/**
 * What is stored in the secret's place, or undefined for a value that cannot be a secret (a
 * malformed secret is not worth a hash or a query, and says nothing back). Looking tokens up by the
 * hash means no comparison ever runs on the secret itself.
 */
export function tokenSecretSha256(secret: unknown): string | undefined {
  if (!isTokenSecret(secret)) return undefined;
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Whether a stored token authenticates at `nowMs` for `scope` (and, when given, is of `kind`):
 * unrevoked, unexpired, not used up, carrying the scope. Spending a single-use token is the store's
 * atomic part.
 */
export function tokenAuthenticates(
  token: TokenRecord,
  scope: string,
  nowMs: number,
  kind?: TokenKind,
): boolean {
  if (kind !== undefined && token.kind !== kind) return false;
  if (token.revokedAt !== undefined) return false;
  if (token.expiresAt !== undefined && nowMs >= Date.parse(token.expiresAt)) return false;
  if (token.singleUse && token.usedAt !== undefined) return false;
  return token.scopes.includes(scope);
}
