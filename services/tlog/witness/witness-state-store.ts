// Where a witness keeps the latest checkpoint it cosigned per log: one file per origin, named by
// the origin's sha256, holding the checkpoint with the log's signatures and its own cosignature;
// replaced atomically and durably (write, fsync, rename, fsync the folder).
import { join } from 'node:path';
import { sha256Hex } from '../../digest.ts';
import { readFileIfExists, writeFileDurably } from '../durable-file.ts';

/** The latest cosigned checkpoint per origin. Writes must be durable before they resolve. */
export interface WitnessStateStore {
  /** The stored checkpoint note for `origin`, or undefined when none was ever cosigned. */
  read(origin: string): Promise<string | undefined>;
  /** By the lowercase hex sha256 of the origin (the monitoring path). */
  readByOriginHash(originSha256: string): Promise<string | undefined>;
  write(origin: string, note: string): Promise<void>;
}

export class FileWitnessStateStore implements WitnessStateStore {
  constructor(readonly folder: string) {}

  read(origin: string): Promise<string | undefined> {
    return this.readByOriginHash(sha256Hex(origin));
  }

  async readByOriginHash(originSha256: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{64}$/.test(originSha256)) return undefined;
    return (await readFileIfExists(join(this.folder, 'logs', `${originSha256}.checkpoint`)))?.toString(
      'utf8',
    );
  }

  write(origin: string, note: string): Promise<void> {
    return writeFileDurably(join(this.folder, 'logs', `${sha256Hex(origin)}.checkpoint`), note);
  }
}

export class MemoryWitnessStateStore implements WitnessStateStore {
  readonly #notes = new Map<string, string>();

  async read(origin: string): Promise<string | undefined> {
    return this.#notes.get(sha256Hex(origin));
  }

  async readByOriginHash(originSha256: string): Promise<string | undefined> {
    return this.#notes.get(originSha256);
  }

  async write(origin: string, note: string): Promise<void> {
    this.#notes.set(sha256Hex(origin), note);
  }
}
