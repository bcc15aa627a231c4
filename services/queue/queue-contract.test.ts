// Unit tests of the queue contract: names, the strict job payload parser and the completion value.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../digest.ts';
import {
  JOB_PAYLOAD_SCHEMA_V1,
  JobPayloadError,
  jobPayloadLimits,
  parseJobCompletionValue,
  parseJobPayload,
  QueueNameError,
  queueNameForWorker,
  type RebuildJobPayload,
  serializeJobPayload,
  validateJobCompletionValue,
} from './queue-contract.ts';

const MANIFEST = '{"name":"fixture","schema":"rbnet.manifest/v1"}';

function validPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: JOB_PAYLOAD_SCHEMA_V1,
    buildId: randomUUID(),
    jobId: 'b1:w-a:1',
    attempt: 1,
    nonce: randomBytes(32).toString('base64url'),
    manifestSha256: sha256Hex(MANIFEST),
    manifest: MANIFEST,
    coordinatorUrl: 'https://coordinator.example.org/rbnet',
    ...overrides,
  };
}

function text(payload: Record<string, unknown>): string {
  return JSON.stringify(payload);
}

function refusal(run: () => unknown): JobPayloadError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JobPayloadError);
    return error as JobPayloadError;
  }
  throw new Error('expected a JobPayloadError, but the input was accepted');
}

describe('queueNameForWorker', () => {
  it('names one queue per worker', () => {
    expect(queueNameForWorker('op1-w.3')).toBe('rbnet-w-op1-w.3');
  });

  it.each(['', 'a:b', 'a*', 'a?', 'a[b]', '-a', 'a b', 'x'.repeat(64)])('refuses worker id %j', (id) => {
    expect(() => queueNameForWorker(id)).toThrow(QueueNameError);
  });
});

describe('parseJobPayload', () => {
  it('accepts a valid payload, returns it frozen, and round-trips through serializeJobPayload', () => {
    const source = validPayload();
    const parsed = parseJobPayload(text(source));
    expect(parsed).toEqual(source);
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(parseJobPayload(serializeJobPayload(parsed))).toEqual(parsed);
    expect(parseJobPayload(Buffer.from(text(source)))).toEqual(parsed);
  });

  it('accepts a one-segment job id and the attempt bounds', () => {
    expect(parseJobPayload(text(validPayload({ jobId: 'job_1-a', attempt: 100 }))).attempt).toBe(100);
  });

  const INVALID = 'JOB_PAYLOAD_INVALID';
  const nonce = randomBytes(32).toString('base64url');
  // Same 43 characters, but the last one carries non-zero unused bits: a second spelling of other bytes.
  const nonCanonicalNonce = `${nonce.slice(0, 42)}${nonce.endsWith('B') ? 'C' : 'B'}`;
  const dup = text(validPayload()).replace('"attempt":1', '"attempt":1,"attempt":2');
  const cases: ReadonlyArray<readonly [string, () => string | Uint8Array, string, string]> = [
    ['wrong schema', () => text(validPayload({ schema: 'rbnet.job/v2' })), 'schema', INVALID],
    [
      'manifest digest mismatch',
      () => text(validPayload({ manifestSha256: sha256Hex('other') })),
      'manifest',
      INVALID,
    ],
    [
      'manifest edited after hashing',
      () => text(validPayload({ manifest: `${MANIFEST} ` })),
      'manifest',
      INVALID,
    ],
    ['nonce of 42 characters', () => text(validPayload({ nonce: nonce.slice(0, 42) })), 'nonce', INVALID],
    ['nonce of 44 characters', () => text(validPayload({ nonce: `${nonce}A` })), 'nonce', INVALID],
    [
      'nonce in standard base64',
      () => text(validPayload({ nonce: `${nonce.slice(0, 42)}+` })),
      'nonce',
      INVALID,
    ],
    [
      'nonce with non-zero padding bits',
      () => text(validPayload({ nonce: nonCanonicalNonce })),
      'nonce',
      INVALID,
    ],
    ['float attempt', () => text(validPayload()).replace('"attempt":1', '"attempt":1.5'), 'attempt', INVALID],
    ['attempt 1.0', () => text(validPayload()).replace('"attempt":1', '"attempt":1.0'), 'attempt', INVALID],
    ['attempt 0', () => text(validPayload({ attempt: 0 })), 'attempt', INVALID],
    ['attempt 101', () => text(validPayload({ attempt: 101 })), 'attempt', INVALID],
    ['attempt as a string', () => text(validPayload({ attempt: '1' })), 'attempt', INVALID],
    ['extra field', () => text(validPayload({ priority: 1 })), 'priority', INVALID],
    ['__proto__ field', () => text(validPayload()).replace('{', '{"__proto__":"x",'), '__proto__', INVALID],
    [
      'missing coordinatorUrl',
      () => text(validPayload({ coordinatorUrl: undefined })),
      'coordinatorUrl',
      INVALID,
    ],
    ['duplicate key', () => dup, 'attempt', INVALID],
    ['buildId not a UUID', () => text(validPayload({ buildId: 'build-1' })), 'buildId', INVALID],
    [
      'buildId in upper case',
      () => text(validPayload({ buildId: randomUUID().toUpperCase() })),
      'buildId',
      INVALID,
    ],
    ['jobId with two segments', () => text(validPayload({ jobId: 'a:b' })), 'jobId', INVALID],
    ['jobId with a space', () => text(validPayload({ jobId: 'a b' })), 'jobId', INVALID],
    ['jobId of digits only', () => text(validPayload({ jobId: '12345' })), 'jobId', INVALID],
    ['jobId naming a BullMQ key', () => text(validPayload({ jobId: 'meta' })), 'jobId', INVALID],
    ['jobId of 129 characters', () => text(validPayload({ jobId: 'j'.repeat(129) })), 'jobId', INVALID],
    [
      'manifestSha256 in upper case',
      () => text(validPayload({ manifestSha256: sha256Hex(MANIFEST).toUpperCase() })),
      'manifestSha256',
      INVALID,
    ],
    ['manifest as an object', () => text(validPayload({ manifest: { name: 'x' } })), 'manifest', INVALID],
    [
      'coordinatorUrl with credentials',
      () => text(validPayload({ coordinatorUrl: 'https://u:p@c.example/' })),
      'coordinatorUrl',
      INVALID,
    ],
    [
      'coordinatorUrl not http(s)',
      () => text(validPayload({ coordinatorUrl: 'file:///etc/passwd' })),
      'coordinatorUrl',
      INVALID,
    ],
    [
      'coordinatorUrl with a fragment',
      () => text(validPayload({ coordinatorUrl: 'https://c.example/#x' })),
      'coordinatorUrl',
      INVALID,
    ],
    ['an array', () => `[${text(validPayload())}]`, '$', INVALID],
    ['trailing data', () => `${text(validPayload())} {}`, '$', INVALID],
    ['a byte order mark', () => `\uFEFF${text(validPayload())}`, '$', INVALID],
    [
      'invalid UTF-8',
      () => Buffer.concat([Buffer.from(text(validPayload()).slice(0, -2)), Buffer.from([0xff, 0x7d])]),
      '$',
      INVALID,
    ],
    [
      'oversize payload',
      () => text(validPayload({ pad: 'x'.repeat(jobPayloadLimits.maxPayloadBytes) })),
      '$',
      'JOB_PAYLOAD_TOO_LARGE',
    ],
    [
      'oversize manifest',
      () => {
        const manifest = `{"pad":"${'x'.repeat(jobPayloadLimits.maxManifestBytes)}"}`;
        return text(validPayload({ manifest, manifestSha256: sha256Hex(manifest) }));
      },
      'manifest',
      'JOB_PAYLOAD_TOO_LARGE',
    ],
  ];

  it.each(cases)('refuses %s, naming the field', (_name, make, field, code) => {
    const error = refusal(() => parseJobPayload(make()));
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it('refuses to serialize a payload that the parser would refuse', () => {
    const bad = validPayload({ attempt: 1.5 }) as unknown as RebuildJobPayload;
    expect(refusal(() => serializeJobPayload(bad)).field).toBe('attempt');
  });
});

describe('completion values', () => {
  const digest = sha256Hex('envelope');

  it('accepts an envelope digest or a failure reason', () => {
    expect(parseJobCompletionValue(JSON.stringify({ envelopeSha256: digest }))).toEqual({
      envelopeSha256: digest,
    });
    expect(validateJobCompletionValue({ failed: 'exit-code' })).toEqual({ failed: 'exit-code' });
  });

  it.each([
    ['both fields', { envelopeSha256: digest, failed: 'x' }, '$'],
    ['neither field', {}, '$'],
    ['a digest in upper case', { envelopeSha256: digest.toUpperCase() }, 'envelopeSha256'],
    ['an empty reason', { failed: '' }, 'failed'],
    ['a reason with a newline', { failed: 'a\nb' }, 'failed'],
    ['an overlong reason', { failed: 'x'.repeat(jobPayloadLimits.maxFailedReasonChars + 1) }, 'failed'],
    ['a string', 'done', '$'],
  ])('refuses %s', (_name, value, field) => {
    expect(refusal(() => validateJobCompletionValue(value)).field).toBe(field);
    expect(refusal(() => parseJobCompletionValue(JSON.stringify(value))).field).toBe(field);
  });
});
