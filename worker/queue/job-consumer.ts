// The worker's side of its queue: a BullMQ Worker on its own queue, under its own ACL user, payloads parsed strictly.
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import pino, { type Logger } from 'pino';
import { ConfigError, EngineError } from '../../services/errors.ts';
import {
  checkQueuePrefix,
  type JobCompletionValue,
  JobPayloadError,
  jobFailureReasons,
  parseJobPayload,
  queueNameForWorker,
  type RebuildJobPayload,
  rbnetQueuePrefix,
  validateJobCompletionValue,
} from '../../services/queue/queue-contract.ts';
import { EvalshaOnlyRedis } from './evalsha-only-redis.ts';

/** What a handler gets besides the payload. */
export interface JobContext {
  /** Aborted when the worker shuts down and the grace period is over; stop the build and reject. */
  readonly signal: AbortSignal;
  /** Child logger carrying workerId, jobId, buildId and attempt. */
  readonly logger: Logger;
}

/**
 * Runs one rebuild. Resolve with `{ envelopeSha256 }` once the envelope is uploaded, or `{ failed }` when
 * the build produced no envelope; reject only for infrastructure errors (the job then fails with
 * `handler-error: ...` and the coordinator decides what to do).
 */
export type JobHandler = (payload: RebuildJobPayload, context: JobContext) => Promise<JobCompletionValue>;

export interface JobConsumerOptions {
  /**
   * `redis://<user>:<password>@host:port` or `rediss://...` for TLS, with the worker's ACL credentials.
   * Database 0 only. Never logged (it holds the password).
   */
  readonly redisUrl: string;
  readonly workerId: string;
  readonly handler: JobHandler;
  /** BullMQ prefix; default `rbnetQueuePrefix`. */
  readonly prefix?: string;
  /** Jobs run at the same time; default 1. */
  readonly concurrency?: number;
  /** How long a job's lock lasts without renewal, in ms; renewed every half of it. Default 600,000. */
  readonly lockDurationMs?: number;
  /** Extra TLS options for `rediss://` (e.g. `ca` to pin the coordinator's CA). */
  readonly tls?: TlsConnectionOptions;
  readonly logger?: Logger;
}

export const defaultJobConsumerOptions = Object.freeze({
  concurrency: 1,
  // The coordinator's lease (renewed by heartbeats) decides whether an attempt is alive. BullMQ's lock
  // only guards the queue entry; a short one turned any multi-second stall of this process (a 50 MB
  // Debian index parsed on the main thread, a loaded machine) into a failed attempt while the build
  // ran on. Ten minutes outlasts such stalls.
  lockDurationMs: 600_000,
});

/** How `close()` ended. */
export type JobConsumerCloseOutcome =
  /** Every running job finished within the grace period. */
  | 'drained'
  /** Jobs still running after the grace period were aborted and failed with `worker-shutdown`. */
  | 'cancelled'
  /** A handler ignored its abort signal; its job stays active until its lock expires and is then failed. */
  | 'abandoned';

export interface JobConsumerCloseOptions {
  /** How long running jobs may take to finish, in ms. Default 30,000. */
  readonly graceMs?: number;
  /** After aborting them, how long handlers get to reject, in ms. Default 5,000. */
  readonly abortGraceMs?: number;
}

const maxDetailChars = 500;

/**
 * Consumes the worker's own queue. Malformed payloads fail their job with `payload-invalid: <field>: ...`
 * and the consumer keeps running; BullMQ never retries (every failure is an UnrecoverableError, and no
 * stalled check runs), because retries are the coordinator's decision.
 */
export class JobConsumer {
  private readonly worker: Worker<unknown, JobCompletionValue>;
  private readonly redis: Redis;
  private readonly logger: Logger;
  private readonly handler: JobHandler;
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private closing = false;
  private closed: Promise<JobConsumerCloseOutcome> | undefined;

  constructor(options: JobConsumerOptions) {
    const queueName = queueNameForWorker(options.workerId);
    const prefix = checkQueuePrefix(options.prefix ?? rbnetQueuePrefix);
    const concurrency = options.concurrency ?? defaultJobConsumerOptions.concurrency;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new ConfigError('CONFIG_INVALID', 'concurrency: expected an integer of at least 1');
    }
    this.handler = options.handler;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({
      workerId: options.workerId,
      queue: queueName,
    });
    const redisOptions = redisOptionsFromUrl(options.redisUrl, options.tls);
    // BullMQ's ESM build cannot load ioredis by itself, so it gets a client; it duplicates it into its
    // own main and blocking connections, and lazyConnect keeps this template from ever connecting.
    // Scripts go out by sha1 only: the worker's ACL allows EVALSHA of BullMQ's worker scripts, no EVAL.
    this.redis = new EvalshaOnlyRedis(redisOptions);
    this.redis.on('error', () => {
      // The template never connects; BullMQ reports its own connections' errors through the Worker.
    });
    this.worker = new Worker<unknown, JobCompletionValue>(
      queueName,
      (job, token, signal) => this.process(job, token, signal),
      {
        connection: this.redis,
        prefix,
        concurrency,
        autorun: false,
        // The version check runs INFO, which the worker's ACL user may not run (it shows server-wide data).
        skipVersionCheck: true,
        lockDuration: options.lockDurationMs ?? defaultJobConsumerOptions.lockDurationMs,
        // No stalled check: the coordinator's lease decides when a job is lost, and removes it once its
        // lock expired. BullMQ's stalled script is also not one the worker's ACL allows: with data the
        // worker writes, it runs in quadratic time after a write (measured: 40,000 entries halt Redis
        // for 44 s, unkillably). See docs/queues.md.
        skipStalledCheck: true,
        maxStalledCount: 0,
      },
    );
    this.worker.on('error', (err) => this.logger.error({ err }, 'queue worker error'));
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ jobId: job?.id, reason: err.message }, 'job failed'),
    );
    this.logger.info(
      {
        redisHost: redisOptions.host,
        redisPort: redisOptions.port,
        redisUser: redisOptions.username,
        tls: !!redisOptions.tls,
      },
      'queue consumer created',
    );
  }

  /** Connects and starts taking jobs; resolves once the connections are ready. */
  async start(): Promise<void> {
    this.worker.run().catch((err: unknown) => this.logger.error({ err }, 'queue worker stopped'));
    await this.worker.waitUntilReady();
  }

  /** Jobs whose handler is running now. */
  get activeJobs(): number {
    return this.running;
  }

  /**
   * Shuts down the way SIGTERM should: take no new jobs, give running jobs `graceMs` to finish, then
   * abort them (their jobs fail with `worker-shutdown: ...`, which the coordinator may re-dispatch), and
   * close the connections. A handler that ignores the abort is abandoned: its job stays active in Redis
   * until its lease lapses on the coordinator, which removes it once the lock has expired.
   */
  async close(options: JobConsumerCloseOptions = {}): Promise<JobConsumerCloseOutcome> {
    this.closed ??= this.shutDown(options.graceMs ?? 30_000, options.abortGraceMs ?? 5_000);
    return this.closed;
  }

  private async shutDown(graceMs: number, abortGraceMs: number): Promise<JobConsumerCloseOutcome> {
    this.closing = true;
    // Stops fetching without waiting; locks of running jobs keep being renewed.
    await this.worker.pause(true);
    let outcome: JobConsumerCloseOutcome = 'drained';
    if (!(await this.idleWithin(graceMs))) {
      outcome = 'cancelled';
      this.logger.warn({ activeJobs: this.running, graceMs }, 'grace period over; aborting running jobs');
      this.worker.cancelAllJobs(
        `${jobFailureReasons.workerShutdown}: aborted after the ${graceMs} ms grace period`,
      );
      if (!(await this.idleWithin(abortGraceMs))) outcome = 'abandoned';
    }
    await this.worker.close(outcome === 'abandoned');
    this.redis.disconnect();
    this.logger.info({ outcome }, 'queue consumer closed');
    return outcome;
  }

  /** The processor: three declared parameters, so BullMQ hands it an AbortSignal. */
  private async process(
    job: Job<unknown, JobCompletionValue>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<JobCompletionValue> {
    if (this.closing) {
      // Fetched while shutting down: hand it back at once rather than start a build we will abort.
      throw new UnrecoverableError(
        `${jobFailureReasons.workerShutdown}: not started, the worker is shutting down`,
      );
    }
    this.running++;
    try {
      const payload = this.parse(job);
      const logger = this.logger.child({ jobId: job.id, buildId: payload.buildId, attempt: payload.attempt });
      logger.info('job started');
      let result: unknown;
      try {
        result = await this.handler(payload, { signal: signal ?? new AbortController().signal, logger });
      } catch (err) {
        if (signal?.aborted) {
          throw new UnrecoverableError(
            String(signal.reason ?? `${jobFailureReasons.workerShutdown}: aborted`),
          );
        }
        logger.error({ err }, 'job handler failed');
        const prefix =
          err instanceof EngineError && err.code === 'BUILD_INTERRUPTED'
            ? jobFailureReasons.interrupted
            : jobFailureReasons.handlerError;
        throw new UnrecoverableError(`${prefix}: ${describe(err)}`);
      }
      try {
        const value = validateJobCompletionValue(result);
        logger.info({ result: value }, 'job finished');
        return value;
      } catch (err) {
        throw new UnrecoverableError(`${jobFailureReasons.resultInvalid}: ${describe(err)}`);
      }
    } finally {
      this.running--;
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Job data is the payload's JSON text; anything else in Redis is refused before it reaches the handler. */
  private parse(job: Job<unknown, JobCompletionValue>): RebuildJobPayload {
    try {
      if (typeof job.data !== 'string') {
        throw new JobPayloadError('JOB_PAYLOAD_INVALID', '$', 'job data must be the payload JSON text');
      }
      const payload = parseJobPayload(job.data);
      if (payload.jobId !== job.id) {
        throw new JobPayloadError(
          'JOB_PAYLOAD_INVALID',
          'jobId',
          'differs from the id of the job that carries it',
        );
      }
      return payload;
    } catch (err) {
      if (!(err instanceof JobPayloadError)) throw err;
      this.logger.warn({ jobId: job.id, field: err.field, err }, 'job payload refused');
      throw new UnrecoverableError(
        `${jobFailureReasons.payloadInvalid}: ${err.message.slice(0, maxDetailChars)}`,
      );
    }
  }

  private async idleWithin(ms: number): Promise<boolean> {
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * ioredis options for a worker's ACL connection. Errors never echo the URL, which holds the password.
 * @throws ConfigError `CONFIG_INVALID` naming `redisUrl`.
 */
export function redisOptionsFromUrl(redisUrl: string, tls?: TlsConnectionOptions): RedisOptions {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw new ConfigError('CONFIG_INVALID', 'redisUrl: not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('CONFIG_INVALID', 'redisUrl: expected redis:// or rediss://');
  }
  if (url.username === '' || url.password === '') {
    throw new ConfigError('CONFIG_INVALID', "redisUrl: needs the worker's ACL username and password");
  }
  // ACL key patterns apply in every database, but BullMQ would need SELECT, which the worker may not run.
  if (!['', '/', '/0'].includes(url.pathname) || url.search !== '' || url.hash !== '') {
    throw new ConfigError('CONFIG_INVALID', 'redisUrl: only database 0, and no query or fragment');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  return {
    host,
    port,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    tls:
      url.protocol === 'rediss:'
        ? { servername: /^[0-9.:]+$/.test(host) ? undefined : host, ...tls }
        : undefined,
    lazyConnect: true,
    // Required by BullMQ for blocking connections: a command is never dropped after N reconnects.
    maxRetriesPerRequest: null,
    // The ready check and CLIENT SETINFO are commands the worker's ACL user may not run.
    enableReadyCheck: false,
    disableClientInfo: true,
  };
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, maxDetailChars);
}
