// The wire contract of POST /v1/heartbeats: the jobs a worker says it runs (its proof signs the
// exact bytes) and the coordinator's answer. One type and one strict parser each, used by both sides.
import { isJobId, jobIdRule } from '../identifiers.ts';
import {
  childField,
  identifier,
  integer,
  object,
  parseWire,
  type WireFail,
  WireFormatError,
  type WireType,
} from './wire-type.ts';

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

/** A heartbeat or its answer was refused (`INVALID` by the coordinator, `ANSWER_INVALID` by the worker). */
export class HeartbeatError extends WireFormatError {}

/** Up to {@link maxHeartbeatJobs} distinct job ids. */
function jobIdList(description: string): WireType<readonly string[]> {
  return {
    schema: {
      type: 'array',
      maxItems: maxHeartbeatJobs,
      uniqueItems: true,
      items: identifier(jobIdRule).schema,
      description,
    },
    read(value: unknown, field: string, fail: WireFail) {
      if (!Array.isArray(value) || value.length > maxHeartbeatJobs)
        fail(field, `expected up to ${maxHeartbeatJobs} job ids`);
      for (const [index, jobId] of value.entries())
        if (!isJobId(jobId)) fail(childField(field, index), 'not a valid job id');
      if (new Set(value).size !== value.length) fail(field, 'names a job twice');
      return Object.freeze([...(value as string[])]);
    },
  };
}

const running = jobIdList(
  'exactly the job ids the worker is running now, each once: only these leases are renewed; the first naming marks a job started',
);

/** Exactly `{ "running": [jobId, ...] }`. */
export const heartbeatRequestType: WireType<HeartbeatRequest> = {
  schema: object({ running }).schema,
  read(value: unknown, field: string, fail: WireFail) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(field, 'expected a JSON object');
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== 'running') fail(field, 'expected exactly { "running": [...] }');
    return Object.freeze({ running: running.read((value as { running: unknown }).running, 'running', fail) });
  },
};

const duration = (description: string) => integer({ minimum: 1, description });

export const heartbeatAnswerType: WireType<HeartbeatAnswer> = object(
  {
    leaseTimeoutMs: duration('a named running job stays leased this long, ms'),
    pickupTimeoutMs: duration('an assigned job must be named as running within this long, ms'),
    renewed: jobIdList('named jobs whose leases were renewed'),
    stale: jobIdList(
      "named jobs whose attempt expired, was cancelled, passed its run limit or is not this worker's: stop them",
    ),
  },
  {},
  { unknown: 'ignore' },
);

/** The request body text for `running` (the bytes the worker signs). @throws HeartbeatError. */
export function serializeHeartbeatRequest(jobIds: readonly string[]): string {
  const body = JSON.stringify({ running: jobIds });
  parseHeartbeatRequest(body);
  return body;
}

/**
 * Parses a heartbeat body: strict JSON, exactly `{ "running": [jobId, ...] }`, at most
 * {@link maxHeartbeatJobs} distinct valid job ids.
 * @throws HeartbeatError `INVALID`, the message starting with the field.
 */
export function parseHeartbeatRequest(body: string | Uint8Array): HeartbeatRequest {
  return parseWire(heartbeatRequestType, body, {
    maxBytes: 256 * 1024,
    what: 'request body',
    side: 'request',
    maxDepth: 2,
    errorClass: HeartbeatError,
  });
}

/** Parses the coordinator's answer on the worker side. @throws HeartbeatError `ANSWER_INVALID`. */
export function parseHeartbeatAnswer(answer: string): HeartbeatAnswer {
  return parseWire(heartbeatAnswerType, answer, {
    maxBytes: 512 * 1024,
    what: 'heartbeat answer',
    side: 'answer',
    maxDepth: 2,
    errorClass: HeartbeatError,
  });
}
