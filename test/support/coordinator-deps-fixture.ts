// The coordinator's dependencies for tests that drive the real HTTP app with app.request(): real
// SQLite and content store, the real signer; only the queue interfaces rbnet owns are in memory.
import { join } from 'node:path';
import pino from 'pino';
import { loadCoordinatorConfig } from '../../coordinator/coordinator-config.ts';
import type { CoordinatorDeps, DispatchedJob, JobQueues } from '../../coordinator/coordinator-deps.ts';
import { CoordinatorMetrics } from '../../coordinator/metrics/coordinator-metrics.ts';
import { FsContentStore } from '../../coordinator/storage/fs-content-store.ts';
import { openSqliteStores, type SqliteStores } from '../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import type { SqliteBlobLedger } from '../../coordinator/storage/sqlite/sqlite-blob-ledger.ts';
import type { SqliteNonceStore } from '../../coordinator/storage/sqlite/sqlite-nonce-store.ts';
import { SqliteWebAggregates } from '../../coordinator/storage/sqlite/sqlite-web-aggregates.ts';
import { generateEd25519KeyFiles } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { sha256Hex } from '../../services/digest.ts';

export interface TestCoordinatorDeps {
  readonly deps: CoordinatorDeps;
  /** Every SQLite store of the coordinator, on one connection. */
  readonly store: SqliteStores;
  readonly nonces: SqliteNonceStore;
  readonly blobs: SqliteBlobLedger;
  /** Closes every database connection the fixture opened. */
  close(): Promise<void>;
  /** Every job the scheduler put on a worker's queue, in order. */
  readonly enqueued: { workerId: string; job: DispatchedJob }[];
}

export async function createTestCoordinatorDeps(
  root: string,
  options: {
    readonly threshold?: number;
    readonly replicas?: number;
    readonly now?: () => Date;
    readonly depth?: JobQueues['depth'];
    /** Settings as environment variables (quotas, limits), read as the coordinator reads them. */
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): Promise<TestCoordinatorDeps> {
  const keys = await generateEd25519KeyFiles(join(root, 'coordinator.key'));
  const enqueued: { workerId: string; job: DispatchedJob }[] = [];
  const config = loadCoordinatorConfig({
    env: options.env ?? {},
    flags: {
      dataDir: root,
      listen: '127.0.0.1:8470',
      threshold: options.threshold ?? 2,
      replicas: options.replicas ?? 2,
    },
  });
  const store = openSqliteStores(join(root, 'db.sqlite'), {
    quotas: config.quotas,
    maxNoncesPerWorker: config.maxWorkerRequestsPerWindow,
  });
  const { nonces, blobs } = store;
  const webAggregates = new SqliteWebAggregates(join(root, 'db.sqlite'));
  const deps: CoordinatorDeps = {
    config,
    registry: store.registry,
    builds: store.builds,
    results: store.results,
    log: store.log,
    aptLinks: store.aptLinks,
    feed: store.feed,
    syncProfiles: store.syncProfiles,
    syncProgress: store.syncProgress,
    alerts: store.alerts,
    content: new FsContentStore(join(root, 'cas')),
    queues: {
      enqueue: async (workerId, job) => {
        enqueued.push({ workerId, job });
      },
      remove: async () => undefined,
      depth: options.depth ?? (async () => 0),
    },
    queueAccess: {
      queueNameFor: (id) => `rbnet-w-${id}`,
      grant: async (id) => ({
        username: `worker:rbnet:${id}`,
        password: 'p',
        passwordSha256: sha256Hex('p'),
        url: 'redis://127.0.0.1:6390',
      }),
      restore: async () => undefined,
      revoke: async () => undefined,
    },
    signer: await Ed25519FileSigner.fromFile(keys.privateKeyPath),
    logger: pino({ level: 'silent' }),
    nonces,
    blobs,
    now: options.now ?? (() => new Date()),
    metrics: new CoordinatorMetrics(),
    webAggregates,
  };
  return {
    deps,
    store,
    nonces,
    blobs,
    enqueued,
    async close() {
      await webAggregates.close();
      await store.close();
    },
  };
}
