// The coordinator's alert settings: how often alerts are derived and delivered, how hard a webhook is
// tried, and which non-public addresses a webhook may reach; from environment variables, else the
// config file's `alerts`, else the defaults here.

import { webhookAddressPolicy } from '../../services/alerts/webhook-url.ts';
import { integerSetting } from '../../services/config-settings.ts';

export interface AlertSettings {
  /** How often pending verdict changes are derived and due deliveries sent, ms. */
  readonly intervalMs: number;
  /** Webhook requests in flight at once. */
  readonly concurrency: number;
  /** One request's limit (connect, send, answer), ms. */
  readonly timeoutMs: number;
  /** Attempts per delivery before it becomes a dead letter. */
  readonly maxAttempts: number;
  /** Wait before the first retry, ms; doubles per attempt, with jitter, up to `backoffMaxMs`. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** The most of a receiver's answer read, bytes. */
  readonly maxResponseBytes: number;
  /**
   * Non-public networks a webhook may reach (CIDRs, e.g. `127.0.0.0/8`); public addresses are always
   * allowed, loopback, private and link-local ones only when listed here.
   */
  readonly allowedWebhookCidrs: readonly string[];
}

export const alertDefaults: AlertSettings = Object.freeze({
  intervalMs: 2_000,
  concurrency: 4,
  timeoutMs: 10_000,
  maxAttempts: 8,
  backoffMs: 30_000,
  backoffMaxMs: 3_600_000,
  maxResponseBytes: 64 * 1024,
  allowedWebhookCidrs: Object.freeze([]),
});

type Env = Readonly<Record<string, string | undefined>>;

/** @throws ConfigError CONFIG_INVALID naming the setting. */
export function alertsFrom(env: Env, file: Record<string, unknown>): AlertSettings {
  const fromFile = (file.alerts ?? {}) as Record<string, unknown>;
  const setting = (key: keyof AlertSettings, variable: string, minimum: number, maximum: number) =>
    integerSetting(env[variable] ?? fromFile[key] ?? alertDefaults[key], variable, minimum, maximum);
  const cidrs = env.RBNET_ALERT_WEBHOOK_CIDRS
    ? env.RBNET_ALERT_WEBHOOK_CIDRS.split(',')
        .map((cidr) => cidr.trim())
        .filter((cidr) => cidr !== '')
    : ((fromFile.allowedWebhookCidrs ?? []) as string[]);
  webhookAddressPolicy(cidrs); // refuses a malformed CIDR at start, not at the first delivery
  const backoffMs = setting('backoffMs', 'RBNET_ALERT_BACKOFF_MS', 0, 86_400_000);
  return Object.freeze({
    intervalMs: setting('intervalMs', 'RBNET_ALERT_INTERVAL_MS', 10, 3_600_000),
    concurrency: setting('concurrency', 'RBNET_ALERT_CONCURRENCY', 1, 256),
    timeoutMs: setting('timeoutMs', 'RBNET_ALERT_TIMEOUT_MS', 100, 600_000),
    maxAttempts: setting('maxAttempts', 'RBNET_ALERT_MAX_ATTEMPTS', 1, 100),
    backoffMs,
    backoffMaxMs: setting('backoffMaxMs', 'RBNET_ALERT_BACKOFF_MAX_MS', backoffMs, 7 * 86_400_000),
    maxResponseBytes: setting('maxResponseBytes', 'RBNET_ALERT_MAX_RESPONSE_BYTES', 0, 16 * 1024 ** 2),
    allowedWebhookCidrs: Object.freeze([...cidrs]),
  });
}

/**
 * The wait before attempt `attempts + 1`, ms: `backoffMs * 2^(attempts - 1)`, capped, then a random
 * half of it taken off ("equal jitter"), so receivers that failed together are not retried together.
 */
export function retryDelayMs(settings: AlertSettings, attempts: number, random: () => number): number {
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
