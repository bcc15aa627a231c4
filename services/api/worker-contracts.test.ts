// The worker↔coordinator bodies and answers: result reports, attempt checks, enrolment answers and
// error bodies, each read strictly on its receiving side.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import { readApiErrorBody } from './api-error-body.ts';
import { parseAttemptCheckAnswer, parseAttemptCheckRequest } from './attempt-check.ts';
import { parseEnrolmentAnswer } from './enrolment.ts';
import {
  maxFailureDetailChars,
  parseResultAnswer,
  parseResultReport,
  serializeResultReport,
} from './result-report.ts';
import { WireFormatError } from './wire-type.ts';

const JOB = `${randomUUID()}:attempt:1`;
const LOG = sha256Hex('log');

function refusal(run: () => unknown): WireFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    return error as WireFormatError;
  }
  throw new Error('expected a refusal');
}

describe('result report', () => {
  it('reads an envelope or a failure, and a worker only ever sends what the coordinator reads', () => {
    const built = { jobId: JOB, envelope: '{"payloadType":"x"}' };
    expect(parseResultReport(serializeResultReport(built))).toEqual(built);
    const failed = {
      jobId: JOB,
      failure: { reason: 'timeout' as const, detail: 'took too long', logSha256: LOG },
    };
    expect(parseResultReport(serializeResultReport(failed))).toEqual(failed);
    expect(
      parseResultReport(JSON.stringify({ jobId: JOB, failure: { reason: 'oom', logSha256: LOG } })),
    ).toEqual({
      jobId: JOB,
      failure: { reason: 'oom', detail: '', logSha256: LOG },
    });
  });

  it('cuts a long failure detail rather than refusing the report (it is for people)', () => {
    const detail = 'd'.repeat(maxFailureDetailChars + 10);
    const report = parseResultReport(
      JSON.stringify({ jobId: JOB, failure: { reason: 'exit-code', detail, logSha256: LOG } }),
    );
    expect('failure' in report && report.failure.detail.length).toBe(maxFailureDetailChars);
  });

  it.each([
    ['neither envelope nor failure', { jobId: JOB }, /^envelope: expected exactly one of/],
    [
      'both',
      { jobId: JOB, envelope: 'x', failure: { reason: 'oom', logSha256: LOG } },
      /^failure: expected exactly one of/,
    ],
    ['a job id the queue would refuse', { jobId: 'a:b', envelope: 'x' }, /^jobId: /],
    ['an unknown field', { jobId: JOB, envelope: 'x', verdict: 'reproducible' }, /^verdict: unknown field/],
    [
      'an unknown failure reason',
      { jobId: JOB, failure: { reason: 'bored', logSha256: LOG } },
      /^failure\.reason: /,
    ],
    [
      'a log that is no digest',
      { jobId: JOB, failure: { reason: 'oom', logSha256: 'abc' } },
      /^failure\.logSha256: /,
    ],
    [
      'a detail that is no string',
      { jobId: JOB, failure: { reason: 'oom', logSha256: LOG, detail: 5 } },
      /^failure\.detail: /,
    ],
    ['an empty envelope', { jobId: JOB, envelope: '' }, /^envelope: /],
  ])('refuses %s, naming the field (INVALID)', (_label, body, message) => {
    const error = refusal(() => parseResultReport(JSON.stringify(body)));
    expect(error.code).toBe('INVALID');
    expect(error.message).toMatch(message);
  });

  it('reads the answer strictly (ANSWER_INVALID for one that breaks the contract)', () => {
    const answer = {
      accepted: true,
      buildId: randomUUID(),
      kind: 'built',
      durationMs: 5,
      duplicate: false,
      counted: true,
      verdict: 'pending',
    };
    expect(parseResultAnswer(JSON.stringify(answer))).toEqual(answer);
    expect(refusal(() => parseResultAnswer(JSON.stringify({ ...answer, accepted: false }))).code).toBe(
      'ANSWER_INVALID',
    );
    expect(refusal(() => parseResultAnswer(JSON.stringify({ ...answer, verdict: 'great' }))).message).toMatch(
      /^verdict: /,
    );
  });
});

describe('attempt check', () => {
  it('refuses an answer about another job than the one asked about', () => {
    const answer = { jobId: JOB, current: true, state: 'open' };
    expect(parseAttemptCheckAnswer(JSON.stringify(answer), JOB).current).toBe(true);
    expect(refusal(() => parseAttemptCheckAnswer(JSON.stringify(answer), `${JOB}x`)).message).toMatch(
      /^jobId: /,
    );
    expect(
      refusal(() => parseAttemptCheckAnswer(JSON.stringify({ ...answer, state: 'won' }), JOB)).message,
    ).toMatch(/^state: /);
  });

  it('reads exactly { jobId }', () => {
    expect(parseAttemptCheckRequest(JSON.stringify({ jobId: JOB }))).toEqual({ jobId: JOB });
    expect(refusal(() => parseAttemptCheckRequest('{"jobId":"meta"}')).message).toMatch(/^jobId: /);
    expect(refusal(() => parseAttemptCheckRequest(`{"jobId":"${JOB}","all":true}`)).message).toMatch(
      /^all: unknown field/,
    );
  });
});

describe('enrolment answer', () => {
  const answer = {
    workerId: 'alpha-1',
    operator: 'alpha',
    signingKeyid: 'a'.repeat(64),
    queueName: 'rbnet-w-alpha-1',
    queuePrefix: 'rbnet',
    redis: {
      url: 'redis://127.0.0.1:6379',
      username: 'worker:rbnet:alpha-1',
      password: randomBytes(32).toString('base64url'),
    },
  };

  it('reads the queue credentials a worker keeps, and refuses ones it could not use safely', () => {
    expect(parseEnrolmentAnswer(JSON.stringify(answer))).toEqual(answer);
    // A queue prefix with a glob character would widen the worker's own ACL pattern.
    expect(
      refusal(() => parseEnrolmentAnswer(JSON.stringify({ ...answer, queuePrefix: 'rbnet*' }))).message,
    ).toMatch(/^queuePrefix: /);
    expect(
      refusal(() =>
        parseEnrolmentAnswer(JSON.stringify({ ...answer, redis: { ...answer.redis, password: 5 } })),
      ).message,
    ).toMatch(/^redis\.password: /);
  });
});

describe('error body', () => {
  it("reads the coordinator's code and message, cut to a bounded length", () => {
    expect(readApiErrorBody('{"error":{"code":"NOT_FOUND","message":"build x not found"}}')).toEqual({
      code: 'NOT_FOUND',
      message: 'build x not found',
    });
    const long = readApiErrorBody(JSON.stringify({ error: { code: 'INVALID', message: 'm'.repeat(5000) } }));
    expect(long?.message.length).toBe(2000);
  });

  it.each([
    ['an HTML page', '<html>bad gateway</html>'],
    ['a code that is no code', '{"error":{"code":"not a code","message":"x"}}'],
    ['a missing message', '{"error":{"code":"INVALID"}}'],
    ['a duplicate key', '{"error":{"code":"A","code":"B","message":"x"}}'],
  ])('gives nothing for %s', (_label, text) => {
    expect(readApiErrorBody(text)).toBeUndefined();
  });
});
