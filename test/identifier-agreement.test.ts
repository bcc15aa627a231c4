// One rule per identifier, the same at every boundary: a value the queue payload parser (what a
// worker accepts) refuses is refused by the HTTP routes and the store too, and the other way round.
// Each case is one identifier whose boundaries used to disagree. Only the boundaries' own entry
// points are used (no shared rule module), so this holds whatever the rules are made of.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import {
  JOB_PAYLOAD_SCHEMA_V1,
  JobPayloadError,
  parseJobPayload,
  QueueNameError,
  queueNameForWorker,
} from '../services/queue/queue-contract.ts';
import { BuildStoreError } from '../services/storage/store-error.ts';
import { AuthTestCoordinator } from './support/auth-test-coordinator.ts';
import type { TestWorkerKeys } from './support/test-worker-keys.ts';

const MANIFEST = '{"name":"fixture","schema":"rbnet.manifest/v1"}';

function payload(overrides: Record<string, unknown>): string {
  return JSON.stringify({
    schema: JOB_PAYLOAD_SCHEMA_V1,
    buildId: randomUUID(),
    jobId: 'b1:w-a:1',
    attempt: 1,
    nonce: randomBytes(32).toString('base64url'),
    manifestSha256: sha256Hex(MANIFEST),
    manifest: MANIFEST,
    coordinatorUrl: 'https://coordinator.example.org',
    ...overrides,
  });
}

function refusedField(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JobPayloadError);
    return (error as JobPayloadError).field;
  }
  throw new Error('expected the payload to be refused');
}

async function storeCode(run: () => Promise<unknown>): Promise<string> {
  const error = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(BuildStoreError);
  return (error as BuildStoreError).code;
}

let coordinator: AuthTestCoordinator;
let alpha: TestWorkerKeys;
let buildId: string;

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  await coordinator.addOperator('alpha');
  alpha = await coordinator.enrol('alpha', 'alpha-1');
  buildId = randomUUID();
  const manifestJson = JSON.stringify({ build: buildId });
  await coordinator.fixture.store.builds.createBuild({
    buildId,
    manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
    manifestJson,
    name: 'hello',
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 1, maxAttempts: 3, decisionDeadlineMs: 60_000 },
    submittedBy: 'admin',
    createdAt: new Date(),
  });
});
afterAll(async () => coordinator?.close());

describe('one rule per identifier at every boundary', () => {
  it.each(['a:b', '12345', 'meta'])(
    'job id %j: refused by the queue payload parser, and so by the attempt check and the heartbeat',
    async (jobId) => {
      expect(refusedField(() => parseJobPayload(payload({ jobId })))).toBe('jobId');
      const check = await coordinator.asWorker(
        alpha,
        'POST',
        '/v1/attempts/current',
        JSON.stringify({ jobId }),
      );
      expect([check.status, check.json.error?.code]).toEqual([400, 'INVALID']);
      const heartbeat = await coordinator.asWorker(
        alpha,
        'POST',
        '/v1/heartbeats',
        JSON.stringify({ running: [jobId] }),
      );
      expect([heartbeat.status, heartbeat.json.error?.code]).toEqual([400, 'INVALID']);
    },
  );

  it('job nonce: one the payload parser refuses (not 32 bytes) is never stored for an attempt', async () => {
    const short = 'nonce-0123456789abcdef';
    expect(refusedField(() => parseJobPayload(payload({ nonce: short })))).toBe('nonce');
    const attempt = {
      buildId,
      workerId: 'alpha-1',
      operator: 'alpha',
      attempt: 1,
      jobId: `${buildId}:attempt:1`,
      assignedAt: new Date(),
    };
    expect(
      await storeCode(() => coordinator.fixture.store.builds.createAttempt({ ...attempt, nonce: short })),
    ).toBe('INVALID');
    const nonce = randomBytes(32).toString('base64url');
    expect(parseJobPayload(payload({ nonce })).nonce).toBe(nonce);
    expect((await coordinator.fixture.store.builds.createAttempt({ ...attempt, nonce })).nonce).toBe(nonce);
  });

  it('worker id: one the store and the request proofs refuse (upper case) names no queue either', async () => {
    expect(() => queueNameForWorker('Alpha-2')).toThrow(QueueNameError);
    const enrolment = {
      workerId: 'Alpha-2',
      operator: 'alpha',
      signingKeyPem: alpha.signer.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      signingKeyid: sha256Hex('a signing key'),
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
      queueName: 'rbnet-w-Alpha-2',
      redisUser: 'worker:rbnet:Alpha-2',
    };
    expect(await storeCode(() => coordinator.fixture.store.registry.enrolWorker(enrolment))).toBe('INVALID');
  });

  it('build id: a UUID the payload parser refuses (not RFC 9562) is a malformed id at the API, not an unknown one', async () => {
    const nil = '00000000-0000-0000-0000-000000000000';
    expect(refusedField(() => parseJobPayload(payload({ buildId: nil })))).toBe('buildId');
    const answer = await coordinator.request('GET', `/v1/builds/${nil}`);
    expect([answer.status, answer.json.error?.code]).toEqual([400, 'INVALID']);
  });

  it('keyid: the store keeps only keyids of the form enrolment computes (64 hex digits)', async () => {
    const enrolment = {
      workerId: 'alpha-3',
      operator: 'alpha',
      signingKeyPem: alpha.signer.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      signingKeyid: 'keyid-1',
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
      queueName: 'rbnet-w-alpha-3',
      redisUser: 'worker:rbnet:alpha-3',
    };
    expect(await storeCode(() => coordinator.fixture.store.registry.enrolWorker(enrolment))).toBe('INVALID');
  });
});
