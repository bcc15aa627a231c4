import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import {
  assertSignedBody,
  composeAuthMessage,
  type NonceOutcome,
  type NonceStore,
  parseAuthHeader,
  signWorkerRequest,
  verifyWorkerRequest,
  type WorkerAuthError,
} from './worker-request-auth.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const origin = 'http://127.0.0.1:8470';
const bodyText = '{"x":1}';
const body = sha256Hex(bodyText);
const now = 1_800_000_000_000;

/** The contract in a few lines (the SQLite store is tested against it in coordinator/storage/). */
class MemoryNonces implements NonceStore {
  readonly seen = new Set<string>();
  async remember(workerId: string, nonce: string): Promise<NonceOutcome> {
    const key = `${workerId}:${nonce}`;
    if (this.seen.has(key)) return { kind: 'replayed' };
    this.seen.add(key);
    return { kind: 'fresh' };
  }
}

function header(overrides: Partial<Parameters<typeof signWorkerRequest>[1]> = {}) {
  return signWorkerRequest(privateKey, {
    workerId: 'w1',
    origin,
    method: 'POST',
    path: '/v1/results',
    bodySha256: body,
    bodyLength: bodyText.length,
    now,
    ...overrides,
  });
}

function request(
  overrides: Partial<Omit<Parameters<typeof verifyWorkerRequest>[0], 'request'>> & { header?: string } = {},
) {
  const { header: text, ...rest } = overrides;
  return {
    request: parseAuthHeader(text ?? header()),
    origin,
    method: 'POST',
    path: '/v1/results',
    authKey: publicKey,
    nonces: new MemoryNonces(),
    nowMs: now,
    ...rest,
  };
}

async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    return (err as WorkerAuthError).code;
  }
  return 'no error';
}

describe('worker request proof of possession', () => {
  it('verifies a request signed by the enrolled auth key', async () => {
    await expect(verifyWorkerRequest(request())).resolves.toBeUndefined();
  });

  it('declares the body length and sha256 in the header, so it can be checked before reading', () => {
    const parsed = parseAuthHeader(header());
    expect(parsed).toMatchObject({ workerId: 'w1', bodyLength: 7, bodySha256: body, timestampMs: now });
  });

  it('refuses a replay of the same request', async () => {
    const args = request();
    await verifyWorkerRequest(args);
    expect(await codeOf(() => verifyWorkerRequest(args))).toBe('AUTH_REPLAYED');
  });

  it('refuses a worker over its nonce limit with AUTH_RATE_LIMITED and a retry time', async () => {
    const full: NonceStore = {
      remember: async () => ({ kind: 'over-limit', limit: 10, retryAfterMs: 4_500 }),
    };
    const error = await verifyWorkerRequest(request({ nonces: full })).catch((err: WorkerAuthError) => err);
    expect(error).toMatchObject({ code: 'AUTH_RATE_LIMITED', retryAfterMs: 4_500 });
  });

  it.each([
    ['another path', { path: `/v1/cas/sha256/${'a'.repeat(64)}` }],
    ['another origin', { origin: 'http://127.0.0.2:8470' }],
    ['another method', { method: 'PUT' }],
    ['an old timestamp', { nowMs: now + 10 * 60_000 }],
    ['an unknown worker', { authKey: undefined }],
    ['a different key', { authKey: other.publicKey }],
  ])('refuses %s', async (_label, overrides) => {
    expect(await codeOf(() => verifyWorkerRequest(request(overrides)))).toBe('AUTH_INVALID');
  });

  it.each([
    ['another declared body', (h: string) => h.replace(`sha256=${body}`, `sha256=${sha256Hex('other')}`)],
    ['another declared length', (h: string) => h.replace('len=7', 'len=8')],
  ])('refuses %s than was signed', async (_label, tamper) => {
    expect(await codeOf(() => verifyWorkerRequest(request({ header: tamper(header()) })))).toBe(
      'AUTH_INVALID',
    );
  });

  it.each([
    ['no header', undefined, 'AUTH_MISSING'],
    [
      'a bearer token',
      `Bearer ${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`,
      'AUTH_INVALID',
    ],
    [
      'a v1 header without len and sha256',
      'RbnetWorker id=w1,ts=1,nonce=nnnnnnnnnnnnnnnnnnnnnnnn,sig=x',
      'AUTH_INVALID',
    ],
    ['a negative length', header().replace('len=7', 'len=-7'), 'AUTH_INVALID'],
    ['a length with leading zeros', header().replace('len=7', 'len=007'), 'AUTH_INVALID'],
  ])('cannot parse %s', async (_label, text, code) => {
    expect(await codeOf(() => parseAuthHeader(text))).toBe(code);
  });

  it('checks a body read afterwards against the declaration', () => {
    expect(() =>
      assertSignedBody({ sizeBytes: 7, sha256: body }, { bodyLength: 7, bodySha256: body }),
    ).not.toThrow();
    for (const received of [
      { sizeBytes: 8, sha256: body },
      { sizeBytes: 7, sha256: sha256Hex('other') },
    ]) {
      expect(() => assertSignedBody(received, { bodyLength: 7, bodySha256: body })).toThrow(
        expect.objectContaining({ code: 'AUTH_BODY_MISMATCH' }),
      );
    }
  });

  it('never signs a document shaped like an in-toto link, whichever field carries it', async () => {
    const link = JSON.stringify({ signed: { _type: 'link', name: 'rebuild', products: {} }, signatures: [] });
    const base = {
      workerId: 'w1',
      origin,
      nonce: 'n'.repeat(32),
      timestampMs: now,
      method: 'POST',
      path: '/v1/results',
      bodySha256: body,
      bodyLength: 7,
    };
    for (const key of ['workerId', 'origin', 'nonce', 'method', 'path', 'bodySha256'] as const) {
      expect(await codeOf(() => composeAuthMessage({ ...base, [key]: link }))).toBe('AUTH_FIELD');
    }
    expect(await codeOf(() => composeAuthMessage({ ...base, bodyLength: -1 }))).toBe('AUTH_FIELD');
    // The message always starts with the domain tag, so it can never parse as JSON.
    expect(composeAuthMessage(base).toString('utf8').startsWith('rbnet-auth-v2\n')).toBe(true);
  });
});
