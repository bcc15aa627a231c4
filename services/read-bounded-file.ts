// Reads an untrusted file only if it is a regular file no larger than a limit: size before parsing.
import { open } from 'node:fs/promises';
import { RbnetError } from './errors.ts';

export class FileReadError extends RbnetError<'FILE_UNREADABLE' | 'FILE_TOO_LARGE'> {}

/** @throws FileReadError FILE_TOO_LARGE past `maxBytes` (checked before reading), FILE_UNREADABLE otherwise. */
export async function readBoundedFile(path: string, maxBytes: number, what = 'file'): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new FileReadError('FILE_UNREADABLE', `${what} ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new FileReadError('FILE_UNREADABLE', `${what} ${path}: not a regular file`);
    if (stat.size > maxBytes) {
      throw new FileReadError(
        'FILE_TOO_LARGE',
        `${what} ${path}: ${stat.size} bytes, over the limit of ${maxBytes}`,
      );
    }
    // Read at most maxBytes + 1 so a file growing after stat is still caught.
    const buffer = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes + 1, 0);
    if (bytesRead > maxBytes)
      throw new FileReadError('FILE_TOO_LARGE', `${what} ${path}: over the limit of ${maxBytes} bytes`);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
