// A long-running network worker: consumes its own queue with its ACL credentials and runs each job
// through the hermetic runner. Started by `rbnet worker run` and, identically, by the tests.
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createWorkerRuntime, type WorkerRuntime } from '../main.ts';
import { JobConsumer, type JobConsumerCloseOutcome } from '../queue/job-consumer.ts';
import type { WorkerConfig } from '../worker-config.ts';
import { CoordinatorClient } from './coordinator-client.ts';
import { AUTH_KEY_FILE, loadNetworkSettings } from './enrol-with-coordinator.ts';
import { LeaseHeartbeat } from './lease-heartbeat.ts';
import { handleNetworkJob } from './network-job-handler.ts';

export interface RunningNetworkWorker {
  readonly workerId: string;
  readonly operator: string;
  readonly runtime: WorkerRuntime;
  /** Stops taking jobs; running ones get `graceMs` to finish, then are aborted and handed back. */
  stop(graceMs?: number): Promise<JobConsumerCloseOutcome>;
}

export function redisUrlWithCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username);
  parsed.password = encodeURIComponent(password);
  return parsed.toString().replace(/\/$/, '');
}

export async function startNetworkWorker(
  config: WorkerConfig,
  logger: Logger,
  options: { readonly concurrency?: number } = {},
): Promise<RunningNetworkWorker> {
  const settings = await loadNetworkSettings(config.workerDir);
  const runtime = await createWorkerRuntime(
    config,
    logger,
    { operator: settings.operator, id: settings.workerId },
    settings.backends,
  );
  if (runtime.identity.id !== settings.workerId || runtime.identity.operator !== settings.operator) {
    throw new Error(
      `${config.workerDir}: worker.json and network.json disagree about this worker's identity`,
    );
  }
  const authKey = createPrivateKey(await readFile(join(config.workerDir, AUTH_KEY_FILE)));
  const client = new CoordinatorClient(settings.coordinatorUrl, settings.workerId, authKey);
  // Heartbeats name exactly the jobs this worker runs (only their leases are renewed); a job the
  // coordinator no longer counts as ours (lease expired, worker revoked) is aborted so its container
  // is removed instead of running on.
  const heartbeat = new LeaseHeartbeat(client, logger);
  await heartbeat.start();

  const consumer = new JobConsumer({
    redisUrl: redisUrlWithCredentials(settings.redis.url, settings.redis.username, settings.redis.password),
    workerId: settings.workerId,
    prefix: settings.queuePrefix,
    concurrency: options.concurrency ?? 1,
    logger,
    handler: async (payload, context) => {
      const job = heartbeat.track(payload.jobId, context.signal);
      try {
        return await handleNetworkJob(
          {
            context: runtime,
            client,
            workDir: join(config.workerDir, 'work'),
            logger: context.logger,
            backends: runtime.backends,
          },
          payload,
          job.signal,
        );
      } finally {
        job.done();
      }
    },
  });
  await consumer.start();
  logger.info(
    { workerId: settings.workerId, operator: settings.operator, queue: settings.queueName },
    'network worker consuming',
  );
  return {
    workerId: settings.workerId,
    operator: settings.operator,
    runtime,
    stop: async (graceMs = 30_000) => {
      // Jobs finishing within the grace period still need their leases: stop beating after.
      const outcome = await consumer.close({ graceMs });
      heartbeat.stop();
      return outcome;
    },
  };
}
