// GET /v1/feed through the real app and real SQLite: every verdict change once, oldest first, page
// by page; filters; an ETag a poller can send back; malformed queries refused by name.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConsensusFeedPage } from '../../../services/api/consensus-feed-page.ts';
import type { NewBuild } from '../../../services/storage/build-store.ts';
import { LOOPBACK_ENV } from '../../../test/support/auth-test-coordinator.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { debOf, decisionOf, packageBuild } from '../../../test/support/package-builds.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

let root: string;
let store: SqliteStores;
let app: ReturnType<typeof createCoordinatorApp>;
const builds: NewBuild[] = [];

function get(path: string, headers: Record<string, string> = {}) {
  return app.request(path, { method: 'GET', headers }, LOOPBACK_ENV);
}

async function page(query: string) {
  const response = await get(`/v1/feed${query}`);
  expect(response.status).toBe(200);
  return readConsensusFeedPage(await response.text());
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-feed-'));
  const fixture = await createTestCoordinatorDeps(root);
  store = fixture.store;
  app = createCoordinatorApp(fixture.deps);
  // Five builds, seven changes: hello amd64 is pending → diverged → reproducible.
  builds.push(
    packageBuild({ source: 'hello', version: '2.10-3', architecture: 'amd64' }),
    packageBuild({ source: 'hello', version: '2.10-3', architecture: 'arm64' }),
    packageBuild({ source: 'coreutils', version: '9.1-1', architecture: 'amd64' }),
    packageBuild({ source: 'tool-x' }),
    packageBuild({ source: 'hello', version: '1:2.11-1', architecture: 'amd64' }),
  );
  await store.builds.createBuilds(builds);
  const [hello, helloArm, coreutils, generic, epoch] = builds as [
    NewBuild,
    NewBuild,
    NewBuild,
    NewBuild,
    NewBuild,
  ];
  await store.builds.recordVerdict(decisionOf(hello, 'diverged', ['acme'], ['globex']));
  await store.builds.recordVerdict(decisionOf(helloArm, 'reproducible', ['acme', 'globex']));
  await store.builds.recordVerdict(decisionOf(coreutils, 'mismatch-upstream', ['acme', 'initech']));
  await store.builds.recordVerdict(decisionOf(generic, 'agreed', ['acme', 'globex']));
  await store.builds.recordVerdict(decisionOf(hello, 'reproducible', ['acme', 'globex', 'initech']));
  await store.builds.recordVerdict(decisionOf(epoch, 'failed', []));
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('GET /v1/feed', () => {
  it('pages through every change once, oldest first, carrying what a release tool needs', async () => {
    const seen: string[] = [];
    const cursors: string[] = [];
    let since: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const p = await page(`?limit=2${since === undefined ? '' : `&since=${since}`}`);
      seen.push(...p.entries.map((e) => `${e.source} ${e.version} ${e.architecture} ${e.verdict}`));
      cursors.push(...p.entries.map((e) => e.cursor));
      since = p.nextCursor;
      if (!p.more) break;
    }
    expect(seen).toEqual([
      'hello 2.10-3 amd64 diverged',
      'hello 2.10-3 arm64 reproducible',
      'coreutils 9.1-1 amd64 mismatch-upstream',
      'tool-x null amd64 agreed',
      'hello 2.10-3 amd64 reproducible',
      'hello 1:2.11-1 amd64 failed',
    ]);
    expect(new Set(cursors).size).toBe(6);
    expect(since).toBe(cursors.at(-1));
    const all = await page('');
    const [diverged, , mismatch, generic, reproduced] = all.entries;
    expect(diverged).toMatchObject({
      buildId: builds[0]!.buildId,
      previousVerdict: 'pending',
      agreeingOperators: ['acme'],
      dissentingOperators: ['globex'],
      agreedOutputs: null,
      suite: null,
      suites: [],
      logIndex: null,
      claimedOutputs: [debOf('hello', '2.10-3')],
      links: { self: `/v1/builds/${builds[0]!.buildId}` },
    });
    expect(reproduced).toMatchObject({
      previousVerdict: 'diverged',
      agreeingOperators: ['acme', 'globex', 'initech'],
      dissentingOperators: [],
      agreedOutputs: [debOf('hello', '2.10-3')],
      decidedAt: '2026-12-01T01:00:00.000Z',
    });
    expect(mismatch?.agreedOutputs).toEqual([debOf('coreutils', '9.1-1')]);
    expect(generic).toMatchObject({ source: 'tool-x', version: null, claimedOutputs: [] });
    // Caught up: an empty page that keeps the cursor.
    const end = await page(`?since=${since}`);
    expect(end).toEqual({ entries: [], nextCursor: since, more: false });
  });

  it('filters by architecture through its own index; a build no sync profile found is in no suite', async () => {
    const arm = await page('?arch=arm64');
    expect(arm.entries.map((e) => `${e.source} ${e.architecture}`)).toEqual(['hello arm64']);
    expect((await page('?suite=trixie')).entries).toEqual([]);
    expect((await page('?suite=trixie&arch=amd64')).entries).toEqual([]);
    expect((await page('?arch=riscv64')).entries).toEqual([]);
  });

  it('answers 304 to a poller whose ETag still names the page, and 200 once something new arrives', async () => {
    const first = await get('/v1/feed?limit=1000');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const { nextCursor } = readConsensusFeedPage(await first.text());
    const again = await get('/v1/feed?limit=1000', { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect((await get('/v1/feed?limit=1000', { 'if-none-match': `W/${etag}, "other"` })).status).toBe(304);
    // A poller that is caught up keeps getting 304 ...
    const caughtUp = await get(`/v1/feed?since=${nextCursor}`);
    const caughtUpTag = caughtUp.headers.get('etag')!;
    expect((await get(`/v1/feed?since=${nextCursor}`, { 'if-none-match': caughtUpTag })).status).toBe(304);
    const armTag = (await get('/v1/feed?arch=arm64')).headers.get('etag')!;
    // ... until a verdict changes.
    const late = packageBuild({ source: 'late', version: '1.0-1' });
    await store.builds.createBuild(late);
    await store.builds.recordVerdict(decisionOf(late, 'reproducible', ['acme', 'globex']));
    const changed = await get(`/v1/feed?since=${nextCursor}`, { 'if-none-match': caughtUpTag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(caughtUpTag);
    expect(readConsensusFeedPage(await changed.text()).entries.map((e) => e.source)).toEqual(['late']);
    // A change on another architecture leaves a filtered page, and its tag, as they were.
    expect((await get('/v1/feed?arch=arm64', { 'if-none-match': armTag })).status).toBe(304);
    // A full page that now has more behind it is a different page.
    const full = await get('/v1/feed?limit=7');
    expect(readConsensusFeedPage(await full.text()).more).toBe(false);
    const another = packageBuild({ source: 'later', version: '1.0-1' });
    await store.builds.createBuild(another);
    await store.builds.recordVerdict(decisionOf(another, 'failed', []));
    expect((await get('/v1/feed?limit=7', { 'if-none-match': full.headers.get('etag')! })).status).toBe(200);
    // A different question is a different page.
    expect((await get('/v1/feed?limit=999')).headers.get('etag')).not.toBe(etag);
  });

  it.each([
    ['since=abc', 'since'],
    ['since=-1', 'since'],
    ['since=1e3', 'since'],
    ['since=01', 'since'],
    ["since=1'%20OR%20'1'='1", 'since'],
    [`since=${'9'.repeat(300)}`, 'since'],
    ['since=999999', 'since'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['arch=AMD64', 'arch'],
    ['arch=amd64%27%3B%20DROP%20TABLE%20builds%3B--', 'arch'],
    ['suite=..%2F..%2Fetc', 'suite'],
    [`suite=${'s'.repeat(65)}`, 'suite'],
  ])('refuses ?%s with 400 INVALID naming %s, and keeps serving', async (query, field) => {
    const response = await get(`/v1/feed?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INVALID');
    expect(body.error.message.startsWith(`${field}:`)).toBe(true);
    expect((await get('/v1/feed?limit=1')).status).toBe(200);
    expect((await store.builds.countBuildsByVerdict()).reproducible).toBeGreaterThan(0);
  });
});
