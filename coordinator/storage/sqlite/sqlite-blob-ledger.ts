// The content-store ledger in the coordinator's SQLite file (migration 5): owners and usage for
// quotas, references (written by triggers on the record tables) for garbage collection.
import type Database from 'better-sqlite3';
import { isSha256Hex, type Sha256Hex } from '../../../services/digest.ts';
import {
  type BlobLedger,
  type CollectableBlob,
  type Principal,
  principalKey,
  QuotaError,
  type QuotaLimits,
  type QuotaReservation,
  type Usage,
} from '../../../services/storage/blob-ledger.ts';
import { BuildStoreError } from '../../../services/storage/store-error.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

interface BlobRow {
  sha256: string;
  size_bytes: number;
  collectable: number;
  first_stored_at: number;
  last_wanted_at: number;
}

/** The setting that raises each quota, named in refusals. */
const QUOTA_SETTING: Readonly<Record<keyof QuotaLimits, { bytes: string; blobs: string }>> = {
  maintainer: { bytes: 'RBNET_QUOTA_MAINTAINER_BYTES', blobs: 'RBNET_QUOTA_MAINTAINER_BLOBS' },
  worker: { bytes: 'RBNET_QUOTA_WORKER_BYTES', blobs: 'RBNET_QUOTA_WORKER_BLOBS' },
  operator: { bytes: 'RBNET_QUOTA_OPERATOR_BYTES', blobs: 'RBNET_QUOTA_OPERATOR_BLOBS' },
};

function checkDigest(value: unknown, field: string): asserts value is Sha256Hex {
  if (!isSha256Hex(value))
    throw new BuildStoreError('INVALID', `${field}: expected 64 lowercase hex characters`);
}

/**
 * A {@link BlobLedger} on SQLite. Usage is a counter row per principal kept by triggers, so a quota
 * check reads one row whatever the history. Room held by uploads in progress is kept in memory:
 * one coordinator process owns the file.
 */
export class SqliteBlobLedger implements BlobLedger {
  readonly #db: Database.Database;
  readonly #limits: QuotaLimits;
  readonly #inflight = new Map<string, { bytes: number; blobs: number }>();
  readonly #s;

  constructor(connection: SqliteConnection, limits: QuotaLimits) {
    for (const [kind, quota] of Object.entries(limits)) {
      for (const [name, value] of Object.entries(quota)) {
        if (!Number.isSafeInteger(value) || value < 0)
          throw new BuildStoreError('INVALID', `limits.${kind}.${name}: expected a non-negative integer`);
      }
    }
    this.#limits = limits;
    this.#db = connection.db;
    const db = this.#db;
    this.#s = {
      usage: db.prepare<[string], { bytes: number; blobs: number }>(
        'SELECT bytes, blobs FROM blob_usage WHERE principal = ?',
      ),
      blob: db.prepare<[string], BlobRow>('SELECT * FROM blobs WHERE sha256 = ?'),
      referenced: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM blob_refs WHERE sha256 = ? LIMIT 1',
      ),
      insertBlob: db.prepare<[string, number, number, number, number]>(
        `INSERT INTO blobs (sha256, size_bytes, collectable, first_stored_at, last_wanted_at)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      want: db.prepare<[number, string]>(
        'UPDATE blobs SET last_wanted_at = MAX(last_wanted_at, ?) WHERE sha256 = ?',
      ),
      insertOwner: db.prepare<[string, string, number, number]>(
        'INSERT OR IGNORE INTO blob_owners (principal, sha256, size_bytes, stored_at) VALUES (?, ?, ?, ?)',
      ),
      collectable: db.prepare<[number, number], BlobRow & { owners: string | null }>(
        `SELECT b.*, (SELECT group_concat(principal, ' ') FROM blob_owners o WHERE o.sha256 = b.sha256) AS owners
         FROM blobs b
         WHERE b.collectable = 1 AND b.last_wanted_at < ?
           AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.sha256 = b.sha256)
         ORDER BY b.last_wanted_at LIMIT ?`,
      ),
      deleteOwners: db.prepare<[string]>('DELETE FROM blob_owners WHERE sha256 = ?'),
      deleteBlob: db.prepare<[string]>('DELETE FROM blobs WHERE sha256 = ?'),
      referencesOf: db.prepare<[string], { holder: string }>(
        'SELECT holder FROM blob_refs WHERE sha256 = ? ORDER BY holder',
      ),
    };
  }

  /** @inheritdoc */
  async reserve(
    chargeTo: readonly Principal[],
    declaredBytes: number | undefined,
    maxBytes: number,
  ): Promise<QuotaReservation> {
    let room = maxBytes;
    let tightest: { key: string; kind: keyof QuotaLimits; limit: number; used: number } | undefined;
    const keys: string[] = [];
    for (const principal of chargeTo) {
      if (principal.kind === 'admin') continue;
      const key = principalKey(principal);
      const quota = this.#limits[principal.kind];
      const stored = this.#usageOf(key);
      const held = this.#inflight.get(key) ?? { bytes: 0, blobs: 0 };
      if (stored.blobs + held.blobs + 1 > quota.maxBlobs) {
        throw new QuotaError(
          'QUOTA_BLOBS_EXCEEDED',
          `quota: ${key} holds ${stored.blobs} blobs (${held.blobs} more uploading) of its ${principal.kind} ` +
            `quota of ${quota.maxBlobs} (${QUOTA_SETTING[principal.kind].blobs}); unreferenced uploads are ` +
            'collected after the grace period, or ask the coordinator administrator',
          { principal: key, limit: quota.maxBlobs, used: stored.blobs + held.blobs, requested: 1 },
        );
      }
      const left = quota.maxBytes - stored.bytes - held.bytes;
      if ((declaredBytes !== undefined && declaredBytes > left) || left <= 0) {
        throw new QuotaError(
          'QUOTA_BYTES_EXCEEDED',
          `quota: ${key} holds ${stored.bytes} bytes (${held.bytes} more uploading) of its ${principal.kind} ` +
            `quota of ${quota.maxBytes} bytes (${QUOTA_SETTING[principal.kind].bytes}); this upload ` +
            `${declaredBytes === undefined ? 'has no room left' : `declares ${declaredBytes} more`}; ` +
            'unreferenced uploads are collected after the grace period, or ask the coordinator administrator',
          {
            principal: key,
            limit: quota.maxBytes,
            used: stored.bytes + held.bytes,
            requested: declaredBytes ?? 1,
          },
        );
      }
      if (left < room) {
        room = left;
        tightest = { key, kind: principal.kind, limit: quota.maxBytes, used: stored.bytes + held.bytes };
      }
      keys.push(key);
    }
    const bytes = declaredBytes ?? room;
    for (const key of keys) {
      const held = this.#inflight.get(key) ?? { bytes: 0, blobs: 0 };
      this.#inflight.set(key, { bytes: held.bytes + bytes, blobs: held.blobs + 1 });
    }
    let released = false;
    return {
      maxBytes: bytes,
      overrun: () =>
        declaredBytes === undefined && tightest
          ? new QuotaError(
              'QUOTA_BYTES_EXCEEDED',
              `quota: ${tightest.key} had ${bytes} bytes left of its ${tightest.kind} quota of ` +
                `${tightest.limit} bytes (${QUOTA_SETTING[tightest.kind].bytes}), and this upload went past them`,
              { principal: tightest.key, limit: tightest.limit, used: tightest.used, requested: bytes + 1 },
            )
          : undefined,
      release: () => {
        if (released) return;
        released = true;
        for (const key of keys) {
          const held = this.#inflight.get(key)!;
          if (held.blobs === 1) this.#inflight.delete(key);
          else this.#inflight.set(key, { bytes: held.bytes - bytes, blobs: held.blobs - 1 });
        }
      },
    };
  }

  /** @inheritdoc */
  async recordUpload(
    chargeTo: readonly Principal[],
    blob: { readonly sha256: Sha256Hex; readonly sizeBytes: number; readonly created: boolean },
    now: Date,
  ): Promise<void> {
    checkDigest(blob.sha256, 'blob.sha256');
    const nowMs = now.getTime();
    this.#db
      .transaction(() => {
        if (this.#s.blob.get(blob.sha256) === undefined) {
          // Only a blob this ledger saw created is ever collectable: anything older, or written by the
          // coordinator itself, may be named by a record from before the ledger existed.
          const collectable = blob.created && this.#s.referenced.get(blob.sha256) === undefined;
          this.#s.insertBlob.run(blob.sha256, blob.sizeBytes, collectable ? 1 : 0, nowMs, nowMs);
        } else {
          this.#s.want.run(nowMs, blob.sha256);
        }
        if (blob.created) {
          for (const principal of chargeTo)
            this.#s.insertOwner.run(principalKey(principal), blob.sha256, blob.sizeBytes, nowMs);
        }
      })
      .immediate();
  }

  /** @inheritdoc */
  async markWanted(digests: readonly Sha256Hex[], now: Date): Promise<void> {
    digests.forEach((sha256, i) => {
      checkDigest(sha256, `digests[${i}]`);
    });
    const nowMs = now.getTime();
    this.#db
      .transaction(() => {
        for (const sha256 of digests) this.#s.want.run(nowMs, sha256);
      })
      .immediate();
  }

  /** @inheritdoc */
  async usage(principal: Principal): Promise<Usage> {
    return Object.freeze(this.#usageOf(principalKey(principal)));
  }

  /** @inheritdoc */
  async listCollectable(cutoff: Date, limit: number): Promise<readonly CollectableBlob[]> {
    return Object.freeze(
      this.#s.collectable.all(cutoff.getTime(), limit).map((row) =>
        Object.freeze({
          sha256: row.sha256 as Sha256Hex,
          sizeBytes: row.size_bytes,
          owners: Object.freeze(row.owners ? row.owners.split(' ').sort() : []),
          lastWantedAt: new Date(row.last_wanted_at).toISOString(),
        }),
      ),
    );
  }

  /** @inheritdoc */
  async forget(sha256: Sha256Hex, cutoff: Date): Promise<boolean> {
    checkDigest(sha256, 'sha256');
    return this.#db
      .transaction(() => {
        const row = this.#s.blob.get(sha256);
        if (
          row === undefined ||
          row.collectable !== 1 ||
          row.last_wanted_at >= cutoff.getTime() ||
          this.#s.referenced.get(sha256) !== undefined
        )
          return false;
        this.#s.deleteOwners.run(sha256);
        this.#s.deleteBlob.run(sha256);
        return true;
      })
      .immediate();
  }

  /** @inheritdoc */
  async referencesOf(sha256: Sha256Hex): Promise<readonly string[]> {
    checkDigest(sha256, 'sha256');
    return Object.freeze(this.#s.referencesOf.all(sha256).map((r) => r.holder));
  }

  #usageOf(key: string): Usage {
    return this.#s.usage.get(key) ?? { bytes: 0, blobs: 0 };
  }
}
