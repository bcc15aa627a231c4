// Tests for parsing trust policies: the accepted form, and every refusal naming its field.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import { newCosigner, newLogSigner } from '../tlog/tlog-fixtures.ts';
import { PolicyError } from './consensus-errors.ts';
import { NOW, newKey, policyDocument } from './consensus-test-fixtures.ts';
import {
  assertTrustPolicyCurrent,
  maxTrustPolicyBytes,
  operatorForKeyid,
  operatorKeys,
  parseTrustPolicy,
} from './trust-policy.ts';

const alpha = newKey();
const alpha2 = newKey();
const beta = newKey();
const coordinator = newKey();

function document(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...policyDocument({
      operators: [
        { name: 'alpha', keys: [alpha, alpha2] },
        { name: 'beta', keys: [beta] },
      ],
      threshold: 2,
    }),
    ...overrides,
  };
}

const parse = (value: unknown, now = NOW) => parseTrustPolicy(JSON.stringify(value), now);

function refusal(run: () => unknown, code = 'POLICY_INVALID'): PolicyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe(code);
    return error as PolicyError;
  }
  throw new Error('expected the policy to be refused');
}

describe('parseTrustPolicy accepts', () => {
  it('a complete policy, frozen, with defaults and the policy digest', () => {
    const text = JSON.stringify(
      document({ coordinatorKeys: [{ keyid: coordinator.keyid, publicKeyPem: coordinator.publicKeyPem }] }),
    );
    const policy = parseTrustPolicy(new TextEncoder().encode(text), NOW);
    expect(policy.schema).toBe('rbnet.trust-policy/v1');
    expect(policy.operators.map((o) => o.name)).toEqual(['alpha', 'beta']);
    expect(policy.operators[0]?.keys.map((k) => k.keyid)).toEqual([alpha.keyid, alpha2.keyid]);
    expect(policy.threshold).toBe(2);
    expect(policy.allowFetchedEnvironments).toBe(false);
    expect(policy.coordinatorKeys.map((k) => k.keyid)).toEqual([coordinator.keyid]);
    expect(policy.expiresAtMs).toBe(Date.parse('2027-01-01T00:00:00Z'));
    expect(policy.policySha256).toBe(sha256Hex(text));
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.operators[0]?.keys)).toBe(true);
  });

  it('maps keyids to operators, and never a coordinator key to one', () => {
    const policy = parse(
      document({ coordinatorKeys: [{ keyid: coordinator.keyid, publicKeyPem: coordinator.publicKeyPem }] }),
    );
    expect(operatorForKeyid(policy, alpha2.keyid)).toBe('alpha');
    expect(operatorForKeyid(policy, beta.keyid)).toBe('beta');
    expect(operatorForKeyid(policy, coordinator.keyid)).toBeUndefined();
    expect(operatorKeys(policy)).toHaveLength(3);
  });

  it('allowFetchedEnvironments true and a fractional-second expiry', () => {
    const policy = parse(document({ allowFetchedEnvironments: true, expires: '2027-01-01T00:00:00.250Z' }));
    expect(policy.allowFetchedEnvironments).toBe(true);
    expect(policy.expiresAtMs).toBe(Date.parse('2027-01-01T00:00:00.250Z'));
  });
});

describe('a transparency log in the policy', () => {
  const log = newLogSigner('log.rbnet.example/policy');
  const witness = newCosigner('witness.rbnet.example/p');
  const text = `log ${log.vkey}\nwitness W ${witness.vkey}\nquorum W\nmax-checkpoint-age 2d\n`;

  it('is parsed from the tlog policy text in $.transparencyLog', () => {
    const policy = parse(document({ transparencyLog: text }));
    expect(policy.transparencyLog).toMatchObject({ quorum: 'W', maxCheckpointAgeSeconds: 172800 });
    expect(policy.transparencyLog!.logs.map((l) => l.origin)).toEqual(['log.rbnet.example/policy']);
    expect(parse(document()).transparencyLog).toBeUndefined();
  });

  it('is refused, naming the field and the line, when it is not a valid tlog policy', () => {
    expect(refusal(() => parse(document({ transparencyLog: { log: log.vkey } }))).message).toMatch(
      /\$\.transparencyLog must be the text/,
    );
    expect(refusal(() => parse(document({ transparencyLog: `${text}quorum none\n` }))).message).toMatch(
      /\$\.transparencyLog: line 5: a second quorum line/,
    );
  });
});

describe('parseTrustPolicy refuses', () => {
  it('more than 1 MiB before parsing', () => {
    refusal(() => parseTrustPolicy(' '.repeat(maxTrustPolicyBytes + 1), NOW), 'POLICY_TOO_LARGE');
  });

  it('a duplicate JSON key', () => {
    const text = JSON.stringify(document()).replace('"threshold":2', '"threshold":2,"threshold":1');
    expect(refusal(() => parseTrustPolicy(text, NOW)).message).toContain('duplicate key "threshold"');
  });

  it('a fractional threshold (strict JSON: integers only)', () => {
    const text = JSON.stringify(document()).replace('"threshold":2', '"threshold":1.5');
    refusal(() => parseTrustPolicy(text, NOW));
  });

  it('unknown fields, naming them', () => {
    expect(refusal(() => parse(document({ quorum: 2 }))).message).toContain('$ has unknown field "quorum"');
    const withOperatorField = document();
    (withOperatorField.operators as Record<string, unknown>[])[1]!.url = 'https://beta.example';
    expect(refusal(() => parse(withOperatorField)).message).toContain(
      '$.operators[1] has unknown field "url"',
    );
    const withKeyField = document();
    (withKeyField.operators as { keys: Record<string, unknown>[] }[])[0]!.keys[0]!.scheme = 'ed25519';
    expect(refusal(() => parse(withKeyField)).message).toContain(
      '$.operators[0].keys[0] has unknown field "scheme"',
    );
  });

  it('another schema', () => {
    expect(refusal(() => parse(document({ schema: 'rbnet.trust-policy/v2' }))).message).toContain('$.schema');
  });

  it('a keyid that is not the keyid of the PEM next to it', () => {
    const wrong = document();
    (wrong.operators as { keys: Record<string, unknown>[] }[])[1]!.keys[0]!.keyid = alpha.keyid;
    const error = refusal(() => parse(wrong));
    expect(error.message).toContain('$.operators[1].keys[0].keyid');
    expect(error.message).toContain(beta.keyid);
  });

  it('one key listed under two operators', () => {
    const shared = policyDocument({
      operators: [
        { name: 'alpha', keys: [alpha] },
        { name: 'beta', keys: [beta, alpha] },
      ],
      threshold: 2,
    });
    const error = refusal(() => parse(shared));
    expect(error.message).toContain('$.operators[1].keys[1]');
    expect(error.message).toContain('already listed for operator "alpha"');
  });

  it('a coordinator key that is also an operator key', () => {
    const error = refusal(() =>
      parse(document({ coordinatorKeys: [{ keyid: beta.keyid, publicKeyPem: beta.publicKeyPem }] })),
    );
    expect(error.message).toContain('$.coordinatorKeys[0]');
  });

  it('a threshold above the number of operators, or below 1', () => {
    expect(refusal(() => parse(document({ threshold: 3 }))).message).toContain('only 2 operator(s)');
    refusal(() => parse(document({ threshold: 0 })));
    refusal(() => parse(document({ threshold: '2' })));
  });

  it('a private key where a public key belongs', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const leaked = document();
    (leaked.operators as { keys: Record<string, unknown>[] }[])[0]!.keys[0]!.publicKeyPem = pem;
    expect(refusal(() => parse(leaked)).message).toContain('PRIVATE key');
  });

  it('empty operators, an operator without keys, empty coordinatorKeys', () => {
    refusal(() => parse(document({ operators: [] })));
    refusal(() => parse(document({ operators: [{ name: 'alpha', keys: [] }], threshold: 1 })));
    expect(refusal(() => parse(document({ coordinatorKeys: [] }))).message).toContain('omit the field');
  });

  it('duplicate or non-lowercase operator names', () => {
    const twice = policyDocument({
      operators: [
        { name: 'alpha', keys: [alpha] },
        { name: 'alpha', keys: [beta] },
      ],
      threshold: 1,
    });
    expect(refusal(() => parse(twice)).message).toContain('appears more than once');
    const upper = policyDocument({ operators: [{ name: 'Alpha', keys: [alpha] }], threshold: 1 });
    expect(refusal(() => parse(upper)).message).toContain('$.operators[0].name');
  });

  it('an expiry that is not an RFC 3339 UTC instant', () => {
    for (const expires of ['2027-02-30T00:00:00Z', '2027-01-01T00:00:00+01:00', '2027-01-01', 1798761600]) {
      expect(refusal(() => parse(document({ expires }))).message).toContain('$.expires');
    }
  });

  it('a non-boolean allowFetchedEnvironments', () => {
    refusal(() => parse(document({ allowFetchedEnvironments: 'no' })));
  });
});

describe('expiry', () => {
  it('an expired policy is refused with POLICY_EXPIRED, also at the exact expiry instant', () => {
    refusal(() => parse(document(), new Date('2027-06-01T00:00:00Z')), 'POLICY_EXPIRED');
    refusal(() => parse(document(), new Date('2027-01-01T00:00:00Z')), 'POLICY_EXPIRED');
  });

  it('a policy parsed earlier is refused once it expires', () => {
    const policy = parse(document());
    expect(() => assertTrustPolicyCurrent(policy, NOW)).not.toThrow();
    refusal(() => assertTrustPolicyCurrent(policy, new Date('2030-01-01T00:00:00Z')), 'POLICY_EXPIRED');
  });
});
