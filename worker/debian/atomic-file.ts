// Files written so that a reader sees the old content or the whole new one, never half: written
// beside the target under a random name, then renamed over it.
import { randomBytes } from 'node:crypto';
import { copyFile, link, rename, stat, writeFile } from 'node:fs/promises';

/** Writes `bytes` to `path` through a temporary file renamed into place. */
export async function writeFileAtomically(path: string, bytes: string | Buffer): Promise<void> {
  const partial = `${path}.${randomBytes(6).toString('hex')}.part`;
  await writeFile(partial, bytes);
  await rename(partial, path);
}

/** Hard-links `from` to `to` (same file system), else copies; an existing `to` is kept. */
export async function linkOrCopyNew(from: string, to: string): Promise<void> {
  if (await stat(to).catch(() => undefined)) return;
  const partial = `${to}.${randomBytes(6).toString('hex')}.part`;
  try {
    await link(from, partial);
  } catch {
    await copyFile(from, partial);
  }
  await rename(partial, to);
}
