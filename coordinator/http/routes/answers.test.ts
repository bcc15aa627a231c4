// Every answer the coordinator gives on the way from enrolment to a verdict is read back with the
// parser its client uses (services/api): what the routes write and what the worker and the CLI
// accept are one contract. Real app (app.request), real SQLite and content store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolmentTokenAnswerType,
  maintainerAnswerType,
  operatorAnswerType,
  parseAdminAnswer,
} from '../../../services/api/admin-accounts.ts';
import { revocationAnswerType } from '../../../services/api/admin-workers.ts';
import { API_ERROR_CODES, readApiErrorBody } from '../../../services/api/api-error-body.ts';
import { parseArtifactBuildsPage } from '../../../services/api/artifact-builds-page.ts';
import {
  parseAttemptCheckAnswer,
  serializeAttemptCheckRequest,
} from '../../../services/api/attempt-check.ts';
import { parseBuildSubmissionAnswer } from '../../../services/api/build-submission.ts';
import { parseBuildView } from '../../../services/api/build-view.ts';
import {
  blobUploadAnswerType,
  garbageCollectionAnswerType,
} from '../../../services/api/content-store-answers.ts';
import { parseEnrolmentAnswer } from '../../../services/api/enrolment.ts';
import { parseHeartbeatAnswer, serializeHeartbeatRequest } from '../../../services/api/heartbeat.ts';
import { parseLogPage } from '../../../services/api/log-page.ts';
import { parseResultAnswer, serializeResultReport } from '../../../services/api/result-report.ts';
import { signRebuildStatement } from '../../../services/attestation/sign-rebuild-statement.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { parseManifest } from '../../../services/manifest/parse-manifest.ts';
import { AuthTestCoordinator, LOOPBACK_ENV } from '../../../test/support/auth-test-coordinator.ts';
import { REPO_ROOT } from '../../../test/support/runner-harness.ts';
import {
  enrolmentRequestFor,
  newTestWorkerKeys,
  type TestWorkerKeys,
  workerProof,
} from '../../../test/support/test-worker-keys.ts';

let coordinator: AuthTestCoordinator;
let maintainerToken: string;
const workers = new Map<string, { keys: TestWorkerKeys; operator: string }>();

/** The answer's text, as a client receives it. */
async function call(
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  const response = await coordinator.app.request(
    path,
    {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body !== undefined && { body: typeof body === 'string' ? body : new Uint8Array(body) }),
    },
    LOOPBACK_ENV,
  );
  return { status: response.status, text: await response.text() };
}

const asAdmin = () => ({ authorization: `Bearer ${coordinator.adminToken}` });

function asWorker(keys: TestWorkerKeys, path: string, body: string) {
  return call(
    'POST',
    path,
    body,
    workerProof(keys, { origin: coordinator.origin, method: 'POST', path, body, now: Date.now() }),
  );
}

async function upload(bytes: Buffer) {
  const answer = await call('PUT', `/v1/cas/sha256/${sha256Hex(bytes)}`, bytes, {
    authorization: `Bearer ${maintainerToken}`,
    'content-type': 'application/octet-stream',
  });
  expect([200, 201]).toContain(answer.status);
  return parseAdminAnswer(blobUploadAnswerType, answer.text);
}

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  for (const operator of ['alpha', 'beta']) {
    const added = await call('POST', '/v1/admin/operators', JSON.stringify({ name: operator }), asAdmin());
    expect(parseAdminAnswer(operatorAnswerType, added.text).name).toBe(operator);
    const token = await call('POST', '/v1/admin/enrolment-tokens', JSON.stringify({ operator }), asAdmin());
    const keys = newTestWorkerKeys(`${operator}-1`);
    const { body, headers } = await enrolmentRequestFor(keys, {
      origin: coordinator.origin,
      token: parseAdminAnswer(enrolmentTokenAnswerType, token.text).token,
    });
    const enrolled = await call('POST', '/v1/workers/enrol', body, headers);
    expect(enrolled.status).toBe(201);
    expect(parseEnrolmentAnswer(enrolled.text)).toMatchObject({ workerId: keys.id, operator });
    workers.set(keys.id, { keys, operator });
  }
  const maintainer = await call(
    'POST',
    '/v1/admin/maintainers',
    JSON.stringify({ name: 'maint' }),
    asAdmin(),
  );
  maintainerToken = parseAdminAnswer(maintainerAnswerType, maintainer.text).token;
});
afterAll(async () => coordinator?.close());

describe('answers read with the clients’ parsers', () => {
  it('from submission through leases and results to the build view, the log and the artifact list', async () => {
    const hello = parseManifest(await readFile(join(REPO_ROOT, 'samples', 'hello', 'manifest.json')));
    for (const file of ['build.sh', 'message.txt'])
      await upload(await readFile(join(REPO_ROOT, 'samples', 'hello', file)));
    const output = { path: 'hello.txt', sha256: sha256Hex('x') as Sha256Hex, sizeBytes: 1 };
    const log = sha256Hex('log') as Sha256Hex;
    expect((await upload(Buffer.from('x'))).sha256).toBe(output.sha256);
    await upload(Buffer.from('log'));

    const submitted = await call('POST', '/v1/builds', hello.canonicalJson, {
      authorization: `Bearer ${maintainerToken}`,
    });
    expect(submitted.status).toBe(201);
    const submission = parseBuildSubmissionAnswer(submitted.text);
    expect(submission.assigned).toHaveLength(2);

    for (const assignment of submission.assigned) {
      const { keys, operator } = workers.get(assignment.workerId)!;
      const beat = await asWorker(keys, '/v1/heartbeats', serializeHeartbeatRequest([assignment.jobId]));
      expect(parseHeartbeatAnswer(beat.text).renewed).toEqual([assignment.jobId]);
      const check = await asWorker(
        keys,
        '/v1/attempts/current',
        serializeAttemptCheckRequest({ jobId: assignment.jobId }),
      );
      expect(parseAttemptCheckAnswer(check.text, assignment.jobId)).toMatchObject({
        current: true,
        state: 'open',
      });
      const job = coordinator.fixture.enqueued.find((e) => e.job.jobId === assignment.jobId)!.job;
      const signed = await signRebuildStatement(
        {
          manifest: hello,
          outputs: [output],
          environment: { imageSha256: hello.manifest.environment.imageSha256, origin: 'built-locally' },
          inputs: hello.manifest.inputs.map((i) => ({ path: i.path, sha256: i.sha256 })),
          log: { sha256: log, sizeBytes: 3, truncated: false },
          worker: { id: keys.id, operator, builderUri: `https://rbnet.dev/worker/${operator}/${keys.id}` },
          timing: { startedOn: new Date(1000), finishedOn: new Date(2000) },
          host: {
            kernelVersion: 'k',
            cpuCount: 2,
            engineVersion: 'e',
            storageDriver: 'btrfs',
            clockUtc: new Date(0).toISOString(),
            rbnetVersion: '0.1.0',
          },
          job: { jobId: job.jobId, attempt: job.attempt, nonce: job.nonce },
        },
        keys.signer,
      );
      const reported = await asWorker(
        keys,
        '/v1/results',
        serializeResultReport({ jobId: job.jobId, envelope: signed.envelopeJson }),
      );
      expect(reported.status).toBe(202);
      expect(parseResultAnswer(reported.text)).toMatchObject({
        accepted: true,
        buildId: submission.buildId,
        counted: true,
      });
    }

    const view = parseBuildView(
      (await call('GET', `/v1/builds/${submission.buildId}`)).text,
      submission.buildId,
    );
    expect(view.verdict).toBe('mismatch-upstream');
    expect(view.decision).toMatchObject({
      verdict: 'mismatch-upstream',
      countedOperators: ['alpha', 'beta'],
    });
    expect(view.results).toHaveLength(2);
    expect(view.history.at(-1)?.verdict).toBe('mismatch-upstream');

    const entries = parseLogPage((await call('GET', '/v1/log?from=0&limit=100')).text).entries;
    expect(entries.some((e) => e.buildId === submission.buildId)).toBe(true);
    const page = parseArtifactBuildsPage(
      (await call('GET', `/v1/artifacts/sha256/${output.sha256}`)).text,
      output.sha256,
    );
    expect(page.builds.map((b) => b.buildId)).toContain(submission.buildId);
  });

  it('admin answers: garbage collection and revocations', async () => {
    const gc = await call('POST', '/v1/admin/gc', JSON.stringify({ dryRun: true }), asAdmin());
    expect(parseAdminAnswer(garbageCollectionAnswerType, gc.text).dryRun).toBe(true);
    const retired = await call('POST', '/v1/admin/workers/beta-1/retire', '{}', asAdmin());
    expect(parseAdminAnswer(revocationAnswerType, retired.text).worker).toMatchObject({
      workerId: 'beta-1',
      revocation: { kind: 'retired' },
    });
    const since = new Date(Date.now() - 60_000).toISOString();
    const marked = await call(
      'POST',
      '/v1/admin/workers/alpha-1/compromised',
      JSON.stringify({ since }),
      asAdmin(),
    );
    const revocation = parseAdminAnswer(revocationAnswerType, marked.text);
    expect(revocation.worker.revocation).toEqual({ kind: 'compromised', since });
    expect(revocation.redecidedBuilds).toHaveLength(1);
  });

  it('every refusal is an error body with a code of the closed set', async () => {
    const refusals = [
      await call('GET', '/v1/builds/not-a-uuid'),
      await call('GET', `/v1/builds/${crypto.randomUUID()}`),
      await call('GET', '/v1/cas/sha256/abc'),
      await call('POST', '/v1/admin/operators', '{"name":"Alpha"}', asAdmin()),
      await call('POST', '/v1/admin/operators', '{"name":"x"}'),
      await call('POST', '/v1/results', '{}'),
      await call('GET', '/no/such/route'),
    ];
    for (const refusal of refusals) {
      const error = readApiErrorBody(refusal.text);
      expect(error, refusal.text).toBeDefined();
      expect(API_ERROR_CODES as readonly string[]).toContain(error!.code);
    }
  });
});
