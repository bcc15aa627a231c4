// The wire contract of POST /v1/attempts/current: a worker asks, right before signing, whether an
// attempt is still open and its own, so a lost lease never produces a signature.
import { jobIdRule } from '../identifiers.ts';
import {
  boolean,
  identifier,
  object,
  oneOf,
  parseWire,
  WireFormatError,
  type WireType,
} from './wire-type.ts';

export interface AttemptCheckRequest {
  readonly jobId: string;
}

/** An attempt's state as the asking worker may see it: `not-assigned` unless it is its own. */
export const ATTEMPT_CHECK_STATES = [
  'open',
  'reported',
  'failed',
  'expired',
  'cancelled',
  'not-assigned',
] as const;

export interface AttemptCheckAnswer {
  readonly jobId: string;
  /** Open and assigned to the asking worker: it may sign. */
  readonly current: boolean;
  readonly state: (typeof ATTEMPT_CHECK_STATES)[number];
}

export const attemptCheckRequestType: WireType<AttemptCheckRequest> = object({
  jobId: identifier(jobIdRule),
});

export const attemptCheckAnswerType: WireType<AttemptCheckAnswer> = object(
  { jobId: identifier(jobIdRule), current: boolean(), state: oneOf(ATTEMPT_CHECK_STATES) },
  {},
  { unknown: 'ignore' },
);

/** The body a worker sends. */
export function serializeAttemptCheckRequest(request: AttemptCheckRequest): string {
  const body = JSON.stringify({ jobId: request.jobId });
  parseAttemptCheckRequest(body);
  return body;
}

/** @throws WireFormatError INVALID naming the field. */
export function parseAttemptCheckRequest(body: string | Uint8Array): AttemptCheckRequest {
  return parseWire(attemptCheckRequestType, body, {
    maxBytes: 64 * 1024,
    what: 'request body',
    side: 'request',
  });
}

/**
 * Reads the coordinator's answer; `jobId` must be the job asked about.
 * @throws WireFormatError ANSWER_INVALID naming the field.
 */
export function parseAttemptCheckAnswer(answer: string, jobId: string): AttemptCheckAnswer {
  const parsed = parseWire(attemptCheckAnswerType, answer, {
    maxBytes: 4096,
    what: 'attempt answer',
    side: 'answer',
  });
  if (parsed.jobId !== jobId)
    throw new WireFormatError('ANSWER_INVALID', 'jobId', `the answer is about ${parsed.jobId}, not ${jobId}`);
  return parsed;
}
