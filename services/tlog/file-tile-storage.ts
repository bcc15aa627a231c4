// Tiles as files in the C2SP layout (`<root>/tile/0/x001/234.p/17`, `<root>/checkpoint`), so any
// static file server or cache serves the folder as the log; and the log head as one durable file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readFileIfExists, syncFolder, writeFileDurably } from './durable-file.ts';
import { decodeHash, encodeHash } from './merkle-hash.ts';
import type { TileWrite } from './tile-appender.ts';
import { type TileRef, tilePath } from './tile-path.ts';
import { readTilesOrFail, type TileStorage } from './tile-storage.ts';
import { TlogError } from './tlog-errors.ts';
import { type LogHead, type LogHeadStore, sameHead } from './transparency-log.ts';

export class FileTileStorage implements TileStorage {
  constructor(readonly root: string) {}

  readTile(tile: TileRef): Promise<Uint8Array | undefined> {
    return readFileIfExists(join(this.root, tilePath(tile)));
  }

  readTiles(tiles: readonly TileRef[]): Promise<Uint8Array[]> {
    return readTilesOrFail(this, tiles);
  }

  /** Each tile is written to a temporary file and synced, then all are renamed and their folders synced. */
  async writeTiles(writes: readonly TileWrite[]): Promise<void> {
    const staged: { temporary: string; path: string }[] = [];
    for (const write of writes) {
      const path = join(this.root, tilePath(write.tile));
      await mkdir(dirname(path), { recursive: true });
      const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(temporary, 'wx', 0o644);
      try {
        await handle.writeFile(write.bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      staged.push({ temporary, path });
    }
    for (const { temporary, path } of staged) await rename(temporary, path);
    for (const folder of new Set(staged.map(({ path }) => dirname(path)))) await syncFolder(folder);
  }

  writeCheckpoint(text: string): Promise<void> {
    return writeFileDurably(join(this.root, 'checkpoint'), text);
  }

  async readCheckpoint(): Promise<string | undefined> {
    return (await readFileIfExists(join(this.root, 'checkpoint')))?.toString('utf8');
  }
}

/**
 * The head as one file (`{"size":N,"rootHash":"base64"}`). A compare-and-swap only within one
 * process: the caller holds the folder's lock (durable-file.ts lockStateFolder) so no other writes.
 */
export class FileLogHeadStore implements LogHeadStore {
  constructor(readonly path: string) {}

  async readHead(): Promise<LogHead | undefined> {
    const bytes = await readFileIfExists(this.path);
    if (!bytes) return undefined;
    let value: { size?: unknown; rootHash?: unknown };
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new TlogError('CHECKPOINT_INVALID', `${this.path}: not JSON`, { cause });
    }
    if (!Number.isSafeInteger(value.size) || (value.size as number) < 0 || typeof value.rootHash !== 'string')
      throw new TlogError('CHECKPOINT_INVALID', `${this.path}: expected {"size": N, "rootHash": "base64"}`);
    return { size: value.size as number, rootHash: decodeHash(value.rootHash, `${this.path} rootHash`) };
  }

  async swapHead(expected: LogHead | undefined, next: LogHead): Promise<boolean> {
    const current = await this.readHead();
    if (!sameHead(current, expected)) return false;
    await writeFileDurably(
      this.path,
      `${JSON.stringify({ size: next.size, rootHash: encodeHash(next.rootHash) })}\n`,
    );
    return true;
  }
}
