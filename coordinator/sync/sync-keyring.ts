// A sync profile's keyring as a file gpgv reads: the path it names, or its armored key dearmored
// into a private temporary directory for the length of one verification.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncKeyring } from '../../services/api/sync-profiles.ts';
import { ArchiveError } from '../../services/errors.ts';

/** Runs `use` with a keyring file for `keyring`, removing any temporary file afterwards. */
export async function withKeyringFile<T>(
  keyring: SyncKeyring,
  use: (path: string) => Promise<T>,
): Promise<T> {
  if ('path' in keyring) return use(keyring.path);
  const dir = await mkdtemp(join(tmpdir(), 'rbnet-sync-keyring-'));
  try {
    const binary = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        'gpg',
        ['--batch', '--no-options', '--dearmor'],
        {
          encoding: 'buffer',
          timeout: 10_000,
          maxBuffer: 1024 * 1024,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
      child.stdin?.end(keyring.armored);
    }).catch((cause: unknown) => {
      throw new ArchiveError('ARCHIVE_SIGNATURE', 'the armored keyring could not be read', { cause });
    });
    const path = join(dir, 'keyring.gpg');
    await writeFile(path, binary, { mode: 0o600 });
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
