// The heartbeat a worker signs (POST /v1/heartbeats) and the coordinator's answer: one type and one
// strict parser each, used by both sides.
import { ManifestError, RbnetError } from '../errors.ts';
import { parseStrictJson } from '../strict-json.ts';
import { isValidJobId } from './queue-contract.ts';

/** Most job ids one heartbeat may name. */
export const maxHeartbeatJobs = 1000;

/** What a worker says it is running. The request's proof signs these exact bytes. */
export interface HeartbeatRequest {
  /** Job ids whose builds this worker runs now, each once. Only these leases are renewed. */
  readonly running: readonly string[];
}

export interface HeartbeatAnswer {
  /** How long a named running job stays leased after this heartbeat, ms. */
  readonly leaseTimeoutMs: number;
  /** How long an assigned job may wait before the worker names it as running, ms. */
  readonly pickupTimeoutMs: number;
  /** The named jobs whose leases were renewed. */
  readonly renewed: readonly string[];
  /** The named jobs that are not (or no longer) this worker's to run: stop them. */
  readonly stale: readonly string[];
}

export class HeartbeatError extends RbnetError<'HEARTBEAT_INVALID'> {}

/** The request body text for `running` (the bytes the worker signs). */
export function serializeHeartbeatRequest(running: readonly string[]): string {
  return JSON.stringify({ running: checkRunning(running, 'running') });
}

/**
 * Parses a heartbeat body: strict JSON, exactly `{ "running": [jobId, ...] }`, at most
 * {@link maxHeartbeatJobs} distinct valid job ids.
 * @throws HeartbeatError `HEARTBEAT_INVALID`, the message starting with the field.
 */
export function parseHeartbeatRequest(text: string): HeartbeatRequest {
  const value = parseObject(text, 'request body');
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'running') {
    throw new HeartbeatError('HEARTBEAT_INVALID', 'request body: expected exactly { "running": [...] }');
  }
  return Object.freeze({ running: checkRunning(value.running, 'running') });
}

/** Parses the coordinator's answer on the worker side. @throws HeartbeatError `HEARTBEAT_INVALID`. */
export function parseHeartbeatAnswer(text: string): HeartbeatAnswer {
  const value = parseObject(text, 'heartbeat answer');
  const duration = (name: 'leaseTimeoutMs' | 'pickupTimeoutMs'): number => {
    const field = value[name];
    if (!Number.isSafeInteger(field) || (field as number) < 1) {
      throw new HeartbeatError('HEARTBEAT_INVALID', `${name}: expected a positive integer`);
    }
    return field as number;
  };
  return Object.freeze({
    leaseTimeoutMs: duration('leaseTimeoutMs'),
    pickupTimeoutMs: duration('pickupTimeoutMs'),
    renewed: checkRunning(value.renewed, 'renewed'),
    stale: checkRunning(value.stale, 'stale'),
  });
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(text, { maxDepth: 2 });
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    throw new HeartbeatError('HEARTBEAT_INVALID', `${what}: ${err.message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HeartbeatError('HEARTBEAT_INVALID', `${what}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkRunning(value: unknown, field: string): readonly string[] {
  if (!Array.isArray(value) || value.length > maxHeartbeatJobs) {
    throw new HeartbeatError('HEARTBEAT_INVALID', `${field}: expected up to ${maxHeartbeatJobs} job ids`);
  }
  for (const [index, jobId] of value.entries()) {
    if (!isValidJobId(jobId)) {
      throw new HeartbeatError('HEARTBEAT_INVALID', `${field}[${index}]: not a valid job id`);
    }
  }
  if (new Set(value).size !== value.length) {
    throw new HeartbeatError('HEARTBEAT_INVALID', `${field}: names a job twice`);
  }
  return Object.freeze([...(value as string[])]);
}
