// The coordinator's archive poller: every tick, each sync profile that is not paused gets one pass
// (highest priority first). With no profile a tick is one small query and nothing else.
import type { CoordinatorDeps } from '../coordinator-deps.ts';
import { type ArchiveSyncSettings, archiveSyncDefaults, syncProfileOnce } from './archive-poller.ts';

export interface ArchiveSyncLoop {
  /** Runs one tick now (the timer's ticks never overlap with it); for tests and `stop`. */
  tick(): Promise<void>;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
}

/** Ticks at most once a minute so retries and initial delays are honoured between polls. */
const MAX_TICK_MS = 60_000;

/** Starts the poller; `pollIntervalMs` is RBNET_SYNC_POLL_INTERVAL_MS. */
export function startArchiveSync(
  deps: CoordinatorDeps,
  options: {
    readonly pollIntervalMs: number;
    readonly settings?: ArchiveSyncSettings;
    readonly timer?: boolean;
  },
): ArchiveSyncLoop {
  let running: Promise<void> = Promise.resolve();
  const tickOnce = async () => {
    for (const profile of await deps.syncProfiles.listSyncProfiles()) {
      if (profile.paused) continue;
      try {
        const report = await syncProfileOnce(deps, profile, {
          pollIntervalMs: options.pollIntervalMs,
          settings: options.settings ?? archiveSyncDefaults,
        });
        if (report.indexesRead + report.submitted + report.deferred > 0)
          deps.logger.info({ profile: profile.name, ...report }, 'sync pass');
      } catch (err) {
        deps.logger.warn({ err, profile: profile.name }, 'sync pass failed');
      }
    }
  };
  const tick = () => {
    running = running.then(tickOnce, tickOnce);
    return running;
  };
  const timer =
    options.timer === false
      ? undefined
      : setInterval(() => void tick(), Math.min(options.pollIntervalMs, MAX_TICK_MS));
  timer?.unref();
  return {
    tick,
    async stop() {
      if (timer) clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
