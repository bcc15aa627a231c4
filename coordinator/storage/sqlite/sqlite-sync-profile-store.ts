// Sync profiles on SQLite: one row per profile, checked by the schema (migration 12): the maintainer
// must be registered, names are unique and never change, and a coordinator keeps a bounded number.

import { BuildStoreError } from '../../../services/storage/store-error.ts';
import type {
  NewSyncProfile,
  SyncProfileRecord,
  SyncProfileStore,
} from '../../../services/storage/sync-profile-store.ts';
import { frozenArray, iso } from './row-mapping.ts';
import { epochMs, type SqliteConnection } from './sqlite-connection.ts';

interface SyncProfileRow {
  name: string;
  maintainer: string;
  spec_json: string;
  priority: number;
  rate_limit_per_hour: number;
  initial_delay_seconds: number;
  paused: number;
  created_at: number | null;
  updated_at: number | null;
}

/** What the JSON column holds: the parts of a profile nothing is scheduled by. */
type ProfileSpec = Pick<NewSyncProfile, 'archive' | 'buildinfo' | 'include' | 'exclude'>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function mapProfile(row: SyncProfileRow): SyncProfileRecord {
  // Written by addSyncProfile from a profile the API's strict parser read; the schema checked its shape.
  const spec = JSON.parse(row.spec_json) as ProfileSpec;
  return deepFreeze({
    name: row.name,
    archive: spec.archive,
    buildinfo: spec.buildinfo,
    include: spec.include,
    exclude: spec.exclude,
    priority: row.priority,
    rateLimitPerHour: row.rate_limit_per_hour,
    initialDelaySeconds: row.initial_delay_seconds,
    maintainer: row.maintainer,
    paused: row.paused === 1,
    createdAt: iso(row.created_at!),
    updatedAt: iso(row.updated_at!),
  });
}

function prepare(c: SqliteConnection) {
  const db = c.db;
  return {
    insert: db.prepare<[SyncProfileRow]>(
      `INSERT INTO sync_profiles (name, maintainer, spec_json, priority, rate_limit_per_hour,
         initial_delay_seconds, paused, created_at, updated_at)
       VALUES (@name, @maintainer, @spec_json, @priority, @rate_limit_per_hour,
         @initial_delay_seconds, @paused, @created_at, @updated_at)`,
    ),
    get: db.prepare<[string], SyncProfileRow>('SELECT * FROM sync_profiles WHERE name = ?'),
    list: db.prepare<[], SyncProfileRow>('SELECT * FROM sync_profiles ORDER BY priority DESC, name'),
    setPaused: db.prepare<[number, number | null, string]>(
      'UPDATE sync_profiles SET paused = ?, updated_at = MAX(created_at, ?) WHERE name = ?',
    ),
    remove: db.prepare<[string]>('DELETE FROM sync_profiles WHERE name = ?'),
  };
}

/** The {@link SyncProfileStore} on the coordinator's SQLite file. */
export class SqliteSyncProfileStore implements SyncProfileStore {
  readonly #c: SqliteConnection;
  readonly #s: ReturnType<typeof prepare>;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
    this.#s = prepare(connection);
  }

  /** @inheritdoc */
  async addSyncProfile(profile: NewSyncProfile, now: Date): Promise<SyncProfileRecord> {
    const nowMs = epochMs(now);
    const spec: ProfileSpec = {
      archive: profile.archive,
      buildinfo: profile.buildinfo,
      include: profile.include,
      exclude: profile.exclude,
    };
    return this.#c.write(() => {
      this.#s.insert.run({
        name: profile.name,
        maintainer: profile.maintainer,
        spec_json: JSON.stringify(spec),
        priority: profile.priority,
        rate_limit_per_hour: profile.rateLimitPerHour,
        initial_delay_seconds: profile.initialDelaySeconds,
        paused: 0,
        created_at: nowMs,
        updated_at: nowMs,
      });
      return mapProfile(this.#s.get.get(profile.name)!);
    });
  }

  /** @inheritdoc */
  async getSyncProfile(name: string): Promise<SyncProfileRecord | undefined> {
    const row = this.#s.get.get(name);
    return row ? mapProfile(row) : undefined;
  }

  /** @inheritdoc */
  async listSyncProfiles(): Promise<readonly SyncProfileRecord[]> {
    return frozenArray(this.#s.list.all().map(mapProfile));
  }

  /** @inheritdoc */
  async setSyncProfilePaused(name: string, paused: boolean, now: Date): Promise<SyncProfileRecord> {
    return this.#c.write(() => {
      const before = this.#s.get.get(name);
      if (!before) throw new BuildStoreError('NOT_FOUND', `name: sync profile ${name} not found`);
      if ((before.paused === 1) !== paused) this.#s.setPaused.run(paused ? 1 : 0, epochMs(now), name);
      return mapProfile(this.#s.get.get(name)!);
    });
  }

  /** @inheritdoc */
  async removeSyncProfile(name: string): Promise<boolean> {
    return this.#c.write(() => this.#s.remove.run(name).changes > 0);
  }
}
