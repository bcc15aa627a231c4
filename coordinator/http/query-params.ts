// Query parameters the public reads share, read strictly: a malformed one is refused naming it.
import type { IdentifierRule } from '../../services/identifiers.ts';
import { ApiError } from './api-error.ts';

/**
 * `?limit=`: an integer 1..`max`, `fallback` when absent.
 * @throws ApiError INVALID naming `limit`.
 */
export function pageLimitOf(value: string | undefined, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const limit = Number(value);
  if (!/^[0-9]{1,7}$/.test(value) || limit < 1 || limit > max)
    throw new ApiError('INVALID', `limit: expected an integer from 1 to ${max}`);
  return limit;
}

/**
 * An optional query parameter `name` that must match `rule` when present.
 * @throws ApiError INVALID naming the parameter.
 */
export function optionalIdentifierOf(
  name: string,
  value: string | undefined,
  rule: IdentifierRule,
): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > rule.maxLength || !rule.pattern.test(value))
    throw new ApiError('INVALID', `${name}: expected ${rule.expected}`);
  return value;
}
