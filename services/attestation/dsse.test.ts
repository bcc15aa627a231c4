// Tests for DSSE pre-authentication encoding, envelope parsing and verification.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AttestationError } from '../errors.ts';
import { type DsseEnvelope, parseDsseEnvelope, preAuthEncoding, verifyDsseEnvelope } from './dsse.ts';
import { securesystemslibKeyid } from './ed25519-key.ts';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationError);
    return (error as AttestationError).code;
  }
  throw new Error('expected a throw');
}

function signedEnvelope(
  payloadType: string,
  body: string,
  ...keys: ReturnType<typeof generateKeyPairSync>[]
) {
  const payload = Buffer.from(body);
  const pae = preAuthEncoding(payloadType, payload);
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: keys.map((k) => ({
      keyid: securesystemslibKeyid(k.publicKey),
      sig: sign(null, pae, k.privateKey).toString('base64'),
    })),
  } satisfies DsseEnvelope;
}

describe('preAuthEncoding', () => {
  it('matches the DSSE spec example', () => {
    expect(
      preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString('utf8'),
    ).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('counts bytes, not characters, and handles an empty body', () => {
    expect(preAuthEncoding('é', Buffer.from('€')).toString('utf8')).toBe('DSSEv1 2 é 3 €');
    expect(preAuthEncoding('t', new Uint8Array()).toString('utf8')).toBe('DSSEv1 1 t 0 ');
  });
});

describe('parseDsseEnvelope', () => {
  const good = { payloadType: 't', payload: 'aGk=', signatures: [{ keyid: 'k', sig: 'c2ln' }] };
  const text = (value: unknown) => JSON.stringify(value);

  it('returns a frozen envelope from text or bytes', () => {
    const envelope = parseDsseEnvelope(Buffer.from(text(good)));
    expect(envelope).toEqual(good);
    expect(Object.isFrozen(envelope.signatures[0])).toBe(true);
  });

  it('accepts URL-safe base64 and a missing keyid (both allowed by DSSE)', () => {
    const envelope = parseDsseEnvelope(text({ ...good, payload: '-_8=', signatures: [{ sig: 'c2ln' }] }));
    expect(envelope.signatures[0]?.keyid).toBe('');
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['not an object', '[]', /must be a JSON object/],
    ['missing signatures', text({ payloadType: 't', payload: 'aGk=' }), /signatures must be an array/],
    ['empty signatures', text({ ...good, signatures: [] }), /signatures is empty/],
    ['missing payloadType', text({ ...good, payloadType: undefined }), /payloadType must be/],
    ['unpadded base64 payload', text({ ...good, payload: 'aGk' }), /payload is not valid base64/],
    ['mixed-alphabet base64', text({ ...good, payload: '+_8=' }), /payload is not valid base64/],
    ['base64 with junk', text({ ...good, payload: 'aG k=' }), /payload is not valid base64/],
    ['non-canonical base64', text({ ...good, payload: 'aGl=' }), /payload is not valid base64/],
    [
      'bad base64 sig',
      text({ ...good, signatures: [{ keyid: 'k', sig: '!!' }] }),
      /signatures\[0\]\.sig is not valid/,
    ],
    ['empty sig', text({ ...good, signatures: [{ keyid: 'k', sig: '' }] }), /signatures\[0\]\.sig must be/],
    ['numeric keyid', text({ ...good, signatures: [{ keyid: 1, sig: 'c2ln' }] }), /signatures\[0\]\.keyid/],
    ['unknown field', text({ ...good, extra: 1 }), /unknown field "extra"/],
    ['unknown signature field', text({ ...good, signatures: [{ sig: 'c2ln', cert: 'x' }] }), /"cert"/],
    [
      'too many signatures',
      text({ ...good, signatures: Array(17).fill({ sig: 'c2ln' }) }),
      /over the limit of 16/,
    ],
  ])('refuses %s', (_label, input, message) => {
    expect(() => parseDsseEnvelope(input)).toThrow(message);
    expect(codeOf(() => parseDsseEnvelope(input))).toBe('ENVELOPE_INVALID');
  });

  it('refuses oversize input before parsing it, and invalid UTF-8', () => {
    expect(() => parseDsseEnvelope(text(good), 10)).toThrow(/over the 10-byte limit/);
    expect(() => parseDsseEnvelope('x'.repeat(16 * 1024 * 1024 + 1))).toThrow(/over the 16777216-byte limit/);
    expect(codeOf(() => parseDsseEnvelope(Buffer.from([0x7b, 0xff, 0x7d])))).toBe('ENVELOPE_INVALID');
  });
});

describe('verifyDsseEnvelope', () => {
  const alice = generateKeyPairSync('ed25519');
  const bob = generateKeyPairSync('ed25519');

  it('returns the trusted key that verified, whatever the keyid hint says', () => {
    const envelope = signedEnvelope('t', 'body', alice);
    const forged = { ...envelope, signatures: [{ keyid: 'bob', sig: envelope.signatures[0]!.sig }] };
    const result = verifyDsseEnvelope(forged, [bob.publicKey, alice.publicKey], 't');
    expect(result.keyid).toBe(securesystemslibKeyid(alice.publicKey));
    expect(result.publicKey.equals(alice.publicKey)).toBe(true);
  });

  it('finds a verifying signature after one that does not', () => {
    const envelope = signedEnvelope('t', 'body', bob, alice);
    expect(verifyDsseEnvelope(envelope, [alice.publicKey], 't').keyid).toBe(
      securesystemslibKeyid(alice.publicKey),
    );
  });

  it('checks the payloadType before anything else', () => {
    const envelope = signedEnvelope('application/json', '{}', alice);
    expect(codeOf(() => verifyDsseEnvelope(envelope, [alice.publicKey]))).toBe('PAYLOAD_TYPE');
    expect(codeOf(() => verifyDsseEnvelope(envelope, []))).toBe('PAYLOAD_TYPE');
  });

  it('names the keyids that failed', () => {
    const envelope = signedEnvelope('t', 'body', alice);
    expect(() => verifyDsseEnvelope(envelope, [bob.publicKey], 't')).toThrow(
      `no signature verifies: 1 signature(s) with keyid(s) "${securesystemslibKeyid(alice.publicKey)}" failed against trusted keyid(s) ${securesystemslibKeyid(bob.publicKey)}`,
    );
    expect(codeOf(() => verifyDsseEnvelope(envelope, [bob.publicKey], 't'))).toBe('SIGNATURE_INVALID');
  });

  it('refuses an empty trust list and private keys posing as trusted keys', () => {
    const envelope = signedEnvelope('t', 'body', alice);
    expect(codeOf(() => verifyDsseEnvelope(envelope, [], 't'))).toBe('KEY_INVALID');
    expect(codeOf(() => verifyDsseEnvelope(envelope, [alice.privateKey], 't'))).toBe('KEY_INVALID');
  });
});
