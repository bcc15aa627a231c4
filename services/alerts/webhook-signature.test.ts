// The webhook signature: valid only under its secret, over its exact body, within the tolerance.
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.ts';

const secret = 'a-shared-secret-of-at-least-32-characters';
const body = '{"eventId":"x","kind":"regression"}';
const now = 1_800_000_000;

describe('webhook signature', () => {
  const header = signWebhookBody(secret, now, body);

  it('verifies under its secret, over its body, at its time', () => {
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ secret, header, body, nowSeconds: now + 10 })).toBe(true);
  });

  it('refuses another secret, an altered body, a replay past the tolerance, a forged timestamp', () => {
    expect(verifyWebhookSignature({ secret: `${secret}!`, header, body, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, header, body: `${body} `, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, header, body, nowSeconds: now + 301 })).toBe(false);
    const moved = header.replace('t=1800000000', 't=1800000300');
    expect(verifyWebhookSignature({ secret, header: moved, body, nowSeconds: now + 300 })).toBe(false);
    expect(verifyWebhookSignature({ secret, header: undefined, body, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, header: 'v1=abc', body, nowSeconds: now })).toBe(false);
  });
});
