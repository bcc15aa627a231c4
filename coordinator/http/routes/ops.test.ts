// /metrics, /openapi.json and the route definitions via the real app (app.request), SQLite, content store.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { parseExposition, sampleValue } from '../../../test/support/prometheus-text-parser.ts';
import { testKeyid } from '../../../test/support/test-identifiers.ts';
import type { CoordinatorDeps } from '../../coordinator-deps.ts';
import type { CoordinatorMetrics } from '../../metrics/coordinator-metrics.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';
import { openApiPath, pathParameterNames } from '../openapi-document.ts';
import { coordinatorRoutes } from './coordinator-routes.ts';

const LOOPBACK_ENV = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const NOW = new Date('2026-11-25T12:00:00.000Z');

let root: string;
let store: SqliteStores;
let deps: CoordinatorDeps & { readonly metrics: CoordinatorMetrics };
let app: ReturnType<typeof createCoordinatorApp>;
/** Queue depth per worker; a worker missing here makes `depth` throw, as an unreachable Redis would. */
const depths = new Map<string, number>();

function get(path: string) {
  return app.request(path, { method: 'GET' }, LOOPBACK_ENV);
}

async function enrolDirectly(operator: string, workerId: string): Promise<void> {
  const pem = () =>
    generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await store.registry.enrolWorker({
    workerId,
    operator,
    signingKeyPem: pem(),
    signingKeyid: testKeyid(`sign-${workerId}`),
    authKeyPem: pem(),
    authKeyid: testKeyid(`auth-${workerId}`),
    architectures: ['amd64'],
    backends: ['generic'],
    capacity: { cores: 1, memoryBytes: 1, diskBytes: 1 },
    queueName: `rbnet-w-${workerId}`,
    redisUser: `worker:rbnet:${workerId}`,
    enrolledAt: NOW,
  });
}

async function createBuild(verdict?: 'reproducible' | 'diverged'): Promise<string> {
  const buildId = crypto.randomUUID();
  const manifestJson = JSON.stringify({ build: buildId });
  await store.builds.createBuild({
    buildId,
    manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
    manifestJson,
    name: 'hello',
    architecture: 'amd64',
    backend: 'generic',
    claimedOutputs: [],
    policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 60_000 },
    submittedBy: 'admin',
    createdAt: NOW,
  });
  if (verdict) {
    await store.builds.recordVerdict({ buildId, verdict, decisionJson: '{}', decidedAt: NOW });
  }
  return buildId;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-ops-'));
  const fixture = await createTestCoordinatorDeps(root, {
    now: () => NOW,
    depth: async (workerId) => {
      const depth = depths.get(workerId);
      if (depth === undefined) throw new Error(`queue of ${workerId}: connection refused`);
      return depth;
    },
  });
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
});
afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

describe('route definitions', () => {
  it('the generated document describes exactly the routes the app serves, each once', async () => {
    const document = (await (await get('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`),
    );
    const described = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const defined = coordinatorRoutes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(defined).size).toBe(defined.length);
    expect(served.size).toBe(defined.length);
    expect([...described].sort()).toEqual([...served].sort());
  });

  it('describes every path parameter, uses unique operation ids, and never mixes "none" with an auth', () => {
    for (const route of coordinatorRoutes) {
      expect(Object.keys(route.pathParams ?? {}).sort(), route.path).toEqual(
        pathParameterNames(route.path).sort(),
      );
      if (route.auth.includes('none')) expect(route.auth, route.path).toEqual(['none']);
      expect(route.auth.length, route.path).toBeGreaterThan(0);
    }
    const ids = coordinatorRoutes.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tells the truth about auth: guarded routes answer 401 without credentials, public ones never do', async () => {
    const sample: Record<string, string> = { id: crypto.randomUUID(), digest: 'a'.repeat(64) };
    for (const route of coordinatorRoutes) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => sample[name]!);
      const response = await app.request(
        path,
        {
          method: route.method,
          ...(route.method === 'GET' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } }),
        },
        LOOPBACK_ENV,
      );
      const label = `${route.method} ${route.path} → ${response.status}`;
      expect(response.status, label).toBeLessThan(500);
      if (route.auth.includes('none')) expect([401, 403], label).not.toContain(response.status);
      else expect(response.status, label).toBe(401);
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route the app serves, with {param} paths', async () => {
    const response = await get('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string }>; schemas: object };
    };
    expect(document.openapi).toBe('3.1.0');
    for (const route of app.routes) {
      const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!.responses['500']).toMatchObject({
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      });
    }
    expect(Object.keys(document.paths).some((p) => p.includes(':'))).toBe(false);
    expect(document.paths['/v1/builds/{id}']?.get?.security).toEqual([]);
    expect(document.paths['/v1/cas/sha256/{digest}']?.put?.security).toEqual([
      { bearer: ['submit'] },
      { RbnetWorker: [] },
    ]);
    expect(document.paths['/v1/workers/enrol']?.post?.security).toEqual([
      { bearer: ['enrol'], RbnetProof: [] },
    ]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components.securitySchemes.RbnetWorker).toMatchObject({
      type: 'http',
      scheme: 'RbnetWorker',
    });
    expect(document.components.schemas).toMatchObject({
      Error: { required: ['error'], properties: { error: { required: ['code', 'message'] } } },
    });
    // Every $ref in the document resolves.
    const text = JSON.stringify(document);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(Object.keys(document.components.schemas)).toContain(ref);
  });

  it('lists the error codes a route answers, by status', async () => {
    const document = (await (await get('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { 'x-rbnet-error-codes'?: string[] }> }>
      >;
    };
    const submit = document.paths['/v1/builds']!.post!.responses;
    expect(submit['422']?.['x-rbnet-error-codes']).toEqual([
      'MANIFEST_INVALID',
      'INPUTS_MISSING',
      'INSUFFICIENT_OPERATORS',
    ]);
    expect(submit['201']).toBeDefined();
  });
});

describe('GET /metrics', () => {
  it('answers text format 0.0.4 that a strict parser accepts, with the counters the coordinator bumped', async () => {
    for (let i = 0; i < 3; i++) deps.metrics.attempt('assigned');
    deps.metrics.attempt('expired');
    deps.metrics.leaseExpired();
    deps.metrics.result('built', true);
    deps.metrics.result('failed', false);
    deps.metrics.refusal('NOT_ASSIGNED');
    deps.metrics.jobDuration(12.5);
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('rbnet_attempts_total{outcome="assigned"} 3\n');
    const families = parseExposition(text);
    expect(families.get('rbnet_attempts_total')?.type).toBe('counter');
    expect(families.get('rbnet_job_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'rbnet_attempts_total', { outcome: 'expired' })).toBe(1);
    expect(sampleValue(families, 'rbnet_attempts_total', { outcome: 'cancelled' })).toBe(0);
    expect(sampleValue(families, 'rbnet_lease_expiries_total')).toBe(1);
    expect(sampleValue(families, 'rbnet_results_total', { kind: 'built', counted: 'true' })).toBe(1);
    expect(sampleValue(families, 'rbnet_results_total', { kind: 'failed', counted: 'false' })).toBe(1);
    expect(sampleValue(families, 'rbnet_intake_refusals_total', { code: 'NOT_ASSIGNED' })).toBe(1);
    expect(sampleValue(families, 'rbnet_job_duration_seconds_bucket', { le: '15' })).toBe(1);
    expect(sampleValue(families, 'rbnet_job_duration_seconds_bucket', { le: '5' })).toBe(0);
    expect(sampleValue(families, 'rbnet_job_duration_seconds_sum')).toBe(12.5);
  });

  it('counts builds by their current verdict from the store, every verdict present', async () => {
    const before = parseExposition(await (await get('/metrics')).text());
    const pending = sampleValue(before, 'rbnet_builds', { verdict: 'pending' }) ?? 0;
    await createBuild();
    await createBuild();
    await createBuild('reproducible');
    await createBuild('diverged');
    const families = parseExposition(await (await get('/metrics')).text());
    expect(sampleValue(families, 'rbnet_builds', { verdict: 'pending' })).toBe(pending + 2);
    expect(sampleValue(families, 'rbnet_builds', { verdict: 'reproducible' })).toBe(1);
    expect(sampleValue(families, 'rbnet_builds', { verdict: 'diverged' })).toBe(1);
    expect(sampleValue(families, 'rbnet_builds', { verdict: 'source-unavailable' })).toBe(0);
  });

  it('pages through more than one listBuilds page', async () => {
    const before = parseExposition(await (await get('/metrics')).text());
    const pending = sampleValue(before, 'rbnet_builds', { verdict: 'pending' }) ?? 0;
    const inputs = Array.from({ length: 1001 }, () => {
      const buildId = crypto.randomUUID();
      const manifestJson = JSON.stringify({ build: buildId });
      return {
        buildId,
        manifestSha256: sha256Hex(manifestJson) as Sha256Hex,
        manifestJson,
        name: 'bulk',
        architecture: 'amd64',
        backend: 'generic',
        claimedOutputs: [],
        policy: { threshold: 2, maxAttempts: 3, decisionDeadlineMs: 60_000 },
        submittedBy: 'admin',
        createdAt: NOW,
      };
    });
    await store.builds.createBuilds(inputs);
    const families = parseExposition(await (await get('/metrics')).text());
    expect(sampleValue(families, 'rbnet_builds', { verdict: 'pending' })).toBe(pending + 1001);
  });

  it("reports each active worker's queue depth and heartbeat age; a queue that fails is counted, a revoked worker vanishes", async () => {
    await store.registry.addOperator('alpha', NOW);
    await store.registry.addOperator('beta', NOW);
    await enrolDirectly('alpha', 'alpha-1');
    await enrolDirectly('beta', 'beta-1');
    await enrolDirectly('beta', 'beta-2');
    depths.set('alpha-1', 4);
    depths.set('beta-1', 0);
    // beta-2's queue "cannot be reached": its depth series is missing, the failure counted.
    await store.registry.touchWorker('alpha-1', new Date(NOW.getTime() - 30_000));
    let families = parseExposition(await (await get('/metrics')).text());
    expect(sampleValue(families, 'rbnet_queue_depth', { worker: 'alpha-1' })).toBe(4);
    expect(sampleValue(families, 'rbnet_queue_depth', { worker: 'beta-1' })).toBe(0);
    expect(sampleValue(families, 'rbnet_queue_depth', { worker: 'beta-2' })).toBeUndefined();
    expect(sampleValue(families, 'rbnet_metrics_collect_failures', { collector: 'queue_depth' })).toBe(1);
    expect(sampleValue(families, 'rbnet_worker_heartbeat_age_seconds', { worker: 'alpha-1' })).toBe(30);
    // Never seen: no heartbeat series rather than a made-up age.
    expect(sampleValue(families, 'rbnet_worker_heartbeat_age_seconds', { worker: 'beta-1' })).toBeUndefined();

    await store.registry.revokeWorker('alpha-1', NOW);
    families = parseExposition(await (await get('/metrics')).text());
    expect(sampleValue(families, 'rbnet_queue_depth', { worker: 'alpha-1' })).toBeUndefined();
    expect(
      sampleValue(families, 'rbnet_worker_heartbeat_age_seconds', { worker: 'alpha-1' }),
    ).toBeUndefined();
  });
});
