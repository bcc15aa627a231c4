// Tests for the coordinator's consensus attestation (SLSA VSA v1): composition, signing, strict reading.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDsseEnvelope, preAuthEncoding, verifyDsseEnvelope } from '../attestation/dsse.ts';
import { sha256Hex } from '../digest.ts';
import {
  type ConsensusFacts,
  composeConsensusStatement,
  consensusPolicyDigest,
  parseConsensusEnvelope,
  parseConsensusStatement,
  RBNET_CONSENSUS_EXTENSION,
  readConsensusStatement,
  SLSA_VSA_V1,
  signConsensusAttestation,
} from './consensus-attestation.ts';
import { ConsensusError } from './consensus-errors.ts';
import {
  DBGSYM,
  DEB,
  digestOf,
  HELLO,
  intake,
  newKey,
  signRebuild,
  type TestKey,
} from './consensus-test-fixtures.ts';
import { type ConsensusResult, type Decision, decideVerdict } from './decide-verdict.ts';

const coordinator = newKey();
const keys: Record<string, TestKey> = { alpha: newKey(), beta: newKey(), gamma: newKey() };
const policy = { threshold: 3, allowFetchedEnvironments: false };
let agreeing: { envelopes: string[]; results: ConsensusResult[] };
let dissenting: { envelopes: string[]; results: ConsensusResult[] };

beforeAll(async () => {
  const envelopes = await Promise.all(
    Object.entries(keys).map(([operator, key]) => signRebuild(key, { operator })),
  );
  agreeing = {
    envelopes: envelopes.map((e) => e.envelopeJson),
    results: envelopes.map((e, i) => intake(e.envelopeJson, Object.values(keys)[i]!, Object.keys(keys)[i]!)),
  };
  const odd = await signRebuild(keys.gamma!, {
    operator: 'gamma',
    outputs: [DEB, { ...DBGSYM, sha256: digestOf('odd') }],
  });
  dissenting = {
    envelopes: [...agreeing.envelopes.slice(0, 2), odd.envelopeJson],
    results: [...agreeing.results.slice(0, 2), intake(odd.envelopeJson, keys.gamma!, 'gamma')],
  };
});

function decisionOver(
  results: readonly ConsensusResult[],
  claimedOutputs: ConsensusFacts['claimedOutputs'] = [],
): Decision {
  return decideVerdict({
    manifestSha256: HELLO.manifestSha256,
    claimedOutputs,
    policy,
    results,
    openAttempts: 0,
    deadlinePassed: true,
    maxAttemptsReached: true,
  });
}

function facts(overrides: Partial<ConsensusFacts> = {}): ConsensusFacts {
  return {
    buildId: 'build-42',
    verifierId: 'https://coordinator.rbnet.example/',
    timeVerified: new Date('2025-02-01T00:00:00Z'),
    manifestSha256: HELLO.manifestSha256,
    claimedOutputs: [],
    policy,
    decision: decisionOver(agreeing.results),
    envelopes: agreeing.envelopes,
    ...overrides,
  };
}

function refusal(run: () => unknown): ConsensusError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConsensusError);
    expect((error as ConsensusError).code).toBe('CONSENSUS_INVALID');
    return error as ConsensusError;
  }
  throw new Error('expected a refusal');
}

// biome-ignore lint/suspicious/noExplicitAny: tests edit a plain copy of the statement one field at a time.
type Editable = Record<string, any>;

describe('signConsensusAttestation', () => {
  it('signs an in-toto Statement with a SLSA VSA v1 predicate carrying every worker envelope', async () => {
    const signed = await signConsensusAttestation(facts(), coordinator.signer);
    expect(verifyDsseEnvelope(parseDsseEnvelope(signed.envelopeJson), [coordinator.publicKey]).keyid).toBe(
      coordinator.keyid,
    );
    const statement = readConsensusStatement(parseConsensusEnvelope(signed.envelopeJson));
    expect(statement).toEqual(signed.statement);
    expect(statement.predicateType).toBe(SLSA_VSA_V1);
    expect(statement.subject).toEqual([
      { name: DBGSYM.path, digest: { sha256: DBGSYM.sha256 } },
      { name: DEB.path, digest: { sha256: DEB.sha256 } },
    ]);
    const { predicate } = statement;
    expect(predicate.verifier.id).toBe('https://coordinator.rbnet.example/');
    expect(predicate.timeVerified).toBe('2025-02-01T00:00:00.000Z');
    expect(predicate.resourceUri).toBe('rbnet:build/build-42');
    expect(predicate.policy).toEqual({
      uri: 'https://rbnet.dev/consensus-policy/v1',
      digest: { sha256: consensusPolicyDigest(policy) },
    });
    expect(predicate.inputAttestations).toEqual(
      agreeing.envelopes.map((text) => ({
        uri: `rbnet:envelope/${sha256Hex(text)}`,
        digest: { sha256: sha256Hex(text) },
      })),
    );
    expect(predicate.verificationResult).toBe('PASSED');
    expect(predicate.verifiedLevels).toEqual(['RBNET_REBUILD_AGREED_K3']);
    expect(predicate[RBNET_CONSENSUS_EXTENSION]).toMatchObject({
      verdict: 'agreed',
      threshold: 3,
      allowFetchedEnvironments: false,
      manifestSha256: HELLO.manifestSha256,
      countedOperators: ['alpha', 'beta', 'gamma'],
      envelopes: agreeing.envelopes,
    });
  });

  it('reproducible is PASSED at level RBNET_REPRODUCIBLE_K<k>', () => {
    const claimed = [DEB, DBGSYM].map(({ path, sha256 }) => ({ path, sha256 }));
    const statement = composeConsensusStatement(
      facts({ claimedOutputs: claimed, decision: decisionOver(agreeing.results, claimed) }),
    );
    expect(statement.predicate.verifiedLevels).toEqual(['RBNET_REPRODUCIBLE_K3']);
  });

  it('mismatch-upstream is FAILED, and its subjects are the published files that did not reproduce', () => {
    const claimed = [{ path: DEB.path, sha256: digestOf('published deb') }];
    const statement = composeConsensusStatement(
      facts({ claimedOutputs: claimed, decision: decisionOver(agreeing.results, claimed) }),
    );
    expect(statement.predicate[RBNET_CONSENSUS_EXTENSION].verdict).toBe('mismatch-upstream');
    expect(statement.predicate.verificationResult).toBe('FAILED');
    expect(statement.predicate.verifiedLevels).toEqual(['FAILED']);
    expect(statement.subject).toEqual([{ name: DEB.path, digest: { sha256: claimed[0]!.sha256 } }]);
  });

  it('diverged with nothing claimed is FAILED about the manifest, dissenter embedded', () => {
    const statement = composeConsensusStatement(
      facts({ decision: decisionOver(dissenting.results), envelopes: dissenting.envelopes }),
    );
    expect(statement.predicate[RBNET_CONSENSUS_EXTENSION].verdict).toBe('diverged');
    expect(statement.subject).toEqual([{ name: 'rbnet:manifest', digest: { sha256: HELLO.manifestSha256 } }]);
    expect(statement.predicate.inputAttestations).toHaveLength(3);
  });

  it('refuses a pending decision', () => {
    const pending = decideVerdict({
      ...{ manifestSha256: HELLO.manifestSha256, claimedOutputs: [], policy },
      results: [],
      openAttempts: 3,
      deadlinePassed: false,
      maxAttemptsReached: false,
    });
    expect(refusal(() => composeConsensusStatement(facts({ decision: pending }))).message).toContain(
      'pending',
    );
  });

  it('refuses to leave a dissenter’s envelope out', () => {
    const error = refusal(() =>
      composeConsensusStatement(
        facts({ decision: decisionOver(dissenting.results), envelopes: dissenting.envelopes.slice(0, 2) }),
      ),
    );
    expect(error.message).toContain('not embedded');
  });

  it('refuses an envelope embedded twice, or text that is not a DSSE envelope', () => {
    refusal(() =>
      composeConsensusStatement(facts({ envelopes: [...agreeing.envelopes, agreeing.envelopes[0]!] })),
    );
    expect(refusal(() => composeConsensusStatement(facts({ envelopes: ['{"hello":1}'] }))).message).toContain(
      'envelopes[0]',
    );
  });

  it('refuses a verifier id that is not an absolute URI', () => {
    refusal(() => composeConsensusStatement(facts({ verifierId: 'coordinator' })));
  });
});

describe('parseConsensusStatement', () => {
  const editable = (): Editable => structuredClone(composeConsensusStatement(facts())) as Editable;

  it('refuses inputAttestations that do not list exactly the embedded envelopes', () => {
    const statement = editable();
    statement.predicate.inputAttestations.pop();
    expect(refusal(() => parseConsensusStatement(statement)).message).toContain('inputAttestations');
  });

  it('refuses a policy digest that does not match the threshold carried', () => {
    const statement = editable();
    statement.predicate[RBNET_CONSENSUS_EXTENSION].threshold = 1;
    expect(refusal(() => parseConsensusStatement(statement)).message).toContain('policy.digest');
  });

  it('refuses PASSED for a verdict that is not a quorum', () => {
    const statement = structuredClone(
      composeConsensusStatement(
        facts({ decision: decisionOver(dissenting.results), envelopes: dissenting.envelopes }),
      ),
    ) as Editable;
    statement.predicate.verificationResult = 'PASSED';
    expect(refusal(() => parseConsensusStatement(statement)).message).toContain('verificationResult');
  });

  it('refuses an unknown or pending verdict', () => {
    const unknown = editable();
    unknown.predicate[RBNET_CONSENSUS_EXTENSION].verdict = 'mostly-fine';
    refusal(() => parseConsensusStatement(unknown));
    const pending = editable();
    pending.predicate[RBNET_CONSENSUS_EXTENSION].verdict = 'pending';
    refusal(() => parseConsensusStatement(pending));
  });

  it('refuses a payload with a duplicate key', async () => {
    const payload = Buffer.from(
      JSON.stringify(composeConsensusStatement(facts())).replace('{"_type":', '{"_type":"x","_type":'),
    );
    const sig = await coordinator.signer.sign(preAuthEncoding('application/vnd.in-toto+json', payload));
    const envelope = parseDsseEnvelope(
      JSON.stringify({
        payloadType: 'application/vnd.in-toto+json',
        payload: payload.toString('base64'),
        signatures: [{ keyid: coordinator.keyid, sig: Buffer.from(sig).toString('base64') }],
      }),
    );
    expect(refusal(() => readConsensusStatement(envelope)).message).toContain('duplicate key');
  });
});
