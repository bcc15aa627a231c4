// The coordinator's background alert loop: derives events from queued verdict changes, then sends
// due webhook deliveries with bounded concurrency, retrying with backoff and jitter until a
// delivery succeeds or becomes a dead letter. At least once: a delivery is marked only after its
// receiver answered, so a restart mid-request sends it again with the same event id and body.
import type { Logger } from 'pino';
import { webhookAddressPolicy } from '../../services/alerts/webhook-url.ts';
import { type AlertStore, type DueDelivery, deliveryKey } from '../../services/storage/alert-store.ts';
import type { BuildStore } from '../../services/storage/build-store.ts';
import { type AlertSettings, retryDelayMs } from './alert-settings.ts';
import { deriveAlertEvents } from './derive-alert-events.ts';
import { sendWebhook, type WebhookAttempt } from './send-webhook.ts';

export interface AlertDispatcherDeps {
  readonly alerts: AlertStore;
  readonly builds: Pick<BuildStore, 'getBuild'>;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly settings: AlertSettings;
  readonly now: () => Date;
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: () => number;
}

export class AlertDispatcher {
  readonly #deps: AlertDispatcherDeps;
  readonly #policy;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(deps: AlertDispatcherDeps) {
    this.#deps = deps;
    this.#policy = webhookAddressPolicy(deps.settings.allowedWebhookCidrs);
  }

  /** Ticks every `settings.intervalMs` until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.tick(), this.#deps.settings.intervalMs);
    this.#timer.unref();
  }

  /**
   * One pass: derives pending verdict changes, then starts due deliveries up to the concurrency
   * limit. Returns once they have started (see {@link settle}); errors are logged, never thrown.
   */
  async tick(): Promise<void> {
    if (this.#ticking || this.#abort.signal.aborted) return;
    this.#ticking = true;
    try {
      const { alerts, settings, logger } = this.#deps;
      await deriveAlertEvents(this.#deps);
      const room = settings.concurrency - this.#inFlight.size;
      if (room <= 0) return;
      const due = await alerts.listDueDeliveries(this.#deps.now(), room, new Set(this.#inFlight.keys()));
      for (const delivery of due) {
        const key = deliveryKey(delivery);
        const sending = this.#deliver(delivery)
          .catch((err: unknown) => logger.warn({ err, eventId: delivery.eventId }, 'alert delivery failed'))
          .finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, sending);
      }
    } catch (err) {
      this.#deps.logger.warn({ err }, 'alert pass failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** Waits for every delivery in flight to end. */
  async settle(): Promise<void> {
    await Promise.all(this.#inFlight.values());
  }

  /** Stops ticking and drops requests in flight (they stay pending and are sent again later). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    await this.settle();
  }

  async #deliver(delivery: DueDelivery): Promise<void> {
    const { alerts, settings, logger } = this.#deps;
    const attempt: WebhookAttempt = await sendWebhook(delivery, {
      policy: this.#policy,
      timeoutMs: settings.timeoutMs,
      maxResponseBytes: settings.maxResponseBytes,
      nowSeconds: Math.floor(this.#deps.now().getTime() / 1000),
      signal: this.#abort.signal,
    });
    if (attempt.kind === 'aborted') return;
    const at = this.#deps.now();
    const attempts = delivery.attempts + 1;
    // The log names the subscription and event, never the URL's secret-bearing request.
    const fields = { subscriptionId: delivery.subscriptionId, eventId: delivery.eventId, attempts };
    if (attempt.kind === 'delivered') {
      await alerts.recordDeliveryAttempt(delivery.subscriptionId, delivery.eventSeq, {
        state: 'delivered',
        at,
      });
      logger.info({ ...fields, status: attempt.status }, 'alert delivered');
      return;
    }
    if (attempt.kind === 'refused' || attempts >= settings.maxAttempts) {
      await alerts.recordDeliveryAttempt(delivery.subscriptionId, delivery.eventSeq, {
        state: 'dead',
        at,
        error: attempt.error,
      });
      logger.warn({ ...fields, error: attempt.error }, 'alert delivery dead-lettered');
      return;
    }
    const delayMs = retryDelayMs(settings, attempts, this.#deps.random ?? Math.random);
    await alerts.recordDeliveryAttempt(delivery.subscriptionId, delivery.eventSeq, {
      state: 'retry',
      at,
      error: attempt.error,
      nextAttemptAt: new Date(at.getTime() + delayMs),
    });
    logger.info({ ...fields, error: attempt.error, delayMs }, 'alert delivery will be retried');
  }
}
