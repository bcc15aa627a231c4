// Worker ids unique to one test run: tests, the demo and benches share one engine (and its container
// labels), so no two runs may use the same worker id.
import { randomBytes } from 'node:crypto';

/** 6 lowercase hex digits, fixed for this test file's process. */
export const RUN_TAG = randomBytes(3).toString('hex');

/** `base` made unique to this run, e.g. `alpha-1` → `alpha-1-3f9a0c`. */
export function runScopedId(base: string): string {
  return `${base}-${RUN_TAG}`;
}
