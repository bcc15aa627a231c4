// The heartbeat wire contract: exactly the named jobs, parsed strictly on both sides.
import { describe, expect, it } from 'vitest';
import {
  HeartbeatError,
  parseHeartbeatAnswer,
  parseHeartbeatRequest,
  serializeHeartbeatRequest,
} from './heartbeat.ts';

const JOB = '0b7e2d8a-9d1c-4c0e-8f61-2a3b4c5d6e7f:attempt:1';

describe('heartbeat contract', () => {
  it('round-trips the named jobs', () => {
    expect(parseHeartbeatRequest(serializeHeartbeatRequest([JOB]))).toEqual({ running: [JOB] });
    expect(parseHeartbeatRequest('{"running":[]}')).toEqual({ running: [] });
  });

  it.each([
    ['another field', `{"running":[],"all":true}`, /^request body: expected exactly/],
    ['a duplicate key', `{"running":[],"running":["${JOB}"]}`, /^request body: /],
    ['a job named twice', `{"running":["${JOB}","${JOB}"]}`, /^running: names a job twice/],
    ['a bad job id', '{"running":["a b"]}', /^running\[0\]: not a valid job id/],
    [
      'too many jobs',
      JSON.stringify({ running: Array.from({ length: 1001 }, (_, i) => `j${i}x`) }),
      /^running: /,
    ],
    ['not an object', '[]', /^request body: expected a JSON object/],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseHeartbeatRequest(text)).toThrow(HeartbeatError);
    expect(() => parseHeartbeatRequest(text)).toThrow(message);
  });

  it('parses the answer and refuses one without its durations', () => {
    const answer = { leaseTimeoutMs: 60_000, pickupTimeoutMs: 30_000, renewed: [JOB], stale: [] };
    expect(parseHeartbeatAnswer(JSON.stringify(answer))).toEqual(answer);
    expect(() => parseHeartbeatAnswer(JSON.stringify({ ...answer, pickupTimeoutMs: 0 }))).toThrow(
      /^pickupTimeoutMs: /,
    );
  });
});
