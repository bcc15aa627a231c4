import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import {
  composeAuthMessage,
  NonceCache,
  signWorkerRequest,
  verifyWorkerRequest,
  type WorkerAuthError,
} from './worker-request-auth.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const origin = 'http://127.0.0.1:8470';
const body = sha256Hex('{"x":1}');
const now = 1_800_000_000_000;

function request(overrides: Partial<Parameters<typeof verifyWorkerRequest>[0]> = {}) {
  const header = signWorkerRequest(privateKey, {
    workerId: 'w1',
    origin,
    method: 'POST',
    path: '/v1/results',
    bodySha256: body,
    now,
  });
  return {
    header,
    origin,
    method: 'POST',
    path: '/v1/results',
    bodySha256: body,
    authKeyFor: (id: string) => (id === 'w1' ? publicKey : undefined),
    nonces: new NonceCache(),
    nowMs: now,
    ...overrides,
  };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as WorkerAuthError).code;
  }
  return 'no error';
}

describe('worker request proof of possession', () => {
  it('verifies a request signed by the enrolled auth key', () => {
    expect(verifyWorkerRequest(request())).toBe('w1');
  });

  it('refuses a replay of the same request', () => {
    const args = request();
    verifyWorkerRequest(args);
    expect(codeOf(() => verifyWorkerRequest(args))).toBe('AUTH_REPLAYED');
  });

  it.each([
    ['another path', { path: `/v1/cas/sha256/${'a'.repeat(64)}` }],
    ['another body', { bodySha256: sha256Hex('other') }],
    ['another origin', { origin: 'http://127.0.0.2:8470' }],
    ['another method', { method: 'PUT' }],
    ['an old timestamp', { nowMs: now + 10 * 60_000 }],
    ['an unknown worker', { authKeyFor: () => undefined }],
    ['a different key', { authKeyFor: () => other.publicKey }],
    ['no header', { header: undefined }],
    [
      'a bearer token',
      { header: `Bearer ${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}` },
    ],
  ])('refuses %s', (_label, overrides) => {
    expect(codeOf(() => verifyWorkerRequest(request(overrides as never)))).toMatch(/^AUTH_/);
  });

  it('never signs a document shaped like an in-toto link, whichever field carries it', () => {
    const link = JSON.stringify({ signed: { _type: 'link', name: 'rebuild', products: {} }, signatures: [] });
    const base = {
      workerId: 'w1',
      origin,
      nonce: 'n'.repeat(32),
      timestampMs: now,
      method: 'POST',
      path: '/v1/results',
      bodySha256: body,
    };
    for (const key of ['workerId', 'origin', 'nonce', 'method', 'path', 'bodySha256'] as const) {
      expect(codeOf(() => composeAuthMessage({ ...base, [key]: link }))).toBe('AUTH_FIELD');
    }
    // The message always starts with the domain tag, so it can never parse as JSON.
    expect(composeAuthMessage(base).toString('utf8').startsWith('rbnet-auth-v1\n')).toBe(true);
  });
});
