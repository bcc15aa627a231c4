import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnection } from './sqlite-connection.ts';
import { SqliteNonceStore } from './sqlite-nonce-store.ts';

const NOW = 1_800_000_000_000;
const nonce = (i: number) => `nonce-${String(i).padStart(20, '0')}`;

describe('SqliteNonceStore', () => {
  let root: string;
  let path: string;
  const open: SqliteConnection[] = [];
  /** A nonce store on its own connection to the file; `close()` closes that connection. */
  const store = (maxNoncesPerWorker = 100) => {
    const connection = new SqliteConnection(path);
    open.push(connection);
    return Object.assign(new SqliteNonceStore(connection, { maxNoncesPerWorker }), {
      close: async () => connection.close(),
    });
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rbnet-nonces-'));
    path = join(root, 'db.sqlite');
  });
  afterEach(async () => {
    for (const each of open.splice(0)) each.close();
    await rm(root, { recursive: true, force: true });
  });

  it('records a nonce once per worker; the same nonce of another worker is another nonce', async () => {
    const nonces = store();
    expect(await nonces.remember('w1', nonce(1), NOW + 1000, NOW)).toEqual({ kind: 'fresh' });
    expect(await nonces.remember('w1', nonce(1), NOW + 1000, NOW)).toEqual({ kind: 'replayed' });
    expect(await nonces.remember('w2', nonce(1), NOW + 1000, NOW)).toEqual({ kind: 'fresh' });
  });

  it('still knows a nonce after the file is closed and opened again (a coordinator restart)', async () => {
    const first = store();
    await first.remember('w1', nonce(1), NOW + 240_000, NOW);
    await first.close();
    expect(await store().remember('w1', nonce(1), NOW + 240_000, NOW + 1000)).toEqual({ kind: 'replayed' });
  });

  it('refuses a worker at its limit instead of forgetting anything, says when room frees, and never touches other workers', async () => {
    const nonces = store(3);
    for (let i = 0; i < 3; i++) await nonces.remember('w1', nonce(i), NOW + 10_000 + i, NOW);
    expect(await nonces.remember('w1', nonce(9), NOW + 20_000, NOW)).toEqual({
      kind: 'over-limit',
      limit: 3,
      retryAfterMs: 10_000,
    });
    for (let i = 0; i < 3; i++)
      expect((await nonces.remember('w1', nonce(i), NOW + 1, NOW)).kind).toBe('replayed');
    expect((await nonces.remember('w2', nonce(9), NOW + 20_000, NOW)).kind).toBe('fresh');
    // Once the oldest expired, one more fits.
    expect((await nonces.remember('w1', nonce(9), NOW + 20_000, NOW + 10_000)).kind).toBe('fresh');
  });

  it('counts the live nonces it finds on disk after a restart against the limit', async () => {
    const first = store(2);
    await first.remember('w1', nonce(1), NOW + 10_000, NOW);
    await first.remember('w1', nonce(2), NOW + 10_000, NOW);
    await first.close();
    expect((await store(2).remember('w1', nonce(3), NOW + 10_000, NOW)).kind).toBe('over-limit');
  });

  it('prunes expired rows as it records new ones, so the table stays the size of the live set', async () => {
    const nonces = store(10_000);
    for (let i = 0; i < 500; i++) await nonces.remember('w1', nonce(i), NOW + 1000, NOW);
    expect(nonces.size()).toBe(500);
    for (let i = 500; i < 520; i++) await nonces.remember('w1', nonce(i), NOW + 5000, NOW + 2000);
    expect(nonces.size()).toBe(20);
  });
});
