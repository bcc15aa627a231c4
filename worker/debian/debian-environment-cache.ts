// The worker's cache of exact Debian build environments, keyed by environment identity (the sha256
// over the resolved package list), with a least-recently-used size cap and a per-identity lock so
// concurrent jobs on one host prepare an environment once.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { isSha256Hex, type Sha256Hex } from '../../services/digest.ts';
import { EnvironmentError } from '../../services/errors.ts';

/** One cached environment. `imageSha256` is the engine image's only layer; it is recorded, not compared. */
export interface CachedDebianEnvironment {
  readonly identitySha256: Sha256Hex;
  readonly imageSha256: Sha256Hex;
  readonly sizeBytes: number;
  readonly createdAt: string;
  readonly lastUsedAt: string;
}

const LOCK_POLL_MS = 500;

export class DebianEnvironmentCache {
  constructor(
    /** Where entries and locks live, e.g. <stateDir>/debian-environments. */
    readonly dir: string,
    private readonly docker: Docker,
    /** Total bytes of cached environment images kept; the least recently used go first. */
    private readonly maxCacheBytes: number,
    private readonly logger: Logger,
  ) {}

  private entryPath(identity: Sha256Hex): string {
    return join(this.dir, `${identity}.json`);
  }

  /** The entry for `identity` if its image is still in the engine; marks it used. */
  async lookup(identity: Sha256Hex): Promise<CachedDebianEnvironment | undefined> {
    const entry = await this.read(identity);
    if (!entry) return undefined;
    try {
      await this.docker.getImage(`rbnet-env:${entry.imageSha256}`).inspect();
    } catch {
      await rm(this.entryPath(identity), { force: true });
      return undefined;
    }
    const touched = { ...entry, lastUsedAt: new Date().toISOString() };
    await this.write(touched);
    return touched;
  }

  async record(entry: CachedDebianEnvironment): Promise<void> {
    await this.write(entry);
  }

  /**
   * Runs `work` holding the lock for `identity` (a directory created atomically; a holder whose
   * process is gone is taken over). Waits up to `timeoutMs` for another holder.
   */
  async withLock<T>(identity: Sha256Hex, timeoutMs: number, work: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    const lock = join(this.dir, `${identity}.lock`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await mkdir(lock);
        await writeFile(join(lock, 'pid'), String(process.pid));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (!(await lockHolderAlive(lock))) {
          await rm(lock, { recursive: true, force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new EnvironmentError(
            'ENVIRONMENT_MISSING',
            `environment ${identity}: still being prepared by another job after ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }

  /** Removes least-recently-used environments until the total fits `maxCacheBytes`; never `keep`. */
  async evict(keep: Sha256Hex): Promise<string[]> {
    const entries = await this.list();
    let total = entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
    const removed: string[] = [];
    for (const entry of [...entries].sort((a, b) => a.lastUsedAt.localeCompare(b.lastUsedAt))) {
      if (total <= this.maxCacheBytes) break;
      if (entry.identitySha256 === keep) continue;
      try {
        await this.docker.getImage(`rbnet-env:${entry.imageSha256}`).remove({ force: false });
      } catch (error) {
        // An image a running container uses cannot go; it will be evicted on a later pass.
        this.logger.warn({ err: error, identity: entry.identitySha256 }, 'environment eviction skipped');
        continue;
      }
      await rm(this.entryPath(entry.identitySha256), { force: true });
      total -= entry.sizeBytes;
      removed.push(entry.identitySha256);
      this.logger.info({ identity: entry.identitySha256, sizeBytes: entry.sizeBytes }, 'environment evicted');
    }
    return removed;
  }

  async list(): Promise<CachedDebianEnvironment[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: CachedDebianEnvironment[] = [];
    for (const name of names) {
      const identity = name.replace(/\.json$/, '');
      if (!name.endsWith('.json') || !isSha256Hex(identity)) continue;
      const entry = await this.read(identity);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  private async read(identity: Sha256Hex): Promise<CachedDebianEnvironment | undefined> {
    let text: string;
    try {
      if ((await stat(this.entryPath(identity))).size > 64 * 1024) return undefined;
      text = await readFile(this.entryPath(identity), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const value = JSON.parse(text) as CachedDebianEnvironment;
      if (value.identitySha256 !== identity || !isSha256Hex(value.imageSha256)) return undefined;
      if (!Number.isSafeInteger(value.sizeBytes)) return undefined;
      return value;
    } catch {
      return undefined;
    }
  }

  private async write(entry: CachedDebianEnvironment): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = this.entryPath(entry.identitySha256);
    await writeFile(`${path}.tmp`, `${JSON.stringify(entry, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }
}

async function lockHolderAlive(lock: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(join(lock, 'pid'), 'utf8'), 10);
  } catch {
    // Created but pid not yet written: give the holder the benefit of the doubt.
    return true;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
