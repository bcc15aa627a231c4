// Decompresses one tar member of a .deb (control.tar*, data.tar*) to a stream under hard caps on
// output bytes and expansion ratio: the codec follows the member name and must match the magic bytes.
import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression, DebArea } from '../../../services/debian/deb-inspection/deb-listing.ts';
import { InspectionError } from '../../../services/errors.ts';

/** Bytes from the start of a member that {@link magicMismatch} looks at (ustar magic sits at 257). */
export const MAGIC_PROBE_BYTES = 512;

const SUFFIXES: Readonly<Record<string, Compression>> = {
  '': 'none',
  '.gz': 'gzip',
  '.xz': 'xz',
  '.zst': 'zstd',
  '.bz2': 'bzip2',
};

/**
 * Area and codec of an ar member by name: `control.tar`, `control.tar.gz|.xz|.zst`, `data.tar`,
 * `data.tar.gz|.xz|.zst|.bz2` (what dpkg reads). Undefined for any other name.
 */
export function classifyDebMember(name: string): { area: DebArea; compression: Compression } | undefined {
  const match = /^(control|data)\.tar(\.gz|\.xz|\.zst|\.bz2)?$/.exec(name);
  if (!match) return undefined;
  const area = match[1] as DebArea;
  const compression = SUFFIXES[match[2] ?? '']!;
  // dpkg never accepted bzip2 for control.tar.
  if (area === 'control' && compression === 'bzip2') return undefined;
  return { area, compression };
}

/** Which codec the first bytes announce (`none` for a ustar/GNU tar), or undefined when none fits. */
export function sniffCompression(head: Uint8Array): Compression | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) return 'gzip';
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return 'xz';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 4 && b.toString('latin1', 0, 3) === 'BZh' && b[3]! >= 0x31 && b[3]! <= 0x39) return 'bzip2';
  if (b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar') return 'none';
  return undefined;
}

/** Why `head` (the member's first bytes) does not fit `expected`, or undefined when it does. */
export function magicMismatch(expected: Compression, head: Uint8Array): string | undefined {
  const found = sniffCompression(head);
  if (found === expected) return undefined;
  const what = expected === 'none' ? 'an uncompressed tar (ustar magic at byte 257)' : `${expected} data`;
  return found
    ? `the name says ${what}, but the bytes are ${found === 'none' ? 'an uncompressed tar' : `${found} data`}`
    : `the name says ${what}, but the first bytes match no known format`;
}

export interface DecompressLimits {
  /** Output bytes allowed; one more is a decompression bomb. */
  readonly maxOutputBytes: number;
  /** Largest output/input ratio allowed once the output passes `ratioFloorBytes`. */
  readonly maxRatio: number;
  /** Output below this many bytes is never judged by ratio (small tars compress very well). */
  readonly ratioFloorBytes: number;
  /** Size of the compressed member, the denominator of the ratio. */
  readonly compressedBytes: number;
  /** Memory the xz/zstd decoder may use (a hostile header can ask for gigabytes). */
  readonly decoderMemoryBytes: number;
  /** Aborting kills the decoder and ends the stream; `end` then resolves `aborted`. */
  readonly signal?: AbortSignal;
}

/** Defaults for the ratio cap (unitless), its floor (bytes) and the xz/zstd decoder memory (bytes). */
export const defaultDecompressLimits = Object.freeze({
  maxRatio: 2000,
  ratioFloorBytes: 64 * 1024 ** 2,
  decoderMemoryBytes: 256 * 1024 ** 2,
});

/** How the decompression ended. Only a decoder that cannot start is an error (of the environment). */
export type DecompressEnd =
  | { readonly kind: 'complete'; readonly outputBytes: number }
  | { readonly kind: 'capped'; readonly outputBytes: number; readonly detail: string }
  | { readonly kind: 'corrupt'; readonly outputBytes: number; readonly detail: string }
  | { readonly kind: 'aborted'; readonly outputBytes: number };

export interface DecompressedMember {
  /** The decompressed bytes; ends early (truncated at the cap) unless `end` says `complete`. */
  readonly stream: Readable;
  /** Settles once the decoder is gone. Rejects with InspectionError only when the decoder cannot run. */
  readonly end: Promise<DecompressEnd>;
}

interface Decoder {
  readonly writable: Writable;
  readonly readable: Readable;
  /** Resolves to an error text when the decoder reported one, undefined on success. */
  readonly finished: Promise<string | undefined>;
  stop(): void;
}

const STDERR_KEEP_BYTES = 2048;

function childDecoder(command: string, args: string[]): Decoder {
  const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_KEEP_BYTES) stderr += chunk.toString('utf8').slice(0, STDERR_KEEP_BYTES);
  });
  // A killed decoder closes its stdin under our feet; the exit status tells what happened.
  child.stdin!.on('error', () => undefined);
  const finished = new Promise<string | undefined>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new InspectionError(
          'INSPECTION_FAILED',
          err.code === 'ENOENT'
            ? `${command} is not installed; it is needed to read this member`
            : `${command} could not be started: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      else
        resolve(`${command} ${signal ? `was killed by ${signal}` : `exited with ${code}`}: ${stderr.trim()}`);
    });
  });
  return {
    writable: child.stdin!,
    readable: child.stdout!,
    finished,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function inProcessDecoder(transform: PassThrough | ReturnType<typeof createGunzip>): Decoder {
  let failure: string | undefined;
  transform.on('error', (err: Error) => {
    failure ??= err.message;
  });
  const finished = new Promise<string | undefined>((resolve) => {
    transform.once('close', () => resolve(failure));
    transform.once('end', () => resolve(failure));
  });
  return { writable: transform, readable: transform, finished, stop: () => transform.destroy() };
}

function mebibytes(bytes: number): number {
  return Math.max(1, Math.floor(bytes / 1024 ** 2));
}

function openDecoder(compression: Compression, memoryBytes: number): Decoder {
  switch (compression) {
    case 'none':
      return inProcessDecoder(new PassThrough());
    case 'gzip':
      return inProcessDecoder(createGunzip());
    case 'xz':
      return childDecoder('xz', [
        '--decompress',
        '--stdout',
        '--quiet',
        `--memlimit-decompress=${mebibytes(memoryBytes)}MiB`,
      ]);
    case 'zstd':
      return childDecoder('zstd', [
        '--decompress',
        '--stdout',
        '--quiet',
        '--no-progress',
        `--memory=${mebibytes(memoryBytes)}MB`,
      ]);
    case 'bzip2':
      return childDecoder('bzip2', ['--decompress', '--stdout', '--quiet']);
  }
}

/**
 * Streams `input` (one compressed member) through the decoder for `compression` (gzip in-process;
 * xz, zstd and bzip2 as child processes with argument arrays) and passes on at most
 * `limits.maxOutputBytes` bytes. Past the byte cap or the ratio cap the decoder is killed, the output
 * ends where the cap was, and `end` resolves `capped`: a decompression bomb is an outcome, not a crash.
 * Destroying `stream` early (the reader gave up) also kills the decoder.
 */
export function decompressMember(
  input: Readable,
  compression: Compression,
  limits: DecompressLimits,
): DecompressedMember {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const decoder = openDecoder(compression, limits.decoderMemoryBytes);
  let outputBytes = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
    input.destroy();
    decoder.stop();
    decoder.readable.destroy();
  };
  const onAbort = () => stop();
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  const onOutClose = () => {
    if (!out.writableEnded) stop();
  };
  out.once('close', onOutClose);
  input.once('error', () => stop());
  input.pipe(decoder.writable);

  const writeOut = (chunk: Buffer): Promise<boolean> => {
    if (out.destroyed) return Promise.resolve(false);
    if (out.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        out.off('drain', onDrain);
        out.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      out.once('drain', onDrain);
      out.once('close', onClose);
    });
  };

  const pump = async (): Promise<DecompressEnd> => {
    const ratioCap = Math.max(limits.ratioFloorBytes, limits.maxRatio * limits.compressedBytes);
    const cap = Math.min(limits.maxOutputBytes, ratioCap);
    try {
      for await (const chunk of decoder.readable as AsyncIterable<Buffer>) {
        if (outputBytes + chunk.length > cap) {
          const room = cap - outputBytes;
          if (room > 0) await writeOut(chunk.subarray(0, room));
          outputBytes = cap;
          stop();
          const why =
            cap === limits.maxOutputBytes
              ? `expands past the cap of ${limits.maxOutputBytes} bytes`
              : `expands more than ${limits.maxRatio} times its compressed size of ${limits.compressedBytes} bytes`;
          await decoder.finished.catch(() => undefined);
          return { kind: 'capped', outputBytes, detail: `${compression} data ${why}` };
        }
        outputBytes += chunk.length;
        if (!(await writeOut(chunk))) {
          stop();
          break;
        }
      }
    } catch (err) {
      if (!stopped) {
        stop();
        const failure = await decoder.finished;
        return { kind: 'corrupt', outputBytes, detail: failure ?? (err as Error).message };
      }
    }
    const failure = await decoder.finished;
    if (stopped) return { kind: 'aborted', outputBytes };
    if (failure !== undefined) return { kind: 'corrupt', outputBytes, detail: failure };
    return { kind: 'complete', outputBytes };
  };

  const end = pump().finally(() => {
    limits.signal?.removeEventListener('abort', onAbort);
    out.off('close', onOutClose);
    if (!out.destroyed) out.end();
  });
  // The caller reads `end` after the stream; keep an early rejection from counting as unhandled.
  end.catch(() => undefined);
  return { stream: out, end };
}
