// The wire contract of POST /v1/results: what a worker reports for one attempt (its signed envelope,
// or a failure), and what the coordinator answers. One type and one strict parser each, both sides.
import { CONSENSUS_FAILURE_REASONS, type ConsensusFailureReason } from '../consensus/decide-verdict.ts';
import { VERDICTS, type Verdict } from '../consensus/verdict.ts';
import type { Sha256Hex } from '../digest.ts';
import { buildIdRule, jobIdRule } from '../identifiers.ts';
import {
  boolean,
  childField,
  constant,
  identifier,
  integer,
  type JsonSchema,
  object,
  oneOf,
  parseWire,
  sha256,
  text,
  type WireFail,
  type WireType,
} from './wire-type.ts';

/** Longest failure detail kept; a longer one is cut (it is for people, and the log has the rest). */
export const maxFailureDetailChars = 2000;

/** A built result: the DSSE envelope the worker signed, as JSON text (intake verifies it). */
export interface BuiltResultReport {
  readonly jobId: string;
  readonly envelope: string;
}

export interface ResultFailure {
  readonly reason: ConsensusFailureReason;
  /** At most {@link maxFailureDetailChars} characters; empty when the worker sent none. */
  readonly detail: string;
  /** The build log (or the refusal) the worker uploaded first. */
  readonly logSha256: Sha256Hex;
}

/** A failed build, or a record that cannot be honoured (nothing built). */
export interface FailedResultReport {
  readonly jobId: string;
  readonly failure: ResultFailure;
}

export type ResultReport = BuiltResultReport | FailedResultReport;

/** What the coordinator answers: 202 when recorded, 200 for the same result again. */
export interface ResultAnswer {
  readonly accepted: true;
  readonly buildId: string;
  readonly kind: 'built' | 'failed';
  /** From the attempt's assignment to the result's arrival, ms. */
  readonly durationMs: number;
  /** The same result was recorded before: nothing changed. */
  readonly duplicate: boolean;
  /** False for a result recorded as evidence but not counted (its attempt had expired or was cancelled). */
  readonly counted: boolean;
  /** The build's verdict after this result. */
  readonly verdict?: Verdict;
}

const jobId = identifier(jobIdRule, 'the job id the worker was given');
const envelope = text({
  maxLength: 64 * 1024 * 1024,
  minLength: 1,
  description: 'the DSSE envelope as JSON text',
});
const failureReason = oneOf(CONSENSUS_FAILURE_REASONS);
const logSha256 = sha256('the uploaded build log');
const detailType: WireType<string> = {
  schema: { type: 'string', description: `for people; cut at ${maxFailureDetailChars} characters` },
  read(value: unknown, field: string, fail: WireFail) {
    if (typeof value !== 'string') fail(field, 'expected a string');
    return value.slice(0, maxFailureDetailChars);
  },
};
const failureFields = object({ reason: failureReason, logSha256 }, { detail: detailType });
const failureType: WireType<ResultFailure> = {
  schema: failureFields.schema,
  read(value: unknown, field: string, fail: WireFail) {
    const read = failureFields.read(value, field, fail);
    return Object.freeze({ reason: read.reason, detail: read.detail ?? '', logSha256: read.logSha256 });
  },
};
const builtType = object({ jobId, envelope });
const failedType = object({ jobId, failure: failureType });

/** `{ jobId, envelope }` or `{ jobId, failure: { reason, detail?, logSha256 } }`, nothing else. */
export const resultReportType: WireType<ResultReport> = {
  schema: { oneOf: [builtType.schema, failedType.schema] } satisfies JsonSchema,
  read(value: unknown, field: string, fail: WireFail) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(field, 'expected a JSON object');
    const hasEnvelope = Object.hasOwn(value, 'envelope');
    if (hasEnvelope === Object.hasOwn(value, 'failure'))
      fail(
        childField(field, hasEnvelope ? 'failure' : 'envelope'),
        'expected exactly one of "envelope" (string) or "failure" (object)',
      );
    return hasEnvelope ? builtType.read(value, field, fail) : failedType.read(value, field, fail);
  },
};

export const resultAnswerType: WireType<ResultAnswer> = object(
  {
    accepted: constant(true),
    buildId: identifier(buildIdRule),
    kind: oneOf(['built', 'failed'] as const),
    durationMs: integer({ minimum: 0 }),
    duplicate: boolean('true: the same result again, nothing changed'),
    counted: boolean(),
  },
  { verdict: oneOf(VERDICTS) },
  { unknown: 'ignore' },
);

/** The body a worker sends (checked first: a worker never sends what the coordinator would refuse). */
export function serializeResultReport(report: ResultReport): string {
  const body = JSON.stringify(report);
  parseResultReport(body);
  return body;
}

/**
 * Reads a result report body (the coordinator, after the proof: the bytes are the signed ones).
 * @throws WireFormatError INVALID naming the field.
 */
export function parseResultReport(body: string | Uint8Array, maxBytes = 64 * 1024 * 1024): ResultReport {
  return parseWire(resultReportType, body, { maxBytes, what: 'request body', side: 'request', maxDepth: 4 });
}

/** Reads the coordinator's answer (the worker). @throws WireFormatError ANSWER_INVALID. */
export function parseResultAnswer(answer: string): ResultAnswer {
  return parseWire(resultAnswerType, answer, { maxBytes: 64 * 1024, what: 'result answer', side: 'answer' });
}
