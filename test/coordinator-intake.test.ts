// Result intake through the coordinator's real HTTP app (app.request), real SQLite and content store;
// only the queue interfaces rbnet owns are recorded in memory. Forged results are refused, logged,
// and change nothing; honest ones are counted once per (build, worker, attempt).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorDeps, DispatchedJob } from '../coordinator/coordinator-deps.ts';
import { createCoordinatorApp } from '../coordinator/http/create-app.ts';
import { signRebuildStatement } from '../services/attestation/sign-rebuild-statement.ts';
import { Ed25519FileSigner } from '../services/attestation/signer.ts';
import { type Sha256Hex, sha256Hex } from '../services/digest.ts';
import type { ParsedManifest } from '../services/manifest/manifest.ts';
import { parseManifest } from '../services/manifest/parse-manifest.ts';
import { createTestCoordinatorDeps } from './support/coordinator-deps-fixture.ts';
import { REPO_ROOT } from './support/runner-harness.ts';
import { enrolmentRequestFor, newTestWorkerKeys, workerProof } from './support/test-worker-keys.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const ORIGIN = 'http://127.0.0.1:8470';

interface FakeWorker {
  id: string;
  operator: string;
  signer: Ed25519FileSigner;
  authKey: KeyObject;
}

let root: string;
let deps: CoordinatorDeps;
let closeStores: (() => Promise<void>) | undefined;
let app: ReturnType<typeof createCoordinatorApp>;
let adminToken: string;
let maintainerToken: string;
let enqueued: { workerId: string; job: DispatchedJob }[] = [];
const workers = new Map<string, FakeWorker>();
let hello: ParsedManifest;

async function request(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
) {
  const response = await app.request(
    path,
    {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body !== undefined ? { body: body as unknown as BodyInit } : {}),
    },
    LOOPBACK_ENV,
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

function workerAuth(worker: Pick<FakeWorker, 'id' | 'authKey'>, method: string, path: string, body: string) {
  return workerProof(worker, { origin: ORIGIN, method, path, body });
}

async function enrol(operator: string, id: string): Promise<FakeWorker> {
  const keys = newTestWorkerKeys(id);
  const token = await request('POST', '/v1/admin/enrolment-tokens', JSON.stringify({ operator }), {
    authorization: `Bearer ${adminToken}`,
  });
  const { body, headers } = await enrolmentRequestFor(keys, { origin: ORIGIN, token: token.json.token });
  const enrolled = await request('POST', '/v1/workers/enrol', body, headers);
  expect(enrolled.status).toBe(201);
  const worker = { id, operator, signer: keys.signer, authKey: keys.authKey };
  workers.set(id, worker);
  return worker;
}

const OUTPUT = { path: 'hello.txt', sha256: sha256Hex('x') as Sha256Hex, sizeBytes: 1 };
const LOG = sha256Hex('log') as Sha256Hex;

async function envelopeFor(
  worker: FakeWorker,
  job: { jobId: string; attempt: number; nonce: string },
  manifest = hello,
  signer = worker.signer,
) {
  const signed = await signRebuildStatement(
    {
      manifest,
      outputs: [OUTPUT],
      environment: { imageSha256: manifest.manifest.environment.imageSha256, origin: 'built-locally' },
      inputs: manifest.manifest.inputs.map((i) => ({ path: i.path, sha256: i.sha256 })),
      log: { sha256: LOG, sizeBytes: 3, truncated: false },
      worker: {
        id: worker.id,
        operator: worker.operator,
        builderUri: `https://rbnet.dev/worker/${worker.operator}/${worker.id}`,
      },
      timing: { startedOn: new Date(1000), finishedOn: new Date(2000) },
      host: {
        kernelVersion: 'k',
        cpuCount: 2,
        engineVersion: 'e',
        storageDriver: 'btrfs',
        clockUtc: new Date(0).toISOString(),
        rbnetVersion: '0.1.0',
      },
      job,
    },
    signer,
  );
  return signed.envelopeJson;
}

async function post(worker: Pick<FakeWorker, 'id' | 'authKey'>, body: Record<string, unknown>) {
  const text = JSON.stringify(body);
  return request('POST', '/v1/results', text, workerAuth(worker, 'POST', '/v1/results', text));
}

async function upload(bytes: Buffer) {
  const digest = sha256Hex(bytes);
  return request('PUT', `/v1/cas/sha256/${digest}`, bytes, {
    authorization: `Bearer ${maintainerToken}`,
    'content-type': 'application/octet-stream',
  });
}

async function submitHello(): Promise<string> {
  for (const file of ['build.sh', 'message.txt'])
    await upload(await readFile(join(REPO_ROOT, 'samples', 'hello', file)));
  const submitted = await request('POST', '/v1/builds', hello.canonicalJson, {
    authorization: `Bearer ${maintainerToken}`,
  });
  expect(submitted.status).toBe(201);
  return submitted.json.buildId;
}

/** The hello manifest with one input whose bytes nobody uploaded. */
function neverUploaded(): string {
  const document = JSON.parse(hello.canonicalJson) as { inputs: { sha256: string }[] };
  document.inputs[0]!.sha256 = 'e'.repeat(64);
  return JSON.stringify(document);
}

function jobsOf(buildId: string) {
  return enqueued.filter((e) => e.job.buildId === buildId);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-intake-'));
  const fixture = await createTestCoordinatorDeps(root);
  deps = fixture.deps;
  const store = fixture.store;
  closeStores = fixture.close;
  enqueued = fixture.enqueued;
  app = createCoordinatorApp(deps);
  adminToken = (
    await store.registry.createToken({
      kind: 'admin',
      subject: 'admin',
      scopes: ['admin', 'submit'],
      singleUse: false,
    })
  ).secret;
  for (const operator of ['alpha', 'beta', 'gamma']) {
    await request('POST', '/v1/admin/operators', JSON.stringify({ name: operator }), {
      authorization: `Bearer ${adminToken}`,
    });
  }
  maintainerToken = (
    await request('POST', '/v1/admin/maintainers', JSON.stringify({ name: 'maint' }), {
      authorization: `Bearer ${adminToken}`,
    })
  ).json.token;
  await enrol('alpha', 'alpha-1');
  await enrol('beta', 'beta-1');
  await enrol('gamma', 'gamma-1');
  hello = parseManifest(await readFile(join(REPO_ROOT, 'samples', 'hello', 'manifest.json')));
  await upload(Buffer.from('x'));
  await upload(Buffer.from('log'));
});
afterAll(async () => {
  await closeStores?.();
  await rm(root, { recursive: true, force: true });
});

describe('result intake', () => {
  it('counts honest results once each and reaches a verdict with k=2 distinct operators (their output differs from the claim)', async () => {
    const buildId = await submitHello();
    const jobs = jobsOf(buildId);
    expect(new Set(jobs.map((j) => workers.get(j.workerId)!.operator)).size).toBe(2);
    const [first, second] = jobs;
    const w1 = workers.get(first!.workerId)!;
    const envelope = await envelopeFor(w1, first!.job);
    expect((await post(w1, { jobId: first!.job.jobId, envelope })).status).toBe(202);
    const again = await post(w1, { jobId: first!.job.jobId, envelope });
    expect(again.json).toMatchObject({ accepted: true, duplicate: true });
    const w2 = workers.get(second!.workerId)!;
    const answer = await post(w2, { jobId: second!.job.jobId, envelope: await envelopeFor(w2, second!.job) });
    expect(answer.json.verdict).toBe('mismatch-upstream');
    expect(await deps.results.listResults(buildId)).toHaveLength(2);
  });

  describe('forged results are refused and nothing is counted', () => {
    let buildId: string;
    let job: DispatchedJob;
    let worker: FakeWorker;
    beforeAll(async () => {
      buildId = await submitHello();
      job = jobsOf(buildId)[0]!.job;
      worker = workers.get(jobsOf(buildId)[0]!.workerId)!;
    });

    async function expectRefused(
      response: { status: number; json: { error?: { code: string } } },
      code: string,
    ) {
      expect(response.json.error?.code).toBe(code);
      expect(await deps.results.listResults(buildId)).toHaveLength(0);
      expect((await request('GET', '/healthz')).status).toBe(200);
    }

    it('a statement signed by an unknown key', async () => {
      const stranger = Ed25519FileSigner.fromKeyObject(generateKeyPairSync('ed25519').privateKey);
      await expectRefused(
        await post(worker, { jobId: job.jobId, envelope: await envelopeFor(worker, job, hello, stranger) }),
        'RESULT_REFUSED',
      );
    });

    it('a request from a key that is not enrolled', async () => {
      const impostor = { id: worker.id, authKey: generateKeyPairSync('ed25519').privateKey };
      await expectRefused(
        await post(impostor, { jobId: job.jobId, envelope: await envelopeFor(worker, job) }),
        'AUTH_INVALID',
      );
    });

    it('a replayed nonce (the envelope of another attempt)', async () => {
      await expectRefused(
        await post(worker, {
          jobId: job.jobId,
          envelope: await envelopeFor(worker, { ...job, nonce: 'A'.repeat(43) }),
        }),
        'RESULT_REFUSED',
      );
    });

    it('a wrong attempt number', async () => {
      await expectRefused(
        await post(worker, {
          jobId: job.jobId,
          envelope: await envelopeFor(worker, { ...job, attempt: job.attempt + 1 }),
        }),
        'RESULT_REFUSED',
      );
    });

    it('a statement for another manifest', async () => {
      const other = parseManifest(hello.canonicalJson.replace('"name":"hello"', '"name":"hello-other"'));
      await expectRefused(
        await post(worker, { jobId: job.jobId, envelope: await envelopeFor(worker, job, other) }),
        'RESULT_REFUSED',
      );
    });

    it('a worker posting for a job it was not assigned', async () => {
      const outsider = [...workers.values()].find((w) => !jobsOf(buildId).some((j) => j.workerId === w.id))!;
      await expectRefused(
        await post(outsider, { jobId: job.jobId, envelope: await envelopeFor(outsider, job) }),
        'NOT_ASSIGNED',
      );
    });

    it('the same signed request sent twice', async () => {
      const text = JSON.stringify({ jobId: 'nope', envelope: 'x' });
      const headers = workerAuth(worker, 'POST', '/v1/results', text);
      await request('POST', '/v1/results', text, headers);
      await expectRefused(await request('POST', '/v1/results', text, headers), 'AUTH_REPLAYED');
    });

    it('a revoked worker', async () => {
      const revoked = await enrol('alpha', 'alpha-revoked');
      expect(
        (
          await request('POST', '/v1/admin/workers/alpha-revoked/revoke', '{}', {
            authorization: `Bearer ${adminToken}`,
          })
        ).status,
      ).toBe(200);
      await expectRefused(
        await post(revoked, { jobId: job.jobId, envelope: await envelopeFor(revoked, job) }),
        'AUTH_INVALID',
      );
    });
  });

  it('a result for an attempt whose lease expired is recorded but never counted', async () => {
    const buildId = await submitHello();
    const { job, workerId } = jobsOf(buildId)[0]!;
    await deps.builds.finishAttempt(job.jobId, { state: 'expired', finishedAt: new Date() });
    const worker = workers.get(workerId)!;
    const answer = await post(worker, { jobId: job.jobId, envelope: await envelopeFor(worker, job) });
    expect(answer.json).toMatchObject({ accepted: true, counted: false });
    const [stored] = await deps.results.listResults(buildId);
    expect(stored).toMatchObject({ counted: false, refusedReason: 'attempt expired' });
  });

  it('a build needing more memory than any worker declares is refused at submit, naming the field', async () => {
    const document = JSON.parse(hello.canonicalJson) as Record<string, unknown>;
    document.resources = { minMemoryBytes: 2 ** 40 };
    const before = (await deps.builds.listBuilds({ limit: 1000 })).length;
    const response = await request('POST', '/v1/builds', JSON.stringify(document), {
      authorization: `Bearer ${maintainerToken}`,
    });
    expect(response.json.error.code).toBe('INSUFFICIENT_OPERATORS');
    expect(response.json.error.message).toMatch(/resources\.minMemoryBytes/);
    expect((await deps.builds.listBuilds({ limit: 1000 })).length).toBe(before);
  });

  describe('hostile input at the API', () => {
    it.each([
      [
        'a manifest with duplicate keys',
        '/v1/builds',
        '{"schema":"rbnet.manifest/v1","schema":"x"}',
        'MANIFEST_JSON',
      ],
      ['a manifest over the size limit', '/v1/builds', `{"x":"${'a'.repeat(300_000)}"}`, 'TOO_LARGE'],
      ['a manifest whose inputs were never uploaded', '/v1/builds', null, 'INPUTS_MISSING'],
    ])('%s is refused with a clear code and nothing is stored', async (_label, path, body, code) => {
      const before = (await deps.builds.listBuilds({ limit: 1000 })).length;
      const manifest = body ?? neverUploaded();
      const response = await request('POST', path, manifest, { authorization: `Bearer ${maintainerToken}` });
      expect(response.json.error.code).toBe(code);
      expect((await deps.builds.listBuilds({ limit: 1000 })).length).toBe(before);
    });

    it('a blob whose bytes do not match the digest in the URL is refused and not stored', async () => {
      const digest = sha256Hex('claimed');
      const response = await request('PUT', `/v1/cas/sha256/${digest}`, Buffer.from('actual'), {
        authorization: `Bearer ${maintainerToken}`,
      });
      expect(response.json.error.code).toBe('DIGEST_MISMATCH');
      expect(await deps.content.has(digest as Sha256Hex)).toBe(false);
    });

    it('submitting without a token, or with an admin-only scope missing, is refused', async () => {
      expect((await request('POST', '/v1/builds', hello.canonicalJson)).status).toBe(401);
      expect(
        (
          await request('POST', '/v1/admin/operators', '{"name":"x"}', {
            authorization: `Bearer ${maintainerToken}`,
          })
        ).status,
      ).toBe(401);
    });

    it.each(['null', '[]', '"x"', 'not json'])(
      'an enrolment body of %s is a 400 naming the body, not a crash',
      async (body) => {
        const token = await request('POST', '/v1/admin/enrolment-tokens', '{"operator":"alpha"}', {
          authorization: `Bearer ${adminToken}`,
        });
        const response = await request('POST', '/v1/workers/enrol', body, {
          authorization: `Bearer ${token.json.token}`,
          'x-rbnet-proof': workerProof(newTestWorkerKeys('hostile-1'), {
            origin: ORIGIN,
            method: 'POST',
            path: '/v1/workers/enrol',
            body,
          }).authorization,
        });
        expect(response.status).toBe(400);
        expect(response.json.error.code).toBe('INVALID');
        expect(response.json.error.message).toMatch(/request body/);
        expect((await request('GET', '/healthz')).status).toBe(200);
      },
    );

    it('enrolment over a non-loopback plain-HTTP connection is refused', async () => {
      const response = await app.request(
        '/v1/workers/enrol',
        { method: 'POST', body: '{}' },
        { incoming: { socket: { remoteAddress: '10.1.2.3' } } },
      );
      expect(response.status).toBe(403);
    });
  });
});
