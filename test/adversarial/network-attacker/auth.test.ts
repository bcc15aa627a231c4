// A network attacker holds no credential of its own: it replays what it captured, sends huge bodies
// nobody authenticated, tries stolen, spent and expired tokens, presents one party's credential
// where another's is needed, and reads the coordinator's logs. Each test is one named attack and
// the refusal it must meet, against the real coordinator over real SQLite (a real socket, and the
// real process wiring with a real Redis, where that decides it).
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCoordinatorConfig } from '../../../coordinator/coordinator-config.ts';
import { coordinatorRoutes } from '../../../coordinator/http/routes/coordinator-routes.ts';
import { startCoordinator } from '../../../coordinator/main.ts';
import { sha256Hex } from '../../../services/digest.ts';
import { AuthTestCoordinator, countingBody } from '../../support/auth-test-coordinator.ts';
import { startRedisServer, type TestRedisServer } from '../../support/redis-server.ts';
import {
  enrolmentRequestFor,
  newTestWorkerKeys,
  type TestWorkerKeys,
  workerProof,
} from '../../support/test-worker-keys.ts';

const MiB = 1024 * 1024;
const CURRENT = '/v1/attempts/current';
const SAMPLE: Record<string, string> = { id: 'alpha-1', digest: 'a'.repeat(64) };

/**
 * POST routes that only read (a bulk query too large for a URL): no token, by design (docs/api.md).
 * Any other non-GET route that declares no authentication fails the first test below.
 */
const READ_ONLY_POSTS: ReadonlySet<string> = new Set(['/v1/packages/query']);

/** Every state-changing route, with its path parameters filled in. */
const stateChanging = coordinatorRoutes
  .filter((route) => route.method !== 'GET' && !READ_ONLY_POSTS.has(route.path))
  .map((route) => ({
    ...route,
    url: route.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => SAMPLE[name]!),
  }));

describe('a network attacker without credentials', () => {
  let coordinator: AuthTestCoordinator;
  let alpha: TestWorkerKeys;
  let nowMs = Date.now();

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start({ now: () => new Date(nowMs) });
    await coordinator.addOperator('alpha');
    alpha = await coordinator.enrol('alpha', 'alpha-1');
  });
  afterAll(async () => coordinator?.close());

  const enrol = (body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string>) =>
    coordinator.request('POST', '/v1/workers/enrol', { body, headers });

  it("replays a worker's captured request: AUTH_REPLAYED", async () => {
    const body = '{"jobId":"captured"}';
    const captured = {
      body,
      headers: {
        'content-type': 'application/json',
        ...workerProof(alpha, {
          origin: coordinator.origin,
          method: 'POST',
          path: CURRENT,
          body,
          now: nowMs,
        }),
      },
    };
    expect((await coordinator.request('POST', CURRENT, captured)).status).toBe(200);
    const replay = await coordinator.request('POST', CURRENT, captured);
    expect([replay.status, replay.json.error?.code]).toEqual([401, 'AUTH_REPLAYED']);
  });

  it('moves a captured proof to another route with a body of its own: AUTH_INVALID', async () => {
    const proof = workerProof(alpha, {
      origin: coordinator.origin,
      method: 'POST',
      path: CURRENT,
      body: '{"jobId":"moved"}',
      now: nowMs,
    });
    const answer = await coordinator.request('POST', '/v1/results', {
      body: '{"jobId":"moved"}',
      headers: { 'content-type': 'application/json', ...proof },
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
  });

  it('sends a 64 MiB body without credentials to every state-changing route: 401, and not a byte of it read', async () => {
    expect(stateChanging.length).toBeGreaterThanOrEqual(10);
    // Only the listed read-only POSTs may go without a credential.
    const open = coordinatorRoutes.filter((route) => route.method !== 'GET' && route.auth.includes('none'));
    expect(open.map((route) => route.path).sort()).toEqual([...READ_ONLY_POSTS].sort());
    for (const route of stateChanging) {
      const body = countingBody(64 * MiB);
      const answer = await coordinator.request(route.method, route.url, {
        // No Content-Length: nothing tells the server in advance how much is coming.
        body: body.stream,
        headers: { 'content-type': 'application/json' },
      });
      expect([route.path, answer.status], JSON.stringify(answer.json)).toEqual([route.path, 401]);
      expect([route.path, body.pulledBytes()]).toEqual([route.path, 0]);
    }
  });

  it('streams an unauthenticated 16 MiB result over a real socket: refused on its headers, connection closed without waiting for the body', async () => {
    const served = await coordinator.listen();
    try {
      const { port } = new URL(served.url);
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let response = '';
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('data', (chunk: Buffer) => {
        response += chunk.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.write(
        `POST /v1/results HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${16 * MiB}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(64 * 1024, 0x20));
      // The rest of the 16 MiB is never sent: the answer must come anyway, and the socket close.
      await Promise.race([
        closed,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer; got ${response}`)), 10_000)),
      ]);
      expect(response).toMatch(/^HTTP\/1\.1 401 /);
      expect(response).toContain('AUTH_MISSING');
      expect(response.toLowerCase()).toContain('connection: close');
    } finally {
      await served.close();
    }
  });

  it('uses a stolen enrolment token after it expired: AUTH_INVALID before its body is read', async () => {
    const token = await coordinator.enrolmentToken('alpha', 60);
    nowMs += 61_000;
    const body = countingBody(MiB);
    const answer = await enrol(body.stream, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'x-rbnet-proof': workerProof(newTestWorkerKeys('thief-1'), {
        origin: coordinator.origin,
        method: 'POST',
        path: '/v1/workers/enrol',
        body: { sha256: 'd'.repeat(64), length: MiB },
        now: nowMs,
      }).authorization,
    });
    expect([answer.status, answer.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
    expect(body.pulledBytes()).toBe(0);
  });

  it('replays a captured enrolment verbatim after the worker enrolled: AUTH_INVALID, nothing enrolled twice', async () => {
    const captured = await enrolmentRequestFor(newTestWorkerKeys('alpha-2'), {
      origin: coordinator.origin,
      token: await coordinator.enrolmentToken('alpha'),
      now: nowMs,
    });
    expect((await enrol(captured.body, { ...captured.headers })).status).toBe(201);
    const replay = await enrol(captured.body, { ...captured.headers });
    expect([replay.status, replay.json.error?.code]).toEqual([401, 'AUTH_INVALID']);
  });

  it('races the legitimate worker with a captured enrolment token: exactly one enrolment wins', async () => {
    const token = await coordinator.enrolmentToken('alpha');
    const honest = await enrolmentRequestFor(newTestWorkerKeys('alpha-3'), {
      origin: coordinator.origin,
      token,
      now: nowMs,
    });
    const thief = await enrolmentRequestFor(newTestWorkerKeys('thief-3'), {
      origin: coordinator.origin,
      token,
      now: nowMs,
    });
    const answers = await Promise.all([
      enrol(honest.body, { ...honest.headers }),
      enrol(thief.body, { ...thief.headers }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401]);
  });

  it('probes tokens (unknown, expired, spent, of another kind): one answer for all, nothing to learn from it', async () => {
    const keys = newTestWorkerKeys('probe-1');
    const expired = await coordinator.enrolmentToken('alpha', 60);
    nowMs += 61_000;
    const spent = await coordinator.enrolmentToken('alpha');
    const used = await enrolmentRequestFor(newTestWorkerKeys('alpha-4'), {
      origin: coordinator.origin,
      token: spent,
      now: nowMs,
    });
    expect((await enrol(used.body, { ...used.headers })).status).toBe(201);
    const maintainer = await coordinator.maintainer('maint');
    const unknown = `rbnet_enrolment_${'A'.repeat(43)}`;
    const answers = new Set<string>();
    for (const token of [unknown, expired, spent, maintainer, coordinator.adminToken]) {
      const request = await enrolmentRequestFor(keys, { origin: coordinator.origin, token, now: nowMs });
      const answer = await enrol(request.body, { ...request.headers });
      answers.add(JSON.stringify([answer.status, answer.json.error]));
    }
    expect([...answers]).toEqual([
      JSON.stringify([
        401,
        { code: 'AUTH_INVALID', message: 'the enrolment token is unknown, expired or already used' },
      ]),
    ]);
  });
});

describe('a network attacker presents one party’s credential where another’s is needed', () => {
  let coordinator: AuthTestCoordinator;
  const credentials = new Map<string, (method: string, path: string) => Record<string, string>>();

  beforeAll(async () => {
    coordinator = await AuthTestCoordinator.start();
    await coordinator.addOperator('alpha');
    const worker = await coordinator.enrol('alpha', 'alpha-1');
    const maintainer = await coordinator.maintainer('maint');
    const enrolment = await coordinator.enrolmentToken('alpha');
    credentials.set('submit', () => ({ authorization: `Bearer ${maintainer}` }));
    credentials.set('enrolment', () => ({ authorization: `Bearer ${enrolment}` }));
    credentials.set('worker', (method, path) =>
      workerProof(worker, {
        origin: coordinator.origin,
        method,
        path,
        body: { sha256: 'e'.repeat(64), length: MiB },
      }),
    );
    credentials.set('admin', () => ({ authorization: `Bearer ${coordinator.adminToken}` }));
  });
  afterAll(async () => coordinator?.close());

  it('on every state-changing route, each credential the route does not accept: 401, body unread', async () => {
    let tried = 0;
    for (const route of stateChanging) {
      for (const [kind, credential] of credentials) {
        // The admin token also carries the submit scope by design.
        if (route.auth.includes(kind as never) || (kind === 'admin' && route.auth.includes('submit')))
          continue;
        const body = countingBody(MiB);
        const answer = await coordinator.request(route.method, route.url, {
          body: body.stream,
          headers: { 'content-type': 'application/json', ...credential(route.method, route.url) },
        });
        expect([route.path, kind, answer.status], JSON.stringify(answer.json)).toEqual([
          route.path,
          kind,
          401,
        ]);
        expect([route.path, kind, body.pulledBytes()]).toEqual([route.path, kind, 0]);
        tried++;
      }
    }
    expect(tried).toBeGreaterThanOrEqual(25);
  });
});

describe('a network attacker reads the coordinator log', () => {
  let redis: TestRedisServer;
  let root: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    root = await mkdtemp(join(tmpdir(), 'rbnet-log-secrets-'));
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('finds no password or token in any log line, whatever requests came in', async () => {
    // A production Redis has no default user: the coordinator's URL carries its own password.
    const redisPassword = `coordinator-secret-${sha256Hex(String(Math.random())).slice(0, 16)}`;
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'rbnet-coordinator', 'on', `>${redisPassword}`, '~*', '&*', '+@all');
    admin.disconnect();
    let logText = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    });
    const config = loadCoordinatorConfig({
      env: { RBNET_GC_INTERVAL_MS: '0' },
      flags: {
        dataDir: join(root, 'coordinator'),
        listen: '127.0.0.1:0',
        redisUrl: `redis://rbnet-coordinator:${redisPassword}@127.0.0.1:${redis.port}`,
        threshold: 1,
        replicas: 1,
      },
    });
    const coordinator = await startCoordinator(config, pino({ level: 'debug' }, sink));
    const secrets = [redisPassword];
    try {
      const call = async (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
        fetch(`${coordinator.url}${path}`, { method: 'POST', body: body as BodyInit, headers });
      const admin = { authorization: `Bearer ${coordinator.adminToken}`, 'content-type': 'application/json' };
      secrets.push(coordinator.adminToken!);
      expect((await call('/v1/admin/operators', '{"name":"alpha"}', admin)).status).toBe(201);
      const token = (await (await call('/v1/admin/enrolment-tokens', '{"operator":"alpha"}', admin)).json())
        .token as string;
      const maintainer = (await (await call('/v1/admin/maintainers', '{"name":"maint"}', admin)).json())
        .token as string;
      secrets.push(token, maintainer);
      const enrolment = await enrolmentRequestFor(newTestWorkerKeys('alpha-1'), {
        origin: coordinator.deps.config.publicUrl,
        token,
      });
      const enrolled = await call('/v1/workers/enrol', enrolment.body, { ...enrolment.headers });
      expect(enrolled.status).toBe(201);
      secrets.push(((await enrolled.json()) as { redis: { password: string } }).redis.password);
      // Refusals are logged: a spent token, a token on the wrong route, a token with a typo.
      await call('/v1/workers/enrol', enrolment.body, { ...enrolment.headers });
      await call('/v1/admin/gc', '{}', { authorization: `Bearer ${maintainer}` });
      await call('/v1/builds', '{}', { authorization: `Bearer ${maintainer}x` });
      await call('/v1/builds', 'not json', { authorization: `Bearer ${maintainer}` });
    } finally {
      await coordinator.close();
    }
    expect(logText).toContain('coordinator ready');
    expect(logText).toContain('request refused');
    for (const secret of secrets) expect(logText).not.toContain(secret);
  });
});
