// GET /v1/admin/sync-profiles/:name/uploads through the real app and real SQLite: a profile's uploads
// page by page with an opaque cursor, filtered by state and reason, each with the suites it was read
// in; hostile queries (bad cursor, state, reason, limit, profile name), an unknown profile and a
// missing or wrong-scope token refused naming what was wrong, nothing changed, the app still serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSyncUploadPage, syncUploadCursorOf } from '../../../services/api/sync-uploads.ts';
import { AuthTestCoordinator } from '../../../test/support/auth-test-coordinator.ts';
import {
  readSuiteIndex,
  SUITES_T0,
  submitUpload,
  suitesProfile,
  upload,
} from '../../../test/support/suite-builds.ts';

let coordinator: AuthTestCoordinator;
let maintainerToken: string;
const PROFILE = 'debian';

const asAdmin = () => ({ authorization: `Bearer ${coordinator.adminToken}` });
const list = (query: string, headers: Record<string, string> = asAdmin()) =>
  coordinator.request('GET', `/v1/admin/sync-profiles/${PROFILE}/uploads${query}`, { headers });

async function page(query: string) {
  const answer = await list(query);
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return readSyncUploadPage(JSON.stringify(answer.json));
}

beforeAll(async () => {
  coordinator = await AuthTestCoordinator.start();
  const store = coordinator.fixture.store;
  const maintainer = await coordinator.admin('/v1/admin/maintainers', { name: 'bot' });
  expect(maintainer.status).toBe(201);
  maintainerToken = (maintainer.json as { token: string }).token;
  await store.syncProfiles.addSyncProfile(suitesProfile(PROFILE, ['bookworm', 'trixie']), SUITES_T0);
  const names = ['alpha', 'beta', 'gamma', 'delta', 'hello'];
  await readSuiteIndex(store, PROFILE, 'bookworm', [
    ...names.map((n) => upload(n, '1.0-1')),
    // A binNMU of hello: an upload of its own beside the sourceful one, under the same source version.
    { ...upload('hello', '1.0-1'), binaryVersion: '1.0-1+b1' },
    // Cruft: its source version left the suite's Sources.
    { ...upload('zeta', '2.0-1'), cruft: 'zeta 2.0-1 is not in bookworm Sources' },
  ]);
  await readSuiteIndex(store, PROFILE, 'trixie', [upload('hello', '1.0-1')]);
  await submitUpload(store, PROFILE, 'hello', '1.0-1');
  const uploads = await store.syncProgress.listUploads(PROFILE);
  const defer = (source: string, reason: 'buildinfo-missing' | 'environment-unavailable') =>
    store.syncProgress.deferUpload(uploads.find((u) => u.source === source)!, {
      reason,
      detail: `${source}: ${reason}`,
      dueAt: new Date(SUITES_T0.getTime() + 3_600_000),
      uploadClass: 'retry',
      countTry: true,
    });
  await defer('beta', 'buildinfo-missing');
  await defer('delta', 'buildinfo-missing');
  await defer('gamma', 'environment-unavailable');
});
afterAll(async () => coordinator?.close());

describe('GET /v1/admin/sync-profiles/:name/uploads', () => {
  it('pages through every upload once, in key order, with an opaque cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const p = await page(`?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(p.profile).toBe(PROFILE);
      seen.push(...p.uploads.map((u) => u.source));
      cursor = p.nextCursor;
      if (cursor === null) break;
    }
    // The binNMU sorts after its sourceful upload; a cursor between the two lands on it.
    expect(seen).toEqual(['alpha', 'beta', 'delta', 'gamma', 'hello', 'hello', 'zeta']);
    const { uploads } = await page('');
    expect(uploads.find((u) => u.source === 'hello')).toMatchObject({
      state: 'submitted',
      binaryVersion: '1.0-1',
      suites: ['bookworm', 'trixie'],
      buildId: expect.any(String),
    });
    expect(uploads.filter((u) => u.source === 'hello').map((u) => [u.binaryVersion, u.state])).toEqual([
      ['1.0-1', 'submitted'],
      ['1.0-1+b1', 'pending'],
    ]);
    expect(uploads.find((u) => u.source === 'zeta')).toMatchObject({
      state: 'skipped',
      reason: 'source-missing',
      detail: 'zeta 2.0-1 is not in bookworm Sources',
    });
    expect(uploads.find((u) => u.source === 'beta')).toMatchObject({
      state: 'pending',
      class: 'retry',
      tries: 1,
      reason: 'buildinfo-missing',
      detail: 'beta: buildinfo-missing',
      suites: ['bookworm'],
    });
  });

  it('filters by state and by why an upload waits', async () => {
    const sources = async (query: string) => (await page(query)).uploads.map((u) => u.source);
    expect(await sources('?reason=buildinfo-missing')).toEqual(['beta', 'delta']);
    expect(await sources('?state=pending&reason=environment-unavailable')).toEqual(['gamma']);
    expect(await sources('?state=submitted')).toEqual(['hello']);
    expect(await sources('?state=submitting')).toEqual([]);
    expect(await sources('?state=skipped')).toEqual(['zeta']);
    const first = await page('?reason=buildinfo-missing&limit=1');
    expect(first.uploads.map((u) => u.source)).toEqual(['beta']);
    expect(await sources(`?reason=buildinfo-missing&cursor=${first.nextCursor}`)).toEqual(['delta']);
  });

  it('refuses hostile queries naming the field, changes nothing and keeps serving', async () => {
    const before = await coordinator.fixture.store.syncProgress.listUploads(PROFILE);
    const forged = Buffer.from(JSON.stringify(['../etc', '1', 'amd64'])).toString('base64url');
    const cases: [string, RegExp][] = [
      ['?cursor=not%20a%20cursor', /^cursor: /],
      [`?cursor=${forged}`, /^cursor: /],
      [`?cursor=${Buffer.from('{"a":1}').toString('base64url')}`, /^cursor: /],
      [`?cursor=${'A'.repeat(1025)}`, /^cursor: /],
      ['?state=done', /^state: expected one of pending, submitting, submitted, skipped$/],
      ['?state=', /^state: /],
      ['?reason=because', /^reason: expected one of buildinfo-not-published/],
      ['?limit=0', /^limit: /],
      ['?limit=501', /^limit: /],
    ];
    for (const [query, message] of cases) {
      const answer = await list(query);
      expect(answer.status, query).toBe(400);
      expect(answer.json.error?.code, query).toBe('INVALID');
      expect(answer.json.error?.message, query).toMatch(message);
    }
    const badName = await coordinator.request('GET', '/v1/admin/sync-profiles/..%2Fx/uploads', {
      headers: asAdmin(),
    });
    expect(badName.status).toBe(400);
    expect(badName.json.error?.message).toMatch(/^name: /);
    const unknown = await coordinator.request('GET', '/v1/admin/sync-profiles/nobody/uploads', {
      headers: asAdmin(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'NOT_FOUND', message: 'sync profile nobody not found' });
    // A cursor of another profile's key is just a position: it names nothing secret.
    const elsewhere = await page(
      `?cursor=${syncUploadCursorOf({ source: 'zz', version: '1', binaryVersion: '1', architecture: 'amd64' })}`,
    );
    expect(elsewhere).toEqual({ profile: PROFILE, uploads: [], nextCursor: null });

    expect((await list('', {})).status).toBe(401);
    expect((await list('', { authorization: `Bearer ${maintainerToken}` })).status).toBe(401);
    expect((await list('', { authorization: 'Bearer rbnet_admin_forged' })).status).toBe(401);
    expect(await coordinator.fixture.store.syncProgress.listUploads(PROFILE)).toEqual(before);
    expect((await page('?limit=1')).uploads).toHaveLength(1);
  });
});
