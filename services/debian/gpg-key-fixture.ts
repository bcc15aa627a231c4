// Test fixture: a throwaway OpenPGP signing key in a temporary GNUPGHOME, exported as a gpgv keyring.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayKey {
  /** Keyring file (binary OpenPGP) holding only this key's public part. */
  readonly keyringPath: string;
  /** Primary key fingerprint, uppercase hex. */
  readonly fingerprint: string;
  /** Clearsigns `text` with SHA256, optionally with gpg's clock set to `fakedTime` (e.g. `20200101T000000`). */
  clearsign(text: string | Buffer, fakedTime?: string): Buffer;
  /** Clearsigns `text` with this key and `other` together (two signatures in one document). */
  clearsignTogetherWith(other: ThrowawayKey, text: string | Buffer): Buffer;
  /** The secret key, armored, for {@link ThrowawayKey.clearsignTogetherWith}. */
  exportSecretKey(): Buffer;
  /** Stops the key's gpg-agent and removes its directory. */
  dispose(): Promise<void>;
}

function gpg(home: string, args: string[], input?: string | Buffer): Buffer {
  const run = spawnSync(
    'gpg',
    ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    {
      input,
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    },
  );
  if (run.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${run.stderr.toString()}`);
  return run.stdout;
}

/**
 * Generates an ed25519 signing key valid for `validity` (gpg syntax, default `1d`), created at
 * `fakedTime` when given (so a key can be made that has already expired).
 */
export async function createThrowawayKey(
  options: { validity?: string; fakedTime?: string } = {},
): Promise<ThrowawayKey> {
  const home = await mkdtemp(join(tmpdir(), 'rbnet-gpg-'));
  const faked = options.fakedTime ? ['--faked-system-time', options.fakedTime] : [];
  const uid = `rbnet throwaway ${home.slice(-6)} <throwaway@rbnet.invalid>`;
  gpg(home, [...faked, '--quick-gen-key', uid, 'ed25519', 'sign', options.validity ?? '1d']);
  const listing = gpg(home, ['--with-colons', '--list-keys', uid]).toString();
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in: ${listing}`);
  const keyringPath = join(home, 'keyring.gpg');
  await writeFile(keyringPath, gpg(home, ['--export', fingerprint]));
  return {
    keyringPath,
    fingerprint,
    clearsign(text, fakedTime) {
      const clock = fakedTime ? ['--faked-system-time', fakedTime] : [];
      return gpg(
        home,
        [...clock, '--local-user', fingerprint, '--digest-algo', 'SHA256', '--clearsign'],
        text,
      );
    },
    clearsignTogetherWith(other, text) {
      gpg(home, ['--import'], other.exportSecretKey());
      const users = ['--local-user', fingerprint, '--local-user', other.fingerprint];
      return gpg(home, [...users, '--digest-algo', 'SHA256', '--clearsign'], text);
    },
    exportSecretKey() {
      return gpg(home, ['--armor', '--export-secret-keys', fingerprint]);
    },
    async dispose() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      await rm(home, { recursive: true, force: true });
    },
  };
}
