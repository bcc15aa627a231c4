// An ioredis client that runs Lua scripts by sha1 only (EVALSHA), never by sending their text (EVAL):
// the worker's Redis user may run exactly BullMQ's worker scripts, which the coordinator preloads.
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

/** What ioredis' own `duplicate` returns for the given override (its reply mapping follows the options). */
type DuplicateOf<Override extends Partial<RedisOptions> | undefined> = ReturnType<
  typeof Redis.prototype.duplicate<Override>
>;

interface ScriptDefinition {
  readonly lua: string;
  readonly numberOfKeys?: number;
  readonly readOnly?: boolean;
}

/**
 * ioredis sends a script's full text (EVAL) the first time it runs on a connection and EVALSHA after;
 * the worker's ACL allows no EVAL, so every script command defined on this client (BullMQ defines its
 * scripts with `defineCommand`) goes out as EVALSHA of the script's sha1. A script missing from the
 * server's cache fails with NOSCRIPT until the coordinator loads it again (it does whenever it
 * (re)creates the worker's user). Copies made with `duplicate()` (BullMQ's own connections) behave
 * the same.
 */
export class EvalshaOnlyRedis extends Redis {
  constructor(options: RedisOptions) {
    // BullMQ reads replies in ioredis' legacy (RESP2-shaped) mapping, the default.
    super(options as RedisOptions & { replyMapping?: 'legacy' });
  }

  override defineCommand(name: string, definition: ScriptDefinition): void {
    super.defineCommand(name, definition);
    const sha1 = createHash('sha1').update(definition.lua).digest('hex');
    const numberOfKeys = definition.numberOfKeys;
    const run = (...args: unknown[]): Promise<unknown> => {
      // BullMQ passes one array of keys and arguments; ioredis' own form is a flat list.
      const flat = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as (string | Buffer)[];
      return typeof numberOfKeys === 'number'
        ? this.evalsha(sha1, numberOfKeys, ...flat)
        : this.evalsha(sha1, ...(flat as [string | number, ...(string | Buffer)[]]));
    };
    Object.defineProperty(this, name, { value: run, configurable: true, writable: true });
  }

  override duplicate<Override extends Partial<RedisOptions> | undefined = undefined>(
    override?: Override,
  ): DuplicateOf<Override> {
    return new EvalshaOnlyRedis({ ...this.options, ...(override ?? {}) }) as unknown as DuplicateOf<Override>;
  }
}
