// Tests for divergence reports: per-file variants, agreement, missing files, logs, and the text rendering.
import { describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import {
  type BuiltConsensusResult,
  type ConsensusResult,
  decideVerdict,
  type FailedConsensusResult,
} from './decide-verdict.ts';
import { buildDivergenceReport, renderDivergenceText } from './divergence-report.ts';

const d = (label: string): Sha256Hex => sha256Hex(label);
const MANIFEST = d('manifest');
let n = 0;

function built(
  operator: string,
  outputs: Record<string, [string, number]>,
  overrides: Partial<BuiltConsensusResult> = {},
): BuiltConsensusResult {
  n++;
  return {
    kind: 'built',
    operator,
    workerId: 'w1',
    keyid: d(`key ${operator}`),
    jobId: `job-${n}`,
    attempt: 0,
    manifestSha256: MANIFEST,
    environment: { sha256: d('env'), origin: 'built-locally' },
    inputs: [{ path: 'src.tar', sha256: d('src') }],
    outputs: Object.entries(outputs).map(([path, [label, sizeBytes]]) => ({
      path,
      sha256: d(label),
      sizeBytes,
    })),
    envelopeSha256: d(`envelope ${n}`),
    log: { sha256: d(`log ${n}`), sizeBytes: 1000 + n },
    ...overrides,
  };
}

function failed(operator: string): FailedConsensusResult {
  n++;
  return {
    kind: 'failed',
    operator,
    workerId: 'w1',
    keyid: d(`key ${operator}`),
    jobId: `job-${n}`,
    attempt: 1,
    manifestSha256: MANIFEST,
    failureReason: 'timeout',
    log: { sha256: d(`log ${n}`) },
  };
}

function decide(results: readonly ConsensusResult[]) {
  return decideVerdict({
    manifestSha256: MANIFEST,
    claimedOutputs: [],
    policy: { threshold: 2, allowFetchedEnvironments: false },
    results,
    openAttempts: 0,
    deadlinePassed: true,
    maxAttemptsReached: true,
  });
}

const GOOD = { 'hello.deb': ['deb', 2048], 'hello.changes': ['changes', 300] } as Record<
  string,
  [string, number]
>;

describe('buildDivergenceReport', () => {
  it('groups each file by digest, with sizes, and names who produced what', () => {
    const results = [
      built('alpha', GOOD),
      built('beta', GOOD),
      built('gamma', { 'hello.deb': ['deb with timestamp', 2048], 'hello.changes': ['changes', 300] }),
    ];
    const report = buildDivergenceReport(results, decide(results));
    expect(report.verdict).toBe('diverged');
    expect(report.differingPaths).toEqual(['hello.deb']);
    expect(report.agreeingPaths).toEqual(['hello.changes']);
    const deb = report.files.find((f) => f.path === 'hello.deb')!;
    expect(deb.agrees).toBe(false);
    expect(deb.variants).toEqual([
      {
        sha256: d('deb'),
        sizeBytes: 2048,
        producedBy: [
          { operator: 'alpha', workerId: 'w1', counted: true },
          { operator: 'beta', workerId: 'w1', counted: true },
        ],
      },
      {
        sha256: d('deb with timestamp'),
        sizeBytes: 2048,
        producedBy: [{ operator: 'gamma', workerId: 'w1', counted: true }],
      },
    ]);
    expect(report.results.map((r) => [r.operator, r.dissenting])).toEqual([
      ['alpha', false],
      ['beta', false],
      ['gamma', true],
    ]);
    expect(report.missing).toEqual([]);
  });

  it('lists files missing per build and the missing variant', () => {
    const results = [built('alpha', GOOD), built('beta', { 'hello.deb': ['deb', 2048] })];
    const report = buildDivergenceReport(results, decide(results));
    expect(report.missing).toEqual([{ operator: 'beta', workerId: 'w1', paths: ['hello.changes'] }]);
    const changes = report.files.find((f) => f.path === 'hello.changes')!;
    expect(changes.variants.map((v) => v.sha256)).toEqual([d('changes'), null]);
  });

  it('carries every log digest, failed builds included, and why each result did or did not count', () => {
    const fetched = built('delta', GOOD, { environment: { sha256: d('env'), origin: 'fetched' } });
    const failure = failed('epsilon');
    const results = [built('alpha', GOOD), built('beta', GOOD), fetched, failure];
    const report = buildDivergenceReport(results, decide(results));
    expect(report.verdict).toBe('agreed');
    expect(report.results.map((r) => [r.operator, r.counted, r.notCountedReason, r.log?.sha256])).toEqual([
      ['alpha', true, undefined, results[0]!.log!.sha256],
      ['beta', true, undefined, results[1]!.log!.sha256],
      ['delta', false, 'fetched-environment', fetched.log!.sha256],
      ['epsilon', false, 'failed-build', failure.log!.sha256],
    ]);
    expect(report.results[3]?.failureReason).toBe('timeout');
    // The fetched build is still shown beside the others, marked as not counted.
    expect(report.files[0]?.variants[0]?.producedBy).toContainEqual({
      operator: 'delta',
      workerId: 'w1',
      counted: false,
    });
  });

  it('marks the second copy of an envelope as the duplicate, not the original', () => {
    const original = built('alpha', GOOD);
    const results = [original, { ...original }, built('beta', GOOD)];
    const report = buildDivergenceReport(results, decide(results));
    expect(report.results.map((r) => r.notCountedReason)).toEqual([
      undefined,
      'duplicate-envelope',
      undefined,
    ]);
    expect(report.files[0]?.variants[0]?.producedBy).toHaveLength(2);
  });

  it('shows the claimed digest beside the rebuilt ones', () => {
    const results = [built('alpha', GOOD), built('beta', GOOD)];
    const report = buildDivergenceReport(results, decide(results), {
      claimedOutputs: [{ path: 'hello.deb', sha256: d('published deb') }],
    });
    expect(report.files.find((f) => f.path === 'hello.deb')?.claimedSha256).toBe(d('published deb'));
  });

  it('is plain JSON', () => {
    const results = [built('alpha', GOOD), failed('beta')];
    const report = buildDivergenceReport(results, decide(results));
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('renderDivergenceText', () => {
  it('prints the verdict, each result, the differing files with their variants, and the agreeing ones', () => {
    const results = [
      built('alpha', GOOD),
      built('beta', GOOD),
      built('gamma', { 'hello.deb': ['other', 2050] }),
      built('delta', GOOD, { environment: { sha256: d('env'), origin: 'fetched' } }),
    ];
    const text = renderDivergenceText(buildDivergenceReport(results, decide(results)));
    expect(text).toContain('Verdict: diverged');
    expect(text).toContain('gamma/w1 job');
    expect(text).toContain('counted, DISSENTING');
    expect(text).toContain('not counted: fetched-environment');
    expect(text).toContain('Files that differ (2 of 2):');
    expect(text).toContain(`sha256:${d('other').slice(0, 12)}…`);
    expect(text).toContain('2050 bytes');
    expect(text).toContain('(missing)');
    expect(text).toContain('gamma/w1: hello.changes');
    expect(text).toContain('delta/w1*');
    expect(text).toContain('* not counted toward agreement');
  });

  it('says "none" when every file agrees', () => {
    const results = [built('alpha', GOOD), built('beta', GOOD)];
    const text = renderDivergenceText(buildDivergenceReport(results, decide(results)));
    expect(text).toContain('Files that differ (0 of 2):\n  none');
    expect(text).toContain('Files that agree across all builds (2):\n  hello.changes, hello.deb');
  });
});
