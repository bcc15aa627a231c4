import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../services/storage/build-store.ts';
import type { ResultRecord } from '../../services/storage/result-store.ts';
import { decideRetry } from './retry-policy.ts';

const policy = { buildFailureRetries: 1, infrastructureRetries: 2, retryBackoffMs: 1000 };
const t = (ms: number) => new Date(ms).toISOString();
const attempt = (jobId: string, state: AttemptRecord['state'], finishedAtMs?: number): AttemptRecord =>
  ({
    buildId: 'b',
    workerId: `w-${jobId}`,
    operator: `o-${jobId}`,
    attempt: 1,
    jobId,
    nonce: 'n',
    state,
    assignedAt: t(0),
    ...(finishedAtMs ? { finishedAt: t(finishedAtMs) } : {}),
  }) as AttemptRecord;
const failedResult = (jobId: string, atMs: number): ResultRecord =>
  ({ jobId, kind: 'failed', receivedAt: t(atMs) }) as ResultRecord;
const builtResult = (jobId: string): ResultRecord =>
  ({ jobId, kind: 'built', receivedAt: t(5) }) as ResultRecord;

describe('decideRetry', () => {
  it('allows assignment at once when nothing failed', () => {
    expect(decideRetry([attempt('a', 'open')], [], policy)).toMatchObject({ allowed: true, notBeforeMs: 0 });
  });
  it('a build failure gets one retry on another operator, after the backoff', () => {
    const decision = decideRetry([attempt('a', 'reported')], [failedResult('a', 10_000)], policy);
    expect(decision).toMatchObject({ allowed: true, notBeforeMs: 11_000, buildFailures: 1 });
  });
  it('a second build failure ends the retries', () => {
    const decision = decideRetry(
      [attempt('a', 'reported'), attempt('b', 'reported')],
      [failedResult('a', 1), failedResult('b', 2)],
      policy,
    );
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/build failures/);
  });
  it('expired and crashed attempts are infrastructure failures with exponential backoff, capped', () => {
    const two = decideRetry([attempt('a', 'expired', 1000), attempt('b', 'failed', 3000)], [], policy);
    expect(two).toMatchObject({ allowed: true, infrastructureFailures: 2, notBeforeMs: 3000 + 2000 });
    const three = decideRetry(
      [attempt('a', 'expired', 1), attempt('b', 'failed', 2), attempt('c', 'expired', 3)],
      [],
      policy,
    );
    expect(three.allowed).toBe(false);
  });
  it('successful results and open attempts are not failures', () => {
    expect(
      decideRetry([attempt('a', 'reported'), attempt('b', 'open')], [builtResult('a')], policy),
    ).toMatchObject({
      buildFailures: 0,
      infrastructureFailures: 0,
    });
  });
});
