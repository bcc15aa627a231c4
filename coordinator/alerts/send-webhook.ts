// One webhook delivery over HTTP: POSTs the event's exact bytes, signed, to an address the policy
// allows (checked on the resolved address, so a name cannot be pointed at the coordinator's own
// network later), within a time limit, following no redirect and reading a bounded answer.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  signWebhookBody,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from '../../services/alerts/webhook-signature.ts';
import type { WebhookAddressPolicy } from '../../services/alerts/webhook-url.ts';
import type { DueDelivery } from '../../services/storage/alert-store.ts';

export interface SendWebhookOptions {
  readonly policy: WebhookAddressPolicy;
  /** The whole exchange (connect, send, answer), ms. */
  readonly timeoutMs: number;
  /** The most of the receiver's answer body read before the connection is dropped, bytes. */
  readonly maxResponseBytes: number;
  /** The signature's timestamp, unix seconds. */
  readonly nowSeconds: number;
  /** Aborts the exchange (the coordinator stops); the delivery then stays pending. */
  readonly signal?: AbortSignal;
}

/**
 * How one attempt ended. `refused`: the target is not allowed (never retried); `failed`: the
 * receiver could not be reached or did not answer 2xx (retried). Messages never hold the secret.
 */
export type WebhookAttempt =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'refused'; readonly error: string }
  | { readonly kind: 'aborted' };

class RefusedAddress extends Error {}

/** Resolves like the system does, then refuses unless every address the name has is allowed. */
function guardedLookup(policy: WebhookAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((a) => !policy.allows(a.address));
      if (refused !== undefined || addresses.length === 0)
        return callback(
          new RefusedAddress(`address ${refused?.address ?? 'none'} of ${hostname} is not allowed`),
          '',
          0,
        );
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** Reads and drops at most `maxBytes` of the answer, then closes. */
function drain(response: IncomingMessage, maxBytes: number): Promise<void> {
  return new Promise((resolve) => {
    let total = 0;
    response.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        response.destroy();
        resolve();
      }
    });
    response.on('end', resolve);
    response.on('error', () => resolve());
    response.on('close', resolve);
  });
}

/** Sends `delivery` once (attempt `delivery.attempts + 1`). Never throws. */
export function sendWebhook(delivery: DueDelivery, options: SendWebhookOptions): Promise<WebhookAttempt> {
  const url = new URL(delivery.url);
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(literal) !== 0 && !options.policy.allows(literal))
    return Promise.resolve({ kind: 'refused', error: `address ${literal} is not allowed` });
  const body = Buffer.from(delivery.bodyJson, 'utf8');
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (attempt: WebhookAttempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(attempt);
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(options.policy),
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.byteLength),
          'user-agent': 'rbnet-alerts',
          [WEBHOOK_EVENT_ID_HEADER]: delivery.eventId,
          [WEBHOOK_ATTEMPT_HEADER]: String(delivery.attempts + 1),
          [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(delivery.secret, options.nowSeconds, body),
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        void drain(response, options.maxResponseBytes).then(() =>
          finish(
            status >= 200 && status < 300
              ? { kind: 'delivered', status }
              : {
                  kind: 'failed',
                  error:
                    status >= 300 && status < 400
                      ? `answered ${status} (redirects are not followed)`
                      : `answered ${status}`,
                },
          ),
        );
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const onAbort = () => {
      req.destroy();
      finish({ kind: 'aborted' });
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) =>
      finish(
        err instanceof RefusedAddress
          ? { kind: 'refused', error: err.message }
          : { kind: 'failed', error: err.message.slice(0, 500) },
      ),
    );
    req.end(body);
  });
}
