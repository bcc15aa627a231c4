// Per-worker Redis ACL users: each worker's credentials reach only its own BullMQ queue's keys and commands.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RbnetError } from '../../services/errors.ts';
import {
  checkQueuePrefix,
  queueNameForWorker,
  rbnetQueuePrefix,
} from '../../services/queue/queue-contract.ts';
import { workerScripts } from './worker-scripts.ts';

/** An ACL operation was refused by our own checks (the username or queue did not fit the rules). */
export class RedisAclError extends RbnetError<'ACL_INVALID'> {}

/**
 * Every command a BullMQ 6 Worker sends, or runs inside the Lua scripts of its paths (moveToActive,
 * moveToFinished, extendLock(s)), and nothing else. Redis checks each command a
 * script runs against the caller's ACL, so the scripts' commands must be listed too. Derived from the
 * scripts' source and checked with ACL LOG staying empty through a full worker lifecycle (fetch, lock
 * renewal, complete, fail, close); see docs/queues.md.
 *
 * Scripts themselves are not here: `workerAclRules` allows EVALSHA of exactly the worker scripts'
 * sha1s (worker-scripts.ts), and never EVAL, SCRIPT or FUNCTION/FCALL, so no script text of the
 * worker's choosing ever runs (a Lua loop after a write cannot be killed).
 *
 * Left out on purpose: INFO (BullMQ's version check; the consumer sets `skipVersionCheck`), SELECT
 * (key patterns are not per database), KEYS/SCAN/RANDOMKEY (they list keys regardless of patterns),
 * FLUSHDB/FLUSHALL (@write, but keyless), pub/sub, XREAD, CONFIG, CLIENT except SETNAME.
 */
export const workerQueueCommands: readonly string[] = Object.freeze([
  // Issued by the Worker itself: the blocking fetch on the queue's marker key, and the connection name
  // BullMQ gives its blocking connection (allowed so each connect does not write a denial to ACL LOG).
  'bzpopmin',
  'client|setname',
  // Run inside BullMQ's worker-path Lua scripts.
  'del',
  'exists',
  'get',
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hmget',
  'hmset',
  'hset',
  'incr',
  'llen',
  'lpush',
  'lrem',
  'ltrim',
  'pexpire',
  'pttl',
  'rpoplpush',
  'rpush',
  'sadd',
  'scard',
  'set',
  'srem',
  'xadd',
  'xtrim',
  'zadd',
  'zcard',
  'zpopmin',
  'zrange',
  'zrangebyscore',
  'zrem',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zscore',
]);

/** Which queue a worker user is for. */
export interface WorkerQueueSpec {
  readonly workerId: string;
  /** Must be `queueNameForWorker(workerId)` when given: one queue per worker is the isolation rule. */
  readonly queueName?: string;
  /** BullMQ prefix; default `rbnetQueuePrefix`. */
  readonly prefix?: string;
}

/** What the worker's operator is given once. Only `passwordSha256` may be stored by the coordinator. */
export interface WorkerRedisCredentials {
  readonly username: string;
  /** 32 random bytes as base64url (43 characters, safe in a redis:// URL unescaped). Never log it. */
  readonly password: string;
  /** sha256 of the password, lowercase hex: what Redis stores, and what re-creating the user needs. */
  readonly passwordSha256: string;
}

const USERNAME_PREFIX = 'worker:';

/** The ACL username of a worker: `worker:<prefix>:<workerId>`. */
export function workerRedisUsername(spec: WorkerQueueSpec): string {
  const { prefix, workerId } = resolveSpec(spec);
  return `${USERNAME_PREFIX}${prefix}:${workerId}`;
}

/**
 * The exact `ACL SETUSER <username> ...` rules for a worker (pure; for docs, review and tests).
 * `reset` first, so re-applying the rules to an existing user also removes anything granted before.
 */
export function workerAclRules(spec: WorkerQueueSpec, passwordSha256: string): string[] {
  if (!/^[0-9a-f]{64}$/.test(passwordSha256)) {
    throw new RedisAclError('ACL_INVALID', 'passwordSha256: expected 64 lowercase hex characters');
  }
  const { prefix, queueName } = resolveSpec(spec);
  return [
    'reset',
    'on',
    `#${passwordSha256}`,
    'resetkeys',
    `~${prefix}:${queueName}:*`,
    'resetchannels',
    '-@all',
    ...workerQueueCommands.map((command) => `+${command}`),
    // EVALSHA with one of these first arguments only: BullMQ's worker scripts, nothing else.
    ...workerScripts.map((script) => `+evalsha|${script.sha1}`),
  ];
}

/**
 * Creates (or replaces) the worker's Redis user with a fresh random password.
 *
 * Redis receives only the password's sha256 (`#<hex>`), so the plaintext never reaches the server, its
 * slow log, MONITOR, or the error objects ioredis attaches the command to.
 *
 * @returns the credentials to hand to the operator; the password is not kept anywhere.
 */
export async function createWorkerRedisUser(
  adminRedis: Redis,
  spec: WorkerQueueSpec,
): Promise<WorkerRedisCredentials> {
  const password = randomBytes(32).toString('base64url');
  const passwordSha256 = createHash('sha256').update(password, 'utf8').digest('hex');
  const username = await applyWorkerRedisUser(adminRedis, spec, passwordSha256);
  return { username, password, passwordSha256 };
}

/**
 * Sets the worker's user from a stored password hash. Redis keeps ACL users in memory only (unless it
 * runs with an `aclfile` and someone calls ACL SAVE), so after a Redis restart the coordinator calls this
 * for every enrolled worker.
 * @returns the username.
 */
export async function applyWorkerRedisUser(
  adminRedis: Redis,
  spec: WorkerQueueSpec,
  passwordSha256: string,
): Promise<string> {
  const username = workerRedisUsername(spec);
  await adminRedis.call('ACL', 'SETUSER', username, ...workerAclRules(spec, passwordSha256));
  // The worker may only EVALSHA these, and may not load them itself: they must be in the script
  // cache, which a Redis restart empties (this runs again then, from restoreQueues).
  await loadWorkerScripts(adminRedis);
  return username;
}

/** Puts the worker scripts into Redis's script cache (SCRIPT LOAD is idempotent). */
export async function loadWorkerScripts(adminRedis: Redis): Promise<void> {
  for (const script of workerScripts) {
    const sha1 = String(await adminRedis.call('SCRIPT', 'LOAD', script.lua));
    if (sha1 !== script.sha1) {
      throw new RedisAclError('ACL_INVALID', `SCRIPT LOAD ${script.name}: Redis answered sha1 ${sha1}`);
    }
  }
}

/**
 * Disables the user, closes every connection authenticated as it, and deletes it. Only `worker:` users
 * can be deleted this way, so a wrong argument can never remove `default` or an operator's admin user.
 * @returns whether the user existed, and how many connections were killed.
 */
export async function deleteWorkerRedisUser(
  adminRedis: Redis,
  username: string,
): Promise<{ readonly deleted: boolean; readonly killedConnections: number }> {
  if (!username.startsWith(USERNAME_PREFIX) || /\s/.test(username)) {
    throw new RedisAclError('ACL_INVALID', `username: only "${USERNAME_PREFIX}..." users are worker users`);
  }
  const existing = await adminRedis.call('ACL', 'GETUSER', username);
  if (existing === null) return { deleted: false, killedConnections: 0 };
  // Off first: from here no new AUTH succeeds, so no connection can slip in between the kill and the delete.
  await adminRedis.call('ACL', 'SETUSER', username, 'off');
  const killed = Number(await adminRedis.call('CLIENT', 'KILL', 'USER', username));
  await adminRedis.call('ACL', 'DELUSER', username);
  return { deleted: true, killedConnections: killed };
}

/**
 * Deletes every key of the worker's queue (`<prefix>:<queueName>:*`) with SCAN + UNLINK, as admin.
 * Call it after `deleteWorkerRedisUser`, so the worker cannot write while the sweep runs.
 *
 * Not BullMQ's `obliterate`: its removal scripts follow `parentKey` fields stored in job hashes, which
 * the worker can write, and run with the admin's rights. A pattern sweep touches nothing outside the
 * queue's own key pattern, and also removes keys the worker created that BullMQ does not know.
 * @returns how many keys were removed.
 */
export async function drainWorkerQueue(adminRedis: Redis, spec: WorkerQueueSpec): Promise<number> {
  const { prefix, queueName } = resolveSpec(spec);
  // The prefix and queue name contain no glob metacharacters (checked), so the pattern is literal.
  const pattern = `${prefix}:${queueName}:*`;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = (await adminRedis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000')) as [
      string,
      string[],
    ];
    cursor = next;
    if (keys.length > 0) removed += Number(await adminRedis.call('UNLINK', ...keys));
  } while (cursor !== '0');
  return removed;
}

function resolveSpec(spec: WorkerQueueSpec): { prefix: string; queueName: string; workerId: string } {
  const queueName = queueNameForWorker(spec.workerId);
  if (spec.queueName !== undefined && spec.queueName !== queueName) {
    throw new RedisAclError('ACL_INVALID', `queueName: worker ${spec.workerId} consumes only ${queueName}`);
  }
  return { prefix: checkQueuePrefix(spec.prefix ?? rbnetQueuePrefix), queueName, workerId: spec.workerId };
}
