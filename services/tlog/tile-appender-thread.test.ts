// The appender in a worker thread gives what the inline one gives (roots and hash tiles, batch by
// batch, also when opened from stored tiles at any size), and fails clearly once stopped.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TileAppender } from './tile-appender.ts';
import { TileAppenderThread } from './tile-appender-thread.ts';
import { tilePath } from './tile-path.ts';
import { MemoryTileStorage } from './tile-storage.ts';
import { entryBytes, NaiveMerkle, seededRandom } from './tlog-test-support.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('TileAppenderThread', () => {
  it('appends as TileAppender does, batch by batch, and opens from stored tiles at any size', async () => {
    const random = seededRandom(7);
    const entries = Array.from({ length: 6_000 }, (_, i) => entryBytes(i));
    const naive = NaiveMerkle.of(entries);
    const storage = new MemoryTileStorage();
    const inline = TileAppender.empty({ entryBundles: false });
    let thread = await TileAppenderThread.open(0, storage);
    let size = 0;
    let reopened = 0;
    try {
      while (size < entries.length) {
        const batch = entries.slice(size, size + [1, 7, 255, 256, 300, 1000][random.int(6)]!);
        const [fromThread, expected] = [await thread.append(batch), inline.append(batch)];
        size += batch.length;
        expect(fromThread.size).toBe(size);
        expect(hex(fromThread.root)).toBe(hex(naive.mth(0, size)));
        expect(Buffer.isBuffer(fromThread.root)).toBe(true);
        expect(fromThread.writes.map((w) => `${tilePath(w.tile)} ${hex(w.bytes)}`)).toEqual(
          expected.writes.map((w) => `${tilePath(w.tile)} ${hex(w.bytes)}`),
        );
        // No entry bundles: the storage keeps the entries itself.
        expect(fromThread.writes.some((w) => w.tile.level === 'entries')).toBe(false);
        await storage.writeTiles(fromThread.writes);
        if (random.int(3) === 0) {
          await thread.close();
          thread = await TileAppenderThread.open(size, storage);
          expect(hex(thread.root())).toBe(hex(naive.mth(0, size)));
          reopened++;
        }
      }
    } finally {
      await thread.close();
    }
    expect(reopened).toBeGreaterThan(2);
  });

  it('refuses to append once closed, with a clear error, and opens again from storage', async () => {
    const storage = new MemoryTileStorage();
    const thread = await TileAppenderThread.open(0, storage);
    await storage.writeTiles((await thread.append([entryBytes(0), entryBytes(1)])).writes);
    await thread.close();
    await expect(thread.append([entryBytes(2)])).rejects.toThrow(/appender thread was closed/);
    const again = await TileAppenderThread.open(2, storage);
    try {
      const next = await again.append([entryBytes(2)]);
      expect(hex(next.root)).toBe(hex(NaiveMerkle.of([0, 1, 2].map((i) => entryBytes(i))).mth(0, 3)));
    } finally {
      await again.close();
    }
  });

  it('keeps no process alive while idle, left open, yet answers while it hashes', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'test', 'support', 'tlog-idle-appender-child.ts')],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise((done) =>
      child.on('exit', (exitCode, signal) => done(signal ?? exitCode)),
    );
    clearTimeout(timer);
    expect(code, output).toBe(0);
    expect(output).toBe('appended 1\n');
  }, 40_000);

  it('refuses to open on a malformed stored tile, as TileAppender.resume does', async () => {
    const storage = new MemoryTileStorage();
    await storage.writeTiles([{ tile: { level: 0, index: 0, width: 3 }, bytes: new Uint8Array(95) }]);
    await expect(TileAppenderThread.open(3, storage)).rejects.toMatchObject({ code: 'TILE_INVALID' });
  });
});
