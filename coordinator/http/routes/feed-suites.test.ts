// GET /v1/feed?suite=, GET /v1/packages/:source and POST /v1/packages/query through the real app and
// real SQLite, for builds a sync profile found in suites: each suite's feed with its own cursors, the
// suites and log index of every entry and build, a cursor past a suite's end refused by name.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConsensusFeedPage } from '../../../services/api/consensus-feed-page.ts';
import { readPackageAnswer, readPackageQueryAnswer } from '../../../services/api/package-consensus.ts';
import type { NewBuild } from '../../../services/storage/build-store.ts';
import { LOOPBACK_ENV } from '../../../test/support/auth-test-coordinator.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import {
  decideAndLog,
  loggedAt,
  readSuiteIndex,
  SUITES_T0,
  submitUpload,
  suitesProfile,
  upload,
} from '../../../test/support/suite-builds.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

const BOTH = ['bookworm', 'bookworm-proposed-updates'];

let root: string;
let store: SqliteStores;
let app: ReturnType<typeof createCoordinatorApp>;
let hello: NewBuild;

const get = (path: string) => app.request(path, { method: 'GET' }, LOOPBACK_ENV);

async function page(query: string) {
  const response = await get(`/v1/feed${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return readConsensusFeedPage(await response.text());
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-feed-suites-'));
  const fixture = await createTestCoordinatorDeps(root);
  store = fixture.store;
  app = createCoordinatorApp(fixture.deps);
  await store.registry.addMaintainer('bot', SUITES_T0);
  await store.syncProfiles.addSyncProfile(suitesProfile('debian', BOTH), SUITES_T0);
  await readSuiteIndex(store, 'debian', 'bookworm', [upload('hello', '2.10-3'), upload('zlib', '1.3')]);
  hello = await submitUpload(store, 'debian', 'hello', '2.10-3');
  const zlib = await submitUpload(store, 'debian', 'zlib', '1.3');
  await decideAndLog(store, hello, 'reproducible');
  await decideAndLog(store, zlib, 'reproducible');
  // Found in proposed-updates once decided: listed there with the verdict it has.
  await readSuiteIndex(store, 'debian', 'bookworm-proposed-updates', [upload('hello', '2.10-3')]);
  await decideAndLog(store, hello, 'diverged');
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('suites in the feed and package answers', () => {
  it("serves each suite's own feed, every entry with its suites and the log index of its verdict", async () => {
    const bookworm = await page('?suite=bookworm');
    expect(bookworm.entries.map((e) => [e.source, e.verdict, e.suite, e.suites])).toEqual([
      ['hello', 'reproducible', 'bookworm', ['bookworm']],
      ['zlib', 'reproducible', 'bookworm', ['bookworm']],
      ['hello', 'diverged', 'bookworm', BOTH],
    ]);
    const pu = await page('?suite=bookworm-proposed-updates&arch=amd64');
    expect(pu.entries.map((e) => [e.source, e.verdict, e.previousVerdict, e.suite])).toEqual([
      ['hello', 'reproducible', 'pending', 'bookworm-proposed-updates'],
      ['hello', 'diverged', 'reproducible', 'bookworm-proposed-updates'],
    ]);
    // The same verdict change in both suites' feeds names the same log entry.
    expect(pu.entries[1]!.logIndex).toBe(bookworm.entries[2]!.logIndex);
    for (const entry of [...bookworm.entries, ...pu.entries])
      expect(loggedAt(store, entry.logIndex)).toMatchObject({
        buildId: entry.buildId,
        verdict: entry.verdict,
      });
    // A suite feed's cursors are its own: paging continues within it, and one past its end is refused.
    const rest = await page(`?suite=bookworm-proposed-updates&since=${pu.entries[0]!.cursor}`);
    expect(rest.entries.map((e) => e.verdict)).toEqual(['diverged']);
    const past = await get(`/v1/feed?suite=bookworm-proposed-updates&since=${Number(pu.nextCursor) + 1}`);
    expect(past.status).toBe(400);
    expect(await past.json()).toMatchObject({
      error: { code: 'INVALID', message: expect.stringMatching(/^since:/) },
    });
    expect((await page('?suite=trixie')).entries).toEqual([]);
  });

  it('answers a package query with the suites of each build and version and its current log index', async () => {
    const answer = readPackageAnswer(await (await get('/v1/packages/hello')).text());
    const [version] = answer.versions;
    expect(version).toMatchObject({ version: '2.10-3', verdict: 'diverged', suites: BOTH });
    const [build] = version!.builds;
    expect(build).toMatchObject({ buildId: hello.buildId, suite: 'bookworm', suites: BOTH });
    expect(loggedAt(store, build!.logIndex)).toEqual({
      buildId: hello.buildId,
      sequence: 2,
      verdict: 'diverged',
    });
    const bulk = await app.request(
      '/v1/packages/query',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ packages: [{ source: 'zlib', version: '1.3' }, { source: 'nobody' }] }),
      },
      LOOPBACK_ENV,
    );
    const { results } = readPackageQueryAnswer(await bulk.text());
    expect(results.map((r) => r.versions.map((v) => v.suites))).toEqual([[['bookworm']], []]);
  });
});
