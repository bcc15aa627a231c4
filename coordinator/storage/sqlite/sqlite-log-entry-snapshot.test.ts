// Single entries are read through a reused read snapshot of a second, read-only connection
// (sqlite-log-entry-snapshot.ts): never from a snapshot older than the head that covers the entry
// (rows past the head can still be written over), letting go of the WAL within its window, closed
// with the coordinator's connection, and read directly when the database is in memory.
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeEntryBundle } from '../../../services/tlog/entry-bundle.ts';
import { newLogSigner } from '../../../services/tlog/tlog-fixtures.ts';
import { entryBytes } from '../../../services/tlog/tlog-test-support.ts';
import { TransparencyLog } from '../../../services/tlog/transparency-log.ts';
import { SqliteConnection } from './sqlite-connection.ts';
import { entrySnapshotMaxMs } from './sqlite-log-entry-snapshot.ts';
import { SqliteTiledLogStore } from './sqlite-tiled-log-store.ts';

const ORIGIN = 'rbnet.example/log';
const signer = newLogSigner(ORIGIN);
let root: string;
let connections: SqliteConnection[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-entry-snapshot-'));
  connections = [];
});
afterEach(async () => {
  for (const connection of connections) connection.close();
  await rm(root, { recursive: true, force: true });
});

function open(path = join(root, 'db.sqlite')): { connection: SqliteConnection; store: SqliteTiledLogStore } {
  const connection = new SqliteConnection(path);
  connections.push(connection);
  return { connection, store: new SqliteTiledLogStore(connection) };
}

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();

/** Descriptors this process holds open on `path` (the database file itself, not its -wal or -shm). */
async function openDescriptors(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path) count++;
  }
  return count;
}

describe('SqliteLogEntrySnapshot (through SqliteTiledLogStore.readEntry)', () => {
  it('reads entries appended after its snapshot was taken', async () => {
    const { store } = open();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append(Array.from({ length: 10 }, (_, i) => entryBytes(i)));
    expect(text(store.readEntry(5))).toBe('entry 5');
    await log.append(Array.from({ length: 10 }, (_, i) => entryBytes(10 + i)));
    expect(text(store.readEntry(15))).toBe('entry 15');
    expect(text(store.readEntry(3))).toBe('entry 3');
  });

  it('never answers from a snapshot older than the head covering the entry: a row written over past the head is read new', async () => {
    const { store } = open();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append([entryBytes(0), entryBytes(1)]);
    // A crashed append left row 2 past the head (size 2).
    await store.writeTiles([
      {
        tile: { level: 'entries', index: 0, width: 3 },
        bytes: encodeEntryBundle([entryBytes(0), entryBytes(1), entryBytes(2, 'crashed')]),
      },
    ]);
    expect(text(store.readEntry(1))).toBe('entry 1'); // a snapshot is open now, with row 2 'crashed'
    // Another process's log (its own connection) appends for real: row 2 is written over, head 3.
    const other = open();
    const otherLog = await TransparencyLog.open({
      origin: ORIGIN,
      signer,
      tiles: other.store,
      heads: other.store,
    });
    await otherLog.append([entryBytes(2)]);
    expect(otherLog.head.size).toBe(3);
    expect(text(store.readEntry(2))).toBe('entry 2');
  });

  it('lets go of the WAL within its window, so a checkpoint can truncate it', async () => {
    const { connection, store } = open();
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append([entryBytes(0), entryBytes(1)]);
    expect(text(store.readEntry(0))).toBe('entry 0');
    await log.append([entryBytes(2)]); // newer than the snapshot
    connection.db.pragma('busy_timeout = 0');
    const truncate = () =>
      (connection.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[])[0]!;
    expect(truncate().busy).toBe(1); // the snapshot holds the WAL
    await sleep(entrySnapshotMaxMs * 5);
    expect(truncate()).toMatchObject({ busy: 0, log: 0 });
    expect(text(store.readEntry(2))).toBe('entry 2');
  });

  it('closes its read-only connection with the coordinator connection', async () => {
    const path = join(root, 'closed.sqlite');
    const { connection, store } = open(path);
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append([entryBytes(0)]);
    expect(await openDescriptors(path)).toBe(1);
    expect(text(store.readEntry(0))).toBe('entry 0');
    expect(await openDescriptors(path)).toBe(2);
    connection.close();
    expect(await openDescriptors(path)).toBe(0);
  });

  it('reads directly when the database is in memory (no file to open twice)', async () => {
    const { store } = open(':memory:');
    const log = await TransparencyLog.open({ origin: ORIGIN, signer, tiles: store, heads: store });
    await log.append([entryBytes(0), entryBytes(1)]);
    expect(text(store.readEntry(1))).toBe('entry 1');
    expect(text(await log.entry(0))).toBe('entry 0');
  });
});
