// What `rbnet worker doctor` reports: one check per concern (engine, disk, keys, clock, Redis), each
// ok, warn or fail with a fix, or skipped; the thresholds; and the helpers every check uses.
import type Docker from 'dockerode';
import type { Redis, RedisOptions } from 'ioredis';

/** `skip`: not checked because something it needs failed or is absent (that check says what). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export type HostCheckId =
  | 'engine'
  | 'userns-remap'
  | 'storage-driver'
  | 'engine-network'
  | 'engine-disk'
  | 'state-disk'
  | 'environments'
  | 'identity'
  | 'key-files'
  | 'coordinator'
  | 'clock'
  | 'redis';

export interface HostCheck {
  readonly id: HostCheckId;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly detail: string;
  /** One line: what to do about it; present when the status is `warn` or `fail`. */
  readonly fix?: string;
}

export interface WorkerHostReport {
  /** True when no check failed (warnings and skips allowed). */
  readonly ok: boolean;
  readonly checks: readonly HostCheck[];
}

/** Thresholds; units in the names. */
export interface DoctorThresholds {
  /** Clock skew against the coordinator that certainly exceeds this warns. */
  readonly clockSkewWarnMs: number;
  /** …and this fails (the coordinator refuses worker requests beyond ±120 s). */
  readonly clockSkewFailMs: number;
  /** Less free space than this (state dir, engine data root) warns. */
  readonly minFreeDiskBytes: number;
  /** Each engine, HTTP and Redis probe gives up after this long. */
  readonly probeTimeoutMs: number;
}

export const doctorDefaults: DoctorThresholds = Object.freeze({
  clockSkewWarnMs: 2_000,
  clockSkewFailMs: 60_000,
  minFreeDiskBytes: 10 * 1024 ** 3,
  probeTimeoutMs: 5_000,
});

/** Where the worker's things are; the same values `loadWorkerConfig` resolves. */
export interface WorkerHostTarget {
  readonly workerDir: string;
  readonly stateDir: string;
  /** The engine's URL; its data root's free space is read only for a local (`unix://`) engine. */
  readonly dockerHost: string;
  /** As `WorkerConfig.requireDiskLimit`: the worker refuses to build without a size-limiting driver. */
  readonly requireDiskLimit: boolean;
}

/** The clients the checks talk through; the composition root (the CLI) builds them. */
export interface WorkerHostProbes {
  readonly docker: Docker;
  readonly fetch: typeof fetch;
  /** Makes an unconnected ioredis client (the options carry `lazyConnect`). */
  readonly createRedis: (options: RedisOptions) => Redis;
  /** Local wall-clock time in ms since the epoch. */
  readonly nowMs: () => number;
}

export const GiB = 1024 ** 3;

export function ok(id: HostCheckId, detail: string): HostCheck {
  return { id, status: 'ok', detail };
}
export function warn(id: HostCheckId, detail: string, fix: string): HostCheck {
  return { id, status: 'warn', detail, fix };
}
export function fail(id: HostCheckId, detail: string, fix: string): HostCheck {
  return { id, status: 'fail', detail, fix };
}
export function skip(id: HostCheckId, detail: string): HostCheck {
  return { id, status: 'skip', detail };
}

export function messageOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const own = err instanceof Error ? err.message : String(err);
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause.
  const why = cause?.code ?? cause?.message;
  return (why && !own.includes(why) ? `${own}: ${why}` : own).split('\n')[0]!.slice(0, 300);
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
