// Decompresses an already digest-verified .xz file with an `xz -dc` child process, capping output size and time.
import { spawn } from 'node:child_process';
import { ArchiveError } from '../../services/errors.ts';

export interface XzDecompressOptions {
  /** Largest decompressed output accepted, in bytes; xz is killed past it (ARCHIVE_TOO_LARGE). */
  readonly maxOutputBytes: number;
  /** xz is killed after this many milliseconds (ARCHIVE_INDEX). */
  readonly timeoutMs: number;
  /** Names the file in messages. */
  readonly what: string;
}

const MAX_STDERR_BYTES = 8 * 1024;
/** Debian's indexes use dictionaries of a few MiB; this bounds what a hostile stream could make xz allocate. */
const MEMORY_LIMIT = '256MiB';

/**
 * Runs `xz --decompress --stdout --memlimit-decompress=256MiB -- <path>` (argument array, no shell)
 * and returns its output. Callers verify the compressed file's sha256 against a signed index first.
 * @throws ArchiveError ARCHIVE_TOO_LARGE past `maxOutputBytes`, ARCHIVE_INDEX when xz fails or times out.
 */
export async function decompressXzFile(path: string, options: XzDecompressOptions): Promise<Buffer> {
  const child = spawn(
    'xz',
    ['--decompress', '--stdout', `--memlimit-decompress=${MEMORY_LIMIT}`, '--', path],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    },
  );
  return await new Promise<Buffer>((settle, reject) => {
    let failure: Error | undefined;
    const fail = (err: Error): void => {
      failure ??= err;
      child.kill('SIGKILL');
    };
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxOutputBytes) {
        fail(
          new ArchiveError(
            'ARCHIVE_TOO_LARGE',
            `${options.what}: decompresses to more than ${options.maxOutputBytes} bytes`,
          ),
        );
      } else if (!failure) chunks.push(chunk);
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8').slice(0, MAX_STDERR_BYTES);
    });
    const timer = setTimeout(
      () =>
        fail(
          new ArchiveError(
            'ARCHIVE_INDEX',
            `${options.what}: xz did not finish within ${options.timeoutMs} ms`,
          ),
        ),
      options.timeoutMs,
    );
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new ArchiveError('ARCHIVE_INDEX', `${options.what}: xz could not be run: ${err.message}`, {
          cause: err,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) {
        return reject(
          new ArchiveError(
            'ARCHIVE_INDEX',
            `${options.what}: xz exited with ${signal ?? `code ${code}`}: ${stderr.trim().slice(0, 500)}`,
          ),
        );
      }
      settle(Buffer.concat(chunks, size));
    });
  });
}
