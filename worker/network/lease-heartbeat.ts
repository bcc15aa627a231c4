// Keeps the leases of exactly the jobs this worker runs: a signed heartbeat names them, at once when a
// job starts and then every quarter lease; a job the coordinator no longer counts as ours is aborted.
import type { Logger } from 'pino';
import type { HeartbeatAnswer } from '../../services/api/heartbeat.ts';

/** The one call the heartbeat needs (CoordinatorClient has it). */
export interface HeartbeatSender {
  heartbeat(running: readonly string[]): Promise<HeartbeatAnswer>;
}

/** A job being run: its abort signal (the caller's, or the coordinator saying it is stale), and `done`. */
export interface TrackedJob {
  readonly signal: AbortSignal;
  /** Stops naming the job; call when its handler returns, whatever the outcome. */
  done(): void;
}

export const heartbeatBounds = Object.freeze({ minIntervalMs: 250, maxIntervalMs: 10_000 });

/**
 * Sends heartbeats naming the jobs registered with {@link track}. The coordinator renews only the
 * leases of named jobs, so a job must be named before its pickup deadline: `track` beats at once.
 */
export class LeaseHeartbeat {
  private readonly running = new Map<string, AbortController>();
  private intervalMs = 2_000;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly sender: HeartbeatSender,
    private readonly logger: Logger,
  ) {}

  /** Sends the first heartbeat and keeps beating until {@link stop}. */
  async start(): Promise<void> {
    await this.beatNow();
  }

  /** Names `jobId` from now on (and at once). `signal` is the job's own abort signal, if any. */
  track(jobId: string, signal?: AbortSignal): TrackedJob {
    // One controller per job: aborted when the coordinator calls the job stale, or when the caller's
    // own signal aborts (forwarded with its reason).
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    this.running.set(jobId, controller);
    void this.beatNow();
    return {
      signal: controller.signal,
      done: () => {
        signal?.removeEventListener('abort', forward);
        if (this.running.get(jobId) === controller) this.running.delete(jobId);
      },
    };
  }

  /** Stops beating (the jobs' leases then run down on the coordinator). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One heartbeat now; a request while one is in flight is sent right after it. */
  private beatNow(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    clearTimeout(this.timer);
    this.inFlight = this.beat().finally(() => {
      this.inFlight = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        void this.beatNow();
        return;
      }
      this.timer = setTimeout(() => void this.beatNow(), this.intervalMs);
      this.timer.unref();
    });
    return this.inFlight;
  }

  private async beat(): Promise<void> {
    const named = [...this.running.keys()];
    try {
      const answer = await this.sender.heartbeat(named);
      this.intervalMs = Math.min(
        heartbeatBounds.maxIntervalMs,
        Math.max(heartbeatBounds.minIntervalMs, Math.floor(answer.leaseTimeoutMs / 4)),
      );
      for (const jobId of answer.stale) {
        const controller = this.running.get(jobId);
        if (!controller) continue;
        this.logger.warn({ jobId }, 'the coordinator no longer counts this job as ours; aborting it');
        controller.abort(new Error(`job ${jobId} is no longer assigned to this worker (lease lost)`));
      }
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message } }, 'heartbeat failed');
    }
  }
}
