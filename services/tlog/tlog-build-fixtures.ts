// Test fixtures: a build published into a log the way the coordinator will do it (every result
// entry, then the verdict naming the consensus attestation), with real keys and envelopes; and
// ways to misbehave (results logged but kept out of the decision, dissenting outputs).
import { randomUUID } from 'node:crypto';
import { signConsensusAttestation } from '../consensus/consensus-attestation.ts';
import {
  DBGSYM,
  DEB,
  digestOf,
  HELLO,
  intake,
  signRebuild,
  type TestKey,
} from '../consensus/consensus-test-fixtures.ts';
import { type BuiltConsensusResult, type Decision, decideVerdict } from '../consensus/decide-verdict.ts';
import { type Sha256Hex, sha256Hex } from '../digest.ts';
import { resultEntryOf, verdictEntryOf } from './entries-from-decision.ts';
import { encodeLogEntry } from './log-entry.ts';
import type { TransparencyLog } from './transparency-log.ts';

export interface PublishOptions {
  readonly keys: Readonly<Record<string, TestKey>>;
  readonly coordinator: TestKey;
  readonly threshold: number;
  /** Operators whose rebuilt .deb differs. */
  readonly dissenters?: readonly string[];
  /** Operators whose results are logged, then left out of the decision, attestation and verdict. */
  readonly hidden?: readonly string[];
  /** What the agreeing operators rebuilt (default the fixtures' .deb and its dbgsym). */
  readonly outputs?: readonly {
    readonly path: string;
    readonly sha256: Sha256Hex;
    readonly sizeBytes: number;
  }[];
  readonly at: Date;
  /** Log the verdict before the results: as the upgrade's backfill does (marked), or unmarked (a lie). */
  readonly resultsAfterVerdict?: 'backfilled' | 'unmarked';
}

export interface PublishedBuild {
  readonly buildId: string;
  readonly consensusEnvelope: string;
  readonly decision: Decision;
  readonly resultIndexes: readonly number[];
  readonly verdictIndex: number;
  readonly artifactSha256: string;
  readonly manifestSha256: string;
}

export async function publishBuild(log: TransparencyLog, options: PublishOptions): Promise<PublishedBuild> {
  const buildId = randomUUID();
  const results: BuiltConsensusResult[] = [];
  const envelopes: string[] = [];
  for (const [operator, key] of Object.entries(options.keys)) {
    const agreed = options.outputs ?? [DEB, DBGSYM];
    const outputs = options.dissenters?.includes(operator)
      ? agreed.map((o, i) => (i === 0 ? { ...o, sha256: digestOf(`other output of ${operator}`) } : o))
      : agreed;
    const signed = await signRebuild(key, {
      operator,
      outputs,
      jobId: `job-${buildId.slice(0, 8)}-${operator}`,
    });
    envelopes.push(signed.envelopeJson);
    results.push(intake(signed.envelopeJson, key, operator));
  }
  const resultEntries = results.map((r) =>
    encodeLogEntry({
      ...resultEntryOf(buildId, r, options.at),
      ...(options.resultsAfterVerdict === 'backfilled' && { backfilled: true as const }),
    }),
  );
  const logged = options.resultsAfterVerdict ? undefined : await log.append(resultEntries);
  const shown = results
    .map((r, i) => ({ r, envelope: envelopes[i]! }))
    .filter(({ r }) => !options.hidden?.includes(r.operator));
  const policy = { threshold: options.threshold, allowFetchedEnvironments: false };
  const decision = decideVerdict({
    manifestSha256: HELLO.manifestSha256,
    claimedOutputs: [],
    policy,
    results: shown.map(({ r }) => r),
    openAttempts: 0,
    deadlinePassed: true,
    maxAttemptsReached: true,
  });
  const attestation = await signConsensusAttestation(
    {
      buildId,
      verifierId: 'https://coordinator.rbnet.example/',
      timeVerified: options.at,
      manifestSha256: HELLO.manifestSha256,
      claimedOutputs: [],
      policy,
      decision,
      envelopes: shown.map(({ envelope }) => envelope),
    },
    options.coordinator.signer,
  );
  const verdict = verdictEntryOf({
    buildId,
    sequence: 1,
    previousVerdict: 'pending',
    manifestSha256: HELLO.manifestSha256,
    decision,
    results: shown.map(({ r }) => r),
    consensusEnvelopeSha256: sha256Hex(attestation.envelopeJson),
    decidedAt: options.at,
  });
  const appended = await log.append([encodeLogEntry(verdict)]);
  const resultsAt = logged ?? (await log.append(resultEntries));
  return {
    buildId,
    consensusEnvelope: attestation.envelopeJson,
    decision,
    resultIndexes: results.map((_, i) => resultsAt.firstIndex + i),
    verdictIndex: appended.firstIndex,
    artifactSha256: (options.outputs ?? [DEB])[0]!.sha256,
    manifestSha256: HELLO.manifestSha256,
  };
}
