// Tests for verifying rebuild attestations: round trip, tampering, and every refusal path.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import { AttestationError } from '../errors.ts';
import type { ParsedManifest } from '../manifest/manifest.ts';
import { preAuthEncoding } from './dsse.ts';
import { securesystemslibKeyid } from './ed25519-key.ts';
import type { RebuildFacts } from './rebuild-statement.ts';
import { composeRebuildStatement, signRebuildStatement } from './sign-rebuild-statement.ts';
import { Ed25519FileSigner } from './signer.ts';
import { verifyRebuildAttestation } from './verify-rebuild-attestation.ts';

const digest = (label: string) => sha256Hex(label);

// Built by hand: the manifest parser is written elsewhere, and only these fields are read.
function manifestFor(name: string): ParsedManifest {
  return {
    manifest: { name },
    manifestSha256: digest(name),
    canonicalJson: '{}',
  } as unknown as ParsedManifest;
}

function facts(overrides: Partial<RebuildFacts> = {}): RebuildFacts {
  return {
    manifest: manifestFor('hello'),
    outputs: [{ path: 'hello_1.0_amd64.deb', sha256: digest('deb'), sizeBytes: 2048 }],
    environment: { imageSha256: digest('image'), origin: 'fetched' },
    inputs: [{ path: 'hello_1.0.tar.gz', sha256: digest('src') }],
    log: { sha256: digest('log'), sizeBytes: 100, truncated: true },
    worker: { id: 'w1', operator: 'acme', builderUri: 'https://rbnet.dev/worker/acme/w1' },
    timing: { startedOn: new Date('2025-01-31T12:00:00Z'), finishedOn: new Date('2025-01-31T12:00:10Z') },
    host: {
      kernelVersion: '6.1.0',
      cpuCount: 2,
      engineVersion: '20.10.24',
      storageDriver: 'btrfs',
      clockUtc: '2025-01-31T12:00:00.000Z',
      rbnetVersion: '0.1.0',
    },
    job: { jobId: 'job-1', attempt: 0, nonce: 'abc' },
    ...overrides,
  };
}

const alice = generateKeyPairSync('ed25519');
const mallory = generateKeyPairSync('ed25519');
const aliceSigner = Ed25519FileSigner.fromKeyObject(alice.privateKey);

// Tests reach deep into the statement to break one field at a time; typing each path adds nothing.
// biome-ignore lint/suspicious/noExplicitAny: a deliberately untyped, mutable copy of a statement.
type EditableStatement = Record<string, any>;

/** Signs a statement composed from valid facts, then edited by `mutate`. */
async function signStatement(mutate: (statement: EditableStatement) => void): Promise<string> {
  const statement = structuredClone(composeRebuildStatement(facts())) as EditableStatement;
  mutate(statement);
  return signBytes(Buffer.from(JSON.stringify(statement)));
}

/** Signs any payload with alice's key, as a buggy or compromised worker could. */
async function signBytes(payload: Buffer, payloadType = 'application/vnd.in-toto+json'): Promise<string> {
  const sig = await aliceSigner.sign(preAuthEncoding(payloadType, payload));
  return JSON.stringify({
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid: aliceSigner.keyid, sig: Buffer.from(sig).toString('base64') }],
  });
}

function failure(run: () => unknown): AttestationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationError);
    return error as AttestationError;
  }
  throw new Error('expected verification to fail');
}

describe('verifyRebuildAttestation', () => {
  it('verifies what signRebuildStatement produced and returns typed, frozen facts', async () => {
    const signed = await signRebuildStatement(facts(), aliceSigner);
    const result = verifyRebuildAttestation(signed.envelopeJson, [mallory.publicKey, alice.publicKey], {
      manifestSha256: digest('hello'),
    });
    expect(result.keyid).toBe(securesystemslibKeyid(alice.publicKey));
    expect(result.statement).toEqual(signed.statement);
    expect(result.outputs).toEqual([{ path: 'hello_1.0_amd64.deb', sha256: digest('deb'), sizeBytes: 2048 }]);
    expect(result.manifestSha256).toBe(digest('hello'));
    expect(result.environment).toEqual({ sha256: digest('image'), origin: 'fetched' });
    expect(result.inputs).toEqual([{ path: 'hello_1.0.tar.gz', sha256: digest('src') }]);
    expect(result.log).toEqual({ sha256: digest('log'), sizeBytes: 100, truncated: true });
    expect(result.worker).toEqual({ id: 'w1', operator: 'acme' });
    expect(result.job).toEqual({ jobId: 'job-1', attempt: 0, nonce: 'abc' });
    expect(Object.isFrozen(result.statement.subject[0]?.digest)).toBe(true);
    expect(Object.isFrozen(result.outputs[0])).toBe(true);
    // Bytes work as well as text, and no job means no job field.
    const { job: _job, ...local } = facts();
    const localSigned = await signRebuildStatement(local, aliceSigner);
    const localResult = verifyRebuildAttestation(Buffer.from(localSigned.envelopeJson), [alice.publicKey]);
    expect('job' in localResult).toBe(false);
  });

  describe('tampering', () => {
    it('a flipped payload byte → SIGNATURE_INVALID', async () => {
      const envelope = JSON.parse((await signRebuildStatement(facts(), aliceSigner)).envelopeJson);
      const payload = Buffer.from(envelope.payload, 'base64');
      const at = payload.indexOf('acme');
      payload.writeUInt8(payload.readUInt8(at) ^ 0x01, at); // "acme" becomes "`cme"
      const tampered = JSON.stringify({ ...envelope, payload: payload.toString('base64') });
      const error = failure(() => verifyRebuildAttestation(tampered, [alice.publicKey]));
      expect(error.code).toBe('SIGNATURE_INVALID');
      expect(error.message).toContain(aliceSigner.keyid);
    });

    it('a flipped signature byte → SIGNATURE_INVALID', async () => {
      const envelope = JSON.parse((await signRebuildStatement(facts(), aliceSigner)).envelopeJson);
      const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
      sig.writeUInt8(sig.readUInt8(10) ^ 0x80, 10);
      const tampered = JSON.stringify({
        ...envelope,
        signatures: [{ ...envelope.signatures[0], sig: sig.toString('base64') }],
      });
      expect(failure(() => verifyRebuildAttestation(tampered, [alice.publicKey])).code).toBe(
        'SIGNATURE_INVALID',
      );
    });

    it('a key that did not sign → SIGNATURE_INVALID naming both keyids', async () => {
      const signed = await signRebuildStatement(facts(), aliceSigner);
      const error = failure(() => verifyRebuildAttestation(signed.envelopeJson, [mallory.publicKey]));
      expect(error.code).toBe('SIGNATURE_INVALID');
      expect(error.message).toContain(aliceSigner.keyid);
      expect(error.message).toContain(securesystemslibKeyid(mallory.publicKey));
    });

    it('a changed payloadType → PAYLOAD_TYPE, signed or not', async () => {
      const envelope = JSON.parse((await signRebuildStatement(facts(), aliceSigner)).envelopeJson);
      const relabelled = JSON.stringify({ ...envelope, payloadType: 'application/json' });
      expect(failure(() => verifyRebuildAttestation(relabelled, [alice.publicKey])).code).toBe(
        'PAYLOAD_TYPE',
      );
      const otherType = await signBytes(Buffer.from(envelope.payload, 'base64'), 'application/json');
      const error = failure(() => verifyRebuildAttestation(otherType, [alice.publicKey]));
      expect(error.code).toBe('PAYLOAD_TYPE');
      expect(error.message).toBe(
        'payloadType is "application/json", expected "application/vnd.in-toto+json"',
      );
    });

    it('a statement for another manifest → STATEMENT_INVALID', async () => {
      const signed = await signRebuildStatement(facts({ manifest: manifestFor('evil') }), aliceSigner);
      const error = failure(() =>
        verifyRebuildAttestation(signed.envelopeJson, [alice.publicKey], { manifestSha256: digest('hello') }),
      );
      expect(error.code).toBe('STATEMENT_INVALID');
      expect(error.message).toBe(
        `statement is for manifest sha256:${digest('evil')}, expected sha256:${digest('hello')}`,
      );
    });
  });

  it.each([
    ['not JSON', 'nope'],
    ['missing signatures', JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=' })],
    [
      'empty signatures',
      JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [] }),
    ],
    [
      'bad base64',
      JSON.stringify({
        payloadType: 'application/vnd.in-toto+json',
        payload: 'e30',
        signatures: [{ sig: 'AA==' }],
      }),
    ],
  ])('malformed envelope (%s) → ENVELOPE_INVALID', (_label, text) => {
    expect(failure(() => verifyRebuildAttestation(text, [alice.publicKey])).code).toBe('ENVELOPE_INVALID');
  });

  it('an oversize envelope → ENVELOPE_INVALID before anything is parsed', async () => {
    const signed = await signRebuildStatement(facts(), aliceSigner);
    const error = failure(() =>
      verifyRebuildAttestation(signed.envelopeJson, [alice.publicKey], {}, { maxEnvelopeBytes: 100 }),
    );
    expect(error.code).toBe('ENVELOPE_INVALID');
    expect(error.message).toMatch(/over the 100-byte limit/);
  });

  it('an oversize statement, and a payload that is not JSON → STATEMENT_INVALID', async () => {
    const signed = await signRebuildStatement(facts(), aliceSigner);
    const big = failure(() =>
      verifyRebuildAttestation(signed.envelopeJson, [alice.publicKey], {}, { maxStatementBytes: 100 }),
    );
    expect(big.message).toMatch(/over the 100-byte statement limit/);
    const truncated = await signBytes(Buffer.from('{"_type":'));
    const notJson = failure(() => verifyRebuildAttestation(truncated, [alice.publicKey]));
    expect(notJson.code).toBe('STATEMENT_INVALID');
    expect(notJson.message).toMatch(/^payload is not UTF-8 JSON/);
  });

  it.each([
    [
      '_type',
      (s: EditableStatement) => (s._type = 'https://in-toto.io/Statement/v0.1'),
      /^statement\._type is "https:\/\/in-toto\.io\/Statement\/v0\.1"/,
    ],
    [
      'predicateType',
      (s: EditableStatement) => (s.predicateType = 'https://slsa.dev/provenance/v0.2'),
      /^statement\.predicateType/,
    ],
    [
      'buildType',
      (s: EditableStatement) => (s.predicate.buildDefinition.buildType = 'https://example.com/x'),
      /buildType is "https:\/\/example\.com\/x"/,
    ],
    ['subject not an array', (s: EditableStatement) => (s.subject = {}), /^subject must be an array/],
    [
      'duplicate subject',
      (s: EditableStatement) => s.subject.push(s.subject[0]),
      /subject\[1\]\.name "hello_1\.0_amd64\.deb" appears more than once/,
    ],
    [
      'absolute subject',
      (s: EditableStatement) => (s.subject[0].name = '/x'),
      /subject\[0\]\.name "\/x" is not a safe relative path/,
    ],
    [
      'short subject digest',
      (s: EditableStatement) => (s.subject[0].digest.sha256 = 'abc'),
      /subject\[0\]\.digest\.sha256 must be 64 lowercase hex/,
    ],
    [
      'uppercase subject digest',
      (s: EditableStatement) => (s.subject[0].digest.sha256 = digest('deb').toUpperCase()),
      /subject\[0\]\.digest\.sha256/,
    ],
    [
      'manifestDigest format',
      (s: EditableStatement) =>
        (s.predicate.buildDefinition.externalParameters.manifestDigest = digest('hello')),
      /externalParameters\.manifestDigest is "[0-9a-f]{64}", expected "sha256:" \+ 64 lowercase hex/,
    ],
    [
      'manifestDigest disagreeing with manifest.digest',
      (s: EditableStatement) =>
        (s.predicate.buildDefinition.externalParameters.manifestDigest = `sha256:${digest('x')}`),
      /manifest\.digest\.sha256 [0-9a-f]{64} differs from manifestDigest/,
    ],
    [
      'environment dependency missing',
      (s: EditableStatement) => s.predicate.buildDefinition.resolvedDependencies.shift(),
      /resolvedDependencies\[0\] must be the environment/,
    ],
    [
      'environment origin unknown',
      (s: EditableStatement) =>
        (s.predicate.buildDefinition.resolvedDependencies[0].annotations.origin = 'maintainer'),
      /annotations\.origin is "maintainer", expected "built-locally" or "fetched"/,
    ],
    [
      'a second environment',
      (s: EditableStatement) =>
        s.predicate.buildDefinition.resolvedDependencies.push(
          s.predicate.buildDefinition.resolvedDependencies[0],
        ),
      /resolvedDependencies\[2\]: a second environment dependency/,
    ],
    [
      'an unknown dependency',
      (s: EditableStatement) =>
        s.predicate.buildDefinition.resolvedDependencies.push({
          uri: 'https://x',
          digest: { sha256: digest('x') },
        }),
      /resolvedDependencies\[2\]\.uri "https:\/\/x" is not "rbnet:input\/"/,
    ],
    [
      'half a job',
      (s: EditableStatement) => delete s.predicate.buildDefinition.externalParameters.nonce,
      /jobId, attempt and nonce go together/,
    ],
    [
      'an output size for a non-subject',
      (s: EditableStatement) => (s.predicate.buildDefinition.internalParameters.outputSizes.extra = 1),
      /outputSizes has "extra", which is not a subject/,
    ],
    [
      'a missing worker',
      (s: EditableStatement) => delete s.predicate.buildDefinition.internalParameters.worker,
      /internalParameters\.worker must be an object/,
    ],
    [
      'a timestamp in another spelling',
      (s: EditableStatement) => (s.predicate.runDetails.metadata.startedOn = '2025-01-31T12:00:00Z'),
      /metadata\.startedOn must be an ISO 8601 UTC timestamp/,
    ],
    [
      'an invocationId that is not the jobId',
      (s: EditableStatement) => (s.predicate.runDetails.metadata.invocationId = 'other'),
      /invocationId "other" differs from jobId "job-1"/,
    ],
    [
      'a missing build log',
      (s: EditableStatement) => (s.predicate.runDetails.byproducts = []),
      /byproducts must start with the build log/,
    ],
  ])('a signed statement with a bad %s → STATEMENT_INVALID', async (_label, mutate, message) => {
    const envelope = await signStatement(mutate);
    const error = failure(() => verifyRebuildAttestation(envelope, [alice.publicKey]));
    expect(error.code).toBe('STATEMENT_INVALID');
    expect(error.message).toMatch(message);
  });

  it('ignores fields it does not know, as in-toto parsing rules ask, and does not return them', async () => {
    const envelope = await signStatement((s) => {
      s.extension = { 'https://example.com/x': 1 };
      s.subject[0].annotations = { note: 'x' };
    });
    const result = verifyRebuildAttestation(envelope, [alice.publicKey]);
    expect('extension' in result.statement).toBe(false);
    expect(result.statement.subject[0]).toEqual({
      name: 'hello_1.0_amd64.deb',
      digest: { sha256: digest('deb') },
    });
  });
});
