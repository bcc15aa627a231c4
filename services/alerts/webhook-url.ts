// Where a webhook may point: an http(s) URL without credentials, and (checked again on every
// delivery, after name resolution) an address the operator allows, so a subscription cannot turn the
// coordinator into a probe of its own network.
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.ts';

export const maxWebhookUrlLength = 2048;

/**
 * Why a URL is refused as a webhook target, or undefined when it is acceptable in form: http or
 * https, a host, no user name or password (they would be stored and sent in clear), no fragment.
 */
export function webhookUrlProblem(value: string): string | undefined {
  if (value.length > maxWebhookUrlLength) return `longer than ${maxWebhookUrlLength} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed';
  if (url.hash !== '') return 'a fragment is not allowed';
  return undefined;
}

/**
 * Addresses a webhook may never reach unless the operator allows them: loopback, private, link-local
 * (cloud metadata), carrier-grade NAT, unspecified, multicast and reserved ranges, in both families.
 */
const NON_PUBLIC: readonly (readonly [string, number, 'ipv4' | 'ipv6'])[] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 3, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['::ffff:0:0', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

/** Which addresses deliveries may connect to. */
export interface WebhookAddressPolicy {
  /** True when a delivery may connect to `address` (an IP literal). */
  allows(address: string): boolean;
}

/**
 * Public addresses always; a non-public one only inside `allowedCidrs` (e.g. `127.0.0.0/8` for a
 * receiver on the same host, `10.1.2.0/24` for an internal one).
 * @throws ConfigError CONFIG_INVALID naming the CIDR that does not parse.
 */
export function webhookAddressPolicy(allowedCidrs: readonly string[]): WebhookAddressPolicy {
  // One list per family: node's BlockList matches an IPv4 address against IPv4-mapped IPv6 ranges
  // (`::ffff:0:0/96` would otherwise cover every IPv4 address).
  const lists = () => ({ ipv4: new BlockList(), ipv6: new BlockList() });
  const blocked = lists();
  for (const [network, prefix, family] of NON_PUBLIC) blocked[family].addSubnet(network, prefix, family);
  const allowed = lists();
  for (const cidr of allowedCidrs) {
    const match = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(cidr);
    const family = match ? isIP(match[1]!) : 0;
    const prefix = match ? Number(match[2]) : -1;
    if (!match || family === 0 || prefix > (family === 4 ? 32 : 128))
      throw new ConfigError(
        'CONFIG_INVALID',
        `alerts.allowedWebhookCidrs: ${cidr} is not an IPv4 or IPv6 CIDR`,
      );
    const type = family === 4 ? 'ipv4' : 'ipv6';
    allowed[type].addSubnet(match[1]!, prefix, type);
  }
  return Object.freeze({
    allows(address: string): boolean {
      const family = isIP(address);
      if (family === 0) return false;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      return allowed[type].check(address, type) || !blocked[type].check(address, type);
    },
  });
}
