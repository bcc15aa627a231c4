// A rogue worker after its key is revoked: each test is one attack, run through the real coordinator
// app (app.request), real SQLite and content store, with results really signed and posted through
// the real intake. `compromised since T` takes out every result the coordinator received from T on
// (re-deciding what they touched, visibly); `retired` keeps the worker's earlier results counting.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, parseCommandArgs } from '../../../cli/command.ts';
import { adminWorkerCompromisedCommand } from '../../../cli/commands/admin-commands.ts';
import type { CoordinatorDeps } from '../../../coordinator/coordinator-deps.ts';
import { createCoordinatorApp } from '../../../coordinator/http/create-app.ts';
import type { SqliteStores } from '../../../coordinator/storage/sqlite/open-sqlite-stores.ts';
import { signRebuildLink } from '../../../services/apt/in-toto-rebuild-link.ts';
import type { Sha256Hex } from '../../../services/digest.ts';
import {
  createTestCoordinatorDeps,
  type TestCoordinatorDeps,
} from '../../support/coordinator-deps-fixture.ts';
import { DebianBuildRecords, type SignedBuiltResult } from '../../support/debian-build-records.ts';
import { LOOPBACK_ENV, postWorkerResult } from '../../support/post-worker-result.ts';

const START = new Date('2026-11-25T12:00:00.000Z');
const HOUR_MS = 3_600_000;
const APT_LINK = 'rbnet/apt-link.json';

let root: string;
let fixture: TestCoordinatorDeps;
let store: SqliteStores;
let deps: CoordinatorDeps;
let app: ReturnType<typeof createCoordinatorApp>;
let records: DebianBuildRecords;
let adminToken: string;
let clockMs = START.getTime();
let packages = 0;

const at = (offsetMs: number) => new Date(START.getTime() + offsetMs);

// biome-ignore lint/suspicious/noExplicitAny: API answers are asserted field by field
async function request(method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
  const response = await app.request(
    path,
    {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      ...(body !== undefined ? { body } : {}),
    },
    LOOPBACK_ENV,
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const get = (path: string) => request('GET', path);

async function metadataStatus(operator: string, name: string): Promise<number> {
  return (await get(`/apt/amd64/${operator}/sources/${name}/1.0-1/metadata`)).status;
}

/** One Debian build of a fresh package, `name` 1.0-1, claiming `claimed`. */
async function newBuild(label: string): Promise<{ buildId: string; name: string; deb: BuiltDeb }> {
  packages += 1;
  const name = `${label}-${packages}`;
  const deb = await debOf(name, 'as published');
  // A day to decide and room for replacements: the clock moves hours in these tests.
  const buildId = await records.createBuild({
    name,
    version: '1.0-1',
    claimedOutputs: [deb],
    policy: { maxAttempts: 6, decisionDeadlineMs: 24 * HOUR_MS },
  });
  return { buildId, name, deb };
}

type BuiltDeb = { path: string; sha256: Sha256Hex };

async function debOf(name: string, bytes: string): Promise<BuiltDeb> {
  return { path: `${name}_1.0-1_amd64.deb`, sha256: await records.putBlob(`${name} ${bytes}`) };
}

/** Signs `workerId`'s result with its own apt link over `deb`, for a fresh attempt or `job`. */
async function sign(
  buildId: string,
  workerId: string,
  deb: BuiltDeb,
  job?: { jobId: string; attempt: number; nonce: string },
): Promise<SignedBuiltResult> {
  const link = await signRebuildLink(
    [{ aptFileName: deb.path, sha256: deb.sha256 }],
    records.keyOf(workerId).signer,
  );
  return records.signBuilt(buildId, workerId, {
    outputs: [deb],
    byproducts: [{ name: APT_LINK, bytes: JSON.stringify(link) }],
    ...(job ? { job } : {}),
  });
}

/** Posts at `offsetMs` after START (the coordinator's clock then: its receipt time). */
async function postAt(offsetMs: number, signed: SignedBuiltResult) {
  clockMs = START.getTime() + offsetMs;
  return postWorkerResult(app, deps, records, signed);
}

/** Both workers' attempts are opened first, so the scheduler assigns nobody else meanwhile. */
async function reportAt(
  offsetMs: number,
  buildId: string,
  workerIds: readonly string[],
  debs: readonly BuiltDeb[],
) {
  const signed = [];
  for (const [index, workerId] of workerIds.entries())
    signed.push(await sign(buildId, workerId, debs[index]!));
  for (const result of signed) expect((await postAt(offsetMs, result)).status).toBe(202);
}

async function historyOf(buildId: string) {
  return (await get(`/v1/builds/${buildId}`)).json.history as { verdict: string; previousVerdict: string }[];
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-adv-revocation-'));
  fixture = await createTestCoordinatorDeps(root, {
    threshold: 2,
    replicas: 2,
    now: () => new Date(clockMs),
  });
  deps = fixture.deps;
  store = fixture.store;
  app = createCoordinatorApp(deps);
  records = new DebianBuildRecords(deps, START);
  for (const operator of ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma']) {
    await records.enrol(operator, `${operator}-1`);
  }
  adminToken = (
    await store.registry.createToken({ kind: 'admin', subject: 'admin', scopes: ['admin'], singleUse: false })
  ).secret;
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('rogue worker: a key compromised since T', () => {
  const T = 2 * HOUR_MS;
  let before: Awaited<ReturnType<typeof newBuild>>;
  let after: Awaited<ReturnType<typeof newBuild>>;
  let vetoed: Awaited<ReturnType<typeof newBuild>>;
  let beforeHistory: number;
  let held: SignedBuiltResult;
  let heldBuildId: string;
  let marked: { status: number; json: { redecidedBuilds: string[]; reassignedBuilds: string[] } };

  beforeAll(async () => {
    // Delivered before T: alpha and beta reproduce it.
    before = await newBuild('before');
    await reportAt(HOUR_MS, before.buildId, ['alpha-1', 'beta-1'], [before.deb, before.deb]);
    // After T, someone holding alpha's key makes it count towards a quorum ...
    after = await newBuild('after');
    await reportAt(T + HOUR_MS, after.buildId, ['alpha-1', 'beta-1'], [after.deb, after.deb]);
    // ... and signs a dissent that vetoes a build beta and gamma reproduced.
    vetoed = await newBuild('vetoed');
    const forged = await debOf(vetoed.name, 'with a backdoor');
    await reportAt(
      T + HOUR_MS,
      vetoed.buildId,
      ['beta-1', 'gamma-1', 'alpha-1'],
      [vetoed.deb, vetoed.deb, forged],
    );
    expect((await get(`/v1/builds/${before.buildId}`)).json.verdict).toBe('reproducible');
    expect((await get(`/v1/builds/${after.buildId}`)).json.verdict).toBe('reproducible');
    expect((await get(`/v1/builds/${vetoed.buildId}`)).json.verdict).toBe('diverged');
    expect(await metadataStatus('alpha', after.name)).toBe(200);
    beforeHistory = (await historyOf(before.buildId)).length;
    // A job alpha's worker holds when the compromise is found; the attacker finishes it later.
    const late = await newBuild('late');
    heldBuildId = late.buildId;
    held = await sign(late.buildId, 'alpha-1', late.deb);

    clockMs = START.getTime() + 5 * HOUR_MS;
    fixture.enqueued.length = 0;
    marked = await request(
      'POST',
      '/v1/admin/workers/alpha-1/compromised',
      JSON.stringify({ since: at(T).toISOString() }),
    );
    expect(marked.status, JSON.stringify(marked.json)).toBe(200);
  });

  it('counted a result received after T: it stops counting and the verdict is decided again, visibly', async () => {
    expect(new Set(marked.json.redecidedBuilds)).toEqual(new Set([after.buildId, vetoed.buildId]));
    expect(marked.json.reassignedBuilds).toEqual([heldBuildId]);
    const view = (await get(`/v1/builds/${after.buildId}`)).json;
    expect(view.verdict).not.toBe('reproducible');
    expect(view.history.at(-1)).toMatchObject({ previousVerdict: 'reproducible', verdict: view.verdict });
    expect(view.decision.countedOperators).toEqual(['beta']);
    expect(view.decision.revokedResults).toEqual([
      expect.objectContaining({ workerId: 'alpha-1', compromisedSince: at(T).toISOString() }),
    ]);
    const alphaResult = view.results.find((r: { workerId: string }) => r.workerId === 'alpha-1');
    expect(alphaResult.counted).toBe(false);
    expect(alphaResult.refusedReason).toContain('compromised since');
    const log = (await get('/v1/log?from=0&limit=1000')).json.entries.filter(
      (e: { buildId: string }) => e.buildId === after.buildId,
    );
    expect(JSON.parse(log.at(-1).bodyJson).revokedResults).toEqual([
      expect.objectContaining({ workerId: 'alpha-1', compromisedSince: at(T).toISOString() }),
    ]);
  });

  it('served apt links for those builds: they are withdrawn', async () => {
    expect(await metadataStatus('alpha', after.name)).toBe(404);
    expect(await metadataStatus('beta', after.name)).toBe(404);
  });

  it('took a place in the quorum: another operator is assigned instead, and its result restores the verdict', async () => {
    const assigned = fixture.enqueued.filter((e) => e.job.buildId === after.buildId);
    expect(assigned).toHaveLength(1);
    expect(['gamma-1', 'delta-1', 'omega-1', 'sigma-1']).toContain(assigned[0]!.workerId);
    const { workerId, job } = assigned[0]!;
    const signed = await sign(after.buildId, workerId, after.deb, {
      jobId: job.jobId,
      attempt: job.attempt,
      nonce: job.nonce,
    });
    expect((await postAt(6 * HOUR_MS, signed)).status).toBe(202);
    const view = (await get(`/v1/builds/${after.buildId}`)).json;
    expect(view.verdict).toBe('reproducible');
    expect(view.decision.countedOperators).not.toContain('alpha');
    expect(await metadataStatus('alpha', after.name)).toBe(404);
    expect(await metadataStatus('beta', after.name)).toBe(200);
  });

  it('signed a dissent after T to veto a build: the veto no longer counts', async () => {
    const view = (await get(`/v1/builds/${vetoed.buildId}`)).json;
    expect(view.verdict).toBe('reproducible');
    // Reproducible by beta and gamma, vetoed by the forged dissent, restored by the compromise.
    expect(view.history.map((h: { verdict: string }) => h.verdict)).toEqual([
      'reproducible',
      'diverged',
      'reproducible',
    ]);
    expect(await metadataStatus('beta', vetoed.name)).toBe(200);
    expect(await metadataStatus('gamma', vetoed.name)).toBe(200);
  });

  it('had delivered results before T: they still count, unchanged, and their links stay served', async () => {
    expect(marked.json.redecidedBuilds).not.toContain(before.buildId);
    const view = (await get(`/v1/builds/${before.buildId}`)).json;
    expect(view.verdict).toBe('reproducible');
    expect(view.history).toHaveLength(beforeHistory);
    expect(view.decision.countedOperators).toEqual(['alpha', 'beta']);
    expect(await metadataStatus('alpha', before.name)).toBe(200);
  });

  it('finishes the job it held with the stolen key after the revocation: refused (AUTH_INVALID), nothing recorded', async () => {
    const answer = await postAt(7 * HOUR_MS, held);
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('AUTH_INVALID');
    expect(await store.results.listResults(heldBuildId)).toEqual([]);
  });

  it('gets the compromise re-dated later to let its results count again: the earlier T stands', async () => {
    const again = await request(
      'POST',
      '/v1/admin/workers/alpha-1/compromised',
      JSON.stringify({ since: at(4 * HOUR_MS).toISOString() }),
    );
    expect(again.status).toBe(200);
    expect(again.json.worker.revocation).toEqual({ kind: 'compromised', since: at(T).toISOString() });
    expect((await request('POST', '/v1/admin/workers/alpha-1/retire')).json.worker.revocation.kind).toBe(
      'compromised',
    );
    const view = (await get(`/v1/builds/${after.buildId}`)).json;
    expect(view.decision.countedOperators).not.toContain('alpha');
  });
});

describe('rogue worker: a retired worker', () => {
  let build: Awaited<ReturnType<typeof newBuild>>;
  let historyBefore: number;
  let held: SignedBuiltResult;

  beforeAll(async () => {
    build = await newBuild('retired');
    await reportAt(8 * HOUR_MS, build.buildId, ['omega-1', 'sigma-1'], [build.deb, build.deb]);
    historyBefore = (await historyOf(build.buildId)).length;
    const next = await newBuild('after-retirement');
    held = await sign(next.buildId, 'omega-1', next.deb);
    clockMs = START.getTime() + 9 * HOUR_MS;
    const retired = await request('POST', '/v1/admin/workers/omega-1/retire');
    expect(retired.status).toBe(200);
    expect(retired.json.redecidedBuilds).toEqual([]);
  });

  it('had results delivered before it was retired: they keep counting and its links stay served', async () => {
    const view = (await get(`/v1/builds/${build.buildId}`)).json;
    expect(view.verdict).toBe('reproducible');
    expect(view.decision.countedOperators).toEqual(['omega', 'sigma']);
    expect(view.history).toHaveLength(historyBefore);
    expect(view.results.every((r: { counted: boolean }) => r.counted)).toBe(true);
    expect(await metadataStatus('omega', build.name)).toBe(200);
  });

  it('tries to report the job it held after retirement: refused (AUTH_INVALID)', async () => {
    const answer = await postAt(10 * HOUR_MS, held);
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('AUTH_INVALID');
  });
});

describe('revocation requests', () => {
  it('a compromise dated in the future is refused, naming the field, and changes nothing', async () => {
    const answer = await request(
      'POST',
      '/v1/admin/workers/delta-1/compromised',
      JSON.stringify({ since: new Date(clockMs + HOUR_MS).toISOString() }),
    );
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('INVALID');
    expect(answer.json.error.message).toMatch(/^revocation\.since:/);
    expect((await store.registry.getWorker('delta-1'))?.revokedAt).toBeUndefined();
  });

  it('a malformed time is refused', async () => {
    for (const since of ['yesterday', '2026-11-25T12:00:00+01:00', '2026-02-30T00:00:00Z']) {
      const answer = await request(
        'POST',
        '/v1/admin/workers/delta-1/compromised',
        JSON.stringify({ since }),
      );
      expect(answer.status, since).toBe(400);
      expect(answer.json.error.message).toMatch(/^since:/);
    }
  });

  it('without the admin token nobody can revoke a worker', async () => {
    const response = await app.request(
      '/v1/admin/workers/delta-1/compromised',
      { method: 'POST', body: JSON.stringify({ since: START.toISOString() }) },
      LOOPBACK_ENV,
    );
    expect(response.status).toBe(401);
    expect((await store.registry.getWorker('delta-1'))?.revokedAt).toBeUndefined();
  });

  it('rbnet admin worker compromised --since marks the worker over the API', async () => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const port = (server.address() as AddressInfo).port;
      const out: string[] = [];
      const io: CliIo = {
        stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream,
        stderr: process.stderr,
        env: { RBNET_ADMIN_TOKEN: adminToken },
        cwd: root,
      };
      const since = new Date(clockMs - HOUR_MS).toISOString();
      const args = parseCommandArgs(adminWorkerCompromisedCommand, [
        'delta-1',
        '--since',
        since,
        '--coordinator',
        `http://127.0.0.1:${port}`,
      ]);
      expect(await adminWorkerCompromisedCommand.run(args, io)).toBe(0);
      expect(out.join('')).toContain(`worker delta-1 marked compromised since ${since}`);
      expect((await store.registry.getWorker('delta-1'))?.revocation).toEqual({ kind: 'compromised', since });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
