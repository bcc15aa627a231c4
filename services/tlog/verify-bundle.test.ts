// Offline bundle verification: a build published into a witnessed log verifies with nothing but the
// bundle and a policy, as of a chosen time; every way to cut, rewrite or hide part of the record fails.
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../consensus/consensus-errors.ts';
import { newKey, policyDocument } from '../consensus/consensus-test-fixtures.ts';
import { parseTrustPolicy, type TrustPolicy } from '../consensus/trust-policy.ts';
import type { Sha256Hex } from '../digest.ts';
import { assembleBundle, formatBundle, parseBundle } from './rbnet-bundle.ts';
import { type PublishedBuild, publishBuild } from './tlog-build-fixtures.ts';
import { TlogError } from './tlog-errors.ts';
import { cosign, memoryLog, newCosigner, tlogPolicyText } from './tlog-fixtures.ts';
import { formatTlogProof, parseTlogProof } from './tlog-proof.ts';
import { verifyBundle } from './verify-bundle.ts';

const ORIGIN = 'log.rbnet.example/bundles';
const keys = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const coordinator = newKey();
const witnesses = [newCosigner('witness.one.example/w'), newCosigner('witness.two.example/w')];
const PUBLISHED_AT = new Date('2026-05-01T10:00:00Z');
const COSIGNED_AT = PUBLISHED_AT.getTime() / 1000 + 60;

async function setup(
  options: {
    hidden?: string[];
    dissenters?: string[];
    extraLine?: string;
    resultsAfterVerdict?: 'backfilled' | 'unmarked';
  } = {},
) {
  const { log, signer } = await memoryLog(ORIGIN);
  const build = await publishBuild(log, { keys, coordinator, threshold: 2, at: PUBLISHED_AT, ...options });
  const checkpoint = await cosign(await log.signedCheckpoint(), witnesses, COSIGNED_AT);
  const proof = (index: number) => log.tlogProof(index, checkpoint);
  const proofs = [await proof(build.verdictIndex), ...(await Promise.all(build.resultIndexes.map(proof)))];
  const policyText = tlogPolicyText({
    logVkey: signer.vkey,
    witnesses,
    quorum: 'both',
    maxAge: '7d',
    extra: [`group both all ${witnesses.map((w) => w.name).join(' ')}`],
  });
  const policy = parseTrustPolicy(
    JSON.stringify({
      ...policyDocument({
        operators: Object.entries(keys).map(([name, key]) => ({ name, keys: [key] })),
        threshold: 2,
        expires: '2027-01-01T00:00:00Z',
      }),
      transparencyLog: policyText,
    }),
    PUBLISHED_AT,
  );
  return { log, build, checkpoint, proofs, policy, bundle: assembleBundle(build.consensusEnvelope, proofs) };
}

/** Checks as a consumer who pinned the build's manifest, one hour after the witnesses cosigned (by default). */
function check(
  bundle: string,
  policy: TrustPolicy,
  build: PublishedBuild,
  at = new Date(COSIGNED_AT * 1000 + 3600_000),
) {
  return verifyBundle({
    bundle,
    policy,
    artifactSha256: build.artifactSha256,
    pin: { manifestSha256: build.manifestSha256 as Sha256Hex },
    at,
  });
}

describe('verifyBundle', () => {
  it('verifies a published build offline: consensus, log signature, witness quorum, every inclusion', async () => {
    const { build, bundle, policy } = await setup();
    const result = check(bundle, policy, build);
    expect(result.logProblems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.verdictLogged).toMatchObject({ index: build.verdictIndex, origin: ORIGIN });
    expect(result.resultsLogged.map((r) => r.index)).toEqual(build.resultIndexes);
    expect(result.explanation).toMatch(/witnessed as your policy requires/);
  });

  it('judges checkpoint age and policy expiry at the time given, not now', async () => {
    const { build, bundle, policy } = await setup();
    const eightDaysLater = new Date(COSIGNED_AT * 1000 + 8 * 86400_000);
    const stale = check(bundle, policy, build, eightDaysLater);
    expect(stale.ok).toBe(false);
    expect(stale.logProblems.join('\n')).toMatch(/QUORUM_NOT_MET/);
    const beforeCosigned = check(bundle, policy, build, new Date(COSIGNED_AT * 1000 - 3600_000));
    expect(beforeCosigned.ok).toBe(false);
    expect(() => check(bundle, policy, build, new Date('2027-02-01T00:00:00Z'))).toThrow(PolicyError);
  });

  it('refuses a result logged but hidden from the verdict, and a bundle that leaves out a logged result', async () => {
    const { build, proofs, policy } = await setup({ hidden: ['gamma'] });
    const withHidden = check(assembleBundle(build.consensusEnvelope, proofs), policy, build);
    expect(withHidden.ok).toBe(false);
    expect(withHidden.logProblems.join('\n')).toMatch(/not account for it \(a hidden result\)/);
    const honest = await setup();
    const withoutOne = check(
      assembleBundle(honest.build.consensusEnvelope, honest.proofs.slice(0, -1)),
      honest.policy,
      honest.build,
    );
    expect(withoutOne.ok).toBe(false);
    expect(withoutOne.logProblems.join('\n')).toMatch(/no log proof of it/);
  });

  it('accepts results logged after their verdict only when the upgrade backfilled them', async () => {
    const backfilled = await setup({ resultsAfterVerdict: 'backfilled' });
    expect(backfilled.build.resultIndexes[0]).toBeGreaterThan(backfilled.build.verdictIndex);
    const ok = check(backfilled.bundle, backfilled.policy, backfilled.build);
    expect(ok.logProblems).toEqual([]);
    expect(ok.ok).toBe(true);
    const unmarked = await setup({ resultsAfterVerdict: 'unmarked' });
    const refused = check(unmarked.bundle, unmarked.policy, unmarked.build);
    expect(refused.ok).toBe(false);
    expect(refused.logProblems).toHaveLength(3);
    expect(refused.logProblems[0]).toMatch(
      /result proof 0 is logged at index 1, after the verdict \(index 0\)/,
    );
  });

  it('refuses a rewritten entry, a tampered inclusion proof, and a checkpoint without the witnesses', async () => {
    const { build, proofs, policy, checkpoint } = await setup();
    const result = parseTlogProof(proofs[1]!);
    const rewritten = Buffer.from(
      Buffer.from(result.extra!).toString().replace('2026-05-01T10:00:00', '2026-05-01T10:00:01'),
    );
    const edited = [proofs[0]!, formatTlogProof({ ...result, extra: rewritten }), ...proofs.slice(2)];
    const bad = check(assembleBundle(build.consensusEnvelope, edited), policy, build);
    expect(bad.logProblems.join('\n')).toMatch(/PROOF_INVALID.*does not lead to the root/);
    const tampered = [
      proofs[0]!,
      formatTlogProof({ ...result, inclusionProof: [...result.inclusionProof].reverse() }),
      ...proofs.slice(2),
    ];
    expect(check(assembleBundle(build.consensusEnvelope, tampered), policy, build).ok).toBe(false);
    const unwitnessed = proofs.map((p) =>
      p.replace(
        checkpoint,
        checkpoint
          .split('\n')
          .filter((l) => !l.includes('witness.'))
          .join('\n'),
      ),
    );
    const lone = check(assembleBundle(build.consensusEnvelope, unwitnessed), policy, build);
    expect(lone.ok).toBe(false);
    expect(lone.logProblems.join('\n')).toMatch(/QUORUM_NOT_MET/);
  });

  it('does not verify a dissent: the consensus is re-counted under the consumer policy', async () => {
    const { build, bundle, policy } = await setup({ dissenters: ['gamma'] });
    const result = check(bundle, policy, build);
    expect(result.logProblems).toEqual([]);
    expect(result.ok).toBe(false);
    expect(result.consensus.verdict).toBe('diverged');
  });

  it('refuses malformed bundles and a verdict proof of another attestation', async () => {
    const { build, proofs, bundle } = await setup();
    expect(() => parseBundle('{}')).toThrow(TlogError);
    expect(() => parseBundle(bundle.replace('"mediaType"', '"mediaType": 1, "x"'))).toThrow(
      /not strict JSON|unknown field/,
    );
    expect(() => assembleBundle(`${build.consensusEnvelope} `, proofs)).toThrow(
      /exactly one proof of a verdict/,
    );
    const other = formatBundle({
      consensusEnvelope: `${build.consensusEnvelope} `,
      verdictProof: proofs[0]!,
      resultProofs: proofs.slice(1),
    });
    expect(() => parseBundle(other)).toThrow(/names another consensus attestation/);
    expect(() =>
      parseBundle(
        formatBundle({
          consensusEnvelope: build.consensusEnvelope,
          verdictProof: proofs[1]!,
          resultProofs: [],
        }),
      ),
    ).toThrow(/not a verdict/);
  });
});
