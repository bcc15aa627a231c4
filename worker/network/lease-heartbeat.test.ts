// The worker's heartbeat: names a job the moment it starts, and aborts a job the coordinator calls stale.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeartbeatAnswer } from '../../services/api/heartbeat.ts';
import { LeaseHeartbeat } from './lease-heartbeat.ts';

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** A coordinator stand-in that records what each heartbeat named and answers `stale` as told. */
function fakeCoordinator(stale: (named: readonly string[]) => string[] = () => []) {
  const beats: string[][] = [];
  const waiters: Array<() => void> = [];
  return {
    beats,
    nextBeat: () => new Promise<void>((resolve) => waiters.push(resolve)),
    async heartbeat(running: readonly string[]): Promise<HeartbeatAnswer> {
      beats.push([...running]);
      for (const resolve of waiters.splice(0)) resolve();
      const staleJobs = stale(running);
      return {
        leaseTimeoutMs: 600_000,
        pickupTimeoutMs: 300_000,
        renewed: running.filter((j) => !staleJobs.includes(j)),
        stale: staleJobs,
      };
    },
  };
}

describe('LeaseHeartbeat', () => {
  it('names a job at once when it starts, and no longer once it is done', async () => {
    const coordinator = fakeCoordinator();
    const heartbeat = new LeaseHeartbeat(coordinator, pino({ level: 'silent' }));
    stops.push(() => heartbeat.stop());
    await heartbeat.start();
    expect(coordinator.beats).toEqual([[]]);
    const beat = coordinator.nextBeat();
    const job = heartbeat.track('job-1');
    await beat;
    expect(coordinator.beats.at(-1)).toEqual(['job-1']);
    job.done();
    const after = coordinator.nextBeat();
    heartbeat.track('job-2');
    await after;
    expect(coordinator.beats.at(-1)).toEqual(['job-2']);
  });

  it('aborts a job the answer calls stale, with the caller signal still linked', async () => {
    const coordinator = fakeCoordinator((named) => named.filter((j) => j === 'lost-1'));
    const heartbeat = new LeaseHeartbeat(coordinator, pino({ level: 'silent' }));
    stops.push(() => heartbeat.stop());
    await heartbeat.start();
    const caller = new AbortController();
    const kept = heartbeat.track('kept-1', caller.signal);
    const lost = heartbeat.track('lost-1');
    await new Promise<void>((resolve) => lost.signal.addEventListener('abort', () => resolve()));
    expect(String((lost.signal.reason as Error).message)).toMatch(/no longer assigned/);
    expect(kept.signal.aborted).toBe(false);
    caller.abort(new Error('shutdown'));
    expect(kept.signal.aborted).toBe(true);
  });
});
