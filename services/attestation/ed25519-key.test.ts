// Tests for key files, their permission rule, and the securesystemslib keyid.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttestationError } from '../errors.ts';
import {
  ed25519PublicKeyFromPem,
  generateEd25519KeyFiles,
  loadEd25519PrivateKey,
  loadEd25519PublicKey,
  publicKeyToSecuresystemslibJson,
  rawPublicKeyHex,
  securesystemslibKeyid,
} from './ed25519-key.ts';
import { Ed25519FileSigner } from './signer.ts';

// in-toto's own test key "danny" (in-toto/in-toto tests/demo_files/danny{,.pub}): public key, seed, keyid.
const DANNY_PUBLIC_HEX = '32b2b597295d7a9ef4c5cfd2d588f6b02dc983a58cf5677b1d7d20af82c7e1a2';
const DANNY_SEED_HEX = 'b471d9ec4c83f8ed8047f3e1ed6014fbd283e002a3b6946faff4895629ab64aa';
const DANNY_KEYID = '36a5529f72cf3b1cc096a28887350969212f9d6c46529658ab186fc0cb781699';

// Fixed DER prefixes of ed25519 SPKI and PKCS#8 (RFC 8410), so these tests do not reuse the code under test.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function publicKeyFromRawHex(hex: string) {
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, Buffer.from(hex, 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

/** The canonical string written out literally, hashed with node:crypto: an independent keyid. */
function independentKeyid(publicHex: string): string {
  const canonical = `{"keyid_hash_algorithms":["sha256","sha512"],"keytype":"ed25519","keyval":{"public":"${publicHex}"},"scheme":"ed25519"}`;
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestationError);
  return (error as AttestationError).code;
}

describe('securesystemslib keyid', () => {
  it('reproduces the keyid in-toto recorded for its danny test key', () => {
    const seed = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, Buffer.from(DANNY_SEED_HEX, 'hex')]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = createPublicKey(seed);
    expect(rawPublicKeyHex(publicKey)).toBe(DANNY_PUBLIC_HEX);
    expect(independentKeyid(DANNY_PUBLIC_HEX)).toBe(DANNY_KEYID);
    expect(securesystemslibKeyid(publicKey)).toBe(DANNY_KEYID);
    expect(securesystemslibKeyid(publicKeyFromRawHex(DANNY_PUBLIC_HEX))).toBe(DANNY_KEYID);
  });

  it('matches an independent computation for a fresh key', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey
      .export({ format: 'der', type: 'spki' })
      .subarray(SPKI_PREFIX.length)
      .toString('hex');
    expect(rawPublicKeyHex(publicKey)).toBe(raw);
    expect(securesystemslibKeyid(publicKey)).toBe(independentKeyid(raw));
  });

  it('gives the key object in-toto layouts embed', () => {
    const json = publicKeyToSecuresystemslibJson(publicKeyFromRawHex(DANNY_PUBLIC_HEX));
    expect(json).toEqual({
      keyid: DANNY_KEYID,
      keyid_hash_algorithms: ['sha256', 'sha512'],
      keytype: 'ed25519',
      keyval: { public: DANNY_PUBLIC_HEX },
      scheme: 'ed25519',
    });
    expect(Object.isFrozen(json.keyval)).toBe(true);
  });

  it('refuses private, RSA and non-asymmetric keys', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    for (const key of [privateKey, rsa]) {
      expect(() => rawPublicKeyHex(key)).toThrow(AttestationError);
      expect(() => securesystemslibKeyid(key)).toThrow(/expected an ed25519 public key/);
    }
  });
});

describe('key files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbnet-keys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the private key 0600 (PKCS#8) and the public key 0644 (SPKI)', async () => {
    const privatePath = join(dir, 'worker.key');
    const generated = await generateEd25519KeyFiles(privatePath);
    expect(generated.publicKeyPath).toBe(`${privatePath}.pub`);
    expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
    expect((await stat(generated.publicKeyPath)).mode & 0o777).toBe(0o644);
    expect(await readFile(privatePath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(await readFile(generated.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    const privateKey = await loadEd25519PrivateKey(privatePath);
    const publicKey = await loadEd25519PublicKey(generated.publicKeyPath);
    expect(createPublicKey(privateKey).equals(publicKey)).toBe(true);
    expect(securesystemslibKeyid(publicKey)).toBe(generated.keyid);

    const signer = await Ed25519FileSigner.fromFile(privatePath);
    expect(signer.keyid).toBe(generated.keyid);
    expect(JSON.stringify(signer)).toBe(JSON.stringify({ keyid: generated.keyid }));
  });

  it('refuses to overwrite an existing key and leaves nothing half-written', async () => {
    const privatePath = join(dir, 'worker.key');
    await generateEd25519KeyFiles(privatePath);
    const before = await readFile(privatePath, 'utf8');
    expect(await codeOf(generateEd25519KeyFiles(privatePath))).toBe('KEY_INVALID');
    expect(await readFile(privatePath, 'utf8')).toBe(before);

    const other = join(dir, 'other.key');
    await writeFile(`${other}.pub`, 'already here');
    await expect(generateEd25519KeyFiles(other)).rejects.toThrow(/already exists; refusing to overwrite/);
    await expect(stat(other)).rejects.toThrow(/ENOENT/);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a private key with mode %o', async (mode) => {
    const privatePath = join(dir, 'worker.key');
    await generateEd25519KeyFiles(privatePath);
    await chmod(privatePath, mode);
    const error = await loadEd25519PrivateKey(privatePath).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttestationError);
    expect((error as AttestationError).code).toBe('KEY_PERMISSIONS');
    expect((error as AttestationError).message).toContain(`chmod 600 ${privatePath}`);
    expect(await codeOf(Ed25519FileSigner.fromFile(privatePath))).toBe('KEY_PERMISSIONS');
  });

  it('refuses missing files, non-PEM content and non-ed25519 private keys', async () => {
    expect(await codeOf(loadEd25519PrivateKey(join(dir, 'absent.key')))).toBe('KEY_INVALID');
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key', { mode: 0o600 });
    expect(await codeOf(loadEd25519PrivateKey(garbage))).toBe('KEY_INVALID');
    const rsa = join(dir, 'rsa.key');
    const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    await writeFile(rsa, rsaPem, { mode: 0o600 });
    await expect(loadEd25519PrivateKey(rsa)).rejects.toThrow(/is rsa, expected ed25519/);
  });
});

describe('ed25519PublicKeyFromPem', () => {
  it('parses SPKI PEM as text or bytes', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(ed25519PublicKeyFromPem(pem).equals(publicKey)).toBe(true);
    expect(ed25519PublicKeyFromPem(Buffer.from(pem)).equals(publicKey)).toBe(true);
  });

  it('refuses a private key PEM instead of deriving its public half', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(() => ed25519PublicKeyFromPem(pem, 'trust.pem')).toThrow(/^trust\.pem: holds a PRIVATE key/);
  });

  it('refuses RSA public keys and garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(() => ed25519PublicKeyFromPem(rsa as string)).toThrow(/rsa key, expected ed25519/);
    expect(() =>
      ed25519PublicKeyFromPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'),
    ).toThrow(AttestationError);
    expect(() => ed25519PublicKeyFromPem('hello')).toThrow(/expected a "-----BEGIN PUBLIC KEY-----"/);
  });
});
