// The consensus rule as one pure function: which results count, whether they agree, and the verdict.
// The coordinator (live) and `rbnet verify` (offline, from a consensus attestation) both call it.
import { deepFreeze } from '../attestation/rebuild-statement.ts';
import { compareCodePoints } from '../attestation/securesystemslib-canonical-json.ts';
import { compareOutputsWithClaims, type OutputDigest } from '../claims/compare-outputs-with-claims.ts';
import { canonicalizeJcs } from '../jcs.ts';
import { ConsensusError } from './consensus-errors.ts';
import type {
  BuiltConsensusResult,
  ConsensusOutput,
  ConsensusResult,
  Decision,
  DecisionChange,
  DecisionInput,
  Dissent,
  FailedConsensusResult,
  InputDigest,
  NotCounted,
  NotCountedReason,
  ResultRef,
} from './consensus-types.ts';
import type { Verdict } from './verdict.ts';

// The rule's vocabulary lives in consensus-types.ts; importers of the rule find it here too.
export {
  type BuiltConsensusResult,
  CONSENSUS_FAILURE_REASONS,
  type ConsensusFailureReason,
  type ConsensusOutput,
  type ConsensusPolicy,
  type ConsensusResult,
  type Decision,
  type DecisionChange,
  type DecisionInput,
  type Dissent,
  type FailedConsensusResult,
  type InputDigest,
  type NotCounted,
  type NotCountedReason,
  type OutputDigest,
  type ResultRef,
} from './consensus-types.ts';

/**
 * Decides the verdict for one build from the results reported so far. Pure and deterministic.
 *
 * The rule (docs/trust-policy.md, "What counts"):
 * 1. A result counts only if it is for `manifestSha256`, is a success, is not a second copy of an
 *    envelope, and was built in an environment the worker built itself (unless the policy allows
 *    fetched environments).
 * 2. Counted results are compared only when their resolved inputs (environment digest + input list)
 *    are equal; two different inputs among them, or any differing from `expectedInputs`, is `inputs-differ`.
 * 3. Output sets are compared whole, as sets of (path, sha256). Any counted success whose set differs
 *    from another is a signed dissent: `diverged`. No majority vote; the larger group (by operators)
 *    only decides who is *named* as dissenting.
 * 4. With no dissent, k distinct operators (not keys, not workers, not envelopes) agreeing is a
 *    quorum: `reproducible` if every claimed output matches, `mismatch-upstream` if any claimed
 *    output differs or is missing, `agreed` if nothing was claimed. Unclaimed outputs are extras.
 * 5. Without a quorum: `pending` while more results can come (deadline not passed, and attempts
 *    open or more may be assigned) and k is still reachable; otherwise `failed` (or
 *    `environment-unavailable` / `source-unavailable` when every failure says so) if every
 *    finished result failed and nothing more can come, else `insufficient-operators`.
 *
 * @throws ConsensusError DECISION_INPUT_INVALID for a threshold that is not an integer >= 1 or an
 *   openAttempts that is not an integer >= 0.
 */
export function decideVerdict(input: DecisionInput): Decision {
  const { threshold, allowFetchedEnvironments } = input.policy;
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new ConsensusError(
      'DECISION_INPUT_INVALID',
      `policy.threshold must be an integer >= 1, got ${threshold}`,
    );
  }
  if (!Number.isSafeInteger(input.openAttempts) || input.openAttempts < 0) {
    throw new ConsensusError(
      'DECISION_INPUT_INVALID',
      `openAttempts must be an integer >= 0, got ${input.openAttempts}`,
    );
  }

  const notCounted: NotCounted[] = [];
  // Built frozen, field by field: a decision over many results names most of them here.
  const skip = (result: ConsensusResult, reason: NotCountedReason) =>
    notCounted.push(
      Object.freeze(
        result.kind === 'built'
          ? {
              operator: result.operator,
              workerId: result.workerId,
              jobId: result.jobId,
              attempt: result.attempt,
              envelopeSha256: result.envelopeSha256,
              reason,
            }
          : {
              operator: result.operator,
              workerId: result.workerId,
              jobId: result.jobId,
              attempt: result.attempt,
              reason,
            },
      ),
    );
  const failures: FailedConsensusResult[] = [];
  let finished = 0;
  const seenEnvelopes = new Set<string>();
  const eligible: BuiltConsensusResult[] = [];
  for (const result of input.results) {
    if (result.manifestSha256 !== input.manifestSha256) {
      skip(result, 'manifest-differs');
      continue;
    }
    finished++;
    if (result.kind === 'failed') {
      failures.push(result);
      skip(result, 'failed-build');
      continue;
    }
    if (seenEnvelopes.has(result.envelopeSha256)) {
      skip(result, 'duplicate-envelope');
      continue;
    }
    seenEnvelopes.add(result.envelopeSha256);
    // A maintainer who hands every worker its toolchain could make honest workers agree on a backdoor.
    if (result.environment.origin === 'fetched' && !allowFetchedEnvironments) {
      skip(result, 'fetched-environment');
      continue;
    }
    eligible.push(result);
  }

  // Rule 2: results rebuilt from different inputs are never compared.
  const byInputs = groupBy(eligible, inputsKey);
  const expectedKey =
    input.expectedInputs === undefined
      ? undefined
      : inputsKeyOf(input.expectedInputs.environmentSha256, input.expectedInputs.inputs);
  const referenceInputs = expectedKey ?? largestGroup(byInputs)?.key;
  const compared = eligible.filter((result) => inputsKey(result) === referenceInputs);
  for (const result of eligible) if (inputsKey(result) !== referenceInputs) skip(result, 'inputs-differ');
  const inputsDiffer =
    byInputs.length > 1 || (expectedKey !== undefined && compared.length < eligible.length);

  // Rule 3: group by the whole output set; one operator counts once per set it produced.
  const byOutputs = groupBy(compared, outputsKey);
  const reference = largestGroup(byOutputs);
  const dissent: Dissent[] = [];
  for (const group of byOutputs) {
    const seenOperators = new Set<string>();
    for (const result of group.members) {
      if (seenOperators.has(result.operator)) {
        skip(result, 'duplicate-operator');
        continue;
      }
      seenOperators.add(result.operator);
      if (group !== reference) {
        dissent.push({
          ...refOf(result),
          envelopeSha256: result.envelopeSha256,
          differingPaths: differingPaths(reference!.members[0]!.outputs, result.outputs),
        });
      }
    }
  }
  const countedOperators = sortedUnique(compared.map((result) => result.operator));
  const agreeingOperators = sortedUnique(reference?.members.map((result) => result.operator) ?? []);
  const base = {
    countedOperators,
    ...(reference !== undefined && { agreeingOperators }),
    notCounted,
  };
  const k = threshold;
  const finish = (decision: Decision): Decision => deepFreeze(decision);

  if (inputsDiffer) {
    const variants =
      byInputs.length + (expectedKey !== undefined && !byInputs.some((g) => g.key === expectedKey) ? 1 : 0);
    return finish({
      verdict: 'inputs-differ',
      ...base,
      explanation:
        `${eligible.length} counted result(s) were rebuilt from ${variants} different sets of resolved inputs ` +
        `(environment + inputs${expectedKey === undefined ? '' : ', the manifest’s included'}); results from different ` +
        'inputs are never compared, so no agreement can be stated.',
    });
  }

  if (dissent.length > 0) {
    const named = dissent
      .map((d) => `${d.operator} (worker ${d.workerId}: ${listPaths(d.differingPaths)})`)
      .join('; ');
    return finish({
      verdict: 'diverged',
      ...base,
      dissent,
      explanation:
        `${agreeingOperators.length} operator(s) (${agreeingOperators.join(', ')}) produced one output set, and ` +
        `${dissent.length} signed dissent(s) differ from it: ${named}. One signed dissent is enough: the build is not deterministic.`,
    });
  }

  const agreeing = agreeingOperators.length;
  if (reference !== undefined && agreeing >= k) {
    const agreeingOutputs = sortOutputs(reference.members[0]!.outputs);
    const claims = compareOutputsWithClaims(input.claimedOutputs, agreeingOutputs);
    const who = `${agreeing} operator(s) (${agreeingOperators.join(', ')}) agree on ${agreeingOutputs.length} output(s), threshold ${k}`;
    const extras =
      claims.extra.length > 0 ? ` Unclaimed outputs, reported not counted: ${listPaths(claims.extra)}.` : '';
    if (claims.status === 'no-claim') {
      return finish({
        verdict: 'agreed',
        ...base,
        agreeingOutputs,
        claims,
        explanation: `${who}; nothing was published to compare.`,
      });
    }
    if (claims.status === 'match') {
      return finish({
        verdict: 'reproducible',
        ...base,
        agreeingOutputs,
        claims,
        explanation: `${who}, and every claimed output matches the published digest.${extras}`,
      });
    }
    const problems = [
      claims.differing.length > 0 ? `differing: ${listPaths(claims.differing.map((d) => d.path))}` : '',
      claims.missing.length > 0 ? `claimed but not rebuilt: ${listPaths(claims.missing)}` : '',
    ].filter((text) => text !== '');
    return finish({
      verdict: 'mismatch-upstream',
      ...base,
      agreeingOutputs,
      claims,
      explanation: `${who}, but not with the published artifact (${problems.join('; ')}).${extras}`,
    });
  }

  // Rule 5: no quorum (yet).
  const moreCanCome = !input.deadlinePassed && (input.openAttempts > 0 || !input.maxAttemptsReached);
  // Each open attempt adds at most one operator; attempts that may still be assigned are unbounded.
  const reachable = !input.maxAttemptsReached || agreeing + input.openAttempts >= k;
  const have = `${agreeing} of ${k} required operator(s) agree${agreeing > 0 ? ` (${agreeingOperators.join(', ')})` : ''}`;
  if (moreCanCome && reachable) {
    return finish({
      verdict: 'pending',
      ...base,
      explanation: `${have}; ${input.openAttempts} attempt(s) still open${input.maxAttemptsReached ? '' : ', more may be assigned'}.`,
    });
  }
  if (!moreCanCome && finished > 0 && failures.length === finished) {
    const reasons = new Set(failures.map((failure) => failure.failureReason));
    const only = reasons.size === 1 ? [...reasons][0] : undefined;
    const verdict: Verdict =
      only === 'environment-unavailable' || only === 'source-unavailable' ? only : 'failed';
    return finish({
      verdict,
      ...base,
      explanation: `All ${finished} finished rebuild(s) failed (${[...reasons].sort().join(', ')}) and no further attempt is possible.`,
    });
  }
  const why = input.deadlinePassed
    ? 'the deadline has passed'
    : moreCanCome
      ? `even if all ${input.openAttempts} open attempt(s) agreed, fewer than ${k} operators could`
      : 'no further attempt is possible';
  const uncounted = notCounted.length > 0 ? ` Not counted: ${summariseNotCounted(notCounted)}.` : '';
  return finish({
    verdict: 'insufficient-operators',
    ...base,
    explanation: `${have}, and ${why}.${uncounted}`,
  });
}

/**
 * Compares a new decision with the one recorded before, so the caller records the change (a late
 * result can turn `agreed` into `diverged`) instead of overwriting it silently.
 */
export function redecide(previous: Decision | undefined, next: Decision): DecisionChange {
  if (previous === undefined) return { changed: true, transition: { from: null, to: next.verdict } };
  if (previous.verdict !== next.verdict) {
    return { changed: true, transition: { from: previous.verdict, to: next.verdict } };
  }
  return { changed: canonicalForm(previous) !== canonicalForm(next) };
}

/** A result's identity within one build: its envelope digest, or job and attempt for a failure. */
export function resultKey(result: ResultRef): string {
  return (
    result.envelopeSha256 ?? `failed:${result.operator}/${result.workerId}/${result.jobId}/${result.attempt}`
  );
}

function refOf(result: ConsensusResult): ResultRef {
  return {
    operator: result.operator,
    workerId: result.workerId,
    jobId: result.jobId,
    attempt: result.attempt,
    ...(result.kind === 'built' && { envelopeSha256: result.envelopeSha256 }),
  };
}

/**
 * Each result's comparison keys, computed once per result object: results are read-only, and the
 * coordinator decides again over the same objects each time a result arrives (see consensus-inputs.ts).
 */
const inputsKeys = new WeakMap<BuiltConsensusResult, string>();
const outputsKeys = new WeakMap<BuiltConsensusResult, string>();

function inputsKey(result: BuiltConsensusResult): string {
  let key = inputsKeys.get(result);
  if (key === undefined) {
    key = inputsKeyOf(result.environment.sha256, result.inputs);
    inputsKeys.set(result, key);
  }
  return key;
}

function inputsKeyOf(environmentSha256: string, inputs: readonly InputDigest[]): string {
  const sorted = [...inputs].sort((a, b) => compareCodePoints(a.path, b.path)).map((i) => [i.path, i.sha256]);
  return JSON.stringify([environmentSha256, sorted]);
}

/** The whole output set; sizes are left out, the digest already identifies the bytes. */
function outputsKey(result: BuiltConsensusResult): string {
  let key = outputsKeys.get(result);
  if (key === undefined) {
    key = JSON.stringify(sortOutputs(result.outputs).map((o) => [o.path, o.sha256]));
    outputsKeys.set(result, key);
  }
  return key;
}

function sortOutputs(outputs: readonly ConsensusOutput[]): OutputDigest[] {
  return [...outputs]
    .sort((a, b) => compareCodePoints(a.path, b.path))
    .map((o) => ({ path: o.path, sha256: o.sha256 }));
}

interface Group<T> {
  readonly key: string;
  readonly members: T[];
  readonly firstIndex: number;
}

function groupBy<T extends ConsensusResult>(items: readonly T[], keyOf: (item: T) => string): Group<T>[] {
  const groups = new Map<string, Group<T>>();
  items.forEach((item, index) => {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.members.push(item);
    else groups.set(key, { key, members: [item], firstIndex: index });
  });
  return [...groups.values()];
}

/** Most distinct operators; ties go to the group that reported first, so naming is stable. */
function largestGroup<T extends ConsensusResult>(groups: readonly Group<T>[]): Group<T> | undefined {
  let best: Group<T> | undefined;
  let bestOperators = -1;
  for (const group of groups) {
    const operators = new Set(group.members.map((member) => member.operator)).size;
    if (operators > bestOperators || (operators === bestOperators && group.firstIndex < best!.firstIndex)) {
      best = group;
      bestOperators = operators;
    }
  }
  return best;
}

function differingPaths(reference: readonly OutputDigest[], other: readonly OutputDigest[]): string[] {
  const left = new Map(reference.map((o) => [o.path, o.sha256]));
  const right = new Map(other.map((o) => [o.path, o.sha256]));
  const paths = new Set([...left.keys(), ...right.keys()]);
  return [...paths].filter((path) => left.get(path) !== right.get(path)).sort(compareCodePoints);
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareCodePoints);
}

function listPaths(paths: readonly string[]): string {
  const shown = paths.slice(0, 5).join(', ');
  return paths.length > 5 ? `${shown} and ${paths.length - 5} more` : shown;
}

function summariseNotCounted(entries: readonly NotCounted[]): string {
  const counts = new Map<NotCountedReason, number>();
  for (const entry of entries) counts.set(entry.reason, (counts.get(entry.reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `${count} ${reason}`).join(', ');
}

function canonicalForm(decision: Decision): string {
  // Round-trip through JSON first: JCS refuses `undefined`, JSON simply drops it.
  return canonicalizeJcs(JSON.parse(JSON.stringify(decision)));
}
