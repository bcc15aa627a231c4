// The content store's settings: each principal's standing allowance (quotas) and garbage collection,
// from environment variables, else the config file, else the defaults here.
import { integerSetting } from '../services/config-settings.ts';
import type { QuotaLimits } from '../services/storage/blob-ledger.ts';

export interface ContentGcSettings {
  /** An uploaded blob no record names is removed once nobody wanted it for this long, ms. */
  readonly graceMs: number;
  /** How often the coordinator runs a pass, ms; 0: only `rbnet admin gc`. */
  readonly intervalMs: number;
  /** Blobs removed per pass at most; the next pass takes the rest. */
  readonly maxBlobsPerPass: number;
}

export const contentStoreDefaults = Object.freeze({
  quotas: Object.freeze({
    maintainer: Object.freeze({ maxBytes: 16 * 1024 ** 3, maxBlobs: 100_000 }),
    worker: Object.freeze({ maxBytes: 64 * 1024 ** 3, maxBlobs: 1_000_000 }),
    operator: Object.freeze({ maxBytes: 256 * 1024 ** 3, maxBlobs: 4_000_000 }),
  }),
  gc: Object.freeze({ graceMs: 86_400_000, intervalMs: 3_600_000, maxBlobsPerPass: 10_000 }),
});

type Env = Readonly<Record<string, string | undefined>>;

/** Each quota from its variable, else `quotas.<kind>.<field>` in the config file, else the default. */
export function quotasFrom(env: Env, file: Record<string, unknown>): QuotaLimits {
  const fileQuotas = (file.quotas ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const quota = (kind: keyof QuotaLimits) => {
    const upper = kind.toUpperCase();
    const fromFile = fileQuotas[kind] ?? {};
    return Object.freeze({
      maxBytes: integerSetting(
        env[`RBNET_QUOTA_${upper}_BYTES`] ?? fromFile.maxBytes ?? contentStoreDefaults.quotas[kind].maxBytes,
        `RBNET_QUOTA_${upper}_BYTES`,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      maxBlobs: integerSetting(
        env[`RBNET_QUOTA_${upper}_BLOBS`] ?? fromFile.maxBlobs ?? contentStoreDefaults.quotas[kind].maxBlobs,
        `RBNET_QUOTA_${upper}_BLOBS`,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
    });
  };
  return Object.freeze({
    maintainer: quota('maintainer'),
    worker: quota('worker'),
    operator: quota('operator'),
  });
}

export function gcFrom(env: Env, file: Record<string, unknown>): ContentGcSettings {
  const fileGc = (file.gc ?? {}) as Record<string, unknown>;
  const defaults = contentStoreDefaults.gc;
  return Object.freeze({
    graceMs: integerSetting(
      env.RBNET_GC_GRACE_MS ?? fileGc.graceMs ?? defaults.graceMs,
      'RBNET_GC_GRACE_MS',
      0,
      365 * 86_400_000,
    ),
    intervalMs: integerSetting(
      env.RBNET_GC_INTERVAL_MS ?? fileGc.intervalMs ?? defaults.intervalMs,
      'RBNET_GC_INTERVAL_MS',
      0,
      30 * 86_400_000,
    ),
    maxBlobsPerPass: integerSetting(
      fileGc.maxBlobsPerPass ?? defaults.maxBlobsPerPass,
      'gc.maxBlobsPerPass',
      1,
      1_000_000,
    ),
  });
}
