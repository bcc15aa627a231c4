// The coordinator's removal of one job from a worker's queue, by the names of that job's own keys only.
import type { Redis } from 'ioredis';

/**
 * Removes one BullMQ job that its worker does not hold, without reading any key name from Redis.
 *
 * BullMQ's own removal (`Queue.remove`, `removeJob-2.lua`) follows the job's `:dependencies`,
 * `:processed`, `:failed` and `:unsuccessful` sets and its `parentKey` field, and deletes or moves what
 * they name. The worker writes all of those, while the coordinator runs the removal with full rights:
 * a worker could make it delete any hash in the database. This script touches exactly the keys passed
 * in KEYS, which the caller derives from the queue and the job id, never from stored data. Structures
 * the worker may have corrupted (a list turned into a string) are skipped with `pcall`, so the job's
 * own keys are deleted whatever the worker did to the rest of its queue.
 *
 *   KEYS[1]  job hash `<prefix>:<queue>:<jobId>`      KEYS[2]  its lock `<job hash>:lock`
 *   KEYS[3]  wait      KEYS[4]  paused      KEYS[5]  active      (lists)
 *   KEYS[6]  prioritized  KEYS[7]  delayed  KEYS[8]  completed  KEYS[9]  failed
 *   KEYS[10] waiting-children                                      (sorted sets)
 *   KEYS[11] stalled (set)   KEYS[12] events (stream)
 *   KEYS[13..] the job's own sub-keys: logs, dependencies, processed, failed, unsuccessful
 *   ARGV[1]  jobId
 *
 * Returns 0 when the job hash does not exist, 1 when removed, 2 when the job is locked (its worker
 * holds it: it is running, and only the worker or the lock's expiry ends that).
 */
export const REMOVE_QUEUED_JOB_LUA = `
local jobKey = KEYS[1]
local jobId = ARGV[1]
if redis.call("EXISTS", jobKey) == 0 then return 0 end
if redis.call("EXISTS", KEYS[2]) == 1 then return 2 end
for i = 3, 5 do redis.pcall("LREM", KEYS[i], 0, jobId) end
for i = 6, 10 do redis.pcall("ZREM", KEYS[i], jobId) end
redis.pcall("SREM", KEYS[11], jobId)
redis.call("DEL", jobKey, unpack(KEYS, 13))
redis.pcall("XADD", KEYS[12], "MAXLEN", "~", 10000, "*", "event", "removed", "jobId", jobId, "prev", "rbnet-coordinator")
return 1
`;

const LIST_KEYS = ['wait', 'paused', 'active'] as const;
const SORTED_SET_KEYS = ['prioritized', 'delayed', 'completed', 'failed', 'waiting-children'] as const;
const JOB_SUB_KEYS = ['logs', 'dependencies', 'processed', 'failed', 'unsuccessful'] as const;

/** The KEYS of {@link REMOVE_QUEUED_JOB_LUA} for job `jobId` of the queue whose keys start `queueKeyBase`. */
export function removeQueuedJobKeys(queueKeyBase: string, jobId: string): string[] {
  const jobKey = `${queueKeyBase}${jobId}`;
  return [
    jobKey,
    `${jobKey}:lock`,
    ...LIST_KEYS.map((name) => `${queueKeyBase}${name}`),
    ...SORTED_SET_KEYS.map((name) => `${queueKeyBase}${name}`),
    `${queueKeyBase}stalled`,
    `${queueKeyBase}events`,
    ...JOB_SUB_KEYS.map((name) => `${jobKey}:${name}`),
  ];
}

/**
 * Runs the removal as the coordinator (see {@link REMOVE_QUEUED_JOB_LUA}).
 * @param queueKeyBase `<prefix>:<queue>:`, from checked names only.
 */
export async function removeQueuedJob(
  admin: Redis,
  queueKeyBase: string,
  jobId: string,
): Promise<'removed' | 'not-found' | 'active'> {
  const keys = removeQueuedJobKeys(queueKeyBase, jobId);
  const answer = Number(await admin.eval(REMOVE_QUEUED_JOB_LUA, keys.length, ...keys, jobId));
  return answer === 1 ? 'removed' : answer === 2 ? 'active' : 'not-found';
}
