// The coordinator's Redis shard list and lease settings: parsed once, refused with the field named.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../services/errors.ts';
import { loadCoordinatorConfig } from './coordinator-config.ts';

function load(env: Record<string, string>) {
  return loadCoordinatorConfig({ env, flags: { dataDir: '/nonexistent/rbnet-config-test' } });
}

describe('coordinator config: Redis shards', () => {
  it('puts the default shard first and places listed operators on their own shard', () => {
    const config = load({
      RBNET_REDIS_URL: 'redis://127.0.0.1:6390',
      RBNET_WORKER_REDIS_URL: 'rediss://redis.example.org:6380',
      RBNET_REDIS_SHARDS: JSON.stringify([
        { name: 'alpha', url: 'redis://127.0.0.1:7001', operators: ['alpha'] },
        {
          name: 'beta',
          url: 'redis://127.0.0.1:7002',
          workerUrl: 'rediss://beta.example.org:6380',
          operators: ['beta', 'gamma'],
        },
      ]),
    });
    expect(config.redisShards).toEqual([
      {
        name: 'default',
        url: 'redis://127.0.0.1:6390',
        workerUrl: 'rediss://redis.example.org:6380',
        operators: [],
      },
      {
        name: 'alpha',
        url: 'redis://127.0.0.1:7001',
        workerUrl: 'redis://127.0.0.1:7001',
        operators: ['alpha'],
      },
      {
        name: 'beta',
        url: 'redis://127.0.0.1:7002',
        workerUrl: 'rediss://beta.example.org:6380',
        operators: ['beta', 'gamma'],
      },
    ]);
    expect(load({}).redisShards.map((shard) => shard.name)).toEqual(['default']);
  });

  it.each([
    ['not JSON', '[', /^redisShards: not JSON/],
    ['not an array', '{}', /^redisShards: expected an array/],
    [
      'the default name',
      '[{"name":"default","url":"redis://h","operators":["a"]}]',
      /^redisShards\[0\]\.name: /,
    ],
    [
      'a name twice',
      '[{"name":"a","url":"redis://h","operators":["x"]},{"name":"a","url":"redis://h","operators":["y"]}]',
      /^redisShards\[1\]\.name: a is used twice/,
    ],
    ['an http url', '[{"name":"a","url":"http://h","operators":["x"]}]', /^redisShards\[0\]\.url: /],
    ['no operators', '[{"name":"a","url":"redis://h","operators":[]}]', /^redisShards\[0\]\.operators: /],
    [
      'an operator on two shards',
      '[{"name":"a","url":"redis://h","operators":["x"]},{"name":"b","url":"redis://h","operators":["x"]}]',
      /^redisShards\[1\]\.operators: x is already on shard a/,
    ],
    [
      'an unknown field',
      '[{"name":"a","url":"redis://h","operators":["x"],"db":1}]',
      /^redisShards\[0\]\.db: /,
    ],
  ])('refuses %s', (_label, value, message) => {
    expect(() => load({ RBNET_REDIS_SHARDS: value })).toThrow(ConfigError);
    expect(() => load({ RBNET_REDIS_SHARDS: value })).toThrow(message);
  });
});

describe('coordinator config: pickup deadline', () => {
  it('defaults to 30 s, never past the lease, and refuses a longer one', () => {
    expect(load({}).policy.pickupTimeoutMs).toBe(30_000);
    expect(load({ RBNET_LEASE_TIMEOUT_MS: '5000' }).policy.pickupTimeoutMs).toBe(5_000);
    expect(() => load({ RBNET_LEASE_TIMEOUT_MS: '5000', RBNET_PICKUP_TIMEOUT_MS: '6000' })).toThrow(
      /^policy\.pickupTimeoutMs: expected an integer from 1000 to 5000/,
    );
  });
});

describe('coordinator config: alerts', () => {
  it('defaults to public webhook addresses only, and reads the allowed networks', () => {
    expect(load({}).alerts.allowedWebhookCidrs).toEqual([]);
    const config = load({
      RBNET_ALERT_WEBHOOK_CIDRS: '127.0.0.0/8, fd00::/8',
      RBNET_ALERT_MAX_ATTEMPTS: '3',
    });
    expect(config.alerts.allowedWebhookCidrs).toEqual(['127.0.0.0/8', 'fd00::/8']);
    expect(config.alerts.maxAttempts).toBe(3);
  });

  it('refuses a malformed network or setting, naming it', () => {
    expect(() => load({ RBNET_ALERT_WEBHOOK_CIDRS: '127.0.0.1' })).toThrow(
      /^alerts.allowedWebhookCidrs: 127.0.0.1 is not an IPv4 or IPv6 CIDR$/,
    );
    expect(() => load({ RBNET_ALERT_WEBHOOK_CIDRS: '10.0.0.0/33' })).toThrow(ConfigError);
    expect(() => load({ RBNET_ALERT_MAX_ATTEMPTS: '0' })).toThrow(/^RBNET_ALERT_MAX_ATTEMPTS: /);
  });
});
