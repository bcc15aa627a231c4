// Collects a build's stdout/stderr into a capped, hashed log file: a runaway log cannot fill the disk.
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import type { Sha256Hex } from '../../services/digest.ts';

export interface CapturedLog {
  /** sha256 of the bytes kept (the log file as stored). */
  readonly sha256: Sha256Hex;
  /** Bytes kept in the log file. */
  readonly sizeBytes: number;
  /** Bytes the build wrote in all, including those dropped past the cap. */
  readonly totalBytes: number;
  readonly truncated: boolean;
}

/** A Writable both of the container's streams are demultiplexed into. Call `finish()` once the build ended. */
export class LogCapture extends Writable {
  private readonly hash = createHash('sha256');
  private readonly file: WriteStream;
  private keptBytes = 0;
  private seenBytes = 0;
  /** Last bytes kept in memory so the runner can look for disk-full messages without re-reading the file. */
  private tail = '';

  constructor(
    path: string,
    private readonly maxLogBytes: number,
  ) {
    super();
    this.file = createWriteStream(path, { mode: 0o644 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Bytes the engine still delivers after the log was sealed are not part of it (and writing them
    // to the closed file would raise an error nobody listens for).
    if (this.file.writableEnded) {
      callback();
      return;
    }
    this.seenBytes += chunk.length;
    const room = this.maxLogBytes - this.keptBytes;
    const kept = room <= 0 ? undefined : chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (kept) {
      this.keptBytes += kept.length;
      this.hash.update(kept);
      this.tail = (this.tail + kept.toString('utf8')).slice(-8192);
      if (!this.file.write(kept)) {
        this.file.once('drain', () => callback());
        return;
      }
    }
    callback();
  }

  /** The last few KiB of the kept log, for classifying a failure. */
  get tailText(): string {
    return this.tail;
  }

  /** Flushes the file and returns the log's identity. */
  async finish(): Promise<CapturedLog> {
    await new Promise<void>((resolve, reject) => {
      this.file.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    return {
      sha256: this.hash.digest('hex') as Sha256Hex,
      sizeBytes: this.keptBytes,
      totalBytes: this.seenBytes,
      truncated: this.seenBytes > this.keptBytes,
    };
  }
}
