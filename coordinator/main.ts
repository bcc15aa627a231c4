// Composition root of the coordinator: the only place that opens the database, the content store,
// Redis and the listening socket. Tests start the real coordinator through `startCoordinator`.
import { access, mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { ensureEd25519KeyFiles } from '../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../services/attestation/signer.ts';
import { freeLoopbackPort } from '../services/free-loopback-port.ts';
import { queueNameForWorker } from '../services/queue/queue-contract.ts';
import { AlertDispatcher } from './alerts/alert-dispatcher.ts';
import { type CoordinatorConfig, loggableConfig } from './coordinator-config.ts';
import type { CoordinatorDeps, JobQueues, WorkerQueueAccess } from './coordinator-deps.ts';
import { createCoordinatorApp } from './http/create-app.ts';
import { expireLeases, restoreQueues } from './leases/lease-keeper.ts';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import type { JobCompletion } from './queue/job-dispatcher.ts';
import {
  applyWorkerRedisUser,
  createWorkerRedisUser,
  deleteWorkerRedisUser,
  drainWorkerQueue,
} from './queue/redis-acl.ts';
import { RedisShards } from './queue/redis-shards.ts';
import { progressBuild } from './scheduler/progress-build.ts';
import { sweepPendingBuilds } from './scheduler/sweep-pending-builds.ts';
import { collectGarbage } from './storage/collect-garbage.ts';
import { FsContentStore } from './storage/fs-content-store.ts';
import { openSqliteStores } from './storage/sqlite/open-sqlite-stores.ts';
import { SqliteWebAggregates } from './storage/sqlite/sqlite-web-aggregates.ts';
import { startArchiveSync } from './sync/archive-sync-loop.ts';
import { openCoordinatorLog } from './tlog/open-coordinator-log.ts';
import { tlogDefaults } from './tlog/tlog-settings.ts';

/** Idle keep-alive sockets are closed by the server only after this long (clients close first). */
const SERVER_KEEP_ALIVE_MS = 65_000;
export interface RunningCoordinator {
  readonly url: string;
  readonly deps: CoordinatorDeps;
  /** Printed once, on the first start only; undefined afterwards. */
  readonly adminToken?: string;
  close(): Promise<void>;
}

const SIGNING_KEY_FILE = 'coordinator-signing.key';
const ADMIN_MARKER_FILE = 'admin-token-issued';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Port 0 means "any free port"; the public URL must name the real one, since workers sign it. */
async function withConcretePort(config: CoordinatorConfig): Promise<CoordinatorConfig> {
  if (config.listenPort !== 0) return config;
  const port = await freeLoopbackPort(config.listenHost);
  const publicUrl =
    new URL(config.publicUrl).port === '0' ? `http://${config.listenHost}:${port}` : config.publicUrl;
  return Object.freeze({ ...config, listenPort: port, publicUrl });
}

export async function startCoordinator(
  requested: CoordinatorConfig,
  logger: Logger,
): Promise<RunningCoordinator> {
  const config = await withConcretePort(requested);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const keyPath = join(config.dataDir, SIGNING_KEY_FILE);
  await ensureEd25519KeyFiles(keyPath);
  const signer = await Ed25519FileSigner.fromFile(keyPath);
  const databasePath = join(config.dataDir, 'rbnet.sqlite');
  // One connection for every store: one writer, one schema, one durability setting.
  const stores = openSqliteStores(databasePath, {
    quotas: config.quotas,
    maxNoncesPerWorker: config.maxWorkerRequestsPerWindow,
  });
  // The pages' own read connection: its data version changes with every commit of the stores'.
  const webAggregates = new SqliteWebAggregates(databasePath);
  const content = new FsContentStore(join(config.dataDir, 'cas'));
  // A job the worker's queue marks failed (it never reported over HTTP: bad payload, engine down,
  // crash) closes that attempt, so the build is reassigned to another operator.
  const onCompletion = async (completion: JobCompletion) => {
    if (!('failedReason' in completion)) return;
    const attempt = await stores.builds.getAttemptByJobId(completion.jobId);
    if (attempt?.state !== 'open' || attempt.workerId !== completion.workerId) return;
    // The reason is kept so the API says why the build was retried (e.g. `interrupted: ...`).
    await stores.builds.finishAttempt(completion.jobId, {
      state: 'failed',
      finishedAt: new Date(),
      reason: completion.failedReason,
    });
    deps.metrics.attempt('failed');
    logger.warn(
      { jobId: completion.jobId, workerId: completion.workerId, reason: completion.failedReason },
      'job failed on the worker queue',
    );
    await progressBuild(deps, attempt.buildId);
  };
  const shards = new RedisShards(
    config.redisShards,
    async (workerId) => (await stores.registry.getWorker(workerId))?.operator,
    {
      prefix: config.queuePrefix,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      listener: {
        onCompletion,
        onError: (err) => logger.warn({ err }, 'completion listener error'),
      },
    },
  );

  const queues: JobQueues = {
    enqueue: async (workerId, job) =>
      (await shards.forWorker(workerId)).dispatcher.enqueue(workerId, {
        schema: 'rbnet.job/v1',
        buildId: job.buildId,
        jobId: job.jobId,
        attempt: job.attempt,
        nonce: job.nonce,
        manifestSha256: job.manifestSha256 as never,
        manifest: job.manifestJson,
        coordinatorUrl: config.publicUrl,
      }),
    remove: async (workerId, jobId) => {
      await (await shards.forWorker(workerId)).dispatcher.remove(workerId, jobId);
    },
    depth: async (workerId) => {
      const depth = await (await shards.forWorker(workerId)).dispatcher.queueDepth(workerId);
      return depth.waiting + depth.active;
    },
  };
  const queueAccess: WorkerQueueAccess = {
    queueNameFor: (workerId) => queueNameForWorker(workerId),
    grant: async (workerId, operator) => {
      const shard = shards.place(workerId, operator);
      const credentials = await createWorkerRedisUser(shard.admin, { workerId, prefix: config.queuePrefix });
      shard.listener.watch(workerId);
      return {
        username: credentials.username,
        password: credentials.password,
        passwordSha256: credentials.passwordSha256,
        url: shard.workerUrl,
      };
    },
    restore: async (workerId, passwordSha256) => {
      const shard = await shards.forWorker(workerId);
      await applyWorkerRedisUser(shard.admin, { workerId, prefix: config.queuePrefix }, passwordSha256);
    },
    revoke: async (workerId, username) => {
      const shard = await shards.forWorker(workerId);
      shard.listener.unwatch(workerId);
      await deleteWorkerRedisUser(shard.admin, username);
      await drainWorkerQueue(shard.admin, { workerId, prefix: config.queuePrefix });
    },
  };
  const tlog = await openCoordinatorLog(config, stores.tiledLog, logger);
  const deps: CoordinatorDeps = {
    config,
    registry: stores.registry,
    builds: stores.builds,
    results: stores.results,
    log: stores.log,
    aptLinks: stores.aptLinks,
    feed: stores.feed,
    syncProfiles: stores.syncProfiles,
    syncProgress: stores.syncProgress,
    content,
    queues,
    queueAccess,
    signer,
    logger,
    nonces: stores.nonces,
    blobs: stores.blobs,
    now: () => new Date(),
    metrics: new CoordinatorMetrics(),
    webAggregates,
    tlog,
    alerts: stores.alerts,
  };

  for (const worker of await stores.registry.listWorkers({ activeOnly: true })) {
    (await shards.forWorker(worker.workerId)).listener.watch(worker.workerId);
  }

  let adminToken: string | undefined;
  const marker = join(config.dataDir, ADMIN_MARKER_FILE);
  if (!(await exists(marker))) {
    adminToken = (
      await stores.registry.createToken({
        kind: 'admin',
        subject: 'admin',
        scopes: ['admin', 'submit'],
        singleUse: false,
      })
    ).secret;
    await writeFile(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
  }

  const app = createCoordinatorApp(deps);
  const server = serve({ fetch: app.fetch, hostname: config.listenHost, port: config.listenPort });
  // Node closes idle keep-alive sockets after 5 s; a client whose event loop stalled for longer (a
  // worker parsing a 50 MB Debian index) then sends its next request into a socket the server is
  // closing and gets "other side closed". Clients (undici: 4 s) must always be the ones to close.
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
    server.headersTimeout = SERVER_KEEP_ALIVE_MS + 1_000;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.listenHost}:${port}`;

  // Each shard is checked on its own: one that is down or halted (a worker can make its own Redis
  // busy) delays nothing but its own workers' queues.
  const syncShards = async () => {
    for (const shard of shards.all) {
      try {
        if (!(await shard.needsRestore())) continue;
        logger.warn(
          { shard: shard.name },
          'Redis shard new, restarted or empty; restoring its worker users and open jobs from the database',
        );
        await restoreQueues(deps, (operator) => shards.forOperator(operator) === shard);
        await shard.markRestored();
      } catch (err) {
        logger.warn({ shard: shard.name, err }, 'Redis shard unavailable');
      }
    }
  };
  await syncShards();

  // Leases and deadlines expire without any request arriving: sweep now and then.
  let sweeping = false;
  const sweep = setInterval(async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await syncShards();
      await expireLeases(deps);
      await sweepPendingBuilds(deps);
    } catch (err) {
      logger.warn({ err }, 'sweep failed');
    } finally {
      sweeping = false;
    }
  }, config.sweepIntervalMs);
  sweep.unref();

  // Uploads nothing names are removed after the grace period; crashed writes' temp files too.
  let collecting: Promise<unknown> = Promise.resolve();
  const gc =
    config.gc.intervalMs > 0
      ? setInterval(() => {
          collecting = (async () => {
            try {
              const report = await collectGarbage(deps, {
                now: deps.now(),
                graceMs: config.gc.graceMs,
                dryRun: false,
                maxBlobs: config.gc.maxBlobsPerPass,
              });
              const tempFiles = await content.sweepTemp(deps.now());
              if (report.removed.length > 0 || tempFiles > 0)
                logger.info(
                  { removed: report.removed.length, freedBytes: report.freedBytes, tempFiles },
                  'content-store garbage collected',
                );
            } catch (err) {
              logger.warn({ err }, 'content-store garbage collection failed');
            }
          })();
        }, config.gc.intervalMs)
      : undefined;
  gc?.unref();

  // Sequenced entries reach the tree (and the witnesses) now and then, and whenever a proof asks.
  let integrating: Promise<unknown> = tlog
    .integrate()
    .catch((err) => logger.error({ err }, 'log integration failed'));
  const integrate = setInterval(
    () => {
      integrating = tlog.integrate().catch((err) => logger.error({ err }, 'log integration failed'));
    },
    (config.transparencyLog ?? tlogDefaults).integrateIntervalMs,
  );
  integrate.unref();

  // Sync profiles (`rbnet admin sync`): archives followed by the coordinator itself.
  const archiveSync = startArchiveSync(deps, { pollIntervalMs: config.syncPollIntervalMs });

  // Alerts are derived from verdict changes the store queued, and webhooks sent, in the background.
  const alerts = new AlertDispatcher({
    alerts: stores.alerts,
    builds: stores.builds,
    logger: logger.child({ component: 'alerts' }),
    publicUrl: config.publicUrl,
    settings: config.alerts,
    now: deps.now,
  });
  alerts.start();

  logger.info(
    { config: loggableConfig(config), url, keyid: signer.keyid, logOrigin: tlog.origin, logVkey: tlog.vkey },
    'coordinator ready',
  );
  return {
    url,
    deps,
    ...(adminToken ? { adminToken } : {}),
    async close() {
      clearInterval(sweep);
      clearInterval(gc);
      clearInterval(integrate);
      await integrating;
      await tlog.close();
      await archiveSync.stop();
      await alerts.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await collecting;
      await shards.close();
      await webAggregates.close();
      await stores.close();
    },
  };
}
