// Where worker queues live: the Redis shards of the coordinator's configuration, each parsed and
// checked here, and how a Redis URL is written to a log.
import { ConfigError } from '../services/errors.ts';
import { isAccountName } from '../services/identifiers.ts';

/** One Redis server holding the worker queues of some operators. */
export interface RedisShardConfig {
  /** `default`, or `[a-z0-9][a-z0-9-]{0,31}`. */
  readonly name: string;
  /** The coordinator's own (admin) connection. */
  readonly url: string;
  /** What this shard's workers are told to connect to (host/port as they see it). */
  readonly workerUrl: string;
  /** Operators whose workers' queues live here; empty for `default` (everyone not named elsewhere). */
  readonly operators: readonly string[];
}

export const DEFAULT_REDIS_SHARD = 'default';

const SHARD_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const REDIS_URL = /^rediss?:\/\//;

/** A URL with any password in it replaced, for logs: `redis://user:***@host:6390`. */
export function withoutUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL we can take apart: say nothing of it rather than risk printing a secret.
    return '[unparseable URL]';
  }
}

/**
 * The shard list: `defaultShard` first, then `value` (a JSON array text from RBNET_REDIS_SHARDS, or the
 * config file's `redisShards` array) of `{ name, url, workerUrl?, operators: [...] }`.
 * @throws ConfigError naming the entry and field.
 */
export function redisShardsSetting(
  value: unknown,
  defaultShard: RedisShardConfig,
): readonly RedisShardConfig[] {
  if (value === undefined) return Object.freeze([defaultShard]);
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch (cause) {
      throw new ConfigError('CONFIG_INVALID', 'redisShards: not JSON', { cause });
    }
  }
  if (!Array.isArray(list)) throw new ConfigError('CONFIG_INVALID', 'redisShards: expected an array');
  const shards: RedisShardConfig[] = [defaultShard];
  const owner = new Map<string, string>();
  for (const [index, entry] of list.entries()) {
    const at = `redisShards[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError('CONFIG_INVALID', `${at}: expected an object`);
    }
    const { name, url, workerUrl = url, operators, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new ConfigError('CONFIG_INVALID', `${at}.${extra[0]}: unknown field`);
    if (typeof name !== 'string' || !SHARD_NAME.test(name) || name === DEFAULT_REDIS_SHARD) {
      throw new ConfigError('CONFIG_INVALID', `${at}.name: expected [a-z0-9-]{1,32}, not "default"`);
    }
    if (shards.some((shard) => shard.name === name)) {
      throw new ConfigError('CONFIG_INVALID', `${at}.name: ${name} is used twice`);
    }
    for (const [field, text] of [
      ['url', url],
      ['workerUrl', workerUrl],
    ] as const) {
      if (typeof text !== 'string' || !REDIS_URL.test(text)) {
        throw new ConfigError('CONFIG_INVALID', `${at}.${field}: expected redis:// or rediss://`);
      }
    }
    if (!Array.isArray(operators) || operators.length === 0) {
      throw new ConfigError(
        'CONFIG_INVALID',
        `${at}.operators: expected a non-empty array of operator names`,
      );
    }
    for (const operator of operators) {
      if (!isAccountName(operator)) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `${at}.operators: ${JSON.stringify(operator)} is not an operator name`,
        );
      }
      const other = owner.get(operator);
      if (other !== undefined) {
        throw new ConfigError('CONFIG_INVALID', `${at}.operators: ${operator} is already on shard ${other}`);
      }
      owner.set(operator, name);
    }
    shards.push(
      Object.freeze({
        name,
        url: url as string,
        workerUrl: workerUrl as string,
        operators: Object.freeze([...(operators as string[])]),
      }),
    );
  }
  return Object.freeze(shards);
}
