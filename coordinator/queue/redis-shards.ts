// The Redis servers that hold worker queues, one per group of operators: the coordinator's connection,
// dispatcher and completion listener for each, and which operator's workers live where.
import { Redis } from 'ioredis';
import { InvariantError } from '../../services/errors.ts';
import type { RedisShardConfig } from '../redis-shard-settings.ts';
import { CompletionListener, type CompletionListenerOptions, JobDispatcher } from './job-dispatcher.ts';

/** One Redis server of worker queues, as the coordinator holds it. */
export class RedisShard {
  readonly name: string;
  /** What this shard's workers are told to connect to. */
  readonly workerUrl: string;
  /** The coordinator's connection (full rights); every command times out after the configured limit. */
  readonly admin: Redis;
  readonly dispatcher: JobDispatcher;
  readonly listener: CompletionListener;
  private readonly aliveKey: string;
  private lastRunId: string | undefined;
  private pendingRunId: string | undefined;

  constructor(
    config: RedisShardConfig,
    options: {
      readonly prefix: string;
      readonly commandTimeoutMs: number;
      readonly listener: Omit<CompletionListenerOptions, 'admin' | 'prefix'>;
    },
  ) {
    this.name = config.name;
    this.workerUrl = config.workerUrl;
    this.admin = new Redis(config.url, {
      maxRetriesPerRequest: null,
      commandTimeout: options.commandTimeoutMs,
      connectionName: `${options.prefix}:coordinator`,
    });
    this.admin.on('error', () => {
      // Failed commands reject on their own; a shard that is down must not crash the coordinator.
    });
    this.dispatcher = new JobDispatcher({ admin: this.admin, prefix: options.prefix });
    this.listener = new CompletionListener({
      ...options.listener,
      admin: this.admin,
      prefix: options.prefix,
    });
    // Redis is a transport: if this key is gone, the shard lost its data (restart without
    // persistence, failover to an empty replica) and its queues are rebuilt from SQLite.
    this.aliveKey = `${options.prefix}:coordinator:alive`;
  }

  /**
   * Whether the shard's users and jobs must be restored from the database: on first contact, after
   * any restart (ACL users live in memory only, so a new run_id means they are gone even if the data
   * was kept), and when the data was lost. Call {@link markRestored} once restored.
   * @throws when the shard does not answer (within the command timeout).
   */
  async needsRestore(): Promise<boolean> {
    const runId = /run_id:(\w+)/.exec(String(await this.admin.info('server')))?.[1] ?? '';
    if (runId !== this.lastRunId) {
      this.pendingRunId = runId;
      return true;
    }
    return (await this.admin.exists(this.aliveKey)) === 0;
  }

  async markRestored(): Promise<void> {
    await this.admin.set(this.aliveKey, new Date().toISOString());
    if (this.pendingRunId !== undefined) this.lastRunId = this.pendingRunId;
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.dispatcher.close();
    this.admin.disconnect();
  }
}

/**
 * Every shard, and the rule that places an operator's workers: the shard that names the operator, or
 * `default`. The placement is by operator, the unit of trust, so one operator's workers can at worst
 * halt or fill their own operator's Redis (with dedicated shards), never another's.
 */
export class RedisShards {
  readonly all: readonly RedisShard[];
  private readonly byOperator = new Map<string, RedisShard>();
  private readonly defaultShard: RedisShard;
  private readonly operatorOfWorker = new Map<string, string>();

  /**
   * @param configs the first is the default shard (see `CoordinatorConfig.redisShards`).
   * @param operatorOf the operator of an enrolled worker (from the database), for workers not seen yet.
   */
  constructor(
    configs: readonly RedisShardConfig[],
    private readonly operatorOf: (workerId: string) => Promise<string | undefined>,
    options: ConstructorParameters<typeof RedisShard>[1],
  ) {
    this.all = Object.freeze(configs.map((config) => new RedisShard(config, options)));
    this.defaultShard = this.all[0]!;
    for (const [index, config] of configs.entries()) {
      for (const operator of config.operators) this.byOperator.set(operator, this.all[index]!);
    }
  }

  forOperator(operator: string): RedisShard {
    return this.byOperator.get(operator) ?? this.defaultShard;
  }

  /** Records where a worker lives (at enrolment, before its database record exists). */
  place(workerId: string, operator: string): RedisShard {
    this.operatorOfWorker.set(workerId, operator);
    return this.forOperator(operator);
  }

  /** @throws InvariantError for a worker that is neither placed nor enrolled. */
  async forWorker(workerId: string): Promise<RedisShard> {
    let operator = this.operatorOfWorker.get(workerId);
    if (operator === undefined) {
      operator = await this.operatorOf(workerId);
      if (operator === undefined) throw new InvariantError('INVARIANT', `no worker ${workerId}`);
      this.operatorOfWorker.set(workerId, operator);
    }
    return this.forOperator(operator);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((shard) => shard.close()));
  }
}
