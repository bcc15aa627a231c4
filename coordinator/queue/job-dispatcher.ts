// The coordinator's side of the worker queues: enqueueing jobs (JobDispatcher), reading results (CompletionListener).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RbnetError } from '../../services/errors.ts';
import { isJobId } from '../../services/identifiers.ts';
import {
  checkQueuePrefix,
  type JobCompletionValue,
  JobPayloadError,
  jobFailureReasons,
  jobPayloadLimits,
  parseJobCompletionValue,
  queueNameForWorker,
  type RebuildJobPayload,
  rbnetQueuePrefix,
  serializeJobPayload,
} from '../../services/queue/queue-contract.ts';
import { removeQueuedJob } from './remove-queued-job.ts';

/** The BullMQ job name of every rebuild job (the payload's `schema` carries the version). */
export const REBUILD_JOB_NAME = 'rebuild';

/** How many finished jobs each worker queue keeps for inspection. Ages are in seconds (BullMQ's unit). */
export const defaultJobRetention = Object.freeze({
  completed: Object.freeze({ age: 24 * 3600, count: 1000 }),
  failed: Object.freeze({ age: 7 * 24 * 3600, count: 1000 }),
});

export interface JobDispatcherOptions {
  /** The coordinator's Redis connection (full rights). Shared: `close()` leaves it open. */
  readonly admin: Redis;
  /** BullMQ prefix; default `rbnetQueuePrefix`. */
  readonly prefix?: string;
  readonly retention?: typeof defaultJobRetention;
}

/** Jobs on one worker's queue that have not finished. */
export interface QueueDepth {
  /** Waiting, prioritized, delayed or paused: not yet taken by the worker. */
  readonly waiting: number;
  /** Taken by the worker and not finished. */
  readonly active: number;
}

/** Puts rebuild jobs on workers' own queues. One BullMQ `Queue` object per worker queue, cached. */
export class JobDispatcher {
  private readonly admin: Redis;
  private readonly prefix: string;
  private readonly retention: typeof defaultJobRetention;
  private readonly queues = new Map<string, Queue>();

  constructor(options: JobDispatcherOptions) {
    this.admin = options.admin;
    this.prefix = checkQueuePrefix(options.prefix ?? rbnetQueuePrefix);
    this.retention = options.retention ?? defaultJobRetention;
  }

  /**
   * Adds the payload to the worker's queue as job `payload.jobId`, with the payload's canonical JSON
   * text as the job data (the consumer parses that text strictly, duplicate keys included).
   *
   * Idempotent while the job exists (waiting, active, or still retained after finishing): BullMQ keeps
   * the first job with an id. `attempts: 1`, because whether and where to retry is the coordinator's
   * decision; each retry is a new attempt with a new job id.
   * @throws JobPayloadError when the payload would be refused by the worker.
   */
  async enqueue(workerId: string, payload: RebuildJobPayload): Promise<void> {
    const data = serializeJobPayload(payload);
    await this.queue(workerId).add(REBUILD_JOB_NAME, data, {
      jobId: payload.jobId,
      attempts: 1,
      removeOnComplete: { ...this.retention.completed },
      removeOnFail: { ...this.retention.failed },
    });
  }

  /**
   * Withdraws a job that the worker does not hold. A job whose lock is held is running and is not
   * removed (cancel it through the worker, or let its lock expire).
   *
   * Never BullMQ's `Queue.remove`: that follows key names stored in the job's dependency sets and
   * parent field, which the worker writes (see remove-queued-job.ts). This removes exactly the job's
   * own keys, named from the queue and the job id.
   */
  async remove(workerId: string, jobId: string): Promise<'removed' | 'not-found' | 'active'> {
    if (!isJobId(jobId)) throw new JobPayloadError('JOB_PAYLOAD_INVALID', 'jobId', 'not a valid job id');
    return removeQueuedJob(this.admin, `${this.prefix}:${queueNameForWorker(workerId)}:`, jobId);
  }

  /** How many jobs wait on the worker's queue and how many it is running. */
  async queueDepth(workerId: string): Promise<QueueDepth> {
    // BullMQ's 'waiting' count covers both the wait and the paused list.
    const counts = await this.queue(workerId).getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return Object.freeze({
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
      active: counts.active ?? 0,
    });
  }

  /** Closes the cached Queue objects; the admin connection stays open (it is the caller's). */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((queue) => queue.close()));
  }

  private queue(workerId: string): Queue {
    const name = queueNameForWorker(workerId);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.admin, prefix: this.prefix });
      queue.on('error', () => {
        // The failed call rejects on its own (and is handled there); without a listener BullMQ would
        // print the same error to stderr.
      });
      this.queues.set(name, queue);
    }
    return queue;
  }
}

/** Something a worker's events stream said that does not fit the contract (the worker writes that stream). */
export class QueueEventError extends RbnetError<'QUEUE_EVENT_INVALID'> {}

/**
 * A finished job as the coordinator learns it. `streamId` is the entry id in the worker queue's events
 * stream: persist it after handling and pass it to `watch` after a restart to resume without gaps.
 * A completion is a claim by the worker, never proof: the envelope it names is verified on intake.
 */
export type JobCompletion =
  | {
      readonly workerId: string;
      readonly jobId: string;
      readonly streamId: string;
      readonly returnValue: JobCompletionValue;
    }
  | {
      readonly workerId: string;
      readonly jobId: string;
      readonly streamId: string;
      readonly failedReason: string;
    };

export interface CompletionListenerOptions {
  /** The coordinator's Redis connection; the listener duplicates it for its blocking reads. */
  readonly admin: Redis;
  readonly prefix?: string;
  /** Called once per finished job, one at a time, in stream order per worker. May be async. */
  readonly onCompletion: (completion: JobCompletion) => void | Promise<void>;
  /** Malformed events, callback failures and Redis errors; the listener keeps running. */
  readonly onError?: (error: Error) => void;
  /**
   * Longest a single XREAD blocks, in ms (default 2000); bounds how late a `watch` takes effect if the
   * wake-up is missed.
   */
  readonly blockMs?: number;
  /** Most entries read per stream per XREAD (default 100). */
  readonly batchSize?: number;
}

const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;
const maxFailedReasonChars = jobPayloadLimits.maxFailedReasonChars;

/**
 * Delivers completions from the worker queues' BullMQ events streams (`<prefix>:rbnet-w-<id>:events`).
 *
 * One XREAD over every watched stream on a single connection, instead of one BullMQ QueueEvents (and one
 * blocking connection) per worker. Only the coordinator reads: workers need no rights beyond their own
 * queue. Attribution comes from which stream an entry is in, never from its content, because a worker
 * can write anything into its own stream.
 */
export class CompletionListener {
  private readonly admin: Redis;
  private readonly prefix: string;
  private readonly options: CompletionListenerOptions;
  private readonly cursors = new Map<string, string>();
  private blocking: Redis | undefined;
  private blockingClientId: string | undefined;
  private blocked = false;
  private closing = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(options: CompletionListenerOptions) {
    this.options = options;
    this.admin = options.admin;
    this.prefix = checkQueuePrefix(options.prefix ?? rbnetQueuePrefix);
  }

  /**
   * Starts (or restarts) delivering the worker's completions after stream entry `afterId`. The default
   * `0-0` replays what the stream still holds (BullMQ trims it to about 10,000 events), so intake must be
   * idempotent per (build, worker, attempt), which it is by design.
   */
  watch(workerId: string, afterId = '0-0'): void {
    queueNameForWorker(workerId);
    if (!STREAM_ID.test(afterId))
      throw new QueueEventError('QUEUE_EVENT_INVALID', `afterId: not a stream id`);
    if (this.closing) throw new QueueEventError('QUEUE_EVENT_INVALID', 'the listener is closed');
    this.cursors.set(workerId, afterId);
    this.loop ??= this.run();
    this.interrupt();
  }

  /** Stops delivering the worker's completions (e.g. when it is revoked). */
  unwatch(workerId: string): void {
    this.cursors.delete(workerId);
    this.interrupt();
  }

  /** Stops the loop (after the callback in progress returns) and closes the listener's connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.interrupt();
    await this.loop;
    this.blocking?.disconnect();
  }

  private async run(): Promise<void> {
    const blockMs = this.options.blockMs ?? 2000;
    const batchSize = this.options.batchSize ?? 100;
    this.blocking = this.admin.duplicate({
      connectionName: `${this.prefix}:completion-listener`,
      // A blocked read is allowed its block time; past that, the server is not answering (a halted
      // shard) and the loop retries rather than wait forever.
      commandTimeout: blockMs + 5_000,
    });
    this.blocking.on('error', () => {
      // Connection errors surface as rejected XREADs below; this handler only keeps ioredis quiet.
    });
    while (!this.closing) {
      if (this.cursors.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const watched = [...this.cursors.entries()];
      let reply: unknown;
      try {
        this.blockingClientId ??= String(await this.blocking.call('CLIENT', 'ID'));
        this.blocked = true;
        reply = await this.blocking.call(
          'XREAD',
          'COUNT',
          String(batchSize),
          'BLOCK',
          String(blockMs),
          'STREAMS',
          ...watched.map(([workerId]) => this.streamKey(workerId)),
          ...watched.map(([, id]) => id),
        );
      } catch (error) {
        if (this.closing) break;
        this.report(error);
        this.blockingClientId = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(blockMs, 1000)));
        continue;
      } finally {
        this.blocked = false;
      }
      await this.deliver(reply, new Map(watched.map(([workerId]) => [this.streamKey(workerId), workerId])));
    }
  }

  private async deliver(reply: unknown, workerByKey: ReadonlyMap<string, string>): Promise<void> {
    for (const [key, entries] of streamsOf(reply)) {
      const workerId = workerByKey.get(key);
      if (workerId === undefined) continue;
      for (const entry of entries) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) continue;
        const [streamId, fields] = entry as [string, unknown[]];
        // Unwatched meanwhile (or re-watched from another position): drop the rest of this batch.
        if (!this.cursors.has(workerId) || this.closing) return;
        try {
          const completion = toCompletion(workerId, streamId, fields);
          if (completion) await this.options.onCompletion(completion);
        } catch (error) {
          this.report(error);
        }
        if (this.cursors.has(workerId)) this.cursors.set(workerId, streamId);
      }
    }
  }

  private interrupt(): void {
    this.wake?.();
    if (this.blocked && this.blockingClientId !== undefined) {
      // Ends the current XREAD early (it returns nil) so a new stream list or close takes effect now.
      this.admin
        .call('CLIENT', 'UNBLOCK', this.blockingClientId)
        .catch((error: unknown) => this.report(error));
    }
  }

  private streamKey(workerId: string): string {
    return `${this.prefix}:${queueNameForWorker(workerId)}:events`;
  }

  private report(error: unknown): void {
    const onError = this.options.onError;
    if (onError) onError(error instanceof Error ? error : new Error(String(error)));
  }
}

/** XREAD replies `[[key, entries], ...]` over RESP2 and a flattened map `[key, entries, ...]` over RESP3. */
function streamsOf(reply: unknown): Array<[string, unknown[]]> {
  if (!Array.isArray(reply)) return [];
  const out: Array<[string, unknown[]]> = [];
  if (reply.every((item) => Array.isArray(item) && item.length === 2 && typeof item[0] === 'string')) {
    for (const [key, entries] of reply as Array<[string, unknown]>)
      if (Array.isArray(entries)) out.push([key, entries]);
    return out;
  }
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const key = reply[i];
    const entries = reply[i + 1];
    if (typeof key === 'string' && Array.isArray(entries)) out.push([key, entries]);
  }
  return out;
}

/** Turns one events-stream entry into a completion; other BullMQ events (added, active, ...) give undefined. */
function toCompletion(workerId: string, streamId: string, rawFields: unknown[]): JobCompletion | undefined {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < rawFields.length; i += 2) {
    const name = rawFields[i];
    const value = rawFields[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string' || fields.has(name)) {
      throw new QueueEventError(
        'QUEUE_EVENT_INVALID',
        `worker ${workerId} stream entry ${streamId}: malformed fields`,
      );
    }
    fields.set(name, value);
  }
  const event = fields.get('event');
  if (event !== 'completed' && event !== 'failed') return undefined;
  const jobId = fields.get('jobId');
  if (!isJobId(jobId)) {
    throw new QueueEventError(
      'QUEUE_EVENT_INVALID',
      `worker ${workerId} stream entry ${streamId}: invalid jobId`,
    );
  }
  if (event === 'failed') {
    const reason = fields.get('failedReason') ?? '';
    return Object.freeze({ workerId, jobId, streamId, failedReason: reason.slice(0, maxFailedReasonChars) });
  }
  try {
    return Object.freeze({
      workerId,
      jobId,
      streamId,
      returnValue: parseJobCompletionValue(fields.get('returnvalue') ?? ''),
    });
  } catch (error) {
    if (!(error instanceof JobPayloadError)) throw error;
    // A worker that completes a job with something else has not delivered a result: report it as failed.
    const failedReason = `${jobFailureReasons.resultInvalid}: ${error.message}`.slice(
      0,
      maxFailedReasonChars,
    );
    return Object.freeze({ workerId, jobId, streamId, failedReason });
  }
}
