// A rogue worker with valid credentials (an enrolled auth key, or an enrolment token of its own
// operator) attacks the coordinator's authentication: replays, floods, bodies it did not sign,
// someone else's signing key, implausible capacity, disk filling. Each test is one named attack and
// the refusal it must meet, against the real coordinator over real SQLite (and, where a restart
// matters, the real process wiring with a real Redis and a real socket).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCoordinatorConfig } from '../../../coordinator/coordinator-config.ts';
import { startCoordinator } from '../../../coordinator/main.ts';
import { Ed25519FileSigner } from '../../../services/attestation/signer.ts';
import { createEnrolmentRequest } from '../../../services/auth/worker-enrolment.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { freeLoopbackPort } from '../../../services/free-loopback-port.ts';
import { AuthTestCoordinator, countingBody } from '../../support/auth-test-coordinator.ts';
import { startRedisServer, type TestRedisServer } from '../../support/redis-server.ts';
import {
  enrolmentRequestFor,
  newTestWorkerKeys,
  type TestWorkerKeys,
  workerProof,
} from '../../support/test-worker-keys.ts';

const CURRENT = '/v1/attempts/current';
const MiB = 1024 * 1024;

describe('a rogue worker replays and floods', () => {
  let coordinator: AuthTestCoordinator;
  let mallory: TestWorkerKeys;
  let honest: TestWorkerKeys;
  let nowMs = Date.now();
  const limit = 1_000;

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start({
      env: { RBNET_MAX_WORKER_REQUESTS_PER_WINDOW: String(limit) },
      now: () => new Date(nowMs),
    });
    await coordinator.addOperator('mallory');
    await coordinator.addOperator('alpha');
    mallory = await coordinator.enrol('mallory', 'mallory-1');
    honest = await coordinator.enrol('alpha', 'alpha-1');
  });
  afterAll(async () => coordinator?.close());

  function signed(keys: TestWorkerKeys, body = '{"jobId":"x"}') {
    return {
      body,
      headers: {
        'content-type': 'application/json',
        ...workerProof(keys, { origin: coordinator.origin, method: 'POST', path: CURRENT, body, now: nowMs }),
      },
    };
  }

  it('replays its own captured request: AUTH_REPLAYED', async () => {
    const request = signed(mallory);
    expect((await coordinator.request('POST', CURRENT, request)).status).toBe(200);
    const replay = await coordinator.request('POST', CURRENT, request);
    expect([replay.status, replay.json.error?.code]).toEqual([401, 'AUTH_REPLAYED']);
  });

  it('floods 100,000 nonces to push an early one out of the replay record: the early one is still refused, the flood is refused past the per-worker limit', async () => {
    const early = signed(mallory, '{"jobId":"early"}');
    expect((await coordinator.request('POST', CURRENT, early)).status).toBe(200);
    const codes = new Map<string, number>();
    let retryAfter: string | null = null;
    for (let i = 0; i < 100_000; i++) {
      const answer = await coordinator.request('POST', CURRENT, signed(mallory));
      const code = answer.json.error?.code ?? String(answer.status);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      retryAfter ??= answer.headers.get('retry-after');
    }
    // Every nonce the worker used in this window is kept; past the limit it is refused, not recorded.
    const accepted = codes.get('200') ?? 0;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(limit);
    expect(codes.get('AUTH_RATE_LIMITED')).toBe(100_000 - accepted);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const replay = await coordinator.request('POST', CURRENT, early);
    expect([replay.status, replay.json.error?.code]).toEqual([401, 'AUTH_REPLAYED']);
    // The record holds one window of one worker's nonces, not the flood.
    expect(coordinator.fixture.nonces.size()).toBeLessThanOrEqual(limit + 2);
    // Another operator's worker is not slowed by the flood.
    expect((await coordinator.request('POST', CURRENT, signed(honest))).status).toBe(200);
  }, 300_000);

  it('waits out the replay window after its flood: it may send again, and the old nonces are still not reusable within theirs', async () => {
    const kept = signed(mallory, '{"jobId":"kept"}');
    expect((await coordinator.request('POST', CURRENT, kept)).json.error?.code).toBe('AUTH_RATE_LIMITED');
    nowMs += 241_000; // past every nonce's validity (±120 s)
    expect((await coordinator.request('POST', CURRENT, signed(mallory))).status).toBe(200);
    // The captured request is now too old to verify at all.
    const stale = await coordinator.request('POST', CURRENT, kept);
    expect([stale.status, stale.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
  });
});

describe('a rogue worker replays a request after the coordinator restarts', () => {
  let redis: TestRedisServer;
  let root: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    root = await mkdtemp(join(tmpdir(), 'rbnet-replay-restart-'));
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('replays a captured request after a restart on the same data directory: AUTH_REPLAYED', async () => {
    const port = await freeLoopbackPort();
    const config = loadCoordinatorConfig({
      env: { RBNET_GC_INTERVAL_MS: '0' },
      flags: {
        dataDir: join(root, 'coordinator'),
        listen: `127.0.0.1:${port}`,
        redisUrl: redis.url,
        threshold: 1,
        replicas: 1,
      },
    });
    const logger = pino({ level: process.env.RBNET_TEST_LOG ?? 'silent' });
    let coordinator = await startCoordinator(config, logger);
    const admin = { authorization: `Bearer ${coordinator.adminToken}`, 'content-type': 'application/json' };
    const post = (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
      fetch(`${coordinator.url}${path}`, { method: 'POST', body: body as BodyInit, headers });
    try {
      expect((await post('/v1/admin/operators', '{"name":"mallory"}', admin)).status).toBe(201);
      const token = (await (await post('/v1/admin/enrolment-tokens', '{"operator":"mallory"}', admin)).json())
        .token as string;
      const keys = newTestWorkerKeys('mallory-r');
      const enrolment = await enrolmentRequestFor(keys, { origin: config.publicUrl, token });
      expect((await post('/v1/workers/enrol', enrolment.body, { ...enrolment.headers })).status).toBe(201);

      const body = '{"jobId":"captured"}';
      const captured = {
        'content-type': 'application/json',
        ...workerProof(keys, { origin: config.publicUrl, method: 'POST', path: CURRENT, body }),
      };
      expect((await post(CURRENT, body, captured)).status).toBe(200);

      await coordinator.close();
      coordinator = await startCoordinator(config, logger);
      const replay = await post(CURRENT, body, captured);
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('AUTH_REPLAYED');
      // The worker itself still works after the restart.
      const fresh = {
        'content-type': 'application/json',
        ...workerProof(keys, { origin: config.publicUrl, method: 'POST', path: CURRENT, body }),
      };
      expect((await post(CURRENT, body, fresh)).status).toBe(200);
    } finally {
      await coordinator.close();
    }
  });
});

describe('a rogue worker sends bodies it did not sign', () => {
  let coordinator: AuthTestCoordinator;
  let mallory: TestWorkerKeys;

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start();
    await coordinator.addOperator('mallory');
    mallory = await coordinator.enrol('mallory', 'mallory-1');
  });
  afterAll(async () => coordinator?.close());

  const proofFor = (method: string, path: string, body: { sha256: string; length: number }) =>
    workerProof(mallory, { origin: coordinator.origin, method, path, body });

  it('streams 10 MiB after a proof that declares 13 bytes: AUTH_BODY_MISMATCH after at most one chunk', async () => {
    const body = countingBody(10 * MiB);
    const answer = await coordinator.request('POST', CURRENT, {
      body: body.stream,
      headers: proofFor('POST', CURRENT, { sha256: sha256Hex('{"jobId":"x"}'), length: 13 }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_BODY_MISMATCH']);
    expect(body.pulledBytes()).toBeLessThanOrEqual(64 * 1024);
  });

  it('declares a 1 TiB body to a JSON route: TOO_LARGE before a byte is read', async () => {
    const body = countingBody(10 * MiB);
    const answer = await coordinator.request('POST', '/v1/results', {
      body: body.stream,
      headers: proofFor('POST', '/v1/results', { sha256: 'a'.repeat(64), length: 2 ** 40 }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'TOO_LARGE']);
    expect(body.pulledBytes()).toBe(0);
  });

  it('declares a 5 GiB blob: TOO_LARGE before a byte is read', async () => {
    const digest = 'b'.repeat(64);
    const body = countingBody(10 * MiB);
    const answer = await coordinator.request('PUT', `/v1/cas/sha256/${digest}`, {
      body: body.stream,
      headers: proofFor('PUT', `/v1/cas/sha256/${digest}`, { sha256: digest, length: 5 * 1024 ** 3 }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'TOO_LARGE']);
    expect(body.pulledBytes()).toBe(0);
  });

  it('uploads under a URL digest its proof does not declare: AUTH_BODY_MISMATCH, nothing read or stored', async () => {
    const bytes = Buffer.from('junk the proof never covered');
    const digest = sha256Hex(bytes);
    const body = countingBody(bytes.length);
    const answer = await coordinator.request('PUT', `/v1/cas/sha256/${digest}`, {
      body: body.stream,
      headers: proofFor('PUT', `/v1/cas/sha256/${digest}`, {
        sha256: sha256Hex('other'),
        length: bytes.length,
      }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_BODY_MISMATCH']);
    expect(body.pulledBytes()).toBe(0);
    expect(await coordinator.fixture.deps.content.has(digest)).toBe(false);
  });

  it('swaps the body for another of the same length: AUTH_BODY_MISMATCH, nothing done', async () => {
    const signedText = '{"jobId":"aaaa"}';
    const answer = await coordinator.request('POST', CURRENT, {
      body: '{"jobId":"bbbb"}',
      headers: proofFor('POST', CURRENT, { sha256: sha256Hex(signedText), length: signedText.length }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_BODY_MISMATCH']);
  });

  it('uses its proof on admin and maintainer routes: 401 on each, body unread', async () => {
    for (const [method, path] of [
      ['POST', '/v1/admin/operators'],
      ['POST', '/v1/admin/enrolment-tokens'],
      ['POST', '/v1/admin/gc'],
      ['POST', '/v1/builds'],
    ] as const) {
      const body = countingBody(MiB);
      const answer = await coordinator.request(method, path, {
        body: body.stream,
        headers: proofFor(method, path, { sha256: 'c'.repeat(64), length: MiB }),
      });
      expect([path, answer.status, answer.json.error?.code]).toEqual([path, 401, 'AUTH_INVALID']);
      expect(body.pulledBytes()).toBe(0);
    }
  });
});

describe('a rogue worker enrols keys it does not hold', () => {
  let coordinator: AuthTestCoordinator;

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start();
    await coordinator.addOperator('mallory');
    await coordinator.addOperator('alpha');
  });
  afterAll(async () => coordinator?.close());

  const enrol = (body: Uint8Array, headers: Record<string, string>) =>
    coordinator.request('POST', '/v1/workers/enrol', { body, headers });

  it("enrols another operator's public signing key without its private half: SIGNING_PROOF_INVALID, nothing enrolled, token unspent", async () => {
    // alpha's signing key is public (consumers pin it); alpha has not enrolled it here yet.
    const alphaSigning = generateKeyPairSync('ed25519');
    const token = await coordinator.enrolmentToken('mallory');
    const mallory = newTestWorkerKeys('mallory-squat');
    const request = await createEnrolmentRequest({
      origin: coordinator.origin,
      token,
      workerId: mallory.id,
      // Mallory signs the proof with her own key but presents alpha's public key.
      signing: { signer: mallory.signer, publicKey: alphaSigning.publicKey },
      authPrivateKey: mallory.authKey,
      architectures: ['amd64'],
      backends: ['generic'],
      capacity: { cores: 1, memoryBytes: 2 ** 30, diskBytes: 2 ** 30 },
    });
    const answer = await enrol(request.body, { ...request.headers });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'SIGNING_PROOF_INVALID']);
    expect(await coordinator.fixture.store.registry.getWorker(mallory.id)).toBeUndefined();
    // Alpha can still enrol its own key; Mallory's token was not spent by the refusal.
    const alpha = {
      id: 'alpha-1',
      signer: Ed25519FileSigner.fromKeyObject(alphaSigning.privateKey),
      authKey: generateKeyPairSync('ed25519').privateKey,
    };
    const own = await enrolmentRequestFor(alpha, {
      origin: coordinator.origin,
      token: await coordinator.enrolmentToken('alpha'),
    });
    expect((await enrol(own.body, { ...own.headers })).status).toBe(201);
    const retry = await enrolmentRequestFor(mallory, { origin: coordinator.origin, token });
    expect((await enrol(retry.body, { ...retry.headers })).status).toBe(201);
  });

  it("replays a victim's captured signing-key proof in its own enrolment: SIGNING_PROOF_INVALID", async () => {
    const victim = newTestWorkerKeys('alpha-2');
    const victimToken = await coordinator.enrolmentToken('alpha');
    const captured = JSON.parse(
      (await enrolmentRequestFor(victim, { origin: coordinator.origin, token: victimToken })).body.toString(),
    ) as Record<string, unknown>;
    const mallory = newTestWorkerKeys('alpha-2');
    const malloryToken = await coordinator.enrolmentToken('mallory');
    // Same worker id and signing key, the victim's proof; Mallory's own token and auth key.
    const own = JSON.parse(
      (
        await enrolmentRequestFor(mallory, { origin: coordinator.origin, token: malloryToken })
      ).body.toString(),
    ) as Record<string, unknown>;
    const forged = Buffer.from(
      JSON.stringify({
        ...own,
        signingKeyPem: captured.signingKeyPem,
        signingKeyProof: captured.signingKeyProof,
      }),
    );
    const answer = await enrol(forged, {
      'content-type': 'application/json',
      authorization: `Bearer ${malloryToken}`,
      'x-rbnet-proof': workerProof(mallory, {
        origin: coordinator.origin,
        method: 'POST',
        path: '/v1/workers/enrol',
        body: forged,
      }).authorization,
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'SIGNING_PROOF_INVALID']);
    expect(await coordinator.fixture.store.registry.getWorker('alpha-2')).toBeUndefined();
  });

  it('is revoked, keeps sending with its auth key, then re-enrols its revoked signing key under a new id: AUTH_INVALID, then CONFLICT', async () => {
    const keys = await coordinator.enrol('mallory', 'mallory-revoked');
    expect((await coordinator.admin('/v1/admin/workers/mallory-revoked/revoke', {})).status).toBe(200);
    const after = await coordinator.asWorker(keys, 'POST', CURRENT, '{"jobId":"x"}');
    expect([after.status, after.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
    const again = await enrolmentRequestFor(
      { id: 'mallory-fresh', signer: keys.signer, authKey: generateKeyPairSync('ed25519').privateKey },
      { origin: coordinator.origin, token: await coordinator.enrolmentToken('mallory') },
    );
    const answer = await enrol(again.body, { ...again.headers });
    expect([answer.status, answer.json.error?.code]).toEqual([409, 'CONFLICT']);
    expect(answer.json.error?.message).toMatch(/^signingKeyPem: this key is already enrolled/);
  });

  it('reuses its spent enrolment token for a second worker: AUTH_INVALID', async () => {
    const token = await coordinator.enrolmentToken('mallory');
    const first = await enrolmentRequestFor(newTestWorkerKeys('mallory-a'), {
      origin: coordinator.origin,
      token,
    });
    expect((await enrol(first.body, { ...first.headers })).status).toBe(201);
    const second = await enrolmentRequestFor(newTestWorkerKeys('mallory-b'), {
      origin: coordinator.origin,
      token,
    });
    const answer = await enrol(second.body, { ...second.headers });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
  });

  it('claims 8 PiB of memory to draw every large build to itself: INVALID naming capacity.memoryBytes', async () => {
    const keys = newTestWorkerKeys('mallory-huge');
    const request = await enrolmentRequestFor(keys, {
      origin: coordinator.origin,
      token: await coordinator.enrolmentToken('mallory'),
      capacity: { cores: 4, memoryBytes: 2 ** 53 - 1, diskBytes: 2 ** 40 },
    });
    const answer = await enrol(request.body, { ...request.headers });
    expect([answer.status, answer.json.error?.code]).toEqual([400, 'INVALID']);
    expect(answer.json.error?.message).toMatch(/^capacity\.memoryBytes:/);
  });

  it('names another operator in its enrolment body: INVALID; the token alone says whose worker it is', async () => {
    const keys = newTestWorkerKeys('mallory-op');
    const token = await coordinator.enrolmentToken('mallory');
    const request = await enrolmentRequestFor(keys, { origin: coordinator.origin, token });
    const body = Buffer.from(JSON.stringify({ ...JSON.parse(request.body.toString()), operator: 'alpha' }));
    const answer = await enrol(body, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'x-rbnet-proof': workerProof(keys, {
        origin: coordinator.origin,
        method: 'POST',
        path: '/v1/workers/enrol',
        body,
      }).authorization,
    });
    expect([answer.status, answer.json.error?.code]).toEqual([400, 'INVALID']);
    expect(answer.json.error?.message).toMatch(/^operator: unknown field/);
  });

  it("squats another operator's worker id: the id is first come, but it carries the squatter's operator, never the victim's", async () => {
    const token = await coordinator.enrolmentToken('mallory');
    const squat = await enrolmentRequestFor(newTestWorkerKeys('alpha-9'), {
      origin: coordinator.origin,
      token,
    });
    expect((await enrol(squat.body, { ...squat.headers })).status).toBe(201);
    expect((await coordinator.fixture.store.registry.getWorker('alpha-9'))?.operator).toBe('mallory');
    const victim = await enrolmentRequestFor(newTestWorkerKeys('alpha-9'), {
      origin: coordinator.origin,
      token: await coordinator.enrolmentToken('alpha'),
    });
    const answer = await enrol(victim.body, { ...victim.headers });
    expect([answer.status, answer.json.error?.code]).toEqual([409, 'CONFLICT']);
  });
});

describe('a rogue worker fills the content store', () => {
  let coordinator: AuthTestCoordinator;

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start({
      env: { RBNET_QUOTA_WORKER_BYTES: String(MiB), RBNET_QUOTA_OPERATOR_BYTES: String(MiB + MiB / 2) },
    });
    await coordinator.addOperator('mallory');
  });
  afterAll(async () => coordinator?.close());

  async function upload(keys: TestWorkerKeys, bytes: Buffer) {
    const digest = sha256Hex(bytes);
    const path = `/v1/cas/sha256/${digest}`;
    const answer = await coordinator.request('PUT', path, {
      body: bytes,
      headers: workerProof(keys, {
        origin: coordinator.origin,
        method: 'PUT',
        path,
        body: { sha256: digest, length: bytes.length },
      }),
    });
    return { answer, digest };
  }

  it('uploads junk past its worker quota: QUOTA_BYTES_EXCEEDED naming the worker, before the body is read', async () => {
    const worker = await coordinator.enrol('mallory', 'mallory-1');
    expect((await upload(worker, Buffer.alloc(700 * 1024, 1))).answer.status).toBe(201);
    const bytes = Buffer.alloc(700 * 1024, 2);
    const digest = sha256Hex(bytes);
    const path = `/v1/cas/sha256/${digest}`;
    const body = countingBody(bytes.length);
    const answer = await coordinator.request('PUT', path, {
      body: body.stream,
      headers: workerProof(worker, {
        origin: coordinator.origin,
        method: 'PUT',
        path,
        body: { sha256: digest, length: bytes.length },
      }),
    });
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'QUOTA_BYTES_EXCEEDED']);
    expect(answer.json.error?.message).toMatch(/worker:mallory-1 .*RBNET_QUOTA_WORKER_BYTES/);
    expect(body.pulledBytes()).toBe(0);
    expect(await coordinator.fixture.deps.content.has(digest)).toBe(false);
  });

  it("spreads its junk over a second worker of the same operator: the operator's quota refuses it", async () => {
    const second = await coordinator.enrol('mallory', 'mallory-2');
    const { answer } = await upload(second, Buffer.alloc(900 * 1024, 3));
    expect([answer.status, answer.json.error?.code]).toEqual([413, 'QUOTA_BYTES_EXCEEDED']);
    expect(answer.json.error?.message).toMatch(/operator:mallory .*RBNET_QUOTA_OPERATOR_BYTES/);
    // A blob that is already stored costs nothing and is accepted whatever the quota.
    expect((await upload(second, Buffer.alloc(700 * 1024, 1))).answer.status).toBe(200);
  });
});
