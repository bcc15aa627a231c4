// The replay record of worker request proofs, in the coordinator's SQLite file: a nonce is kept
// until its proof can no longer verify, survives restarts, and is never dropped to make room.
import type Database from 'better-sqlite3';
import type { NonceOutcome, NonceStore } from '../../../services/auth/worker-request-auth.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

export const sqliteNonceStoreDefaults = Object.freeze({
  /**
   * Unexpired nonces one worker may hold, i.e. requests per replay window (240 s): 30,000 is 125
   * requests a second, more than an honest worker uploading a build's 10,000 outputs needs.
   */
  maxNoncesPerWorker: 30_000,
  /** Expired rows removed per recorded nonce, so the table stays the size of the live set. */
  pruneBatch: 64,
});

export interface SqliteNonceStoreOptions {
  readonly maxNoncesPerWorker?: number;
}

/** Expiry times of one worker's live nonces: a binary min-heap, so the soonest is on top. */
class ExpiryHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): number | undefined {
    return this.#items[0];
  }

  push(value: number): void {
    const items = this.#items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): void {
    const items = this.#items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const child = left + 1 < items.length && items[left + 1]! < items[left]! ? left + 1 : left;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}

/**
 * A {@link NonceStore} on SQLite (table `auth_nonces`, migration 5), written with
 * `synchronous = FULL` like every other record: a nonce the coordinator accepted is still refused
 * after a crash or restart. A worker holding `maxNoncesPerWorker` unexpired nonces is refused
 * (`over-limit`) until the oldest expires, so a flood is bounded per worker and never evicts.
 *
 * The per-worker counts are kept in memory, loaded from the table the first time a worker is seen;
 * one coordinator process owns the file (as for every other table).
 */
export class SqliteNonceStore implements NonceStore {
  readonly #db: Database.Database;
  readonly #maxPerWorker: number;
  readonly #live = new Map<string, ExpiryHeap>();
  readonly #s;

  constructor(connection: SqliteConnection, options: SqliteNonceStoreOptions = {}) {
    const maxPerWorker = options.maxNoncesPerWorker ?? sqliteNonceStoreDefaults.maxNoncesPerWorker;
    if (!Number.isSafeInteger(maxPerWorker) || maxPerWorker < 1)
      throw new BuildStoreError('INVALID', 'maxNoncesPerWorker: expected a positive integer');
    this.#maxPerWorker = maxPerWorker;
    this.#db = connection.db;
    const db = this.#db;
    this.#s = {
      seen: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM auth_nonces WHERE worker_id = ? AND nonce = ?',
      ),
      liveOf: db.prepare<[string, number], { expires_at: number }>(
        'SELECT expires_at FROM auth_nonces WHERE worker_id = ? AND expires_at > ?',
      ),
      insert: db.prepare<[string, string, number]>(
        'INSERT INTO auth_nonces (worker_id, nonce, expires_at) VALUES (?, ?, ?)',
      ),
      prune: db.prepare<[number, number]>(
        `DELETE FROM auth_nonces WHERE (worker_id, nonce) IN (
           SELECT worker_id, nonce FROM auth_nonces WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
      ),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM auth_nonces'),
    };
  }

  /** @inheritdoc */
  async remember(workerId: string, nonce: string, expiresAtMs: number, nowMs: number): Promise<NonceOutcome> {
    if (!Number.isSafeInteger(expiresAtMs) || !Number.isSafeInteger(nowMs))
      throw new BuildStoreError('INVALID', 'expiresAtMs, nowMs: expected integer epoch milliseconds');
    return this.#db
      .transaction((): NonceOutcome => {
        if (this.#s.seen.get(workerId, nonce) !== undefined) return { kind: 'replayed' };
        const live = this.#liveOf(workerId, nowMs);
        while (live.size > 0 && live.peek()! <= nowMs) live.pop();
        if (live.size >= this.#maxPerWorker) {
          return { kind: 'over-limit', limit: this.#maxPerWorker, retryAfterMs: live.peek()! - nowMs };
        }
        this.#s.prune.run(nowMs, sqliteNonceStoreDefaults.pruneBatch);
        this.#s.insert.run(workerId, nonce, expiresAtMs);
        live.push(expiresAtMs);
        return { kind: 'fresh' };
      })
      .immediate();
  }

  /** Rows in the table, expired ones not yet pruned included (for tests and diagnostics). */
  size(): number {
    return this.#s.count.get()!.n;
  }

  #liveOf(workerId: string, nowMs: number): ExpiryHeap {
    let heap = this.#live.get(workerId);
    if (heap === undefined) {
      heap = new ExpiryHeap();
      for (const row of this.#s.liveOf.iterate(workerId, nowMs)) heap.push(row.expires_at);
      this.#live.set(workerId, heap);
    }
    return heap;
  }
}
