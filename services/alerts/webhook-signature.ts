// The signature of a webhook delivery: HMAC-SHA256 under the subscription's shared secret, over the
// timestamp and the exact body bytes, so a receiver can refuse forged, altered and replayed requests.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The request header that carries `t=<unix seconds>,v1=<hex hmac>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-rbnet-signature';
/** The request header that carries the event id: the same on every retry, for receivers to dedupe by. */
export const WEBHOOK_EVENT_ID_HEADER = 'x-rbnet-event-id';
/** The request header that carries the 1-based attempt number. */
export const WEBHOOK_ATTEMPT_HEADER = 'x-rbnet-delivery-attempt';

/** How far a signature's timestamp may be from the receiver's clock by default, seconds. */
export const defaultWebhookToleranceSeconds = 300;

function mac(secret: string, timestampSeconds: number, body: Uint8Array | string): string {
  return createHmac('sha256', secret)
    .update(`${timestampSeconds}.`)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

/** The header value for `body` sent at `timestampSeconds` (integer unix seconds). */
export function signWebhookBody(secret: string, timestampSeconds: number, body: Uint8Array | string): string {
  return `t=${timestampSeconds},v1=${mac(secret, timestampSeconds, body)}`;
}

/**
 * What a receiver does: true when `header` is a valid signature of exactly `body` under `secret`,
 * made within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhookSignature(options: {
  readonly secret: string;
  readonly header: string | undefined;
  readonly body: Uint8Array | string;
  readonly nowSeconds: number;
  readonly toleranceSeconds?: number;
}): boolean {
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(options.header ?? '');
  if (match === null) return false;
  const timestampSeconds = Number(match[1]);
  const tolerance = options.toleranceSeconds ?? defaultWebhookToleranceSeconds;
  if (Math.abs(options.nowSeconds - timestampSeconds) > tolerance) return false;
  const expected = Buffer.from(mac(options.secret, timestampSeconds, options.body), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
