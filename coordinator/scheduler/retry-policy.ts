// Outcome classes and their retry rules: how many replacements a build may still get, and when.
// Mismatch and divergence are verdicts, never retried here: a human or a changed environment re-submits.
import type { AttemptRecord } from '../../services/storage/build-store.ts';
import type { ResultRecord } from '../../services/storage/result-store.ts';
import type { NetworkPolicyDefaults } from '../coordinator-config.ts';

export type OutcomeClass = 'build-failure' | 'infrastructure' | 'cancelled';

export interface RetryDecision {
  /** Whether a replacement attempt may be assigned at all. */
  readonly allowed: boolean;
  /** Earliest time (epoch ms) a replacement may start; `allowed` with a future time means "later". */
  readonly notBeforeMs: number;
  readonly buildFailures: number;
  readonly infrastructureFailures: number;
  readonly reason: string;
}

/** How a build's attempts that produced no successful result ended (the store counts the same). */
export interface FailureCounts {
  readonly buildFailures: number;
  readonly infrastructureFailures: number;
  /** Epoch ms of the latest failure; 0 when none. */
  readonly lastFailureAtMs: number;
}

/**
 * Classifies every finished attempt that produced no successful result: answered by a failed
 * result, a build failure; ended failed or expired with no result, an infrastructure failure. The
 * definition the store's `summarizeAttempts` counts in SQL (a test keeps the two equal).
 */
export function classifyFailures(
  attempts: readonly AttemptRecord[],
  results: readonly ResultRecord[],
): FailureCounts {
  const resultByJob = new Map(results.map((r) => [r.jobId, r]));
  let buildFailures = 0;
  let infrastructureFailures = 0;
  let lastFailureAtMs = 0;
  for (const attempt of attempts) {
    const result = resultByJob.get(attempt.jobId);
    let failed = false;
    if (result?.kind === 'failed') {
      buildFailures += 1;
      failed = true;
    } else if (!result && (attempt.state === 'failed' || attempt.state === 'expired')) {
      // No report at all: the worker crashed, lost its lease, or its engine failed.
      infrastructureFailures += 1;
      failed = true;
    }
    if (failed) {
      const at = Date.parse(result?.receivedAt ?? attempt.finishedAt ?? attempt.assignedAt);
      lastFailureAtMs = Math.max(lastFailureAtMs, at);
    }
  }
  return { buildFailures, infrastructureFailures, lastFailureAtMs };
}

/**
 * Build failures get `buildFailureRetries` replacements (default 1: one retry on another operator,
 * then the verdict is `failed`); infrastructure errors get `infrastructureRetries`, with exponential
 * backoff from `retryBackoffMs`.
 */
export function decideRetry(
  attempts: readonly AttemptRecord[],
  results: readonly ResultRecord[],
  policy: RetryPolicy,
): RetryDecision {
  return decideRetryFrom(classifyFailures(attempts, results), policy);
}

type RetryPolicy = Pick<
  NetworkPolicyDefaults,
  'buildFailureRetries' | 'infrastructureRetries' | 'retryBackoffMs'
>;

/** {@link decideRetry} from failures already counted (by the store's `summarizeAttempts`). */
export function decideRetryFrom(failures: FailureCounts, policy: RetryPolicy): RetryDecision {
  const { buildFailures, infrastructureFailures, lastFailureAtMs } = failures;
  if (buildFailures > policy.buildFailureRetries) {
    return {
      allowed: false,
      notBeforeMs: 0,
      buildFailures,
      infrastructureFailures,
      reason: `${buildFailures} build failures (cap: ${policy.buildFailureRetries} retries)`,
    };
  }
  if (infrastructureFailures > policy.infrastructureRetries) {
    return {
      allowed: false,
      notBeforeMs: 0,
      buildFailures,
      infrastructureFailures,
      reason: `${infrastructureFailures} infrastructure failures (cap: ${policy.infrastructureRetries} retries)`,
    };
  }
  const retries = buildFailures + infrastructureFailures;
  const notBeforeMs = retries === 0 ? 0 : lastFailureAtMs + policy.retryBackoffMs * 2 ** (retries - 1);
  return {
    allowed: true,
    notBeforeMs,
    buildFailures,
    infrastructureFailures,
    reason: retries === 0 ? 'no failures' : `retry ${retries} after backoff`,
  };
}
