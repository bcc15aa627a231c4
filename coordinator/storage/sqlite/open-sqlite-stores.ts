// Opens the coordinator's SQLite file once and builds every store on that one connection.
import type { QuotaLimits } from '../../../services/storage/blob-ledger.ts';
import { defaultCoordinatorConfig } from '../../coordinator-config.ts';
import { SqliteAlertStore } from './sqlite-alert-store.ts';
import { SqliteAptLinkStore } from './sqlite-apt-link-store.ts';
import { SqliteBlobLedger } from './sqlite-blob-ledger.ts';
import { SqliteBuildStore } from './sqlite-build-store.ts';
import { SqliteConnection, type SqliteConnectionOptions } from './sqlite-connection.ts';
import { SqliteConsensusFeed } from './sqlite-consensus-feed.ts';
import { SqliteNonceStore } from './sqlite-nonce-store.ts';
import { SqliteRegistryStore } from './sqlite-registry-store.ts';
import { SqliteResultStore } from './sqlite-result-store.ts';
import { SqliteSyncProfileStore } from './sqlite-sync-profile-store.ts';
import { SqliteSyncProgressStore } from './sqlite-sync-progress-store.ts';
import { SqliteTiledLogStore } from './sqlite-tiled-log-store.ts';
import { SqliteTransparencyLog } from './sqlite-transparency-log.ts';

export interface SqliteStoresOptions extends SqliteConnectionOptions {
  /** Content-store allowances per principal; default: the coordinator's defaults. */
  readonly quotas?: QuotaLimits;
  /** Unexpired request nonces one worker may hold; default: the nonce store's. */
  readonly maxNoncesPerWorker?: number;
}

/** Every record store of the coordinator, over one connection to one file. */
export interface SqliteStores {
  readonly connection: SqliteConnection;
  readonly registry: SqliteRegistryStore;
  readonly builds: SqliteBuildStore;
  readonly results: SqliteResultStore;
  readonly log: SqliteTransparencyLog;
  /** The tiled transparency log's sequence, tiles and head (migration 10). */
  readonly tiledLog: SqliteTiledLogStore;
  readonly aptLinks: SqliteAptLinkStore;
  readonly blobs: SqliteBlobLedger;
  readonly nonces: SqliteNonceStore;
  /** The consensus feed and package index (read models kept by the schema). */
  readonly feed: SqliteConsensusFeed;
  readonly syncProfiles: SqliteSyncProfileStore;
  readonly syncProgress: SqliteSyncProgressStore;
  /** Alert subscriptions, events and webhook deliveries. */
  readonly alerts: SqliteAlertStore;
  /** The schema version of the open database (the highest migration applied). */
  schemaVersion(): number;
  /** Closes the connection (idempotent); every store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Opens (creating and migrating if needed) the database at `path`.
 * @throws BuildStoreError `SCHEMA` when the file was written by a newer rbnet or a migration fails.
 */
export function openSqliteStores(path: string, options: SqliteStoresOptions = {}): SqliteStores {
  const connection = new SqliteConnection(path, options);
  try {
    return Object.freeze({
      connection,
      registry: new SqliteRegistryStore(connection),
      builds: new SqliteBuildStore(connection),
      results: new SqliteResultStore(connection),
      log: new SqliteTransparencyLog(connection),
      tiledLog: new SqliteTiledLogStore(connection),
      aptLinks: new SqliteAptLinkStore(connection),
      blobs: new SqliteBlobLedger(connection, options.quotas ?? defaultCoordinatorConfig.quotas),
      nonces: new SqliteNonceStore(
        connection,
        options.maxNoncesPerWorker === undefined ? {} : { maxNoncesPerWorker: options.maxNoncesPerWorker },
      ),
      feed: new SqliteConsensusFeed(connection),
      syncProfiles: new SqliteSyncProfileStore(connection),
      syncProgress: new SqliteSyncProgressStore(connection),
      alerts: new SqliteAlertStore(connection),
      schemaVersion: () => connection.schemaVersion(),
      close: async () => connection.close(),
    });
  } catch (err) {
    connection.close();
    throw err;
  }
}
