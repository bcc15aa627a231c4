// The coordinator's dependencies for tests that drive the real HTTP app with app.request(): real
// SQLite and content store, the real signer; only the queue interfaces rbnet owns are in memory.
import { join } from 'node:path';
import pino from 'pino';
import { loadCoordinatorConfig } from '../../coordinator/coordinator-config.ts';
import type { CoordinatorDeps, DispatchedJob, JobQueues } from '../../coordinator/coordinator-deps.ts';
import { CoordinatorMetrics } from '../../coordinator/metrics/coordinator-metrics.ts';
import { FsContentStore } from '../../coordinator/storage/fs-content-store.ts';
import { SqliteBlobLedger } from '../../coordinator/storage/sqlite-blob-ledger.ts';
import { SqliteBuildStore } from '../../coordinator/storage/sqlite-build-store.ts';
import { SqliteNonceStore } from '../../coordinator/storage/sqlite-nonce-store.ts';
import { SqliteWebAggregates } from '../../coordinator/web/sqlite-web-aggregates.ts';
import { generateEd25519KeyFiles } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import { sha256Hex } from '../../services/digest.ts';

export interface TestCoordinatorDeps {
  readonly deps: CoordinatorDeps;
  readonly store: SqliteBuildStore;
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
  const store = new SqliteBuildStore(join(root, 'db.sqlite'));
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
  const nonces = new SqliteNonceStore(join(root, 'db.sqlite'), {
    maxNoncesPerWorker: config.maxWorkerRequestsPerWindow,
  });
  const blobs = new SqliteBlobLedger(join(root, 'db.sqlite'), config.quotas);
  const webAggregates = new SqliteWebAggregates(join(root, 'db.sqlite'));
  const deps: CoordinatorDeps = {
    config,
    store,
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
      await nonces.close();
      await blobs.close();
      await webAggregates.close();
      await store.close();
    },
  };
}
