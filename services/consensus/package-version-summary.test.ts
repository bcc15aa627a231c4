import { describe, expect, it } from 'vitest';
import {
  type SummarizedBuild,
  summarizePackageVersion,
  VERDICT_SEVERITY,
} from './package-version-summary.ts';
import { VERDICTS } from './verdict.ts';

const build = (
  architecture: string,
  verdict: SummarizedBuild['verdict'],
  agreeingOperators: string[] = [],
  dissentingOperators: string[] = [],
): SummarizedBuild => ({ architecture, verdict, agreeingOperators, dissentingOperators });

describe('summarizePackageVersion', () => {
  it('orders every verdict exactly once', () => {
    expect([...VERDICT_SEVERITY].sort()).toEqual([...VERDICTS].sort());
  });

  it('lets the newest build of each architecture stand, and the most severe of those decide', () => {
    const summary = summarizePackageVersion([
      build('amd64', 'reproducible', ['b', 'a']),
      build('arm64', 'diverged', ['a'], ['c']),
      build('amd64', 'mismatch-upstream', ['x', 'y']),
    ]);
    expect(summary).toEqual({ verdict: 'diverged', reproducedBy: ['a', 'b'], dissentedBy: ['c'] });
  });

  it('never counts the agreeing side of a build that did not reproduce', () => {
    expect(summarizePackageVersion([build('amd64', 'mismatch-upstream', ['a', 'b'])])).toEqual({
      verdict: 'mismatch-upstream',
      reproducedBy: [],
      dissentedBy: [],
    });
    expect(
      summarizePackageVersion([build('amd64', 'pending'), build('arm64', 'agreed', ['a', 'b'])]).verdict,
    ).toBe('pending');
  });
});
