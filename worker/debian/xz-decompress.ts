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
  /**
   * The exact decompressed size when a signed index lists it: the output is then written into one
   * buffer of that size (no chunk list and no copy at the end, so the peak is the index once, not
   * twice) and any other size is refused (ARCHIVE_DIGEST).
   */
  readonly expectedOutputBytes?: number;
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
    const expected = options.expectedOutputBytes;
    const whole =
      expected !== undefined && expected <= options.maxOutputBytes ? Buffer.allocUnsafe(expected) : undefined;
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (failure) return;
      if (size + chunk.length > options.maxOutputBytes) {
        fail(
          new ArchiveError(
            'ARCHIVE_TOO_LARGE',
            `${options.what}: decompresses to more than ${options.maxOutputBytes} bytes`,
          ),
        );
      } else if (expected !== undefined && size + chunk.length > expected) {
        fail(wrongSize(options.what, `more than ${expected}`, expected));
      } else if (whole) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
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
      if (expected !== undefined && size !== expected)
        return reject(wrongSize(options.what, String(size), expected));
      settle(whole ?? Buffer.concat(chunks, size));
    });
  });
}

function wrongSize(what: string, actual: string, expected: number): ArchiveError {
  return new ArchiveError(
    'ARCHIVE_DIGEST',
    `${what}: decompresses to ${actual} bytes; the signed index lists ${expected}`,
  );
}
