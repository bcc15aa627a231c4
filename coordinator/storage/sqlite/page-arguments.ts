// The paging arguments of store reads: checked here, since no row holds them.
import { BuildStoreError, MAX_PAGE } from '../../../services/storage/store-error.ts';

/** `limit`, or `fallback` when absent. @throws BuildStoreError `INVALID` outside 1..1000. */
export function pageLimit(limit: number | undefined, fallback: number): number {
  const value = limit ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE)
    throw new BuildStoreError('INVALID', `limit: expected an integer from 1 to ${MAX_PAGE}`);
  return value;
}
