import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { securesystemslibKeyid } from '../attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../attestation/signer.ts';
import { sha256Hex } from '../digest.ts';
import {
  composeSigningKeyProofMessage,
  createEnrolmentRequest,
  type EnrolmentError,
  parseEnrolmentRequestBody,
  signingKeyProofVerifies,
} from './worker-enrolment.ts';
import { parseAuthHeader } from './worker-request-auth.ts';

const origin = 'https://rbnet.example.org';
const token = `rbnet_enrolment_${'T'.repeat(43)}`;
const signing = Ed25519FileSigner.fromKeyObject(generateKeyPairSync('ed25519').privateKey);
const auth = generateKeyPairSync('ed25519');

async function request(overrides: Partial<Parameters<typeof createEnrolmentRequest>[0]> = {}) {
  return createEnrolmentRequest({
    origin,
    token,
    workerId: 'alpha-1',
    signing: { signer: signing, publicKey: signing.publicKey },
    authPrivateKey: auth.privateKey,
    architectures: ['amd64'],
    backends: ['generic', 'debian'],
    capacity: { cores: 4, memoryBytes: 2 ** 33, diskBytes: 2 ** 36 },
    ...overrides,
  });
}

function errorOf(run: () => unknown): EnrolmentError {
  try {
    run();
  } catch (err) {
    return err as EnrolmentError;
  }
  throw new Error('no error');
}

describe('enrolment requests', () => {
  it('round-trips: both keys parsed, keyids computed, the auth proof over exactly this body', async () => {
    const { body, headers } = await request();
    const parsed = parseEnrolmentRequestBody(body);
    expect(parsed).toMatchObject({
      workerId: 'alpha-1',
      signingKeyid: signing.keyid,
      authKeyid: securesystemslibKeyid(auth.publicKey),
      backends: ['generic', 'debian'],
    });
    const proof = parseAuthHeader(headers['x-rbnet-proof']);
    expect(proof).toMatchObject({
      workerId: 'alpha-1',
      bodyLength: body.length,
      bodySha256: sha256Hex(body),
    });
    expect(headers.authorization).toBe(`Bearer ${token}`);
    expect(signingKeyProofVerifies(parsed, { origin, enrolmentTokenSha256: sha256Hex(token) })).toBe(true);
  });

  it.each([
    ['another coordinator', { origin: 'https://other.example.org', enrolmentTokenSha256: sha256Hex(token) }],
    ['another enrolment token', { origin, enrolmentTokenSha256: sha256Hex(`${token}x`) }],
  ])('binds the signing-key proof to its enrolment: not valid for %s', async (_label, binding) => {
    const parsed = parseEnrolmentRequestBody((await request()).body);
    expect(signingKeyProofVerifies(parsed, binding)).toBe(false);
  });

  it('binds the signing-key proof to the worker id and the auth key as well', async () => {
    const original = JSON.parse((await request()).body.toString()) as Record<string, unknown>;
    const otherAuth = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' });
    for (const change of [{ workerId: 'alpha-2' }, { authKeyPem: otherAuth }]) {
      const parsed = parseEnrolmentRequestBody(Buffer.from(JSON.stringify({ ...original, ...change })));
      expect(signingKeyProofVerifies(parsed, { origin, enrolmentTokenSha256: sha256Hex(token) })).toBe(false);
    }
  });

  it('signs a message that can be neither a DSSE pre-authentication encoding nor JSON', () => {
    const message = composeSigningKeyProofMessage({
      origin,
      workerId: 'alpha-1',
      signingKeyid: 'a'.repeat(64),
      authKeyid: 'b'.repeat(64),
      enrolmentTokenSha256: 'c'.repeat(64),
    }).toString();
    expect(message.startsWith('rbnet-enrol-signing-key-v1\n')).toBe(true);
    const link = JSON.stringify({ _type: 'link' });
    expect(
      errorOf(() =>
        composeSigningKeyProofMessage({
          origin,
          workerId: link,
          signingKeyid: 'a'.repeat(64),
          authKeyid: 'b'.repeat(64),
          enrolmentTokenSha256: 'c'.repeat(64),
        }),
      ).code,
    ).toBe('INVALID');
  });

  it.each([
    ['an unknown field', { operator: 'beta' }, /^operator: unknown field/],
    [
      'an unknown capacity field',
      { capacity: { cores: 1, memoryBytes: 1, diskBytes: 1, gpus: 8 } },
      /^capacity\.gpus:/,
    ],
    [
      'implausible cores',
      { capacity: { cores: 100_000, memoryBytes: 1, diskBytes: 1 } },
      /^capacity\.cores:/,
    ],
    [
      'implausible disk',
      { capacity: { cores: 1, memoryBytes: 1, diskBytes: 2 ** 51 } },
      /^capacity\.diskBytes:/,
    ],
    ['no signing-key proof', { signingKeyProof: undefined }, /^signingKeyProof:/],
    ['a private key as the signing key', { signingKeyPem: 'private' }, /PRIVATE key/],
    ['the same key twice', { authKeyPem: 'signing' }, /^authKeyPem: must be a different key/],
  ])('refuses %s, naming the field', async (_label, change, message) => {
    const original = JSON.parse((await request()).body.toString()) as Record<string, unknown>;
    const value = { ...original, ...change } as Record<string, unknown>;
    if (value.signingKeyPem === 'private')
      value.signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      });
    if (value.authKeyPem === 'signing') value.authKeyPem = original.signingKeyPem;
    const error = errorOf(() => parseEnrolmentRequestBody(Buffer.from(JSON.stringify(value))));
    expect(error.code).toBe('INVALID');
    expect(error.message).toMatch(message);
  });

  it.each(['null', '[]', '"x"', 'not json', '{"workerId":"a","workerId":"b"}'])(
    'refuses the body %s',
    (text) => {
      expect(errorOf(() => parseEnrolmentRequestBody(Buffer.from(text))).message).toMatch(
        /^(request body|workerId)/,
      );
    },
  );
});
