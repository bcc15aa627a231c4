// Where a webhook may point: the URL's form, and the addresses a delivery may connect to.
import { describe, expect, it } from 'vitest';
import { webhookAddressPolicy, webhookUrlProblem } from './webhook-url.ts';

describe('webhook URLs and addresses', () => {
  it('accepts http(s) without credentials or fragment', () => {
    expect(webhookUrlProblem('https://hooks.example/x?y=1')).toBeUndefined();
    expect(webhookUrlProblem('gopher://hooks.example/')).toBe('only http and https URLs are allowed');
    expect(webhookUrlProblem('https://a:b@hooks.example/')).toBe('credentials in the URL are not allowed');
    expect(webhookUrlProblem('https://hooks.example/#x')).toBe('a fragment is not allowed');
    expect(webhookUrlProblem(`https://hooks.example/${'x'.repeat(2048)}`)).toMatch(/^longer than/);
  });

  it('allows public addresses; loopback, private, link-local and mapped ones only when listed', () => {
    const strict = webhookAddressPolicy([]);
    expect(strict.allows('93.184.216.34')).toBe(true);
    expect(strict.allows('2606:2800:220:1:248:1893:25c8:1946')).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ])
      expect(strict.allows(address), address).toBe(false);
    expect(strict.allows('not-an-ip')).toBe(false);
    const loopback = webhookAddressPolicy(['127.0.0.0/8']);
    expect(loopback.allows('127.0.0.1')).toBe(true);
    expect(loopback.allows('10.1.2.3')).toBe(false);
  });
});
