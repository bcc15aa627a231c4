// The exact BullMQ Lua scripts a worker's Redis user may run, by sha1: no other script text reaches Redis
// under a worker's name.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { InvariantError } from '../../services/errors.ts';

interface BullmqScript {
  readonly name: string;
  readonly content: string;
  readonly keys: number;
}

/**
 * The scripts a BullMQ 6 Worker runs on its queue (fetch, lock renewal, finish), as measured with ACL
 * LOG staying empty through a full worker lifecycle (test/queue-acl.test.ts). Nothing a producer or an
 * administrator runs (addStandardJob, removeJob, obliterate, ...) is here, although the coordinator's
 * own use puts those in Redis's script cache too. Not moveStalledJobsToWait either: the consumer runs
 * no stalled check (the coordinator owns leases), and that script, fed a long active list and stalled
 * set the worker wrote, loops in quadratic time after its first write, which nobody can kill.
 */
export const workerScriptNames = Object.freeze([
  'moveToActive',
  'moveToFinished',
  'extendLock',
  'extendLocks',
] as const);

export interface WorkerScript {
  readonly name: string;
  /** Lowercase hex sha1 of the script text: what EVALSHA names and the ACL allows. */
  readonly sha1: string;
  readonly lua: string;
}

// BullMQ's script texts, from the package the worker side also uses: the sha1 of what the worker
// sends is the sha1 of this text only when both run the same BullMQ version.
const bullmqScripts = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js') as Readonly<
  Record<string, BullmqScript>
>;

/** The allowed worker scripts with their sha1 (computed once). */
export const workerScripts: readonly WorkerScript[] = Object.freeze(
  workerScriptNames.map((name) => {
    const script = bullmqScripts[name];
    if (!script || typeof script.content !== 'string') {
      throw new InvariantError(
        'INVARIANT',
        `bullmq has no script ${name}: the worker script allowlist needs updating`,
      );
    }
    return Object.freeze({
      name,
      lua: script.content,
      sha1: createHash('sha1').update(script.content).digest('hex'),
    });
  }),
);
