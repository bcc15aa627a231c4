// GET /v1/packages/:source and POST /v1/packages/query through the real app and real SQLite: per
// version who reproduced and who dissented; the bulk body read strictly, refused by field, with
// nothing stored and the app still serving.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConsensusFeedPage } from '../../../services/api/consensus-feed-page.ts';
import {
  maxBuildsPerPackageQuestion,
  maxPackageQueryBytes,
  readPackageAnswer,
  readPackageQueryAnswer,
} from '../../../services/api/package-consensus.ts';
import { LOOPBACK_ENV } from '../../../test/support/auth-test-coordinator.ts';
import { createTestCoordinatorDeps } from '../../../test/support/coordinator-deps-fixture.ts';
import { decisionOf, packageBuild } from '../../../test/support/package-builds.ts';
import type { SqliteStores } from '../../storage/sqlite/open-sqlite-stores.ts';
import { createCoordinatorApp } from '../create-app.ts';

let root: string;
let store: SqliteStores;
let app: ReturnType<typeof createCoordinatorApp>;

function get(path: string) {
  return app.request(path, { method: 'GET' }, LOOPBACK_ENV);
}

function post(body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) {
  return app.request(
    '/v1/packages/query',
    { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } },
    LOOPBACK_ENV,
  );
}

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rbnet-packages-'));
  const fixture = await createTestCoordinatorDeps(root);
  store = fixture.store;
  app = createCoordinatorApp(fixture.deps);
  // hello 2.10-3: amd64 diverged, then rebuilt and reproduced (the newer build stands); arm64
  // reproduced by others. hello 2.11-1: amd64 reproduced, arm64 mismatch-upstream (the alarm wins).
  const oldAmd = packageBuild({ source: 'hello', version: '2.10-3', createdAt: at(1) });
  const newAmd = packageBuild({ source: 'hello', version: '2.10-3', createdAt: at(2) });
  const arm = packageBuild({ source: 'hello', version: '2.10-3', architecture: 'arm64', createdAt: at(3) });
  const next = packageBuild({ source: 'hello', version: '2.11-1', createdAt: at(4) });
  const nextArm = packageBuild({
    source: 'hello',
    version: '2.11-1',
    architecture: 'arm64',
    createdAt: at(5),
  });
  const spam = Array.from({ length: maxBuildsPerPackageQuestion + 3 }, (_, i) =>
    packageBuild({ source: 'busy', version: `1.${i}-1`, createdAt: at(10) }),
  );
  await store.builds.createBuilds([oldAmd, newAmd, arm, next, nextArm, ...spam]);
  await store.builds.recordVerdict(decisionOf(oldAmd, 'diverged', ['acme'], ['globex']));
  await store.builds.recordVerdict(decisionOf(newAmd, 'reproducible', ['acme', 'globex']));
  await store.builds.recordVerdict(decisionOf(arm, 'reproducible', ['globex', 'initech']));
  await store.builds.recordVerdict(decisionOf(next, 'reproducible', ['acme', 'globex']));
  await store.builds.recordVerdict(decisionOf(nextArm, 'mismatch-upstream', ['acme', 'initech']));
});

afterAll(async () => {
  await store?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('GET /v1/packages/:source', () => {
  it('per version: distinct operators that reproduced it, dissent, and the most severe standing verdict', async () => {
    const response = await get('/v1/packages/hello');
    expect(response.status).toBe(200);
    const answer = readPackageAnswer(await response.text());
    expect(answer.truncated).toBe(false);
    expect(
      answer.versions.map((v) => [v.version, v.verdict, v.reproducedCount, v.reproducedBy, v.dissentedBy]),
    ).toEqual([
      ['2.11-1', 'mismatch-upstream', 2, ['acme', 'globex'], []],
      // The diverged amd64 build was replaced by a newer one that reproduced.
      ['2.10-3', 'reproducible', 3, ['acme', 'globex', 'initech'], []],
    ]);
    expect(answer.versions[1]?.builds.map((b) => [b.architecture, b.verdict])).toEqual([
      ['arm64', 'reproducible'],
      ['amd64', 'reproducible'],
      ['amd64', 'diverged'],
    ]);
    expect(answer.versions[1]?.builds[2]?.dissentingOperators).toEqual(['globex']);
  });

  it('one version by ?version=, and a source never submitted has no versions', async () => {
    const one = readPackageAnswer(await (await get('/v1/packages/hello?version=2.10-3')).text());
    expect(one.version).toBe('2.10-3');
    expect(one.versions.map((v) => v.version)).toEqual(['2.10-3']);
    const none = await get('/v1/packages/never-seen');
    expect(none.status).toBe(200);
    expect(readPackageAnswer(await none.text())).toEqual({
      source: 'never-seen',
      versions: [],
      truncated: false,
    });
  });

  it('reads at most the newest builds per question and says so', async () => {
    const busy = readPackageAnswer(await (await get('/v1/packages/busy')).text());
    expect(busy.truncated).toBe(true);
    expect(busy.versions).toHaveLength(maxBuildsPerPackageQuestion);
    expect(busy.versions[0]?.verdict).toBe('pending');
  });

  it.each([
    ['/v1/packages/Hello', 'source'],
    ["/v1/packages/hello'%3B%20DROP%20TABLE%20builds%3B--", 'source'],
    ['/v1/packages/-leading-dash', 'source'],
    ['/v1/packages/hello?version=2.10%203', 'version'],
    ['/v1/packages/hello?version=', 'version'],
  ])('refuses %s with 400 INVALID naming %s', async (path, field) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('INVALID');
    expect(error.message.startsWith(`${field}:`)).toBe(true);
  });
});

describe('POST /v1/packages/query', () => {
  it('answers every question in the order asked, with no token', async () => {
    const response = await post(
      JSON.stringify({
        packages: [
          { source: 'never-seen' },
          { source: 'hello', version: '2.11-1' },
          { source: 'hello', version: '2.10-3' },
          { source: 'hello', version: '2.11-1' },
        ],
      }),
    );
    expect(response.status).toBe(200);
    const { results } = readPackageQueryAnswer(await response.text());
    expect(
      results.map((r) => [r.source, r.version, r.versions[0]?.verdict, r.versions[0]?.reproducedCount]),
    ).toEqual([
      ['never-seen', undefined, undefined, undefined],
      ['hello', '2.11-1', 'mismatch-upstream', 2],
      ['hello', '2.10-3', 'reproducible', 3],
      ['hello', '2.11-1', 'mismatch-upstream', 2],
    ]);
  });

  const item = (i: number) => ({ source: `pkg${i}`, version: `1.${i}-1` });
  it.each([
    ['not JSON', 'hello', 400, 'INVALID', 'request body'],
    ['an array', '[]', 400, 'INVALID', 'request body'],
    ['an unknown top-level field', '{"packages":[{"source":"hello"}],"token":"x"}', 400, 'INVALID', 'token'],
    [
      'an unknown field in a question',
      '{"packages":[{"source":"hello"},{"source":"a1","arch":"amd64"}]}',
      400,
      'INVALID',
      'packages[1].arch',
    ],
    ['a missing source', '{"packages":[{"version":"1.0-1"}]}', 400, 'INVALID', 'packages[0].source'],
    [
      'an injection-looking name',
      JSON.stringify({ packages: [{ source: 'hello' }, { source: "x'; DROP TABLE builds;--" }] }),
      400,
      'INVALID',
      'packages[1].source',
    ],
    [
      'a malformed version',
      '{"packages":[{"source":"hello","version":"2.10 3"}]}',
      400,
      'INVALID',
      'packages[0].version',
    ],
    ['no questions', '{"packages":[]}', 400, 'INVALID', 'packages'],
    [
      '1,001 questions',
      JSON.stringify({ packages: Array.from({ length: 1001 }, (_, i) => item(i)) }),
      400,
      'INVALID',
      'packages',
    ],
    ['duplicate keys', '{"packages":[{"source":"a1","source":"hello"}]}', 400, 'INVALID', 'request body'],
    [
      'deep nesting',
      `{"packages":[{"source":${'['.repeat(40)}${']'.repeat(40)}}]}`,
      400,
      'INVALID',
      'request body',
    ],
    [
      'a body over the limit',
      JSON.stringify({ packages: [{ source: 'a'.repeat(maxPackageQueryBytes) }] }),
      413,
      'TOO_LARGE',
      'request body',
    ],
  ])(
    'refuses %s: %s %s naming %s, nothing stored, still serving',
    async (_what, body, status, code, field) => {
      const before = await store.builds.countBuildsByVerdict();
      const response = await post(body);
      expect(response.status).toBe(status);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      expect(error.message.startsWith(`${field}:`)).toBe(true);
      expect(await store.builds.countBuildsByVerdict()).toEqual(before);
      expect((await post('{"packages":[{"source":"hello"}]}')).status).toBe(200);
    },
  );

  it('refuses a streamed body over the limit without a Content-Length, and bytes that are not UTF-8', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ > 20) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await app.request(
      '/v1/packages/query',
      { method: 'POST', body: stream, duplex: 'half' } as RequestInit,
      LOOPBACK_ENV,
    );
    expect(streamed.status).toBe(413);
    const latin1 = await post(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(latin1.status).toBe(400);
    expect(((await latin1.json()) as { error: { message: string } }).error.message).toContain('UTF-8');
  });

  it('the OpenAPI examples are what a release tool can send and read as they are', async () => {
    type Media = { example?: unknown };
    const document = (await (await get('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, Media> };
            responses: Record<string, { content?: Record<string, Media> }>;
          }
        >
      >;
    };
    const query = document.paths['/v1/packages/query']!.post!;
    const request = query.requestBody!.content['application/json']!.example;
    const response = await post(JSON.stringify(request));
    expect(response.status).toBe(200);
    expect(readPackageQueryAnswer(await response.text()).results).toHaveLength(2);
    const example = (path: string, method: string) =>
      JSON.stringify(document.paths[path]![method]!.responses['200']!.content!['application/json']!.example);
    expect(
      readPackageQueryAnswer(example('/v1/packages/query', 'post')).results[0]?.versions[0]?.reproducedCount,
    ).toBe(2);
    expect(readPackageAnswer(example('/v1/packages/{source}', 'get')).source).toBe('hello');
    expect(readConsensusFeedPage(example('/v1/feed', 'get')).entries[0]?.verdict).toBe('reproducible');
  });

  it('answers 1,000 questions in one request', async () => {
    const response = await post(
      JSON.stringify({ packages: Array.from({ length: 1000 }, (_, i) => item(i)) }),
    );
    expect(response.status).toBe(200);
    expect(readPackageQueryAnswer(await response.text()).results).toHaveLength(1000);
  });
});
