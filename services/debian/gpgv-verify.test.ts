// Tests gpgv verification with throwaway keys: good, tampered, wrong keyring, expired key, framing, timeout.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors.ts';
import { createThrowawayKey, type ThrowawayKey } from './gpg-key-fixture.ts';
import { verifyClearsignedWithGpgv } from './gpgv-verify.ts';

const TEXT = 'Origin: rbnet test\nSuite: testing\n- a line starting with a dash\nEnd: here\n';

async function refusal(promise: Promise<unknown>): Promise<ArchiveError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveError);
  expect((err as ArchiveError).code).toBe('ARCHIVE_SIGNATURE');
  return err as ArchiveError;
}

describe('verifyClearsignedWithGpgv', () => {
  let key: ThrowawayKey;
  let otherKey: ThrowawayKey;
  let expiredKey: ThrowawayKey;
  let scratch: string;

  beforeAll(async () => {
    [key, otherKey, expiredKey] = await Promise.all([
      createThrowawayKey(),
      createThrowawayKey(),
      createThrowawayKey({ fakedTime: '20200101T000000', validity: '1d' }),
    ]);
    scratch = await mkdtemp(join(tmpdir(), 'rbnet-gpgv-test-'));
  });

  afterAll(async () => {
    await Promise.all([key?.dispose(), otherKey?.dispose(), expiredKey?.dispose()]);
    await rm(scratch, { recursive: true, force: true });
  });

  it("returns gpgv's plaintext (dash-escaping undone) and the signer's fingerprint", async () => {
    const signed = key.clearsign(TEXT);
    expect(signed.toString()).toContain('- - a line starting with a dash');
    const verified = await verifyClearsignedWithGpgv({
      signedBytes: signed,
      keyringPath: key.keyringPath,
      timeoutMs: 20_000,
    });
    expect(verified.plaintext.toString()).toBe(TEXT);
    expect(verified.fingerprints).toEqual([key.fingerprint]);
    expect(verified.signatures).toEqual([
      { fingerprint: key.fingerprint, primaryKeyFingerprint: key.fingerprint },
    ]);
  });

  it('accepts a document also signed by a key outside the keyring, as apt does, reporting only the known signer', async () => {
    const signed = key.clearsignTogetherWith(otherKey, TEXT);
    const verified = await verifyClearsignedWithGpgv({
      signedBytes: signed,
      keyringPath: key.keyringPath,
      timeoutMs: 20_000,
    });
    expect(verified.plaintext.toString()).toBe(TEXT);
    expect(verified.fingerprints).toEqual([key.fingerprint]);
  });

  it('refuses a tampered text', async () => {
    const signed = key.clearsign(TEXT).toString().replace('Suite: testing', 'Suite: unstable');
    const err = await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: Buffer.from(signed),
        keyringPath: key.keyringPath,
        timeoutMs: 20_000,
      }),
    );
    expect(err.message).toMatch(/BADSIG/);
  });

  it('refuses a signature by a key outside the keyring', async () => {
    const err = await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: key.clearsign(TEXT),
        keyringPath: otherKey.keyringPath,
        timeoutMs: 20_000,
      }),
    );
    expect(err.message).toMatch(/no good signature/);
  });

  it('refuses a signature by an expired key', async () => {
    const signed = expiredKey.clearsign(TEXT, '20200101T010000');
    const err = await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: signed,
        keyringPath: expiredKey.keyringPath,
        timeoutMs: 20_000,
      }),
    );
    expect(err.message).toMatch(/EXPKEYSIG/);
  });

  it('refuses text outside the signed message and two signed messages in one document', async () => {
    const signed = key.clearsign(TEXT);
    await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: Buffer.concat([Buffer.from('Suite: injected\n\n'), signed]),
        keyringPath: key.keyringPath,
        timeoutMs: 20_000,
      }),
    );
    await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: Buffer.concat([signed, key.clearsign('Suite: second\n')]),
        keyringPath: key.keyringPath,
        timeoutMs: 20_000,
      }),
    );
    await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: Buffer.from(TEXT),
        keyringPath: key.keyringPath,
        timeoutMs: 20_000,
      }),
    );
  });

  it('kills gpgv and refuses when it does not finish in time', async () => {
    const slow = join(scratch, 'slow-gpgv');
    await writeFile(slow, '#!/bin/sh\nexec sleep 30\n');
    await chmod(slow, 0o755);
    const started = Date.now();
    const err = await refusal(
      verifyClearsignedWithGpgv({
        signedBytes: key.clearsign(TEXT),
        keyringPath: key.keyringPath,
        timeoutMs: 300,
        gpgvPath: slow,
      }),
    );
    expect(err.message).toMatch(/did not finish within 300 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
