// Tests for the consumer-side check: real keys and envelopes, a coordinator that may lie, a policy that counts.
import { beforeAll, describe, expect, it } from 'vitest';
import { preAuthEncoding } from '../attestation/dsse.ts';
import type { SignedRebuildStatement } from '../attestation/sign-rebuild-statement.ts';
import { sha256Hex } from '../digest.ts';
import { DigestError } from '../errors.ts';
import type { BuildPin } from './build-pin.ts';
import {
  composeConsensusStatement,
  RBNET_CONSENSUS_EXTENSION,
  signConsensusAttestation,
} from './consensus-attestation.ts';
import { ConsensusError, PolicyError } from './consensus-errors.ts';
import {
  DBGSYM,
  DEB,
  digestOf,
  HELLO,
  intake,
  manifestFor,
  NOW,
  newKey,
  policyDocument,
  type RebuildOptions,
  signRebuild,
  type TestKey,
} from './consensus-test-fixtures.ts';
import { type Decision, decideVerdict } from './decide-verdict.ts';
import { parseTrustPolicy, type TrustPolicy } from './trust-policy.ts';
import { verifyConsensus } from './verify-consensus.ts';

const alpha = newKey();
const alpha2 = newKey();
const alpha3 = newKey();
const beta = newKey();
const gamma = newKey();
const delta = newKey();
const coordinator = newKey();
const impostor = newKey();

function policy(
  options: { threshold?: number; allowFetchedEnvironments?: boolean; coordinatorKeys?: TestKey[] } = {},
): TrustPolicy {
  const document = policyDocument({
    operators: [
      { name: 'alpha', keys: [alpha, alpha2, alpha3] },
      { name: 'beta', keys: [beta] },
      { name: 'gamma', keys: [gamma] },
      { name: 'delta', keys: [delta] },
    ],
    threshold: options.threshold ?? 3,
    ...(options.allowFetchedEnvironments !== undefined && {
      allowFetchedEnvironments: options.allowFetchedEnvironments,
    }),
    ...(options.coordinatorKeys !== undefined && { coordinatorKeys: options.coordinatorKeys }),
  });
  return parseTrustPolicy(JSON.stringify(document), NOW);
}

const sign = (key: TestKey, options: RebuildOptions) => signRebuild(key, options);
let honest: SignedRebuildStatement[];
let honestDecision: Decision;

beforeAll(async () => {
  honest = [
    await sign(alpha, { operator: 'alpha' }),
    await sign(beta, { operator: 'beta' }),
    await sign(gamma, { operator: 'gamma' }),
  ];
  const keys = [alpha, beta, gamma];
  honestDecision = decideVerdict({
    manifestSha256: HELLO.manifestSha256,
    claimedOutputs: [],
    policy: { threshold: 3, allowFetchedEnvironments: false },
    results: honest.map((s, i) => intake(s.envelopeJson, keys[i]!, ['alpha', 'beta', 'gamma'][i]!)),
    openAttempts: 0,
    deadlinePassed: true,
    maxAttemptsReached: true,
  });
});

const texts = (signed: readonly SignedRebuildStatement[]) => signed.map((s) => s.envelopeJson);

/** The coordinator's attestation over `envelopes`; its decision is whatever it claims (honest by default). */
async function consensus(
  envelopes: readonly string[],
  signer = coordinator.signer,
  decision = honestDecision,
): Promise<string> {
  const signed = await signConsensusAttestation(
    {
      buildId: 'build-7',
      verifierId: 'https://coordinator.rbnet.example/',
      timeVerified: new Date('2025-02-01T00:00:00Z'),
      manifestSha256: HELLO.manifestSha256,
      claimedOutputs: [],
      policy: { threshold: 3, allowFetchedEnvironments: false },
      decision,
      envelopes,
    },
    signer,
  );
  return signed.envelopeJson;
}

/** A statement our composer would refuse, signed anyway, as a compromised coordinator could. */
async function forged(envelopes: readonly string[]): Promise<string> {
  const statement = structuredClone(
    composeConsensusStatement({
      buildId: 'build-7',
      verifierId: 'https://coordinator.rbnet.example/',
      timeVerified: new Date('2025-02-01T00:00:00Z'),
      manifestSha256: HELLO.manifestSha256,
      claimedOutputs: [],
      policy: { threshold: 3, allowFetchedEnvironments: false },
      decision: honestDecision,
      envelopes: [...new Set(envelopes)],
    }),
    // biome-ignore lint/suspicious/noExplicitAny: a deliberately edited copy.
  ) as Record<string, any>;
  statement.predicate[RBNET_CONSENSUS_EXTENSION].envelopes = [...envelopes];
  statement.predicate.inputAttestations = envelopes.map((text) => ({
    uri: `rbnet:envelope/${sha256Hex(text)}`,
    digest: { sha256: sha256Hex(text) },
  }));
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = await coordinator.signer.sign(preAuthEncoding('application/vnd.in-toto+json', payload));
  return JSON.stringify({
    payloadType: 'application/vnd.in-toto+json',
    payload: payload.toString('base64'),
    signatures: [{ keyid: coordinator.keyid, sig: Buffer.from(sig).toString('base64') }],
  });
}

/** The manifest every honest envelope is about: what the consumer pins unless a test says otherwise. */
const PIN: BuildPin = { manifestSha256: HELLO.manifestSha256 };

const verify = (
  consensusEnvelope: string,
  trust: TrustPolicy = policy(),
  artifactSha256: string = DEB.sha256,
  pin: BuildPin = PIN,
) => verifyConsensus({ consensusEnvelope, policy: trust, artifactSha256, now: NOW, pin });

describe('verifyConsensus accepts', () => {
  it('three pinned operators agreeing with k=3, the file among their outputs', async () => {
    const result = verify(await consensus(texts(honest)));
    expect(result.ok).toBe(true);
    expect(result.verdict).toBe('agreed');
    expect(result.countedOperators).toEqual(['alpha', 'beta', 'gamma']);
    expect(result.artifactPaths).toEqual([DEB.path]);
    expect(result.coordinatorSignature).toBe('not-required');
    expect(result.rejected).toEqual([]);
    expect(result.explanation).toContain('3 pinned operator(s) (alpha, beta, gamma)');
    expect(result.pinned).toBe(`manifest sha256:${HELLO.manifestSha256}`);
    expect(result.builtFrom).toEqual({
      manifestSha256: HELLO.manifestSha256,
      manifestName: 'hello',
      environment: { sha256: digestOf('bookworm rootfs'), origin: 'built-locally' },
      inputs: [{ path: 'hello_1.0.tar.gz', sha256: digestOf('source') }],
    });
  });

  it('the other agreed file too, and with a pinned coordinator key that signed', async () => {
    const result = verify(
      await consensus(texts(honest)),
      policy({ coordinatorKeys: [coordinator] }),
      DBGSYM.sha256,
    );
    expect(result.ok).toBe(true);
    expect(result.coordinatorSignature).toBe('verified');
  });

  it('fetched environments when the policy allows them', async () => {
    const fetchedGamma = await sign(gamma, { operator: 'gamma', origin: 'fetched' });
    const envelope = await consensus([...texts(honest.slice(0, 2)), fetchedGamma.envelopeJson]);
    expect(verify(envelope, policy({ allowFetchedEnvironments: true })).ok).toBe(true);
  });
});

describe('verifyConsensus rejects', () => {
  it('envelopes signed by keys the policy does not pin', async () => {
    const others = [newKey(), newKey(), newKey()];
    const signed = await Promise.all(
      others.map((key, i) => sign(key, { operator: ['alpha', 'beta', 'gamma'][i]! })),
    );
    const result = verify(await consensus(texts(signed)));
    expect(result.ok).toBe(false);
    expect(result.verdict).toBe('insufficient-operators');
    expect(result.countedOperators).toEqual([]);
    expect(result.rejected).toHaveLength(3);
    expect(result.rejected[0]?.reason).toContain('SIGNATURE_INVALID');
    expect(result.rejected[0]?.keyid).toBe(others[0]!.keyid);
  });

  it('a file that differs by one byte (a different digest)', async () => {
    const result = verify(await consensus(texts(honest)), policy(), sha256Hex('deb bytez'));
    expect(result.ok).toBe(false);
    expect(result.verdict).toBe('agreed');
    expect(result.artifactPaths).toEqual([]);
    expect(result.explanation).toContain('is not among the 2 agreed output(s)');
  });

  it('one embedded envelope altered: that operator no longer counts, below threshold', async () => {
    const envelope = JSON.parse(honest[2]!.envelopeJson);
    const payload = Buffer.from(envelope.payload, 'base64')
      .toString('utf8')
      .replace('"gamma-w1"', '"gamma-w9"');
    const altered = JSON.stringify({ ...envelope, payload: Buffer.from(payload).toString('base64') });
    const result = verify(await consensus([...texts(honest.slice(0, 2)), altered]));
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha', 'beta']);
    expect(result.rejected).toEqual([
      expect.objectContaining({ keyid: gamma.keyid, reason: expect.stringContaining('SIGNATURE_INVALID') }),
    ]);
  });

  it('three envelopes of ONE operator with k=3 (three of its keys, three workers)', async () => {
    const signed = [
      await sign(alpha, { operator: 'alpha', workerId: 'w1' }),
      await sign(alpha2, { operator: 'alpha', workerId: 'w2' }),
      await sign(alpha3, { operator: 'alpha', workerId: 'w3' }),
    ];
    const result = verify(await consensus(texts(signed)));
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha']);
    expect(result.rejected.map((r) => r.reason)).toEqual([
      'not counted: this operator already counts once',
      'not counted: this operator already counts once',
    ]);
  });

  it('operator names written inside envelopes: only the policy says whose key it is', async () => {
    const signed = [
      await sign(alpha, { operator: 'alpha' }),
      await sign(alpha, { operator: 'beta' }),
      await sign(alpha, { operator: 'gamma' }),
    ];
    const result = verify(await consensus(texts(signed)));
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha']);
  });

  it('the same envelope embedded twice', async () => {
    const envelope = await forged([honest[0]!.envelopeJson, honest[0]!.envelopeJson]);
    const result = verify(envelope, policy({ threshold: 2 }));
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha']);
    expect(result.rejected).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('embedded more than once') }),
    ]);
  });

  it('envelopes for a manifest other than the pinned one', async () => {
    const other = manifestFor('other');
    const elsewhere = await sign(gamma, { operator: 'gamma', manifest: other });
    const result = verify(await consensus([...texts(honest.slice(0, 2)), elsewhere.envelopeJson]));
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha', 'beta']);
    expect(result.rejected).toEqual([
      expect.objectContaining({
        operator: 'gamma',
        reason: `does not satisfy your pin: built from manifest sha256:${other.manifestSha256}, but you pinned manifest sha256:${HELLO.manifestSha256}`,
      }),
    ]);
  });

  it('envelopes for a manifest other than the attested one, when the pin names a Debian source only', async () => {
    const source = {
      name: 'hello',
      version: '1.0-1',
      origin: 'archive',
      dscSha256: digestOf('dsc'),
    } as const;
    const signed = [
      await sign(alpha, { operator: 'alpha', debianSource: source }),
      await sign(beta, { operator: 'beta', debianSource: source }),
      await sign(gamma, { operator: 'gamma', debianSource: source, manifest: manifestFor('other') }),
    ];
    const result = verify(await consensus(texts(signed)), policy(), DEB.sha256, {
      debianSource: { name: 'hello', version: '1.0-1' },
    });
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual(['alpha', 'beta']);
    expect(result.rejected).toEqual([
      expect.objectContaining({
        operator: 'gamma',
        reason: 'not counted: the envelope is for a different manifest',
      }),
    ]);
  });

  it('a manifest other than the one the consumer pinned: nothing counts, and each statement says what it was built from', async () => {
    const asked = manifestFor('what I asked for');
    const result = verify(await consensus(texts(honest)), policy(), DEB.sha256, {
      manifestSha256: asked.manifestSha256,
    });
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual([]);
    expect(result.builtFrom).toBeUndefined();
    expect(result.rejected).toHaveLength(3);
    for (const rejection of result.rejected)
      expect(rejection.reason).toContain(`built from manifest sha256:${HELLO.manifestSha256}`);
    expect(result.explanation).toContain(
      '3 verified statement(s) were built from something other than what you pinned',
    );
  });

  it('no pin at all, with PIN_MISSING', async () => {
    const envelope = await consensus(texts(honest));
    expect(() => verify(envelope, policy(), DEB.sha256, {})).toThrow(
      expect.objectContaining({ code: 'PIN_MISSING' }),
    );
  });

  it('an expired policy, with POLICY_EXPIRED', async () => {
    const envelope = await consensus(texts(honest));
    const run = () =>
      verifyConsensus({
        consensusEnvelope: envelope,
        policy: policy(),
        artifactSha256: DEB.sha256,
        now: new Date('2027-01-02T00:00:00Z'),
        pin: PIN,
      });
    expect(run).toThrow(PolicyError);
    expect(run).toThrow(expect.objectContaining({ code: 'POLICY_EXPIRED' }));
  });

  it('a fetched environment when the policy does not allow it', async () => {
    const fetchedGamma = await sign(gamma, { operator: 'gamma', origin: 'fetched' });
    const result = verify(await consensus([...texts(honest.slice(0, 2)), fetchedGamma.envelopeJson]));
    expect(result.ok).toBe(false);
    expect(result.rejected).toEqual([
      expect.objectContaining({
        operator: 'gamma',
        keyid: gamma.keyid,
        reason: expect.stringContaining('fetched environment'),
      }),
    ]);
  });

  it('any signed dissent, whatever the coordinator claims', async () => {
    const dissent = await sign(delta, {
      operator: 'delta',
      outputs: [DEB, { ...DBGSYM, sha256: digestOf('other dbgsym') }],
    });
    const result = verify(await consensus([...texts(honest), dissent.envelopeJson]));
    expect(result.coordinatorVerdict).toBe('agreed');
    expect(result.verdict).toBe('diverged');
    expect(result.ok).toBe(false);
    expect(result.decision.dissent?.map((d) => [d.operator, d.differingPaths])).toEqual([
      ['delta', [DBGSYM.path]],
    ]);
  });

  it('a coordinator signature by another key when the policy pins the coordinator', async () => {
    const result = verify(
      await consensus(texts(honest), impostor.signer),
      policy({ coordinatorKeys: [coordinator] }),
    );
    expect(result.ok).toBe(false);
    expect(result.coordinatorSignature).toBe('invalid');
    expect(result.verdict).toBe('agreed');
    expect(result.explanation).toContain('coordinator');
  });

  it('something that is not a consensus attestation, with CONSENSUS_INVALID', () => {
    expect(() => verify(honest[0]!.envelopeJson)).toThrow(ConsensusError);
    expect(() => verify('not json')).toThrow(expect.objectContaining({ code: 'CONSENSUS_INVALID' }));
  });

  it('an artifact digest that is not a sha256', async () => {
    const envelope = await consensus(texts(honest));
    expect(() => verify(envelope, policy(), 'sha256:abc')).toThrow(DigestError);
  });
});

describe('verifyConsensus with a Debian source pin', () => {
  const archive = { name: 'hello', version: '1.0-1', origin: 'archive', dscSha256: digestOf('dsc') } as const;
  const HELLO_1_0 = { debianSource: { name: 'hello', version: '1.0-1' } };
  const signAll = (source: RebuildOptions['debianSource'] | undefined) =>
    Promise.all(
      [alpha, beta, gamma].map((key, i) =>
        sign(key, { operator: ['alpha', 'beta', 'gamma'][i]!, ...(source && { debianSource: source }) }),
      ),
    );

  it('accepts statements whose workers fetched that source from the archive, and says so', async () => {
    const result = verify(await consensus(texts(await signAll(archive))), policy(), DEB.sha256, HELLO_1_0);
    expect(result.ok).toBe(true);
    expect(result.builtFrom?.debianSource).toEqual(archive);
    expect(result.pinned).toBe('Debian source hello 1.0-1 from the archive');
  });

  it.each([
    [
      'uploaded by the submitter',
      { ...archive, origin: 'uploaded' },
      /uploaded by the submitter, not fetched from the signed archive/,
    ],
    [
      'another version',
      { ...archive, version: '1.0-2' },
      /built from Debian source hello 1\.0-2, but you pinned hello 1\.0-1/,
    ],
    ['another source package', { ...archive, name: 'hellp' }, /built from Debian source hellp 1\.0-1/],
  ] as const)('refuses a source %s', async (_label, source, reason) => {
    const result = verify(await consensus(texts(await signAll(source))), policy(), DEB.sha256, HELLO_1_0);
    expect(result.ok).toBe(false);
    expect(result.countedOperators).toEqual([]);
    expect(result.rejected).toHaveLength(3);
    for (const rejection of result.rejected) expect(rejection.reason).toMatch(reason);
  });

  it('refuses statements that do not sign where their source came from', async () => {
    const result = verify(await consensus(texts(await signAll(undefined))), policy(), DEB.sha256, HELLO_1_0);
    expect(result.ok).toBe(false);
    expect(result.rejected[0]?.reason).toMatch(/does not say which Debian source/);
  });

  it('refuses counted operators that sign different sources for the same manifest and inputs', async () => {
    const signed = [
      await sign(alpha, { operator: 'alpha', debianSource: archive }),
      await sign(beta, { operator: 'beta', debianSource: archive }),
      await sign(gamma, { operator: 'gamma', debianSource: { ...archive, origin: 'uploaded' } }),
    ];
    const result = verify(await consensus(texts(signed)));
    expect(result.verdict).toBe('agreed');
    expect(result.ok).toBe(false);
    expect(result.explanation).toContain('sign different Debian sources');
  });
});
