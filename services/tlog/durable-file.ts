// Small files that survive a crash whole or not at all (write, fsync, rename, fsync the folder), and
// a lock file that keeps a second process from writing the same state.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RbnetError } from '../errors.ts';

export class StateLockError extends RbnetError<'STATE_LOCKED'> {}

/**
 * Replaces `path` with `data` atomically and durably: readers see the old or the new bytes, never a
 * mix, and after this resolves a power cut keeps the new ones.
 */
export async function writeFileDurably(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncFolder(dirname(path));
}

export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file's bytes, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Takes `<folder>/lock` for this process: refused while another live process holds it; a lock left
 * by a process that died (its pid is gone) is taken over. Returns the release function.
 * @throws StateLockError STATE_LOCKED.
 */
export async function lockStateFolder(folder: string): Promise<() => Promise<void>> {
  await mkdir(folder, { recursive: true });
  const path = join(folder, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFileIfExists(path))?.toString('utf8').trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder))
      throw new StateLockError('STATE_LOCKED', `${folder} is in use by process ${holder}; stop it first`);
    await rm(path, { force: true });
  }
  throw new StateLockError('STATE_LOCKED', `${folder}: could not take ${path}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
