// Tests for the consensus rule: who counts, agreement, dissent, inputs, claims, timing and re-decisions.
import { describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { ConsensusError } from './consensus-errors.ts';
import {
  type BuiltConsensusResult,
  type ConsensusFailureReason,
  type DecisionInput,
  decideVerdict,
  type FailedConsensusResult,
  redecide,
} from './decide-verdict.ts';

const d = (label: string): Sha256Hex => sha256Hex(label);
const MANIFEST = d('manifest');
const SAME = { 'a.deb': 'a1', 'b.deb': 'b1' } as const;

let sequence = 0;

function built(
  operator: string,
  outputs: Readonly<Record<string, string>> = SAME,
  overrides: Partial<BuiltConsensusResult> = {},
): BuiltConsensusResult {
  sequence++;
  return {
    kind: 'built',
    operator,
    workerId: `${operator}-w${sequence}`,
    keyid: d(`key-${operator}`),
    jobId: `job-${sequence}`,
    attempt: 0,
    manifestSha256: MANIFEST,
    environment: { sha256: d('environment'), origin: 'built-locally' },
    inputs: [
      { path: 'src/hello.tar.gz', sha256: d('source') },
      { path: 'src/hello.dsc', sha256: d('dsc') },
    ],
    outputs: Object.entries(outputs).map(([path, label]) => ({ path, sha256: d(label) })),
    envelopeSha256: d(`envelope-${sequence}`),
    ...overrides,
  };
}

function failed(
  operator: string,
  failureReason: ConsensusFailureReason = 'exit-code',
): FailedConsensusResult {
  sequence++;
  return {
    kind: 'failed',
    operator,
    workerId: `${operator}-w${sequence}`,
    keyid: d(`key-${operator}`),
    jobId: `job-${sequence}`,
    attempt: 0,
    manifestSha256: MANIFEST,
    failureReason,
  };
}

/** Defaults: k=2, nothing claimed, nothing open, no further attempts, deadline not passed. */
function decide(results: DecisionInput['results'], overrides: Partial<DecisionInput> = {}) {
  return decideVerdict({
    manifestSha256: MANIFEST,
    claimedOutputs: [],
    policy: { threshold: 2, allowFetchedEnvironments: false },
    results,
    openAttempts: 0,
    deadlinePassed: false,
    maxAttemptsReached: true,
    ...overrides,
  });
}

const claim = (outputs: Readonly<Record<string, string>>) =>
  Object.entries(outputs).map(([path, label]) => ({ path, sha256: d(label) }));

describe('agreement', () => {
  it('two operators with equal output sets and nothing claimed: agreed', () => {
    const decision = decide([built('alpha'), built('beta')]);
    expect(decision.verdict).toBe('agreed');
    expect(decision.countedOperators).toEqual(['alpha', 'beta']);
    expect(decision.agreeingOutputs).toEqual(claim(SAME));
    expect(decision.claims).toEqual({ status: 'no-claim', extra: ['a.deb', 'b.deb'] });
    expect(decision.notCounted).toEqual([]);
  });

  it('every claimed output matches: reproducible', () => {
    const decision = decide([built('alpha'), built('beta')], { claimedOutputs: claim(SAME) });
    expect(decision.verdict).toBe('reproducible');
    expect(decision.explanation).toContain('every claimed output matches');
  });

  it('output order within a result does not matter', () => {
    const reversed = built('beta', { 'b.deb': 'b1', 'a.deb': 'a1' });
    expect(decide([built('alpha'), reversed]).verdict).toBe('agreed');
  });

  it('input order within a result does not matter', () => {
    const base = built('beta');
    const reordered = built('beta', SAME, { inputs: [...base.inputs].reverse() });
    expect(decide([built('alpha'), reordered]).verdict).toBe('agreed');
  });

  it('k=1: one operator is a quorum', () => {
    const decision = decide([built('alpha')], { policy: { threshold: 1, allowFetchedEnvironments: false } });
    expect(decision.verdict).toBe('agreed');
    expect(decision.countedOperators).toEqual(['alpha']);
  });

  it('k=1 with a matching claim: reproducible', () => {
    const decision = decide([built('alpha')], {
      policy: { threshold: 1, allowFetchedEnvironments: false },
      claimedOutputs: claim(SAME),
    });
    expect(decision.verdict).toBe('reproducible');
  });

  it('a quorum is decided at once, even with attempts still open', () => {
    const decision = decide([built('alpha'), built('beta')], { openAttempts: 3, maxAttemptsReached: false });
    expect(decision.verdict).toBe('agreed');
  });

  it('counts operators, not workers: two workers of one operator plus one other make two', () => {
    const decision = decide([built('alpha'), built('alpha'), built('beta')], {
      policy: { threshold: 3, allowFetchedEnvironments: false },
      deadlinePassed: true,
    });
    expect(decision.verdict).toBe('insufficient-operators');
    expect(decision.agreeingOperators).toEqual(['alpha', 'beta']);
    expect(decision.notCounted.map((n) => n.reason)).toEqual(['duplicate-operator']);
  });
});

describe('one operator is one vote', () => {
  const three = () => [built('alpha'), built('alpha'), built('alpha')];

  it('three agreeing results of ONE operator are no quorum while attempts are open: pending', () => {
    const decision = decide(three(), { openAttempts: 2 });
    expect(decision.verdict).toBe('pending');
    expect(decision.countedOperators).toEqual(['alpha']);
    expect(decision.notCounted.map((n) => n.reason)).toEqual(['duplicate-operator', 'duplicate-operator']);
  });

  it('three agreeing results of ONE operator after the deadline: insufficient-operators', () => {
    const decision = decide(three(), { openAttempts: 2, deadlinePassed: true });
    expect(decision.verdict).toBe('insufficient-operators');
    expect(decision.explanation).toContain('1 of 2 required operator(s) agree');
    expect(decision.explanation).toContain('deadline');
  });

  it('three agreeing results of ONE operator with max attempts reached and none open: insufficient-operators', () => {
    expect(decide(three()).verdict).toBe('insufficient-operators');
  });

  it('the same envelope reported twice counts once', () => {
    const first = built('alpha');
    const decision = decide([first, { ...first }], { deadlinePassed: true });
    expect(decision.verdict).toBe('insufficient-operators');
    expect(decision.notCounted).toEqual([
      expect.objectContaining({
        operator: 'alpha',
        reason: 'duplicate-envelope',
        envelopeSha256: first.envelopeSha256,
      }),
    ]);
  });
});

describe('dissent', () => {
  it('3 agree + 1 dissent: diverged, naming the dissenter and the differing files', () => {
    const dissenter = built('delta', { 'a.deb': 'a1', 'b.deb': 'b2' });
    const decision = decide([built('alpha'), built('beta'), dissenter, built('gamma')]);
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent).toEqual([
      {
        operator: 'delta',
        workerId: dissenter.workerId,
        jobId: dissenter.jobId,
        attempt: 0,
        envelopeSha256: dissenter.envelopeSha256,
        differingPaths: ['b.deb'],
      },
    ]);
    expect(decision.agreeingOperators).toEqual(['alpha', 'beta', 'gamma']);
    expect(decision.countedOperators).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    expect(decision.agreeingOutputs).toBeUndefined();
    expect(decision.explanation).toContain('delta');
  });

  it('no majority vote: 1 against 1 is diverged, the later result is named', () => {
    const first = built('alpha');
    const second = built('beta', { 'a.deb': 'a2', 'b.deb': 'b1' });
    const decision = decide([first, second]);
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent?.map((x) => x.operator)).toEqual(['beta']);
  });

  it('a missing file is a difference', () => {
    const decision = decide([built('alpha'), built('beta'), built('gamma', { 'a.deb': 'a1' })]);
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent?.[0]?.differingPaths).toEqual(['b.deb']);
  });

  it('an extra file is a difference: output sets are compared whole', () => {
    const decision = decide([built('alpha'), built('beta', { ...SAME, 'c.deb': 'c1' })]);
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent?.[0]?.differingPaths).toEqual(['c.deb']);
  });

  it('one operator disagreeing with itself is a dissent, even with k=1', () => {
    const decision = decide([built('alpha'), built('alpha', { 'a.deb': 'a9', 'b.deb': 'b1' })], {
      policy: { threshold: 1, allowFetchedEnvironments: false },
    });
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent?.map((x) => x.operator)).toEqual(['alpha']);
  });

  it('a dissent before any quorum is diverged at once, not pending', () => {
    const decision = decide([built('alpha'), built('beta', { 'a.deb': 'x', 'b.deb': 'y' })], {
      policy: { threshold: 3, allowFetchedEnvironments: false },
      openAttempts: 4,
      maxAttemptsReached: false,
    });
    expect(decision.verdict).toBe('diverged');
    expect(decision.dissent?.[0]?.differingPaths).toEqual(['a.deb', 'b.deb']);
  });

  it('one operator dissenting twice with the same set is named once', () => {
    const odd = { 'a.deb': 'a1', 'b.deb': 'bX' };
    const decision = decide([built('alpha'), built('beta'), built('gamma', odd), built('gamma', odd)]);
    expect(decision.dissent).toHaveLength(1);
    expect(decision.notCounted.map((n) => n.reason)).toEqual(['duplicate-operator']);
  });
});

describe('inputs', () => {
  it('results rebuilt from different inputs: inputs-differ, and the odd one is not counted', () => {
    const other = built('gamma', SAME, {
      inputs: [{ path: 'src/hello.tar.gz', sha256: d('patched source') }],
    });
    const decision = decide([built('alpha'), built('beta'), other]);
    expect(decision.verdict).toBe('inputs-differ');
    expect(decision.notCounted).toEqual([
      expect.objectContaining({ operator: 'gamma', reason: 'inputs-differ' }),
    ]);
    expect(decision.countedOperators).toEqual(['alpha', 'beta']);
  });

  it('a different environment digest is different inputs', () => {
    const other = built('beta', SAME, { environment: { sha256: d('other image'), origin: 'built-locally' } });
    expect(decide([built('alpha'), other]).verdict).toBe('inputs-differ');
  });

  it('results that agree with each other but not with the manifest’s inputs: inputs-differ', () => {
    const decision = decide([built('alpha'), built('beta')], {
      expectedInputs: { environmentSha256: d('the manifest image'), inputs: built('x').inputs },
    });
    expect(decision.verdict).toBe('inputs-differ');
    expect(decision.countedOperators).toEqual([]);
    expect(decision.notCounted.map((n) => n.reason)).toEqual(['inputs-differ', 'inputs-differ']);
  });

  it('results that match the manifest’s inputs agree as usual', () => {
    const reference = built('x');
    const decision = decide([built('alpha'), built('beta')], {
      expectedInputs: {
        environmentSha256: reference.environment.sha256,
        inputs: [...reference.inputs].reverse(),
      },
    });
    expect(decision.verdict).toBe('agreed');
  });

  it('inputs-differ wins over a dissent: different inputs are never compared', () => {
    const otherInputs = built('gamma', { 'a.deb': 'zz' }, { inputs: [] });
    const decision = decide([built('alpha'), built('beta', { 'a.deb': 'yy' }), otherInputs]);
    expect(decision.verdict).toBe('inputs-differ');
  });

  it('a result for another manifest is not counted and changes nothing', () => {
    const stray = built('gamma', { 'a.deb': 'different' }, { manifestSha256: d('other manifest') });
    const decision = decide([built('alpha'), built('beta'), stray]);
    expect(decision.verdict).toBe('agreed');
    expect(decision.notCounted).toEqual([
      expect.objectContaining({ operator: 'gamma', reason: 'manifest-differs' }),
    ]);
  });
});

describe('fetched environments', () => {
  const fetched = (operator: string, outputs: Readonly<Record<string, string>> = SAME) =>
    built(operator, outputs, { environment: { sha256: d('environment'), origin: 'fetched' } });

  it('are not counted by default', () => {
    const decision = decide([built('alpha'), fetched('beta')], { deadlinePassed: true });
    expect(decision.verdict).toBe('insufficient-operators');
    expect(decision.notCounted).toEqual([
      expect.objectContaining({ operator: 'beta', reason: 'fetched-environment' }),
    ]);
    expect(decision.explanation).toContain('1 fetched-environment');
  });

  it('count when the policy allows them', () => {
    const decision = decide([built('alpha'), fetched('beta')], {
      policy: { threshold: 2, allowFetchedEnvironments: true },
    });
    expect(decision.verdict).toBe('agreed');
    expect(decision.countedOperators).toEqual(['alpha', 'beta']);
  });

  it('a differing result from a fetched environment is not a counted dissent', () => {
    const decision = decide([built('alpha'), built('beta'), fetched('gamma', { 'a.deb': 'evil' })]);
    expect(decision.verdict).toBe('agreed');
    expect(decision.dissent).toBeUndefined();
  });
});

describe('claims', () => {
  it('rebuilders agree but a claimed digest differs: mismatch-upstream', () => {
    const decision = decide([built('alpha'), built('beta')], {
      claimedOutputs: claim({ 'a.deb': 'a1', 'b.deb': 'published-b' }),
    });
    expect(decision.verdict).toBe('mismatch-upstream');
    expect(decision.agreeingOutputs).toEqual(claim(SAME));
    expect(decision.claims).toMatchObject({ status: 'mismatch', matching: ['a.deb'], missing: [] });
    expect(decision.claims?.status === 'mismatch' && decision.claims.differing.map((x) => x.path)).toEqual([
      'b.deb',
    ]);
    expect(decision.explanation).toContain('differing: b.deb');
  });

  it('a claimed output missing from the rebuilt set: mismatch-upstream', () => {
    const decision = decide([built('alpha'), built('beta')], {
      claimedOutputs: claim({ ...SAME, 'c.deb': 'c1' }),
    });
    expect(decision.verdict).toBe('mismatch-upstream');
    expect(decision.claims).toMatchObject({ status: 'mismatch', missing: ['c.deb'] });
    expect(decision.explanation).toContain('claimed but not rebuilt: c.deb');
  });

  it('rebuilt outputs nobody claimed are reported as extras and not counted', () => {
    const outputs = { ...SAME, 'hello-dbgsym.deb': 'dbg' };
    const decision = decide([built('alpha', outputs), built('beta', outputs)], {
      claimedOutputs: claim(SAME),
    });
    expect(decision.verdict).toBe('reproducible');
    expect(decision.claims).toMatchObject({ status: 'match', extra: ['hello-dbgsym.deb'] });
    expect(decision.explanation).toContain('Unclaimed outputs, reported not counted: hello-dbgsym.deb');
  });
});

describe('no quorum yet', () => {
  it('every finished build failed and no more attempts are possible: failed', () => {
    const decision = decide([failed('alpha'), failed('beta', 'timeout')]);
    expect(decision.verdict).toBe('failed');
    expect(decision.notCounted.map((n) => n.reason)).toEqual(['failed-build', 'failed-build']);
    expect(decision.explanation).toContain('exit-code, timeout');
  });

  it('every finished build failed but attempts are open: pending', () => {
    expect(decide([failed('alpha')], { openAttempts: 2 }).verdict).toBe('pending');
  });

  it('every failure says the environment cannot be reconstructed: environment-unavailable', () => {
    const decision = decide([
      failed('alpha', 'environment-unavailable'),
      failed('beta', 'environment-unavailable'),
    ]);
    expect(decision.verdict).toBe('environment-unavailable');
  });

  it('every failure says the sources cannot be obtained: source-unavailable', () => {
    expect(decide([failed('alpha', 'source-unavailable')]).verdict).toBe('source-unavailable');
  });

  it('mixed failure reasons: failed', () => {
    expect(decide([failed('alpha', 'environment-unavailable'), failed('beta', 'oom')]).verdict).toBe(
      'failed',
    );
  });

  it('a failure beside one success, no more attempts: insufficient-operators, not failed', () => {
    expect(decide([failed('alpha'), built('beta')]).verdict).toBe('insufficient-operators');
  });

  it('no results and the deadline passed: insufficient-operators', () => {
    const decision = decide([], { openAttempts: 3, deadlinePassed: true });
    expect(decision.verdict).toBe('insufficient-operators');
    expect(decision.countedOperators).toEqual([]);
  });

  it('no results and more attempts may still be assigned: pending', () => {
    expect(decide([], { maxAttemptsReached: false }).verdict).toBe('pending');
  });

  it('open attempts that could still reach k: pending; that could not: insufficient-operators', () => {
    const policy = { threshold: 3, allowFetchedEnvironments: false };
    expect(decide([built('alpha')], { policy, openAttempts: 2 }).verdict).toBe('pending');
    const hopeless = decide([built('alpha')], { policy, openAttempts: 1 });
    expect(hopeless.verdict).toBe('insufficient-operators');
    expect(hopeless.explanation).toContain('even if all 1 open attempt(s) agreed');
  });
});

describe('re-deciding', () => {
  it('a late dissent turns agreed into diverged, and redecide reports the transition', () => {
    const results = [built('alpha'), built('beta')];
    const before = decide(results, { openAttempts: 1 });
    expect(before.verdict).toBe('agreed');
    const after = decide([...results, built('gamma', { 'a.deb': 'a1', 'b.deb': 'late' })]);
    expect(after.verdict).toBe('diverged');
    expect(redecide(before, after)).toEqual({
      changed: true,
      transition: { from: 'agreed', to: 'diverged' },
    });
  });

  it('the first decision is a transition from nothing', () => {
    expect(redecide(undefined, decide([built('alpha')], { openAttempts: 1 }))).toEqual({
      changed: true,
      transition: { from: null, to: 'pending' },
    });
  });

  it('the same decision again is no change', () => {
    const results = [built('alpha'), built('beta')];
    expect(redecide(decide(results), decide(results))).toEqual({ changed: false });
  });

  it('one more agreeing operator changes the decision but not the verdict', () => {
    const results = [built('alpha'), built('beta')];
    const change = redecide(decide(results), decide([...results, built('gamma')]));
    expect(change).toEqual({ changed: true });
  });
});

describe('contract', () => {
  it('refuses a threshold below 1 or not an integer', () => {
    for (const threshold of [0, -1, 1.5]) {
      const run = () => decide([], { policy: { threshold, allowFetchedEnvironments: false } });
      expect(run).toThrow(ConsensusError);
      expect(run).toThrow(expect.objectContaining({ code: 'DECISION_INPUT_INVALID' }));
    }
  });

  it('refuses a negative number of open attempts', () => {
    expect(() => decide([], { openAttempts: -1 })).toThrow(
      expect.objectContaining({ code: 'DECISION_INPUT_INVALID' }),
    );
  });

  it('returns a deeply frozen, plain-JSON decision', () => {
    const decision = decide([built('alpha'), built('beta', { 'a.deb': 'x' })]);
    expect(Object.isFrozen(decision)).toBe(true);
    expect(Object.isFrozen(decision.dissent?.[0]?.differingPaths)).toBe(true);
    expect(JSON.parse(JSON.stringify(decision))).toEqual(decision);
  });
});
